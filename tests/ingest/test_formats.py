"""Documents that are not plain text: web pages (.html/.htm), PDFs and Word files (.docx).

Every test document is made here: HTML as text, PDFs written by hand (`make_pdf`, a minimal
valid PDF with a Helvetica text layer; pypdf encrypts one), Word files with python-docx.
The builders are in tests/helpers.py (test_fuzz.py and test_faults.py use them too).
"""
from __future__ import annotations

import dataclasses
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from core import index_format as store
from ingest import build_index
from core.documents import SkipFile
from core.documents import discover, read_document, read_text
from ingest.structure import parse
from search import open_searcher
from workshop import cite, verify
from helpers import DOCX_BLOCKS, HTML_PAGE, PDF_PAGES, encrypt_pdf, make_docx, make_pdf
from search.loading import load_index

def write_format_corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "lighthouse.html").write_text(HTML_PAGE, encoding="utf-8")
    (root / "bees.pdf").write_bytes(make_pdf(PDF_PAGES))
    (root / "sourdough.docx").write_bytes(make_docx(DOCX_BLOCKS))
    (root / "plain.txt").write_text(
        "A Plain Note\n\nPlain text still works beside the other formats: tea is best brewed "
        "with water just off the boil and left for three minutes.\n", encoding="utf-8")
    return root


# --- extraction -------------------------------------------------------------------------

def test_html_keeps_the_article_and_its_headings_and_drops_the_page_furniture(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(HTML_PAGE, encoding="utf-8")
    doc = read_document(path)
    assert doc.kind == "html" and doc.pages is None
    text = doc.text
    assert "# The Solitude Of Lighthouse Keepers" in text
    assert "## Letters From The Rock" in text
    assert "- They counted passing ships." in text
    assert "trimming wicks and winding the clockwork\nthat turned" not in text  # lines joined
    for furniture in ("Archive of every post", "Write to the editors", "Subscribe to our newsletter",
                      "Ten best beaches", "All rights reserved"):
        assert furniture not in text
    structure = parse(text, path.name)
    assert structure.title == "The Solitude Of Lighthouse Keepers"
    assert {p.section for p in structure.paragraphs} >= {"", "Letters From The Rock"}


def test_html_encoding_from_its_meta_tag_and_a_bare_fragment(tmp_path):
    page = ("<html><head><meta charset='windows-1252'><title>Café</title></head><body>"
            "<p>Un café crème et une idée naïve sur la confiance entre deux personnes.</p></body></html>")
    (tmp_path / "legacy.htm").write_bytes(page.encode("cp1252"))
    assert "Un café crème et une idée naïve" in read_text(tmp_path / "legacy.htm")
    (tmp_path / "fragment.html").write_text("<p>A short fragment with one sentence of text.</p>", encoding="utf-8")
    assert "A short fragment with one sentence of text." in read_text(tmp_path / "fragment.html")


def test_blog_comments_are_kept_as_reader_comments(tmp_path):
    page = """<html><head><title>Why Trust Matters</title></head><body><article>
    <h1>Why Trust Matters</h1><p>Trust is built in small moments. When a partner keeps a promise,
    trust grows a little, and when a promise is broken it shrinks a lot.</p></article>
    <div id="comments"><h3>2 thoughts on "Why Trust Matters"</h3><ol>
    <li><p>This helped me talk to my husband about promises.</p></li>
    <li><p>I disagree: trust is a decision, not a feeling.</p></li></ol></div></body></html>"""
    (tmp_path / "post.html").write_text(page, encoding="utf-8")
    text = read_text(tmp_path / "post.html")
    structure = parse(text, "post.html")
    kinds = {text[p.start:p.end]: p.kind for p in structure.paragraphs}
    assert kinds.get("I disagree: trust is a decision, not a feeling.") == "comment"
    assert any(k == "body" and v.startswith("Trust is built") for v, k in kinds.items())


def test_pdf_text_has_page_offsets_and_drops_lone_page_numbers(tmp_path):
    path = tmp_path / "bees.pdf"
    path.write_bytes(make_pdf(PDF_PAGES))
    doc = read_document(path)
    assert doc.kind == "pdf" and len(doc.pages) == 3 and doc.pages[0] == 0
    text = doc.text
    for number in ("\n1\n", "\n2\n", "- 2 -", "Page 3 of 3"):
        assert number not in text
    assert doc.page_at(text.index("The queen bee")) == 2
    assert doc.page_at(text.index("Winter is quiet")) == 3
    assert doc.page_at(text.index("A single hive")) == 1
    assert text[doc.pages[1]:].startswith("The queen bee")


def test_docx_headings_lists_and_tables(tmp_path):
    path = tmp_path / "bread.docx"
    path.write_bytes(make_docx(DOCX_BLOCKS))
    text = read_text(path)
    assert text.startswith("# Baking Sourdough At Home\n\n")
    assert "\n# Feeding The Starter\n" in text and "\n## Shaping The Loaf\n" in text
    assert "- Use a clean glass jar." in text
    assert "- Flour | 500 g\n- Water | 350 g\n- Salt | 10 g" in text
    structure = parse(text, path.name)
    assert structure.title == "Baking Sourdough At Home"
    assert {p.section for p in structure.paragraphs} == {"", "Feeding The Starter", "Shaping The Loaf"}


def test_docx_title_property_is_used_when_the_text_has_no_heading(tmp_path):
    path = tmp_path / "untitled.docx"
    path.write_bytes(make_docx([("p", "Only a paragraph of text here, long enough to be one."),
                                ("p", "And a second one follows it.")], title="Notes On Rest"))
    assert read_text(path).startswith("# Notes On Rest\n\n")


def test_discover_finds_every_supported_format_and_skips_word_lock_files(tmp_path):
    for name in ["a.txt", "b.md", "c.html", "d.HTM", "e.pdf", "f.docx", "~$f.docx", "g.doc",
                 "h.rtf", ".hidden.pdf"]:
        (tmp_path / name).write_bytes(b"x")
    _, files = discover([tmp_path])
    assert [f.name for f in files] == ["a.txt", "b.md", "c.html", "d.HTM", "e.pdf", "f.docx"]


# --- bad documents: skipped with a reason, never a crash --------------------------------

def _corrupt_docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<not really/>")
    return out.getvalue()


BAD_DOCUMENTS = {
    # name -> (bytes, words the reason must contain)
    "empty.pdf": (lambda: b"", "empty"),
    "text-named.pdf": (lambda: b"This is plain text saved with a .pdf name.", "not a PDF"),
    "truncated.pdf": (lambda: make_pdf(PDF_PAGES)[:300], "corrupt"),
    "garbage.pdf": (lambda: b"%PDF-1.4\n" + bytes(range(256)) * 8, "corrupt"),
    "encrypted.pdf": (lambda: encrypt_pdf(make_pdf(PDF_PAGES)), "encrypted"),
    "scan.pdf": (lambda: make_pdf([["x"], ["y"]], text_layer=False), "no text"),
    "blank-pages.pdf": (lambda: make_pdf([[""], [" "]]), "no text"),
    "empty.docx": (lambda: make_docx([]), "empty"),
    "truncated.docx": (lambda: make_docx(DOCX_BLOCKS)[:500], "corrupt"),
    "wrong-zip.docx": (_corrupt_docx, "corrupt"),
    "not-a-zip.docx": (lambda: b"Plain words, not a Word file at all.", "corrupt"),
    "protected.docx": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "encrypted"),
    "empty.html": (lambda: b"   \n", "empty"),
    "binary.html": (lambda: bytes(range(256)) * 4, "binary"),
    "scripts-only.html": (lambda: b"<html><head><script>var a = 1;</script></head><body>"
                                  b"<script>document.write('x')</script></body></html>", "no text"),
}


@pytest.mark.parametrize("name", sorted(BAD_DOCUMENTS))
def test_bad_document_is_skipped_with_its_reason(tmp_path, name):
    make, why = BAD_DOCUMENTS[name]
    path = tmp_path / name
    path.write_bytes(make())
    with pytest.raises(SkipFile, match=why):
        read_document(path)


def test_password_protected_pdf_with_an_empty_user_password_is_read(tmp_path):
    path = tmp_path / "owner-only.pdf"
    path.write_bytes(encrypt_pdf(make_pdf(PDF_PAGES), password=""))
    assert "The queen bee" in read_text(path)


def test_a_run_over_bad_documents_indexes_the_good_ones(tmp_path, settings):
    corpus = write_format_corpus(tmp_path / "docs")
    for name, (make, _) in BAD_DOCUMENTS.items():
        (corpus / name).write_bytes(make())
    messages: list[str] = []
    report = build_index([corpus], tmp_path / "index", settings, on_event=lambda e: messages.append(e.message), progress=False)
    assert report.documents == 4
    assert {s.source for s in report.skipped} == set(BAD_DOCUMENTS)
    for s in report.skipped:
        assert BAD_DOCUMENTS[s.source][1] in s.reason
        assert any(m.startswith(f"skipped {s.source}:") for m in messages)


# --- indexed, searched and cited --------------------------------------------------------

@pytest.fixture(scope="module")
def formats(tmp_path_factory, settings):
    base = tmp_path_factory.mktemp("formats")
    corpus = write_format_corpus(base / "corpus")
    index_dir = base / "index"
    searcher = open_searcher(index_dir, settings, corpus=[corpus], on_event=lambda e: None)
    return corpus, index_dir, searcher


def _top(searcher, question: str):
    answer = searcher.search(question, k=3)
    return answer.results[0]


def test_html_page_is_searchable_and_cited_with_its_section(formats):
    corpus, _, searcher = formats
    r = _top(searcher, "How did lighthouse keepers keep in touch with their families?")
    assert r.source == "lighthouse.html"
    assert "letters" in r.text.lower()
    assert r.section == "Letters From The Rock" and r.passage.page is None
    assert cite.where(r.passage) == (
        "The Solitude Of Lighthouse Keepers — Letters From The Rock, "
        f"{cite.paragraphs_label(r.passage)}, lighthouse.html")
    assert verify.verifier(searcher.index).verify(r.passage, r.quote_start, r.quote_end, quote=r.quote).ok


def test_pdf_is_searchable_and_cited_with_its_page(formats):
    corpus, _, searcher = formats
    r = _top(searcher, "How many eggs does the queen bee lay?")
    assert r.source == "bees.pdf"
    assert "queen bee" in r.text
    assert r.passage.page == 2
    assert "page 2, paragraph" in cite.where(r.passage)
    assert "page 2" in cite.format_citation(r.passage, r.quote, style="plain")
    assert "p. 2" in cite.format_citation(r.passage, r.quote, style="apa")
    winter = _top(searcher, "What do bees do in winter to stay warm?")
    assert winter.source == "bees.pdf" and winter.passage.page == 3
    assert verify.verifier(searcher.index).verify(r.passage, r.quote_start, r.quote_end, quote=r.quote).ok


def test_a_quote_on_the_next_page_of_its_passage_is_cited_with_its_own_page(tmp_path, settings):
    """A paragraph that runs from page 1 onto page 2 is one passage, on page 1; a quote of its
    sentence on page 2 is cited on page 2 (the build records where each page starts), in the
    page's citation and in a handout alike."""
    from ui import render
    from workshop.basket import Basket, BasketItem
    from workshop.handout import entries

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "year.pdf").write_bytes(make_pdf([
        ["Keeping Bees Through The Year", "", "A colony spends the spring building comb and raising brood for the",
         "season ahead, and by midsummer"],
        ["the hive is at its strongest. Robber bees raid weak hives in late summer when nectar",
         "is scarce, so keepers narrow the entrances."]]))
    searcher = open_searcher(tmp_path / "index", settings, corpus=[corpus], on_event=lambda e: None)
    r = searcher.search("When do robber bees raid weak hives?", k=1).results[0]
    assert r.passage.page == 1 and r.quote.startswith("Robber bees")
    checker = verify.verifier(searcher.index)
    assert checker.texts["year.pdf"].pages == (0, r.passage.text.index("the hive") + r.passage.start)
    assert checker.page_at("year.pdf", r.quote_start) == 2 and checker.page_at("year.pdf", r.passage.start) == 1
    assert "page 1," in cite.where(r.passage)  # the card's line: where the passage starts
    assert "page 2," in render.citation(checker, r.passage, r.quote, "plain", "http://x/", quote_start=r.quote_start)
    assert "p. 2" in render.citation(checker, r.passage, r.quote, "apa", "http://x/", quote_start=r.quote_start)
    basket = Basket()
    basket.add(BasketItem.from_result(r))
    assert "page 2," in entries(basket, "plain", checker)[0].citation
    whole = BasketItem.from_passage(r.passage, r.passage.start, r.passage.start + 10)
    assert "page 1," in entries(Basket([whole]), "plain", checker)[0].citation


def test_docx_is_searchable_and_cited_with_its_section(formats):
    corpus, _, searcher = formats
    r = _top(searcher, "How often should a sourdough starter be fed, and when is it ready?")
    assert r.source == "sourdough.docx"
    assert r.title == "Baking Sourdough At Home" and r.section == "Feeding The Starter"
    assert "Feeding The Starter" in cite.where(r.passage)
    assert "Feeding The Starter" in cite.format_citation(r.passage, r.quote, style="markdown")
    assert verify.verifier(searcher.index).verify(r.passage, r.quote_start, r.quote_end, quote=r.quote).ok


def test_extracted_texts_are_stored_with_the_index(formats, settings):
    corpus, index_dir, searcher = formats
    build = store.current_build(index_dir)
    manifest = json.loads((build / store.MANIFEST).read_text(encoding="utf-8"))  # as written on disk
    assert set(manifest["texts"]) == {"lighthouse.html", "bees.pdf", "sourdough.docx"}
    for source, entry in manifest["texts"].items():
        assert entry["file"].endswith(f"/texts/{manifest['corpus']['files'][source]}.txt")
        text = (build / entry["file"]).read_text(encoding="utf-8")
        assert text == read_text(corpus / source)  # extraction is repeatable
        for p in searcher.passages:
            if p.source == source:
                assert text[p.start:p.end] == p.text
    assert not any(p.page for p in searcher.passages if p.source != "bees.pdf")
    assert all(p.page in (1, 2, 3) for p in searcher.passages if p.source == "bees.pdf")


def test_quotes_of_extracted_formats_are_checked_against_the_stored_text(formats, monkeypatch):
    corpus, _, searcher = formats
    p = next(p for p in searcher.passages if p.source == "bees.pdf")

    def no_extraction(*args):
        raise AssertionError("the file was extracted again instead of using the stored text")

    monkeypatch.setattr(verify.Verifier, "read", staticmethod(no_extraction))
    checker = verify.Verifier.for_index(searcher.index)
    assert checker.verify(p, p.start, p.end, quote=p.text).ok
    assert not checker.verify(p, p.start, p.end, quote=p.text[:-1] + "#").ok


def test_changed_or_deleted_pdf_is_flagged(tmp_path, formats):
    corpus, _, searcher = formats
    copy = tmp_path / "corpus"
    shutil.copytree(corpus, copy)
    p = next(p for p in searcher.passages if p.source == "bees.pdf")
    checker = dataclasses.replace(verify.Verifier.for_index(searcher.index), corpus_root=copy)
    assert checker.verify(p, p.start, p.end).ok
    # the same text, other bytes (a re-saved file): the manifest's hash no longer matches
    (copy / "bees.pdf").write_bytes(make_pdf(PDF_PAGES) + b"\n% re-saved\n")
    v = checker.verify(p, p.start, p.end)
    assert not v.ok and v.reason == verify.CHANGED
    (copy / "bees.pdf").unlink()
    v = checker.verify(p, p.start, p.end)
    assert not v.ok and v.reason == verify.MISSING


def test_without_a_known_index_the_file_is_extracted_again(tmp_path, formats):
    corpus, _, searcher = formats
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(corpus, elsewhere)  # no index was loaded for this folder
    p = next(p for p in searcher.passages if p.source == "sourdough.docx")
    checker = verify.Verifier(elsewhere)
    assert checker.verify(p, p.start, p.end, quote=p.text).ok
    (elsewhere / "sourdough.docx").write_bytes(make_docx([DOCX_BLOCKS[0], ("p", "Rye bread needs no starter.")]))
    v = checker.verify(p, p.start, p.end)
    assert not v.ok and v.reason == verify.CHANGED


def test_index_with_formats_loads_and_is_not_stale(formats, settings):
    _, index_dir, searcher = formats
    loaded = load_index(index_dir, settings)
    assert {s for s, _ in searcher.documents()} == {"lighthouse.html", "bees.pdf", "sourdough.docx", "plain.txt"}
    assert loaded.manifest.counts.documents == 4

"""Citations in every style, the document catalogue (catalog.toml, front matter, fallbacks)
and quote verification against the files."""
from __future__ import annotations

import datetime
import os
import re
import shutil
from dataclasses import replace

import pytest

from core.documents import read_text
from workshop import catalog, cite, verify
from workshop.catalog import DocumentInfo, document_info, load_catalog
from workshop.cite import STYLES, format_citation, permalink

SEED_TITLES = {
    "unseen-costs-of-intimacy-with-the-wrong-partner.txt":
        "The Unseen Costs of Intimacy with the Wrong Partner: Emotional, Social, and Health Implications",
    "emotional-intimacy-the-hidden-connection.txt":
        "Emotional Intimacy: Understanding the Hidden Connection That Strengthens Relationships?",
    "emotional-intimacy-and-why-it-is-important.txt": "Emotional intimacy and why it is important",
}


def _with_section(searcher):
    """A passage under a section heading, and its first sentence as the quote."""
    p = next(p for p in searcher.passages if p.section and not p.question and p.kind == "body")
    s, e = p.sentences[0]
    return p, p.text[s - p.start:e - p.start]


# --- citations -------------------------------------------------------------------------------

@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_style_names_quote_title_section_paragraph_and_unknown_author(searcher, seed_corpus, style):
    p, quote = _with_section(searcher)
    info = document_info(seed_corpus, p.source, p.title)
    text = format_citation(p, quote, info, style, "http://localhost:8501/")
    assert " ".join(quote.split()) in cite.md_unescape(text)
    assert cite._short_title(info.title) in text if style == "apa" else info.title in cite.md_unescape(text)
    assert p.section in cite.md_unescape(text)
    assert str(p.paragraph) in text
    if style == "apa":  # APA puts the title where the author is unknown, and says n.d.
        assert "n.d." in text and f"para. {p.paragraph}" in text
    else:
        assert "Unknown author" in text
    if style == "markdown":
        assert f"(http://localhost:8501/?p={p.id})" in text


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_style_names_author_site_date_and_url_when_known(searcher, style):
    p, quote = _with_section(searcher)
    info = DocumentInfo(p.source, title="On Closeness", author="Ada Writer", site="Essays Weekly",
                        url="https://essays.example.org/closeness", date="2023-04-09")
    text = format_citation(p, quote, info, style, "https://app.example.org/essays")
    for part in ("Ada Writer", "On Closeness", "https://essays.example.org/closeness", "2023"):
        assert part in text
    if style == "apa":
        assert "Ada Writer. (2023, April 9). On Closeness. Essays Weekly. https://essays.example.org/closeness" in text
        assert f"(Ada Writer, 2023, {p.section} section, para. {p.paragraph})" in text
    if style == "markdown":
        assert f"https://app.example.org/essays?p={p.id}" in text
        assert "[source](https://essays.example.org/closeness)" in text


def test_citation_without_the_quote_and_whole_passage_when_quote_is_empty(searcher):
    p, quote = _with_section(searcher)
    for style in STYLES:
        assert " ".join(quote.split()) not in format_citation(p, quote, None, style, include_quote=False)
        whole = cite.md_unescape(format_citation(p, "", None, style))
        assert " ".join(p.text.split()) in whole


def test_markdown_citation_cannot_inject_markup(searcher):
    p, _ = _with_section(searcher)
    info = DocumentInfo(p.source, title="[x](javascript:alert(1)) <b>", url="javascript:alert(1)")
    text = format_citation(p, "<script>alert(1)</script> *bold* # h", info, "markdown")
    assert "<script>" not in text and "<b>" not in text
    assert not re.search(r"(?<!\\)\]\(javascript:", text)  # an escaped "\](" is no link
    assert "\\<script\\>alert(1)\\</script\\> \\*bold\\* # h" in text  # "#" mid-line is no heading


def test_markdown_escape_round_trips():
    for text in ("a*b_c [x](y) <i> & #h `c` | ~", "- item\n1. two\n  = x\n\\*lit\\", "10) x", ""):
        assert cite.md_unescape(cite.md_escape(text)) == text


def test_permalink_keeps_other_parameters():
    assert permalink("abc123") == "http://localhost:8501/?p=abc123"
    assert permalink("abc", "https://h.example/app?x=1&p=old") == "https://h.example/app?x=1&p=abc"


def test_base_url_from_environment(monkeypatch, searcher):
    p, quote = _with_section(searcher)
    monkeypatch.setenv("ESSAYS_BASE_URL", "https://essays.example.org/")
    assert f"https://essays.example.org/?p={p.id}" in format_citation(p, quote, None, "markdown")


def test_unknown_style_is_refused(searcher):
    with pytest.raises(ValueError, match="plain"):
        format_citation(searcher.passages[0], None, None, "mla")


def test_where_keeps_its_form(searcher):
    p, quote = _with_section(searcher)
    assert cite.where(p).endswith(f"paragraph {p.paragraph}, {p.source}")


# --- the catalogue ---------------------------------------------------------------------------

def test_seed_catalogue_records_only_what_the_texts_show(seed_corpus, searcher):
    entries = load_catalog(seed_corpus)
    assert set(entries) == {s for s, _ in searcher.documents()}
    for source, info in entries.items():
        assert (info.author, info.site, info.url, info.date) == ("", "", "", "")
        assert info.title == SEED_TITLES.get(source, "")
    # the catalogue is not a document
    assert all(p.source.endswith(".txt") for p in searcher.passages)


def test_titles_fall_back_to_the_index(seed_corpus, searcher):
    for source, title in searcher.documents():
        info = document_info(seed_corpus, source, title)
        assert info.title == SEED_TITLES.get(source, title)
        assert info.author_label == "Unknown author" and info.url == ""


def test_catalogue_then_front_matter_then_fallback(tmp_path):
    (tmp_path / "catalog.toml").write_text(
        '["a.md"]\ntitle = "Catalogue title"\nauthors = ["Ann Lee", "Bo Kim"]\ndate = 2021-06-01\n'
        '["sub/c.txt"]\npublisher = "Press"\nlink = "https://example.org/c"\n', encoding="utf-8")
    (tmp_path / "a.md").write_text(
        "---\ntitle: Front title\nauthor: Nobody\nsite: 'A Site'\n---\n# Heading\n\nBody text.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text(
        '---\ntitle: "Front: B"\nauthor: Cy Doe\nurl: https://example.org/b\ndate: March 2020\n---\nText.\n',
        encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("Plain text, no front matter.\n", encoding="utf-8")
    (tmp_path / "d.txt").write_text("---\nnot: closed\nText.\n", encoding="utf-8")

    a = document_info(tmp_path, "a.md", "Index title")
    assert (a.title, a.author, a.site, a.date) == ("Catalogue title", "Ann Lee & Bo Kim", "A Site", "2021-06-01")
    b = document_info(tmp_path, "b.md", "Index title")
    assert (b.title, b.author, b.url, b.date) == ("Front: B", "Cy Doe", "https://example.org/b", "March 2020")
    c = document_info(tmp_path, "sub/c.txt", "C title")
    assert (c.title, c.author_label, c.site, c.url) == ("C title", "Unknown author", "Press", "https://example.org/c")
    d = document_info(tmp_path, "d.txt", "")
    assert (d.title, d.author) == ("d", "")  # no closing ---: not front matter; title from the file name
    assert "(2021, June 1)" in format_citation(_stub("a.md"), "Q", a, "apa")
    assert "(Cy Doe, 2020, para. 1)" in format_citation(_stub("b.md"), "Q", b, "apa")


def test_broken_catalogue_is_reported_not_fatal(tmp_path):
    (tmp_path / "catalog.toml").write_text("[oops\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("Text.\n", encoding="utf-8")
    with pytest.raises(catalog.CatalogError):
        load_catalog(tmp_path)
    assert document_info(tmp_path, "a.txt", "A").title == "A"
    assert load_catalog(tmp_path.parent) == {}  # no catalogue at all is fine


def test_catalogue_is_reread_when_it_changes(tmp_path):
    path = tmp_path / "catalog.toml"
    path.write_text('["a.txt"]\nauthor = "One"\n', encoding="utf-8")
    assert load_catalog(tmp_path)["a.txt"].author == "One"
    path.write_text('["a.txt"]\nauthor = "Two, longer"\n', encoding="utf-8")
    assert load_catalog(tmp_path)["a.txt"].author == "Two, longer"


def _stub(source: str):
    from core.passage import Passage

    return Passage(id="x", source=source, title="T", section="", question="", kind="body",
                   paragraph=1, paragraph_end=1, start=0, end=1, text="Q", sentences=((0, 1),))


# --- verification ----------------------------------------------------------------------------

def test_every_result_verifies_against_the_seed_files(searcher, seed_corpus):
    answer = searcher.search("What does it mean to feel emotionally safe with someone?", k=5)
    for r in answer.results:
        v = verify.Verifier(seed_corpus).verify(r.passage, r.quote_start, r.quote_end, quote=r.quote)
        assert v.ok and v.reason == "verified" and v.flag() == ""
        assert read_text(seed_corpus / r.source)[r.quote_start:r.quote_end] == r.quote


def test_edited_missing_or_outside_files_are_flagged(searcher, seed_corpus, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)  # never touch the shared seed copy
    p = next(p for p in searcher.passages if p.paragraph > 3)
    assert verify.Verifier(corpus).verify(p, p.start, p.end).ok

    path = corpus / p.source
    text = read_text(path)
    path.write_text(text[:p.start] + "Inserted words. " + text[p.start:], encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    v = verify.Verifier(corpus).verify(p, p.start, p.end)
    assert not v.ok and v.reason == verify.CHANGED
    assert v.flag() == "[quote not verified: file changed since indexing]"

    path.unlink()
    v = verify.Verifier(corpus).verify(p, p.start, p.end)
    assert not v.ok and v.reason == verify.MISSING

    other = next(q for q in searcher.passages if q.source != p.source)
    assert not verify.Verifier(corpus).verify(other, other.start, other.end, quote="not the text").ok
    assert not verify.Verifier(corpus).verify(other, other.start - 1, other.end).ok  # outside the passage
    assert not verify.Verifier(corpus).verify(replace(other, source="../../etc/x.txt"), other.start, other.end).ok


def test_file_texts_are_read_once_per_version(searcher, seed_corpus, monkeypatch):
    calls = []
    real = verify.read_text
    monkeypatch.setattr(verify, "read_text", lambda path: calls.append(path) or real(path))
    checker = verify.Verifier(seed_corpus)
    for p in searcher.passages:
        assert checker.verify(p, p.start, p.end).ok
    assert len(calls) == len({p.source for p in searcher.passages})


def test_dates_in_apa():
    assert cite.apa_date("2024-03-05") == "2024, March 5"
    assert cite.apa_date("2024-03") == "2024, March"
    assert cite.apa_date("") == "n.d."
    assert cite.apa_year("5 March 2019") == "2019"
    assert catalog.text_value(datetime.date(2020, 1, 2)) == "2020-01-02"

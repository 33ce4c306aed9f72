"""Handout export in every format: each quote read back from the file equals the document's
text at its offsets, in the basket's order, with notes, citations, title and date; changed
files are flagged; document text never becomes markup."""
from __future__ import annotations

import csv
import datetime
import io
import re
import shutil
from html.parser import HTMLParser

import pytest

from ingest import build_index
from core.documents import read_text
from search import open_searcher
from workshop.basket import Basket, BasketItem
from workshop.cite import for_quote, md_unescape, paragraph_range
from workshop.handout import FORMATS, export, filename
from workshop.verify import Verifier

DATE = datetime.date(2025, 3, 7)
TITLE = "Workshop: closeness & trust"
FLAG = "[quote not verified: file changed since indexing]"
QUESTIONS = [
    "What does it mean to feel emotionally safe with someone?",
    "Why do people build walls around their hearts?",
    "Why are men less comfortable opening up?",
]


# --- reading each format back ----------------------------------------------------------------

def read_markdown(data: bytes) -> dict:
    text = data.decode("utf-8")
    items = []
    for block in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        lines = block.split("\n")
        first = next(n for n, line in enumerate(lines) if line.startswith(">"))
        end = next((n for n in range(first, len(lines)) if not lines[n].startswith(">")), len(lines))
        quote = "\n".join(line[2:] if line.startswith("> ") else "" for line in lines[first:end])
        items.append({"quote": md_unescape(quote), "text": md_unescape(block)})
    return {"head": md_unescape(text.split("\n## ")[0]), "items": items, "raw": text}


def read_csv(data: bytes) -> dict:
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    items = [{"quote": r["quote"], "text": " ".join(r.values()), "row": r} for r in rows]
    return {"head": f"{rows[0]['handout']} {rows[0]['date']}" if rows else "", "items": items}


class _HandoutParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.head = ""
        self.items: list[dict] = []

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class", "")
        if tag == "li" and cls == "item":
            self.items.append({"quote": "", "text": ""})
        if tag not in ("meta", "br", "link"):
            self.stack.append(cls or tag)

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if "quote" in self.stack and self.items:
            self.items[-1]["quote"] += data
        if self.items:
            self.items[-1]["text"] += data
        elif "h1" in self.stack or "date" in self.stack:
            self.head += data + " "


def read_html(data: bytes) -> dict:
    parser = _HandoutParser()
    parser.feed(data.decode("utf-8"))
    parser.close()
    return {"head": parser.head, "items": parser.items}


def read_docx(data: bytes) -> dict:
    from docx import Document

    doc = Document(io.BytesIO(data))
    head, items = "", []
    for para in doc.paragraphs:
        style = para.style.name
        if style == "Heading 2":
            items.append({"quote": None, "text": ""})
        elif style == "Quote":
            items[-1]["quote"] = para.text
        elif not items:
            head += para.text + " "
        if items:
            items[-1]["text"] += para.text + "\n"
    return {"head": head, "items": items}


READERS = {"markdown": read_markdown, "csv": read_csv, "html": read_html, "docx": read_docx}
assert set(READERS) == set(FORMATS)


def original(corpus, item, fmt):
    text = read_text(corpus / item.source)[item.quote_start:item.quote_end]
    return text.replace("\r\n", "\n") if fmt == "docx" else text  # Word keeps line breaks, not CR


# --- a basket of real results ----------------------------------------------------------------

@pytest.fixture(scope="module")
def basket(searcher):
    b = Basket()
    for n, question in enumerate(QUESTIONS):
        for r in searcher.search(question, k=2).results:
            b.add(BasketItem.from_result(r, note=f"Note {n}: ask <who> & *why*" if r.rank == 1 else ""))
    multi = next(p for p in searcher.passages if "\n" in p.text)  # a quote over two paragraphs
    b.add(BasketItem.from_passage(multi, note="Two paragraphs\nsecond line of the note"))
    comment = next(p for p in searcher.passages if p.kind == "comment")
    b.add(BasketItem.from_passage(comment))
    b.move(multi.id, -1)  # the order is the basket's, not the search's
    assert len(b) >= 6
    return b


@pytest.mark.parametrize("style", ["plain", "markdown", "apa"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_exported_quotes_equal_the_files_in_order_with_notes(basket, seed_corpus, fmt, style):
    data = export(basket, fmt, Verifier(seed_corpus), style, TITLE, DATE, "http://localhost:8501/")
    out = READERS[fmt](data)
    assert TITLE in out["head"] and "7 March 2025" in out["head"]
    assert len(out["items"]) == len(basket)
    for item, got in zip(basket, out["items"]):  # same order
        assert got["quote"] == original(seed_corpus, item, fmt) == item.quote.replace("\r\n", "\n")
        for line in item.note.splitlines():
            assert line in got["text"]
        assert FLAG not in got["text"] and "not verified" not in got["text"]
        cited = for_quote(item.passage, item.quote, item.quote_start)  # the quote's paragraphs
        assert re.search(rf"\b(paragraphs?|paras?\.) {paragraph_range(cited)}\b", got["text"])
        assert item.title.split()[0] in got["text"]
    assert any("\n" in i.quote for i in basket)


def test_citation_style_is_the_chosen_one(basket, seed_corpus):
    apa = read_csv(export(basket, "csv", Verifier(seed_corpus), "apa", TITLE, DATE))
    plain = read_csv(export(basket, "csv", Verifier(seed_corpus), "plain", TITLE, DATE))
    md = read_markdown(export(basket, "markdown", Verifier(seed_corpus), "markdown", TITLE, DATE, "https://x.example/"))
    assert all("n.d." in i["row"]["citation"] for i in apa["items"])
    assert all("Unknown author" in i["row"]["citation"] for i in plain["items"])
    assert all(f"https://x.example/?p={item.passage_id}" in md["raw"] for item in basket)


def test_links_and_permalinks_in_html_and_docx(basket, seed_corpus):
    page = export(basket, "html", Verifier(seed_corpus), "plain", TITLE, DATE).decode()
    for item in basket:
        assert f'href="http://localhost:8501/?p={item.passage_id}"' in page
    assert "@media print" in page and "<script" not in page.lower()
    doc = export(basket, "docx", Verifier(seed_corpus), "plain", TITLE, DATE)
    from docx import Document

    rels = Document(io.BytesIO(doc)).part.rels.values()
    assert {f"http://localhost:8501/?p={i.passage_id}" for i in basket} <= {r.target_ref for r in rels if r.is_external}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_changed_file_is_flagged_in_every_format(basket, seed_corpus, tmp_path, fmt):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)  # the shared seed copy stays untouched
    changed = list(basket)[1]
    path = corpus / changed.source
    text = read_text(path)
    path.write_text(text[:changed.passage.start] + "An edit. " + text[changed.passage.start:], encoding="utf-8")
    out = READERS[fmt](export(basket, fmt, Verifier(corpus), "plain", TITLE, DATE))
    for item, got in zip(basket, out["items"]):
        flagged = FLAG in got["text"]
        assert flagged == (item.source == changed.source), item.source
        assert got["quote"] == item.quote  # still the quote that was collected, never "verified"
    if fmt == "csv":
        assert [i["row"]["verified"] == "yes" for i in out["items"]] == [i.source != changed.source for i in basket]


def test_missing_file_is_flagged(basket, seed_corpus, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    first = list(basket)[0]
    (corpus / first.source).unlink()
    out = read_markdown(export(basket, "markdown", Verifier(corpus), "plain", TITLE, DATE))
    assert "[quote not verified: file no longer exists]" in out["items"][0]["text"]


def test_empty_basket_and_unknown_format(seed_corpus):
    for fmt in FORMATS:
        assert export(Basket(), fmt, Verifier(seed_corpus), "plain", "", DATE)
    with pytest.raises(ValueError):
        export(Basket(), "pdf", Verifier(seed_corpus), "plain", TITLE, DATE)
    assert filename("Workshop: Closeness & Trust!", "docx") == "workshop-closeness-trust.docx"
    assert filename("", "markdown") == "handout.md"


# --- a document that tries to inject markup --------------------------------------------------

HOSTILE = (
    "Trust between friends\n\n"
    "Trust grows slowly between friends who keep their promises. <script>alert(1)</script> "
    "A friend who listens <b>without judging</b> makes it safe to speak & be heard.\n\n"
    "Promises kept over many years are how trust between friends is built and kept.\n"
)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, settings):
    corpus = tmp_path_factory.mktemp("hostile") / "docs"
    corpus.mkdir()
    (corpus / "friends.txt").write_text(HOSTILE, encoding="utf-8")
    (corpus / "catalog.toml").write_text(
        '["friends.txt"]\ntitle = "Friends <img src=x onerror=alert(2)>"\nauthor = "<i>Eve</i>"\n'
        'url = "javascript:alert(3)"\n', encoding="utf-8")
    index_dir = corpus.parent / "index"
    build_index([corpus], index_dir, settings, on_event=lambda e: None, progress=False)
    found = open_searcher(index_dir, settings, rebuild=False)
    result = next(r for r in found.search("How does trust grow between friends?", k=3).results
                  if "<script>" in r.text)
    basket = Basket()
    basket.add(BasketItem.from_passage(result.passage, note="</p><script>alert(4)</script> & more"))
    return corpus, basket


def test_html_handout_escapes_all_document_text(hostile):
    corpus, basket = hostile
    item = list(basket)[0]
    assert "<script>alert(1)</script>" in item.quote
    for style in ("plain", "markdown", "apa"):
        page = export(basket, "html", Verifier(corpus), style, "<script>alert(5)</script>", DATE).decode()
        lowered = page.lower()
        assert "<script" not in lowered and "<img" not in lowered and "<b>" not in lowered and "<i>" not in lowered
        assert "javascript:" not in re.findall(r'href="([^"]*)"', page).__str__()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "default-src 'none'" in page  # and nothing could run even if it slipped through
        out = read_html(page.encode())
        assert out["items"][0]["quote"] == read_text(corpus / item.source)[item.quote_start:item.quote_end]
        assert "</p><script>alert(4)</script> & more" in out["items"][0]["text"]
        assert "<script>alert(5)</script>" in out["head"]


def test_markdown_csv_docx_keep_hostile_text_verbatim_but_inert(hostile):
    corpus, basket = hostile
    item = list(basket)[0]
    raw = export(basket, "markdown", Verifier(corpus), "markdown", "T", DATE).decode()
    assert not re.search(r"(?<!\\)<[A-Za-z/!?]", raw)  # no tag starts unescaped: no HTML in the Markdown
    assert not re.search(r"(?<!\\)\]\(javascript:", raw) and "\\<script>" in raw
    assert read_markdown(raw.encode())["items"][0]["quote"] == item.quote
    for fmt in ("csv", "docx"):
        assert READERS[fmt](export(basket, fmt, Verifier(corpus), "plain", "T", DATE))["items"][0]["quote"] == item.quote


def test_csv_free_text_cannot_be_a_formula(searcher, seed_corpus):
    r = searcher.search("trust", k=1).results[0]
    basket = Basket([BasketItem.from_result(r, note="=HYPERLINK(\"http://x\")")])
    row = read_csv(export(basket, "csv", Verifier(seed_corpus), "plain", "+SUM(1)", DATE))["items"][0]["row"]
    assert row["note"].startswith("'=") and row["handout"].startswith("'+")
    assert row["quote"] == r.quote


# --- a quote's own paragraphs; Markdown that reads as plain text -----------------------------

def _item(passage, quote: str, note: str = "") -> BasketItem:
    start = passage.start + passage.text.index(quote)
    return BasketItem.from_passage(passage, start, start + len(quote), note)


@pytest.mark.parametrize("quote, numbers", [('a friend says "come back"', "2"),
                                            ("He said nothing.\n\n- Listening helps.", "3–4")])
def test_handouts_cite_the_paragraphs_of_the_quote(walls, quote, numbers):
    corpus, p = walls
    basket = Basket([_item(p, quote)])
    words = "paragraphs" if "–" in numbers else "paragraph"
    row = read_csv(export(basket, "csv", Verifier(corpus), "plain", TITLE, DATE))["items"][0]["row"]
    assert row["paragraph"] == numbers and row["quote"] == quote  # the quote verbatim, its own marks kept
    assert row["citation"] == f"Unknown author, Walls & closeness, {words} {numbers}, walls.txt"
    apa = read_csv(export(basket, "csv", Verifier(corpus), "apa", TITLE, DATE))["items"][0]["row"]["citation"]
    assert f"{'paras' if '–' in numbers else 'para'}. {numbers})" in apa
    for fmt in ("markdown", "html", "docx"):
        got = READERS[fmt](export(basket, fmt, Verifier(corpus), "plain", TITLE, DATE))["items"][0]
        assert got["quote"] == quote and f"{words} {numbers}," in got["text"] and "1–5" not in got["text"]


def test_markdown_handout_reads_as_plain_text_and_renders_literally(walls):
    corpus, p = walls
    note = "Bring *two* questions & a pen_name.\n# not a heading\n1. not a list"
    basket = Basket([BasketItem.from_passage(p, note=note)])
    for style in ("plain", "markdown", "apa"):
        raw = export(basket, "markdown", Verifier(corpus), style, "Walls & closeness: #1", DATE).decode()
        assert raw.startswith("# Walls & closeness: #1\n\n7 March 2025\n\n## 1. Walls & closeness\n\n")
        assert ('> We build walls slowly. Nobody notices at first.\n>\n'
                '> Then one day a friend says "come back" and we cannot.\n'
                '> She asked, “Do you love me?” He said nothing.\n>\n'
                '> \\- Listening helps.\n> \\- Patience helps too.\n') in raw  # only the list marks escaped
        assert "*Note:* Bring \\*two\\* questions & a pen_name.  \n\\# not a heading  \n1\\. not a list" in raw
        assert "\\&" not in raw and re.search(r"(paragraphs|paras\.) 1–5\b", raw)
        import markdown_it
        page = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(raw)
        tags = set(re.findall(r"</?(\w+)", page))
        assert tags <= {"h1", "h2", "p", "blockquote", "em", "strong", "br", "a"}, tags
        assert "<li>" not in page and "<h1>Walls &amp; closeness: #1</h1>" in page

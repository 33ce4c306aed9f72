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
    assert not re.search(r"(?<!\\)<[A-Za-z/]", text)  # no tag starts unescaped
    assert not re.search(r"(?<!\\)\]\(javascript:", text)  # an escaped "\](" is no link
    assert "\\<script>alert(1)\\</script> \\*bold\\* # h" in text  # "#" mid-line is no heading


def test_markdown_escape_round_trips():
    for text in ("a*b_c [x](y) <i> & #h `c` | ~", "- item\n1. two\n  = x\n\\*lit\\", "10) x", "",
                 "a &amp; b\n|--|:-:|\n~~~\n> q\n### h ##\nC:\\dir\\ end\\"):
        assert cite.md_unescape(cite.md_escape(text)) == text
        assert cite.md_unescape(cite.md_text(text)) == text
        assert cite.md_unescape(cite.md_text(text, label=True)) == text


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


# --- the quote's paragraphs, singular or plural, quotation marks -----------------------------

def _at(passage, quote: str) -> int:
    """The absolute offset of `quote` in the passage."""
    return passage.start + passage.text.index(quote)


ONE = 'Then one day a friend says "come back" and we cannot.'  # paragraph 2
AFTER_A_NEWLINE = "She asked, “Do you love me?”"  # paragraph 3: a single newline before it
OVER_TWO = "He said nothing.\n\n- Listening helps."  # paragraphs 3–4
LAST = "Patience helps too."  # paragraph 5: a list item


@pytest.mark.parametrize("style", sorted(STYLES))
def test_a_citation_names_the_paragraphs_of_its_quote_singular_or_plural(walls, style):
    _, p = walls
    cases = ((ONE, "2"), (AFTER_A_NEWLINE, "3"), (OVER_TWO, "3–4"), (LAST, "5"), (p.text, "1–5"), ("", "1–5"))
    for quote, numbers in cases:
        for start in (_at(p, quote), None):  # the quote's offset known, or found in the passage
            text = cite.md_unescape(format_citation(p, quote, None, style, quote_start=start))
            several = "–" in numbers
            if style == "apa":
                assert f"{'paras' if several else 'para'}. {numbers})" in text, (quote, text)
            else:
                assert re.search(rf"\b{'paragraphs' if several else 'paragraph'} {numbers}(,|$)", text), (quote, text)
            if numbers != "1–5":
                assert "1–5" not in text


def test_the_paragraph_of_every_sentence_of_the_seed_passages(searcher, seed_corpus):
    """Checked against the document's own structure: each sentence of a passage is cited by the
    paragraph that holds it, in passages over one paragraph or several."""
    from ingest.structure import parse

    multi = 0
    for source in {p.source for p in searcher.passages}:
        paragraphs = parse(read_text(seed_corpus / source), source).paragraphs
        for p in (p for p in searcher.passages if p.source == source):
            multi += p.paragraph_end > p.paragraph
            for a, b in p.sentences:
                want = next(x.number for x in paragraphs if x.start <= a < x.end)
                assert cite.quote_paragraphs(p, a, b) == (want, want)
            assert cite.quote_paragraphs(p, p.start, p.end) == (p.paragraph, p.paragraph_end)
    assert multi >= 5


def test_quote_paragraphs_at_the_edges_and_when_the_passage_says_nothing_more(walls):
    _, p = walls
    said = _at(p, "He said nothing.") + len("He said nothing.")
    listening = _at(p, "Listening")
    assert cite.quote_paragraphs(p, said, listening + 9) == (4, 4)  # starts in the break: paragraph 4
    assert cite.quote_paragraphs(p, said - 8, listening) == (3, 3)  # ends at the break: paragraph 3
    assert cite.quote_paragraphs(p, p.start - 1, p.end) == (1, 5)  # outside the passage
    # A passage whose sentences do not show its paragraph breaks keeps its own range.
    flat = replace(p, sentences=((p.start, p.end),))
    assert cite.for_quote(flat, ONE).paragraph == 1 and cite.for_quote(flat, ONE).paragraph_end == 5
    assert cite.for_quote(p, "not in the passage") == p
    # A PDF's page stays the passage's: a Passage does not record where its pages break.
    assert cite.for_quote(replace(p, page=3), LAST).page == 3
    assert "page 3, paragraph 5," in format_citation(replace(p, page=3), LAST)
    assert cite.where(p).endswith("paragraphs 1–5, walls.txt") and "paragraph 5," in cite.where(cite.for_quote(p, LAST))


def test_quotation_marks_inside_a_citation_become_single(walls):
    _, p = walls
    quote = ONE + "\n" + AFTER_A_NEWLINE
    plain = format_citation(p, quote, None, "plain")
    assert plain.startswith("“Then one day a friend says 'come back' and we cannot. "
                            "She asked, ‘Do you love me?’” — Unknown author, Walls & closeness, paragraphs 2–3, ")
    apa = format_citation(p, quote, None, "apa")
    assert apa.startswith("“Then one day a friend says 'come back' and we cannot. She asked, ‘Do you love me?’” (")
    assert "””" not in plain + apa and '"”' not in plain + apa
    info = DocumentInfo(p.source, title='The "Wall" essay: notes')
    assert "(“The 'Wall' essay”, n.d., paras. 2–3)" in format_citation(p, quote, info, "apa")
    # Markdown quotes in a block quote, without marks: the quote stays verbatim there.
    md = cite.md_unescape(format_citation(p, quote, None, "markdown"))
    assert md.startswith('> Then one day a friend says "come back" and we cannot. She asked, “Do you love me?”\n')
    assert cite.nested('“a” "b" ‘c’ don’t') == "‘a’ 'b' ‘c’ don’t"


@pytest.mark.parametrize("text, expected", [
    ("# Walls & closeness", "\\# Walls & closeness"),  # a heading; & that makes no entity
    ("Walls & closeness #1, the end #", "Walls & closeness #1, the end \\#"),  # a heading's closing #
    ("Tom &amp; Jerry &#39;", "Tom \\&amp; Jerry \\&#39;"),  # entities
    ("snake_case and a * b, not *this* or _that_", "snake_case and a * b, not \\*this\\* or \\_that\\_"),
    ("- item", "\\- item"), ("+ item", "\\+ item"), ("* item", "\\* item"), ("-5 degrees", "-5 degrees"),
    ("1984. A year", "1984\\. A year"), ("3) three", "3\\) three"), ("3.14 and 1) mid-line", "3.14 and 1) mid-line"),
    ("> quoted", "\\> quoted"), ("a > b < c", "a > b < c"), ("<b>bold</b> <http://x>", "\\<b>bold\\</b> \\<http://x>"),
    ("[1] and [sic] stay, [x](y) [a][b] do not", "[1] and [sic] stay, [x\\](y) [a\\][b] do not"),
    ("[ref]: http://x", "[ref\\]: http://x"), ("`code`", "\\`code\\`"), ("~~gone~~ a ~ b", "\\~\\~gone\\~\\~ a ~ b"),
    ("---", "\\---"), ("===", "\\==="), ("~~~", "\\~~~"), ("|--|:-:|", "\\|--\\|\\:-\\:\\|"), ("a | b", "a | b"),
    ("C:\\dir \\* end\\", "C:\\dir \\\\\\* end\\\\"), ("   # three spaces", "   \\# three spaces"),
    ("Questions: why? (And how!)", "Questions: why? (And how!)"),
])
def test_md_text_escapes_only_what_markdown_would_read_there(text, expected):
    assert cite.md_text(text) == expected
    assert cite.md_unescape(expected) == text


def test_md_text_renders_literally_and_the_page_keeps_its_strict_escape():
    import markdown_it
    md = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
    lines = ["# Walls & closeness", "Tom &amp; Jerry", "*a* _b_ **c** ~~d~~ `e`", "- x", "1. y", "> z",
             "[x](javascript:alert(1))", "![i](y)", "[r]: http://x", "<script>alert(1)</script>",
             "<http://x>", "---", "===", "~~~", "```", "a | b", "|---|---|", "Title ##", "end\\", "\\*"]
    for label in (False, True):
        for line in lines:
            html_out = md.render(f"a [*{cite.md_text(line, label=True)}*](http://h/)" if label else cite.md_text(line))
            tags = set(re.findall(r"</?(\w+)", html_out))
            assert tags <= ({"p", "a", "em"} if label else {"p"}), (line, html_out)
        doc = "\n".join(f"> {cite.md_text(line)}" for line in lines)  # a quote's lines, as in a handout
        rendered = md.render(doc)
        assert set(re.findall(r"</?(\w+)", rendered)) == {"blockquote", "p"}
        import html as html_module

        assert html_module.unescape(rendered[len("<blockquote>\n<p>"):-len("</p>\n</blockquote>\n")]) == "\n".join(lines)
    # The page's Markdown elements keep the strict escape (Streamlit adds :emoji:, $math$).
    assert cite.md_escape("snake_case :smile: $x$ a & b") == "snake\\_case \\:smile: \\$x\\$ a & b"
    assert cite.md_text("snake_case :smile: $x$ a & b") == "snake_case :smile: $x$ a & b"


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


SPHINX_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8" />
<title>Sorting Techniques &#8212; Some Project 2.1 documentation</title></head><body>
<h1>Sorting Techniques<a class="headerlink" href="#sorting" title="Link to this heading">¶</a></h1>
<dl class="field-list simple"><dt class="field-odd">Author<span class="colon">:</span></dt>
<dd class="field-odd"><p>Ann Lee &lt;<a href="mailto:ann@example.org">ann@example.org</a>&gt;</p></dd>
<dt class="field-even">author<span class="colon">:</span></dt><dd class="field-even"><p>Bo Kim</p></dd>
<dt class="field-odd">Release<span class="colon">:</span></dt><dd class="field-odd"><p>0.1</p></dd></dl>
<p>Sorting is easy.</p></body></html>"""
WORDPRESS_PAGE = """<html><head><title>Ten ways to listen | The Quiet Blog</title>
<meta name="author" content="Cy Doe"><meta property="og:site_name" content="The Quiet Blog">
<meta property="article:published_time" content="2023-04-05T08:00:00+00:00">
<link rel="canonical" href="https://quiet.example.org/ten-ways/"></head>
<body><h1>Ten ways to listen</h1><p>Listen.</p></body></html>"""
NEWS_PAGE = """<html><head><title>Storm hits coast - Daily News</title>
<meta property="article:author" content="https://www.facebook.com/dailynews">
<meta name="dc.creator" content="Dee Fox"><meta property="og:url" content="https://news.example.org/storm">
</head><body><h1>Storm hits coast</h1><p>Wind.</p></body></html>"""
BARE_PAGE = "<html><head><title>Notes</title></head><body><p>Only text.</p></body></html>"


def test_a_web_page_says_who_wrote_it_and_where(tmp_path):
    """Author, site, URL and date of a web page, from what it states: Sphinx's field list (e-mail
    left out, two authors joined), a blog's meta tags and canonical link, a news page's
    Dublin Core creator (not the profile link in article:author); nothing invented where a
    page states nothing; the catalogue still wins."""
    for name, page in (("sphinx.html", SPHINX_PAGE), ("wp.html", WORDPRESS_PAGE), ("news.htm", NEWS_PAGE),
                       ("bare.html", BARE_PAGE)):
        (tmp_path / name).write_text(page, encoding="utf-8")
    sphinx = document_info(tmp_path, "sphinx.html", "Sorting Techniques")
    assert (sphinx.author, sphinx.site, sphinx.url, sphinx.date) == (
        "Ann Lee & Bo Kim", "Some Project 2.1 documentation", "", "")
    wp = document_info(tmp_path, "wp.html", "Ten ways to listen")
    assert (wp.author, wp.site, wp.url, wp.date) == (
        "Cy Doe", "The Quiet Blog", "https://quiet.example.org/ten-ways/", "2023-04-05")
    news = document_info(tmp_path, "news.htm", "Storm hits coast")
    assert (news.author, news.site, news.url) == ("Dee Fox", "Daily News", "https://news.example.org/storm")
    bare = document_info(tmp_path, "bare.html", "Notes")
    assert (bare.author_label, bare.site, bare.url, bare.date) == ("Unknown author", "", "", "")
    citation = format_citation(_stub("sphinx.html"), "Sorting is easy.", sphinx, "plain")
    assert "Ann Lee & Bo Kim" in citation and "Some Project 2.1 documentation" in citation
    assert "(2023, April 5)" in format_citation(_stub("wp.html"), "Listen.", wp, "apa")
    (tmp_path / "catalog.toml").write_text('["wp.html"]\nauthor = "Catalogue Name"\n', encoding="utf-8")
    assert document_info(tmp_path, "wp.html", "T").author == "Catalogue Name"
    (tmp_path / "odd.html").write_bytes(b"<div>" * 100_000 + bytes(range(256)))
    assert document_info(tmp_path, "odd.html", "Odd").author == ""  # unreadable as a page: nothing stated


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

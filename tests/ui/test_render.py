"""The pure helpers behind the pages: the card and its escaping, the reader, the address."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from core.passage import Passage
from ingest import build_index
from ui import address, reader, render
from workshop.basket import BasketItem
from workshop.verify import Verification, Verifier, verifier


# The pure helpers behind the page.

def test_highlight_marks_the_quote_by_absolute_offsets_and_escapes_everything():
    text = "A <b>first</b> line.\nThe **answer** & more. Last."
    start = 1000
    q0 = text.index("The")
    q1 = text.index(" Last")
    out = render.marked(text, start, start + q0, start + q1)
    assert out == ("A &lt;b&gt;first&lt;/b&gt; line.\n<mark>The **answer** &amp; more.</mark> Last.")
    # Offsets outside the passage are clamped; an empty span marks nothing.
    assert render.marked("abc", 10, 5, 11) == "<mark>a</mark>bc"
    assert render.marked("abc", 10, 12, 12) == "abc"


def test_md_escape_keeps_markdown_and_html_literal():
    escaped = render.md_escape("**bold** # x [link](y) <script> :smile: $x$")
    assert "<" not in escaped.replace("\\<", "")
    assert "\\*\\*bold\\*\\*" in escaped and "\\[link\\](y)" in escaped and "\\:smile:" in escaped
    assert "\\$x\\$" in escaped and render.md_escape("# x").startswith("\\#")


def test_parse_k_and_examples():
    assert render.parse_k("7", 5) == 7
    assert render.parse_k("0", 5) == 1 and render.parse_k("500", 5) == render.MAX_RESULTS
    assert render.parse_k(None, 5) == 5 and render.parse_k("many", 5) == 5
    assert render.model_label("bundled") == "all-MiniLM-L6-v2"
    assert render.model_label("/models/bge-small-en/") == "bge-small-en"


# The pure helpers behind the reader, the address and the basket.

def make_passage(source, paragraph, start, text, pid=None, paragraph_end=None, kind="body", section=""):
    return Passage(id=pid or f"id{paragraph}-{start}", source=source, title="A <Title>", section=section,
                   question="", kind=kind, paragraph=paragraph, paragraph_end=paragraph_end or paragraph,
                   start=start, end=start + len(text), text=text, sentences=((start, start + len(text)),))


DOC = "A <Title>\n\nFirst para & more.\n\n## Section *one*\n\nSecond <b>para</b>. Its end.\n\nBack to top\n"


def doc_passages():
    first = DOC.index("First")
    second = DOC.index("Second")
    cut = DOC.index(" Its end.")
    return [make_passage("d.txt", 1, first, DOC[first:DOC.index("\n\n## ")]),
            make_passage("d.txt", 2, second, DOC[second:cut], pid="p2a"),
            make_passage("d.txt", 2, cut + 1, DOC[cut + 1:DOC.index("\n\nBack")], pid="p2b")]


def test_document_blocks_cover_the_whole_text_in_order():
    blocks = reader.document_blocks(DOC, doc_passages())
    assert [b.passage.id if b.passage else b.text for b in blocks] == [
        "A <Title>", "id1-11", "## Section *one*", "p2a", "p2b", "Back to top"]
    assert "".join(b.text for b in blocks).replace(" ", "") == "".join(DOC.split())
    assert all(DOC[b.start:b.start + len(b.text)] == b.text for b in blocks)
    # Without the file's text: the indexed passages alone.
    assert [b.passage.id for b in reader.document_blocks(None, doc_passages())] == ["id1-11", "p2a", "p2b"]
    assert reader.matches(DOC, doc_passages()) and not reader.matches("x" + DOC, doc_passages())


def test_headings_between_passages_lose_their_marks_and_other_lines_stay_text():
    out = reader.between_html("# Sorting HOW TO\nBack to top\n### <Key> functions ##\n#hashtag line")
    assert out == ('<div class="between"><span class="heading h1">Sorting HOW TO</span><br>Back to top<br>'
                   '<span class="heading h3">&lt;Key&gt; functions</span><br>#hashtag line</div>')


def test_reader_html_numbers_paragraphs_marks_the_quote_and_escapes_everything():
    passages = doc_passages()
    blocks = reader.document_blocks(DOC, passages)
    second = passages[1]
    out = reader.reader_html(blocks, "p2a", second.start, second.start + len("Second <b>para</b>."))
    assert '<div class="between">A &lt;Title&gt;</div>' in out
    # a heading without its "##", no Markdown applied to it
    assert '<div class="between"><span class="heading h2">Section *one*</span></div>' in out
    assert "First para &amp; more." in out and "<b>" not in out
    assert ('<div class="para current" id="reader-current" data-passage="p2a"><span class="num" '
            'title="Paragraph 2">2</span><p class="text"><mark>Second &lt;b&gt;para&lt;/b&gt;.</mark></p>') in out
    # The second passage of paragraph 2 is not numbered again.
    assert '<div class="para" data-passage="p2b"><span class="num"></span>' in out
    # No quote inside the passage: the whole passage is marked.
    whole = reader.reader_html(blocks, "id1-11")
    assert "<mark>First para &amp; more.</mark>" in whole and whole.count("<mark>") == 1
    assert "reader-current" not in reader.reader_html(blocks, "nothing")


def test_open_document_reads_the_file_and_falls_back_to_the_index_when_it_changed(tmp_path):
    (tmp_path / "d.txt").write_text(DOC, encoding="utf-8")
    reading = reader.open_document(Verifier(tmp_path), doc_passages(), "d.txt")
    assert reading.complete and not reading.problem and len(reading.blocks) == 6
    (tmp_path / "d.txt").write_text("Changed.\n" + DOC, encoding="utf-8")
    reading = reader.open_document(Verifier(tmp_path), doc_passages(), "d.txt")
    assert not reading.complete and "changed since it was indexed" in reading.problem
    assert [b.passage.id for b in reading.blocks] == ["id1-11", "p2a", "p2b"]
    (tmp_path / "d.txt").unlink()
    assert "no longer exists" in reader.open_document(Verifier(tmp_path), doc_passages(), "d.txt").problem
    assert Verifier(tmp_path).document_text("../outside.txt") == ("", "the file is not in the document folder")


def test_the_address_round_trips_and_ignores_what_it_cannot_use():
    known = ["a.txt", "b.txt"]
    view = address.View(q="Why trust?", k=7, style="apa", sources=("b.txt", "a.txt"), p="abc123")
    params = address.view_to_params(view)
    assert params == {"q": "Why trust?", "k": "7", "style": "apa", "src": ["b.txt", "a.txt"], "p": "abc123"}
    assert address.view_from_params(params, 5, known) == view
    assert address.view_to_params(address.View(k=5)) == {}
    odd = {"q": ["old", "new"], "k": "lots", "style": "MLA", "src": ["x.txt", "a.txt", "a.txt"], "p": "z" * 500}
    assert address.view_from_params(odd, 5, known) == address.View(q="new", k=5, sources=("a.txt",))
    assert address.view_from_params({"style": " APA "}, 5, known).style == "apa"
    assert address.same_params({"q": ["x"], "src": ["a", "b"]}, {"q": "x", "src": ["a", "b"]})
    assert not address.same_params({"q": ["x"]}, {"q": "x", "p": "1"})
    assert address.page_url("", "http://host:8501/?q=x#top") == "http://host:8501/"
    assert address.page_url("https://essays.example/app", "http://host:8501/") == "https://essays.example/app"
    assert address.page_url("", None) == address.page_url("", "javascript:alert(1)") == "http://localhost:8501/"


def test_basket_entries_escape_and_name_their_paragraphs():
    p1, p2, p3 = doc_passages()
    html = render.basket_item_html(2, BasketItem.from_passage(p2))
    assert "<b>" not in html and "&lt;b&gt;" in html and "2." in html and "paragraph 2" in html
    # A passage over paragraphs 7–8: its items name the paragraphs of their quotes, singular or plural.
    text = 'He said "come back" and left.\n\nShe stayed.'
    second = text.index("She")
    p = Passage(id="pq", source="d.txt", title="T", section="", question="", kind="body", paragraph=7,
                paragraph_end=8, start=100, end=100 + len(text), text=text,
                sentences=((100, 100 + text.index("\n")), (100 + second, 100 + len(text))))
    one = render.basket_item_html(1, BasketItem.from_passage(p, 100, 100 + text.index("\n")))
    assert "T, paragraph 7</div>" in one and "paragraphs" not in one
    assert "T, paragraph 8</div>" in render.basket_item_html(1, BasketItem.from_passage(p, 100 + second, p.end))
    assert "T, paragraphs 7–8</div>" in render.basket_item_html(1, BasketItem.from_passage(p))
    # The quote's own double quotation marks become single inside the label's “…”.
    assert "“He said &#x27;come back&#x27; and left.”" in one
    # The page's citation of a quote: its paragraph, the marks nested; found in the passage or at its offset.
    cited = render.citation(Verifier(Path("/nowhere")), p, "She stayed.", "plain", "http://x/")
    assert cited.startswith("“She stayed.” — Unknown author, T, paragraph 8, d.txt")
    said = render.citation(Verifier(Path("/nowhere")), p, "left.", "apa", "http://x/", quote_start=100 + text.index("left"))
    assert said.startswith("“left.” (“T”, n.d., para. 7).")
    assert "“He said 'come back' and left.” — " in render.citation(Verifier(Path("/nowhere")), p, text[:second - 2],
                                                                 "plain", "http://x/")


def test_quote_span_prefers_the_search_then_the_basket():
    p = doc_passages()[1]
    result = SimpleNamespace(passage=p, quote_start=p.start, quote_end=p.start + 6)
    item = BasketItem.from_passage(p, p.start + 7, p.end)
    assert reader.quote_span(p.id, [result], [item]) == (p.start, p.start + 6)
    assert reader.quote_span(p.id, [], [item]) == (p.start + 7, p.end)
    weak = SimpleNamespace(passage=p, quote_start=p.start, quote_end=p.start)
    assert reader.quote_span(p.id, [weak], []) is None
    assert render.short("word " * 100, 20) == "word word word word…"
    flagged = render.citation(Verifier(Path("/nowhere")), p, p.text, "plain", "http://x/", Verification(False, "gone"))
    assert flagged.startswith("[quote not verified: gone]\n“Second")


def test_the_reader_shows_a_web_page_as_the_text_extracted_at_ingest(tmp_path, settings):
    from search.loading import load_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    page = ("<html><head><title>Letters &amp; Lighthouses</title></head><body><nav><a href='/'>Home</a></nav>"
            "<article><h1>Letters From The Rock</h1><p>Many keepers wrote long letters to their families, "
            "sent ashore whenever the relief boat came. The letters show how a person keeps a bond alive "
            "across weeks of silence: by telling small things honestly.</p><h2>The Logbooks</h2><p>Their "
            "logbooks speak of storms, of supply boats that could not land, and of the strange comfort "
            "of a routine kept in perfect solitude on a rock at sea.</p></article></body></html>")
    (corpus / "rock.html").write_text(page, encoding="utf-8")
    index_dir = tmp_path / "index"
    build_index([corpus], index_dir, settings, on_event=lambda e: None, progress=False)
    loaded = load_index(index_dir, settings)
    passages = loaded.passages
    reading = reader.open_document(verifier(loaded), passages, "rock.html")
    assert reading.complete and not reading.problem
    out = reader.reader_html(reading.blocks, passages[-1].id)
    assert "<article>" not in out and "Home" not in out  # the extracted text, not the markup
    assert "telling small things honestly" in out and "The Logbooks</span></div>" in out and "## The Logbooks" not in out
    assert "<mark>Their logbooks speak of storms" in out
    (corpus / "rock.html").write_text(page.replace("storms", "gales"), encoding="utf-8")
    reading = reader.open_document(Verifier.for_index(loaded), passages, "rock.html")
    assert not reading.complete and reading.problem == "file changed since indexing"




def test_the_address_carries_a_basket_id_of_the_right_shape_and_the_as_typed_flag():
    from ui.address import View, basket_link, view_from_params, view_to_params

    good = "c8uWU-lO3hl7qigivWBD7UU5umD0BkGW"
    view = view_from_params({"q": "trust", "b": good, "exact": "1"}, 5, [])
    assert view.b == good and view.exact
    assert view_to_params(view) == {"q": "trust", "k": "5", "b": good, "exact": "1"}
    assert view_from_params({"b": "../../etc"}, 5, []).b == ""  # not an id: ignored
    assert view_to_params(View(exact=True)) == {}  # no question: nothing to search as typed
    assert basket_link("http://127.0.0.1:8501", good) == f"http://127.0.0.1:8501/?b={good}"
    assert basket_link("https://example.org/app/", good) == f"https://example.org/app/?b={good}"

"""The search page (app.py), run headless with Streamlit's AppTest against real indexes."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ingest import build_index
from search import render

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SAFE_QUESTION = "What does it mean to feel emotionally safe with someone?"
TAXES = "How do I file my income taxes?"

# Elements whose text the browser interprets as HTML or Markdown; st.code and st.text show
# text as is, so a literal "<script>" there is harmless.
INTERPRETED = ("markdown", "caption", "html", "info", "warning", "error", "success",
               "title", "header", "subheader", "latex")


def run_app(index_dir: Path, monkeypatch, question: str | None = None, k: int | None = None,
            via_url: bool = False) -> AppTest:
    monkeypatch.setenv("ESSAYS_INDEX_DIR", str(index_dir))
    at = AppTest.from_file(APP, default_timeout=60)
    if via_url:
        if question is not None:
            at.query_params["q"] = question
        if k is not None:
            at.query_params["k"] = str(k)
        at.run()
    else:
        at.run()
        if question is not None:
            at.text_input(key="q").set_value(question)
        if k is not None:
            at.slider(key="k").set_value(k)
        at.run()
    assert not at.exception, at.exception
    return at


def cards(at: AppTest) -> list[str]:
    return [h.value for h in at.html if 'class="essay-card"' in h.value]


def interpreted_texts(at: AppTest) -> list[str]:
    texts = []
    for kind in INTERPRETED:
        for element in getattr(at, kind):
            texts.append(str(element.value))
    for expander in at.expander:
        texts.append(str(expander.label))
    for button in at.button:
        texts.append(str(button.label))
    return texts


def test_a_question_shows_cards_with_the_quote_marked_and_a_citation(seed_index, searcher, monkeypatch):
    at = run_app(seed_index, monkeypatch, SAFE_QUESTION)
    expected = searcher.search(SAFE_QUESTION, searcher.settings.top_k)
    shown = cards(at)
    assert len(shown) == len(expected.results) == searcher.settings.top_k
    # The best passage is the one that says feelings "will be handled with care", with its
    # answering sentence marked, word for word.
    best = shown[0]
    assert "their feelings will be handled with care" in best
    assert f"<mark>{render.esc(expected.results[0].quote)}</mark>" in best
    assert best.count("<mark>") == 1
    # A citation line on the card and a copy-ready citation naming the source file.
    source = expected.results[0].source
    assert source in best
    citations = [c.value for c in at.code]
    assert len(citations) == len(shown)
    assert expected.results[0].quote in citations[0] and source in citations[0]
    assert "Strong match" in best or "Partial match" in best
    assert not at.warning
    # Context on demand, and the link that reproduces the search.
    assert sum(e.label == "Surrounding text" for e in at.expander) == len(shown)
    assert at.query_params["q"] == SAFE_QUESTION
    assert at.query_params["k"] == str(searcher.settings.top_k)


def test_the_page_says_what_it_searches(seed_index, searcher, monkeypatch):
    at = run_app(seed_index, monkeypatch)
    summary = " ".join(c.value for c in at.caption)
    docs = len(searcher.documents())
    assert f"{docs} essays" in summary and f"{len(searcher.passages)} passages" in summary
    assert "all" in summary and "MiniLM" in summary
    assert at.title[0].value == "Ask the essays"


def test_an_empty_question_gets_a_friendly_message(seed_index, monkeypatch):
    at = run_app(seed_index, monkeypatch)  # first visit: nothing asked yet
    assert any("Type a question" in i.value for i in at.info)
    assert not at.error and not cards(at)
    at.text_input(key="q").set_value("   ").run()
    assert not at.exception
    assert any("Type a question" in i.value for i in at.info)
    assert not cards(at) and "q" not in at.query_params


def test_an_off_topic_question_shows_the_notice_and_the_nearest_passages(seed_index, monkeypatch):
    at = run_app(seed_index, monkeypatch, TAXES, k=3)
    assert len(at.warning) == 1 and "No good answer" in at.warning[0].value.replace("\\", "")
    assert len(cards(at)) == 3


def test_an_example_button_fills_the_box_and_asks(seed_index, monkeypatch):
    at = run_app(seed_index, monkeypatch)
    assert at.button, "the seed essays have FAQ questions to offer as examples"
    example = at.button[0].label
    at.button[0].click().run()
    assert at.text_input(key="q").value == example
    assert cards(at)
    assert at.query_params["q"] == example


def test_the_number_of_results_follows_the_slider(seed_index, monkeypatch):
    at = run_app(seed_index, monkeypatch, SAFE_QUESTION, k=2)
    assert len(cards(at)) == 2
    assert at.query_params["k"] == "2"


def test_a_link_with_q_and_k_reproduces_the_search(seed_index, monkeypatch):
    at = run_app(seed_index, monkeypatch, SAFE_QUESTION, k=3, via_url=True)
    assert at.text_input(key="q").value == SAFE_QUESTION
    assert at.slider(key="k").value == 3
    assert len(cards(at)) == 3
    assert "their feelings will be handled with care" in cards(at)[0]


def test_a_bad_k_in_the_link_falls_back_to_a_sensible_number(seed_index, settings, monkeypatch):
    at = run_app(seed_index, monkeypatch, SAFE_QUESTION, via_url=True)
    assert len(cards(at)) == settings.top_k
    monkeypatch.setenv("ESSAYS_INDEX_DIR", str(seed_index))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["q"] = SAFE_QUESTION
    at.query_params["k"] = "999"
    at.run()
    assert not at.exception and at.slider(key="k").value == render.MAX_RESULTS


@pytest.fixture(scope="module")
def tricky_index(tmp_path_factory, settings) -> Path:
    corpus = tmp_path_factory.mktemp("tricky") / "corpus"
    corpus.mkdir()
    (corpus / "markup-in-essays.txt").write_text(
        "Markup in Essays\n\n"
        "Some writers paste <script>alert(1)</script> into an essay about trust, and the page "
        "must show it as text rather than run it. Trust grows when words are shown exactly as "
        "they were written, angle brackets and all.\n\n"
        "Others write **bold** words, # hashes and [a link](http://example.com) when they talk "
        "about honesty in a relationship; those marks must stay visible as typed, because a "
        "quotation has to be word for word.\n",
        encoding="utf-8",
    )
    index_dir = tmp_path_factory.mktemp("tricky-index") / "index"
    build_index([corpus], index_dir, settings, echo=lambda m: None, progress=False)
    return index_dir


def test_document_text_is_always_escaped(tricky_index, monkeypatch):
    at = run_app(tricky_index, monkeypatch, "What must the page show about trust and scripts?", k=20)
    shown = "".join(cards(at)) + "".join(h.value for h in at.html)
    # Visible, escaped, never live.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert "**bold**" in shown and "[a link](http://example.com)" in shown
    for text in interpreted_texts(at):
        assert "<script" not in text.lower(), text
        assert "<strong>" not in text
    # st.html does not apply Markdown, so nothing there can turn ** into bold; the
    # copy-ready citation (st.code) shows the text as is.
    assert any("<script>alert(1)</script>" in c.value for c in at.code) or \
        any("**bold**" in c.value for c in at.code)


def test_a_broken_index_shows_its_fix_it_message(tmp_path, monkeypatch):
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    (index_dir / "CURRENT").write_text("20000101-000000-gone\n", encoding="utf-8")
    at = run_app(index_dir, monkeypatch)
    assert len(at.error) == 1
    assert "Rebuild it with: python -m ingest" in at.error[0].value.replace("\\", "")
    assert not cards(at) and not at.text_input


# The pure helpers behind the page.

class FakeResult:
    def __init__(self, text, start, quote_start, quote_end):
        from types import SimpleNamespace

        self.text, self.quote_start, self.quote_end = text, quote_start, quote_end
        self.passage = SimpleNamespace(start=start)


def test_highlight_marks_the_quote_by_absolute_offsets_and_escapes_everything():
    text = "A <b>first</b> line.\nThe **answer** & more. Last."
    start = 1000
    q0 = text.index("The")
    q1 = text.index(" Last")
    out = render.highlight_html(FakeResult(text, start, start + q0, start + q1))
    assert out == ("A &lt;b&gt;first&lt;/b&gt; line.\n<mark>The **answer** &amp; more.</mark> Last.")
    # Offsets outside the passage are clamped; an empty span marks nothing.
    assert render.marked("abc", 10, 5, 11) == "<mark>a</mark>bc"
    assert render.marked("abc", 10, 12, 12) == "abc"


def test_md_escape_keeps_markdown_and_html_literal():
    escaped = render.md_escape("**bold** # x [link](y) <script> :smile: $x$")
    assert "<" not in escaped.replace("\\<", "")
    assert "\\*\\*bold\\*\\*" in escaped and "\\[link\\]\\(y\\)" in escaped and "\\#" in escaped


def test_parse_k_and_examples():
    assert render.parse_k("7", 5) == 7
    assert render.parse_k("0", 5) == 1 and render.parse_k("500", 5) == render.MAX_RESULTS
    assert render.parse_k(None, 5) == 5 and render.parse_k("many", 5) == 5
    assert render.model_label({"model": "bundled"}) == "all-MiniLM-L6-v2"
    assert render.model_label({"model": "/models/bge-small-en/"}) == "bge-small-en"

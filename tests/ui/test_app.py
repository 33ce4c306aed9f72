"""The search page (app.py), run headless with Streamlit's AppTest against real indexes."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import datetime as dt
import io
import re
import shutil

from ingest import build_index
from ui import render
from workshop import cite, handout
from workshop.basket import Basket
from workshop.verify import Verifier, verifier
from ui.address import page_url
from helpers import ROOT, open_page

APP = str(ROOT / "app.py")
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
    build_index([corpus], index_dir, settings, on_event=lambda e: None, progress=False)
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


# --- citation styles, the reader, the basket and the address --------------------------------

SAFE_SOURCE = "emotional-intimacy-the-hidden-connection.txt"
OTHER_SOURCE = "physical-intimacy-with-the-wrong-person.txt"
STALE_ID = "0123456789abcdef"


def open_link(index_dir: Path, monkeypatch, **params) -> AppTest:
    """The page opened from an address with these query parameters (lists: repeated keys)."""
    return open_page(index_dir, monkeypatch, **params)


def basket_ids(at: AppTest) -> list[str]:
    return [d["passage"]["id"] for d in at.session_state["basket"]]


def basket_heading(at: AppTest) -> str:
    return at.sidebar.header[0].value


def reader_html(at: AppTest) -> str:
    return "".join(h.value for h in at.html if 'class="essay-reader"' in h.value)


def test_the_basket_keeps_passages_in_order_with_notes_across_reruns(seed_index, searcher, monkeypatch):
    at = run_app(seed_index, monkeypatch, SAFE_QUESTION)
    ids = [r.passage.id for r in searcher.search(SAFE_QUESTION, searcher.settings.top_k).results]
    assert basket_heading(at) == "Handout basket (0)" and not at.download_button

    at.button(key=f"add-{ids[0]}").click().run()
    at.button(key=f"add-{ids[2]}").click().run()
    assert basket_ids(at) == [ids[0], ids[2]]
    assert basket_heading(at) == "Handout basket (2)"
    added = at.button(key=f"add-{ids[0]}")
    assert added.disabled and added.label == "In basket"
    assert not at.button(key=f"add-{ids[1]}").disabled
    assert len([h for h in at.sidebar.html if "essay-basket-item" in h.value]) == 2

    at.button(key=f"up-{ids[2]}").click().run()
    assert basket_ids(at) == [ids[2], ids[0]]
    assert at.button(key=f"up-{ids[2]}").disabled and at.button(key=f"down-{ids[0]}").disabled
    at.button(key=f"down-{ids[2]}").click().run()
    assert basket_ids(at) == [ids[0], ids[2]]

    at.text_input(key=f"note-{ids[2]}").set_value("Read this one aloud").run()
    assert at.session_state["basket"][1]["note"] == "Read this one aloud"

    # Another question and another number of results: the basket stays as it was.
    at.text_input(key="q").set_value(TAXES).run()
    at.slider(key="k").set_value(2).run()
    assert not at.exception
    assert basket_ids(at) == [ids[0], ids[2]]
    assert at.session_state["basket"][1]["note"] == "Read this one aloud"
    assert at.text_input(key=f"note-{ids[2]}").value == "Read this one aloud"

    at.button(key=f"remove-{ids[0]}").click().run()
    assert basket_ids(at) == [ids[2]] and basket_heading(at) == "Handout basket (1)"
    at.button(key="empty").click().run()
    assert basket_ids(at) == [] and basket_heading(at) == "Handout basket (0)"


def test_the_citation_style_changes_every_citation(seed_index, searcher, monkeypatch):
    at = run_app(seed_index, monkeypatch, SAFE_QUESTION, k=2)
    top = searcher.search(SAFE_QUESTION, 2).results[0]
    assert top.source == SAFE_SOURCE and top.section == "What Emotional Intimacy Really Means"
    assert at.segmented_control(key="style").value == "plain" and "style" not in at.query_params
    plain = at.code[0].value
    assert plain.startswith(f"“{top.quote}” — Unknown author, Emotional Intimacy")
    assert plain.endswith(f"paragraph {top.paragraph}, {SAFE_SOURCE}")

    at.segmented_control(key="style").set_value("apa").run()
    apa = at.code[0].value
    assert apa != plain and len(at.code) == 2
    assert apa.startswith(f"“{top.quote}” (“Emotional Intimacy”, n.d., ")
    assert f"What Emotional Intimacy Really Means section, para. {top.paragraph})." in apa
    assert apa.endswith("\n\nEmotional Intimacy: Understanding the Hidden Connection That Strengthens "
                        "Relationships? (n.d.).")  # the reference entry
    assert at.query_params["style"] == "apa"

    at.segmented_control(key="style").set_value("markdown").run()
    md = at.code[0].value
    assert md.startswith(f"> {cite.md_escape(top.quote)}\n>\n> — Unknown author, "
                         "[*Emotional Intimacy: Understanding the Hidden Connection")
    assert f"?p={top.passage.id})" in md  # the title links to the passage in the app
    assert f"paragraph {top.paragraph}" in md
    assert at.query_params["style"] == "markdown"
    # The handout's style note follows the page's style.
    at.button(key=f"add-{top.passage.id}").click().run()
    assert any("with Markdown citations" in c.value for c in at.sidebar.caption)


def test_opening_a_passage_shows_its_whole_document_with_the_passage_marked(seed_index, searcher, monkeypatch):
    at = run_app(seed_index, monkeypatch, SAFE_QUESTION, k=3)
    at.segmented_control(key="style").set_value("apa").run()
    top = searcher.search(SAFE_QUESTION, 3).results[0]
    at.button(key=f"open-{top.passage.id}").click().run()
    assert not at.exception
    assert at.query_params["p"] == top.passage.id and at.query_params["q"] == SAFE_QUESTION
    assert not cards(at)
    shown = reader_html(at)
    # Every passage of the document, numbered, the opened one highlighted with its quote marked.
    own = [p for p in searcher.passages if p.source == top.source]
    assert shown.count('class="para') == len(own)
    assert shown.count('id="reader-current"') == 1 and shown.count("<mark>") == 1
    assert f'data-passage="{top.passage.id}"><span class="num" title="Paragraph {top.paragraph}">' in shown
    assert f"<mark>{render.esc(top.quote)}</mark>" in shown
    # The text between passages (headings) is there too, so nothing of the file is hidden.
    assert "What Emotional Intimacy Really Means</div>" in shown
    text = (searcher.index.corpus_root / top.source).read_text(encoding="utf-8")
    words = re.sub(r"<[^>]+>", " ", re.sub(r'<span class="num"[^>]*>[^<]*</span>', "", shown))
    assert " ".join(words.split()) == " ".join(render.esc(text).split())
    assert any("reader-current" in h.value and "scrollIntoView" in h.value for h in at.html)
    # Its citation, in the page's style, and a basket button.
    assert any(c.value.startswith(f"“{top.quote}” (") for c in at.code)
    at.button(key="add-reader").click().run()
    assert basket_ids(at) == [top.passage.id]
    assert at.button(key="add-reader").disabled
    # Back: the results, with the question, number, style as they were.
    at.button(key="back").click().run()
    assert "p" not in at.query_params and len(cards(at)) == 3
    assert at.text_input(key="q").value == SAFE_QUESTION and at.slider(key="k").value == 3
    assert at.segmented_control(key="style").value == "apa"
    assert at.button(key=f"add-{top.passage.id}").disabled  # in the basket from the reader
    # The basket opens its passages in the reader too.
    at.button(key=f"read-{top.passage.id}").click().run()
    assert at.query_params["p"] == top.passage.id and "reader-current" in reader_html(at)


def test_a_link_reproduces_the_question_style_documents_and_opened_passage(seed_index, searcher, monkeypatch):
    expected = searcher.search(SAFE_QUESTION, 3, sources=[OTHER_SOURCE])
    params = {"q": SAFE_QUESTION, "k": "3", "style": "apa", "src": OTHER_SOURCE}
    at = open_link(seed_index, monkeypatch, **params)
    assert at.text_input(key="q").value == SAFE_QUESTION and at.slider(key="k").value == 3
    assert at.segmented_control(key="style").value == "apa"
    assert at.multiselect(key="src").value == [OTHER_SOURCE]
    shown = cards(at)
    assert len(shown) == 3 and all(OTHER_SOURCE in c for c in shown)
    assert [c.value for c in at.code] == [
        render.citation(verifier(searcher.index), r.passage, r.quote, "apa", page_url())
        for r in expected.results]
    assert at.query_params == params  # the page keeps the address that made it

    # The same link with a passage opened: the reader, with that passage's quote marked.
    second = expected.results[1]
    at = open_link(seed_index, monkeypatch, **params, p=second.passage.id)
    assert not cards(at)
    shown = reader_html(at)
    assert f"<mark>{render.esc(second.quote)}</mark>" in shown
    assert at.query_params == {**params, "p": second.passage.id}
    at.button(key="back").click().run()
    assert len(cards(at)) == 3 and at.multiselect(key="src").value == [OTHER_SOURCE]

    # Two documents, repeated in the address; a document not in the index is left out.
    at = open_link(seed_index, monkeypatch, q=SAFE_QUESTION, src=[OTHER_SOURCE, SAFE_SOURCE, "gone.txt"])
    assert at.multiselect(key="src").value == [OTHER_SOURCE, SAFE_SOURCE]
    assert all(OTHER_SOURCE in c or SAFE_SOURCE in c for c in cards(at))
    assert at.query_params["src"] == [OTHER_SOURCE, SAFE_SOURCE]
    # Choosing documents on the page puts them in the address.
    at.multiselect(key="src").set_value([SAFE_SOURCE]).run()
    assert at.query_params["src"] == SAFE_SOURCE and all(SAFE_SOURCE in c for c in cards(at))


def test_a_link_to_a_passage_the_index_never_had_says_so(seed_index, monkeypatch):
    at = open_link(seed_index, monkeypatch, q=SAFE_QUESTION, p=STALE_ID)
    assert len(at.warning) == 1
    message = at.warning[0].value.replace("\\", "")
    assert "This link names a passage this index has never had" in message
    assert not reader_html(at) and not at.exception
    at.button(key="back").click().run()
    assert cards(at) and "p" not in at.query_params


def test_a_link_to_a_passage_whose_document_changed_says_so(seed_corpus, settings, tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    index_dir = tmp_path / "index"
    build_index([corpus], index_dir, settings, on_event=lambda e: None, progress=False)
    from search import open_searcher
    old = open_searcher(index_dir, settings, rebuild=False).document(SAFE_SOURCE)[0]
    path = corpus / SAFE_SOURCE
    path.write_text(path.read_text(encoding="utf-8").replace(old.text[:40], "Rewritten: " + old.text[:40], 1),
                    encoding="utf-8")
    build_index([corpus], index_dir, settings, on_event=lambda e: None, progress=False)
    at = open_link(index_dir, monkeypatch, q=SAFE_QUESTION, p=old.id)
    message = at.warning[0].value.replace("\\", "")
    assert "This passage is no longer in the index: its document changed" in message


def test_more_like_this_lists_similar_passages_that_can_go_in_the_basket(seed_index, searcher, monkeypatch):
    from search import themes

    at = run_app(seed_index, monkeypatch, SAFE_QUESTION, k=1)
    top = searcher.search(SAFE_QUESTION, 1).results[0]
    assert len(at.html) and not any(k.startswith(f"add-{top.passage.id}-like") for k in button_keys(at))
    at.session_state[f"like-{top.passage.id}"] = True  # the user opens the expander
    at.run()
    similar = themes.more_like_this(searcher, top.passage.id, 5).results
    keys = [f"add-{top.passage.id}-like-{r.passage.id}" for r in similar]
    assert keys and all(k in button_keys(at) for k in keys)
    like_cards = [h.value for h in at.html if 'class="essay-card"' in h.value and 'class="rank"' not in h.value]
    assert len(like_cards) == len(similar)
    assert render.esc(similar[0].passage.text[:40]) in like_cards[0]
    at.button(key=keys[0]).click().run()
    assert basket_ids(at) == [similar[0].passage.id]
    assert Basket.from_list(at.session_state["basket"]).items[0].quote == (similar[0].quote or similar[0].passage.text)


def button_keys(at: AppTest) -> list[str]:
    return [b.key for b in at.button if b.key]


def test_the_basket_exports_a_handout_in_four_formats(seed_index, seed_corpus, searcher, monkeypatch):
    import docx

    at = run_app(seed_index, monkeypatch, SAFE_QUESTION, k=3)
    results = searcher.search(SAFE_QUESTION, 3).results
    for r in (results[2], results[0]):
        at.button(key=f"add-{r.passage.id}").click().run()
    at.text_input(key="handout_title").set_value("Trust workshop").run()
    assert [b.label for b in at.sidebar.download_button] == ["Markdown", "Word", "CSV", "Printable HTML"]
    assert any("Dated " in c.value for c in at.sidebar.caption)

    basket = Basket.from_list(at.session_state["basket"])
    assert [i.passage_id for i in basket] == [results[2].passage.id, results[0].passage.id]
    quotes = [results[2].quote, results[0].quote]
    files = {fmt: handout.export(basket, fmt, Verifier(seed_corpus), "apa", "Trust workshop",
                                    dt.date(2026, 5, 4))
             for fmt in handout.FORMATS}
    markdown = files["markdown"].decode("utf-8")
    assert markdown.startswith("# Trust workshop")
    flat = cite.md_unescape(markdown)
    assert flat.index(quotes[0]) < flat.index(quotes[1])
    assert "n.d." in flat and f"para. {results[0].paragraph}" in flat
    assert all(q in files["csv"].decode("utf-8-sig") for q in quotes)
    assert all(render.esc(q) in files["html"].decode("utf-8") for q in quotes)
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(files["docx"])).paragraphs)
    assert all(q in text for q in quotes) and "Trust workshop" in text
    assert handout.filename("Trust workshop", "docx") == "trust-workshop.docx"


@pytest.fixture
def changing_index(tmp_path, settings) -> tuple[Path, Path]:
    """An index of a private copy of one essay, whose file a test may change after loading."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ROOT / "seeds" / SAFE_SOURCE, corpus / SAFE_SOURCE)
    index_dir = tmp_path / "index"
    build_index([corpus], index_dir, settings, on_event=lambda e: None, progress=False)
    return index_dir, corpus / SAFE_SOURCE


def test_a_quote_whose_file_changed_is_never_shown_as_verified(changing_index, monkeypatch):
    index_dir, path = changing_index
    at = run_app(index_dir, monkeypatch, SAFE_QUESTION, k=2)
    assert not at.warning and not at.code[0].value.startswith("[quote not verified")
    top_id = next(k for k in button_keys(at) if k.startswith("open-"))[len("open-"):]
    # The file is edited while the page is open (the loaded index still has the old offsets).
    path.write_text("A new first line.\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    at.run()
    warnings = [w.value.replace("\\", "") for w in at.warning]
    assert len(warnings) == 2 and all("Not verified: file changed since indexing" in w for w in warnings)
    assert all(c.value.startswith("[quote not verified: file changed since indexing]") for c in at.code)
    # The reader says so too, and shows the passages as they were indexed.
    at.button(key=f"open-{top_id}").click().run()
    assert any("file changed since indexing" in w.value.replace("\\", "") for w in at.warning)
    assert any("has changed since it was indexed" in i.value.replace("\\", "") for i in at.info)
    assert 'id="reader-current"' in reader_html(at) and 'class="between"' not in reader_html(at)


def test_the_reader_and_the_basket_escape_document_text(tricky_index, monkeypatch):
    at = run_app(tricky_index, monkeypatch, "What must the page show about trust and scripts?", k=2)
    for key in [k for k in button_keys(at) if k.startswith("add-")]:
        at.button(key=key).click().run()
    opener = next(k for k in button_keys(at) if k.startswith("open-"))
    at.button(key=opener).click().run()
    shown = reader_html(at) + "".join(h.value for h in at.sidebar.html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown and "<script>alert" not in shown
    assert "**bold**" in shown and "<strong>" not in shown
    for text in interpreted_texts(at):
        assert "<script>alert" not in text.lower(), text


def test_upload_control_is_off_by_default_and_on_when_allowed(seed_index, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ESSAYS_INDEX_DIR", str(seed_index))
    monkeypatch.delenv("ESSAYS_ALLOW_UPLOADS", raising=False)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert not any(h.value == "Add documents" for h in at.sidebar.header)
    monkeypatch.setenv("ESSAYS_ALLOW_UPLOADS", "1")
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert any(h.value == "Add documents" for h in at.sidebar.header)


def test_a_bad_setting_stops_the_page_with_its_fix(seed_index, monkeypatch):
    monkeypatch.setenv("ESSAYS_INDEX_DIR", str(seed_index))
    monkeypatch.setenv("ESSAYS_TOP_K", "five")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert [e.value.replace("\\", "") for e in at.error] == [
        "ESSAYS_TOP_K='five' is not a whole number: use a number such as 5, or unset it for the default."]
    assert not at.text_input  # nothing else is drawn

"""The page never loses a facilitator's work and says what it did (AppTest, real index, real
SQLite basket store): saved baskets that come back with the address, read-only shared links,
collecting from the Themes page, exports from the values on screen, the typo and shortening
notices, and uploads behind a passphrase."""
from __future__ import annotations

import datetime as dt
import shutil
from functools import partial

from streamlit.testing.v1 import AppTest

from ui import basket as page_basket
from workshop.basket import Basket, BasketItem
from workshop.saved import BasketStore
from workshop.verify import verifier
from helpers import ROOT, open_page

THEMES = str(ROOT / "pages" / "themes.py")
QUESTION = "What does it mean to feel emotionally safe with someone?"


def basket_ids(at: AppTest) -> list[str]:
    return [d["passage"]["id"] for d in at.session_state["basket"]]


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error") for e in getattr(at, kind)]
    parts += [e.value for kind in ("markdown", "caption", "info", "warning", "error") for e in getattr(at.sidebar, kind)]
    return "\n".join(str(p) for p in parts).replace("\\", "")


def test_a_basket_is_saved_and_comes_back_with_the_address(seed_index, searcher, monkeypatch):
    at = open_page(seed_index, monkeypatch, q=QUESTION)
    assert "b" not in at.query_params  # nothing saved before the first passage is added
    ids = [r.passage.id for r in searcher.search(QUESTION).results]
    at.button(key=f"add-{ids[1]}").click().run()
    at.button(key=f"add-{ids[0]}").click().run()
    at.text_input(key=f"note-{ids[0]}").set_value("Start with this").run()
    at.text_input(key="handout_title").set_value("Session 2: safety").run()
    basket_id = at.query_params["b"]
    assert basket_id and len(basket_id) >= 22

    # A reload, a new tab or the next day: a new session with the same address.
    again = open_page(seed_index, monkeypatch, b=basket_id)
    assert basket_ids(again) == [ids[1], ids[0]]
    assert again.text_input(key=f"note-{ids[0]}").value == "Start with this"
    assert again.text_input(key="handout_title").value == "Session 2: safety"
    assert again.sidebar.header[0].value == "Handout basket (2)"

    # Changed there, it is changed for the first address too.
    again.button(key=f"remove-{ids[1]}").click().run()
    third = open_page(seed_index, monkeypatch, b=basket_id)
    assert basket_ids(third) == [ids[0]]


def test_an_unknown_basket_link_says_so_and_starts_empty(seed_index, monkeypatch):
    at = open_page(seed_index, monkeypatch, b="A" * 32)
    assert at.session_state["basket"] == []
    assert "The basket in this link was not found" in texts(at)


def test_a_shared_link_is_read_only_until_copied(seed_index, searcher, settings, monkeypatch):
    ids = [r.passage.id for r in searcher.search(QUESTION).results]
    store = BasketStore(settings.baskets_path() if settings.baskets_file else seed_index / "baskets.sqlite3", 90)
    items = Basket([BasketItem.from_result(r, note="for the group") for r in searcher.search(QUESTION).results[:2]])
    mine = store.create(items, "Shared handout", "apa")

    at = open_page(seed_index, monkeypatch, b=mine.share_id, q=QUESTION)
    assert basket_ids(at) == ids[:2]
    assert "A basket shared with you" in texts(at)
    assert at.button(key=f"add-{ids[2]}").disabled  # read-only: nothing can be added
    assert not [b for b in at.sidebar.button if b.key and b.key.startswith("remove-")]
    assert at.download_button  # but it can be exported

    at.button(key="basket-copy").click().run()
    copy_id = at.query_params["b"]
    assert copy_id not in (mine.id, mine.share_id)
    assert not at.button(key=f"add-{ids[2]}").disabled
    at.button(key=f"add-{ids[2]}").click().run()
    assert basket_ids(at) == ids[:3]
    assert [i.passage_id for i in store.open(mine.id).basket] == ids[:2]  # the original is untouched


def test_a_passage_gone_from_the_index_stays_in_the_basket_as_gone(seed_corpus, settings, tmp_path, monkeypatch):
    from ingest import build_index
    from search import open_searcher

    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    index_dir = tmp_path / "index"
    build_index([corpus], index_dir, settings, on_event=lambda e: None, progress=False)
    first = open_searcher(index_dir, settings, rebuild=False).search(QUESTION).results[0]
    at = open_page(index_dir, monkeypatch, q=QUESTION)
    at.button(key=f"add-{first.passage.id}").click().run()
    basket_id = at.query_params["b"]
    (corpus / first.source).unlink()
    build_index([corpus], index_dir, settings, on_event=lambda e: None, progress=False)

    again = open_page(index_dir, monkeypatch, b=basket_id)
    assert basket_ids(again) == [first.passage.id]  # never silently dropped
    assert "No longer in the index" in texts(again)
    assert first.quote[:40].replace("\n", " ") in " ".join(h.value for h in again.sidebar.html).replace("\n", " ")


def test_an_export_uses_the_values_on_screen_when_it_is_clicked(seed_index, searcher, monkeypatch):
    """The file is made when the button is clicked, from the session's values at that moment:
    a title typed just before the click is in it (the browser test clicks for real)."""
    result = searcher.search(QUESTION).results[0]
    state = {"basket": Basket([BasketItem.from_result(result)]).to_list(), "handout_title": "Old title",
             "style": "plain"}
    markdown = partial(page_basket.handout_file, "markdown", "plain", verifier(searcher.index),
                       "http://example.org/", state)
    state["handout_title"] = "New title, typed last"
    state["style"] = "apa"
    text = markdown().decode("utf-8")
    assert text.startswith("# New title, typed last\n")
    assert f"Dated {dt.date.today():%-d %B %Y}" in text or str(dt.date.today().year) in text


def test_a_repaired_typo_is_said_and_can_be_undone(seed_index, monkeypatch):
    at = open_page(seed_index, monkeypatch, q="what is emotional intimasy")
    assert "Showing results for *what is emotional intimacy*" in texts(at)
    at.button(key="as-typed").click().run()
    assert at.query_params["exact"] == "1"
    assert "Showing results for" not in texts(at)
    assert at.session_state["answer"][1].query == "what is emotional intimasy"
    at.text_input(key="q").set_value("how does vulnerabilty help").run()  # a new question: repaired again
    assert "exact" not in at.query_params and "Showing results for" in texts(at)


def test_a_long_question_is_shortened_and_says_so(seed_index, settings, monkeypatch):
    question = "Why does trust matter? " + "very " * 600 + "much"
    at = open_page(seed_index, monkeypatch)
    at.text_input(key="q").set_value(question).run()
    assert f"shortened to the first {settings.max_query_chars:,} characters" in texts(at)
    assert len(at.query_params["q"]) <= settings.max_query_chars  # the address: only what was searched


def test_the_themes_page_collects_into_the_same_basket(seed_index, monkeypatch):
    at = open_page(seed_index, monkeypatch, script=THEMES)
    adds = [b for b in at.button if b.key and b.key.startswith("add-map-")]
    opens = [b for b in at.button if b.key and b.key.startswith("open-map-")]
    assert adds and len(opens) == len(adds)
    assert at.sidebar.header[0].value == "Handout basket (0)"
    adds[0].click().run()
    assert at.sidebar.header[0].value == "Handout basket (1)"
    assert at.query_params["b"]
    at.text_input(key="theme_phrase").set_value("trust").run()
    found = [b for b in at.button if b.key and b.key.startswith("add-theme-")]
    assert found
    found[0].click().run()
    assert len(at.session_state["basket"]) in (1, 2)  # the same passage may be on both lists


def test_an_off_topic_theme_says_no_passage_is_close(seed_index, monkeypatch):
    at = open_page(seed_index, monkeypatch, script=THEMES)
    at.text_input(key="theme_phrase").set_value("income tax returns").run()
    shown = texts(at)
    assert "No passage is close to this theme" in shown
    assert "of 0 on this theme" not in shown


def unlock(at: AppTest, passphrase: str) -> None:
    """Type the passphrase and press "Unlock uploads" (in one run, as a form sends them)."""
    at.text_input(key="upload-passphrase").set_value(passphrase)
    at.button[[b.label for b in at.button].index("Unlock uploads")].click()
    at.run()


def test_uploads_need_the_passphrase_the_host_set(seed_index, monkeypatch):
    monkeypatch.setenv("ESSAYS_ALLOW_UPLOADS", "1")
    monkeypatch.delenv("ESSAYS_UPLOAD_PASSPHRASE", raising=False)
    at = open_page(seed_index, monkeypatch)
    assert not at.get("file_uploader") and not at.get("form")
    assert "they stay off until the host sets a passphrase" in texts(at)

    monkeypatch.setenv("ESSAYS_UPLOAD_PASSPHRASE", "correct horse battery")
    at = open_page(seed_index, monkeypatch)
    assert not at.get("file_uploader")
    unlock(at, "wrong")
    assert "That is not the passphrase" in texts(at)
    unlock(at, "correct horse battery")
    assert at.get("file_uploader")
    assert at.session_state["uploads_unlocked"]
    assert "correct horse" not in str(dict(at.query_params))
    assert "correct horse" not in str([at.session_state[k] for k in ("q", "kept") if k in at.session_state])


def test_wrong_passphrases_are_limited(seed_index, monkeypatch):
    monkeypatch.setenv("ESSAYS_ALLOW_UPLOADS", "1")
    monkeypatch.setenv("ESSAYS_UPLOAD_PASSPHRASE", "correct horse battery")
    at = open_page(seed_index, monkeypatch)
    for n in range(6):
        unlock(at, f"guess {n}")
    assert "Too many wrong passphrases" in texts(at)
    unlock(at, "correct horse battery")
    assert not at.get("file_uploader")  # not even the right one, once the limit is reached


def test_the_handout_title_survives_a_visit_to_the_themes_page(seed_index, searcher, monkeypatch):
    at = open_page(seed_index, monkeypatch, q=QUESTION)
    first = searcher.search(QUESTION).results[0]
    at.button(key=f"add-{first.passage.id}").click().run()
    at.text_input(key="handout_title").set_value("Trust, week 4").run()
    at.switch_page("pages/themes.py").run()
    assert not at.exception
    assert at.text_input(key="handout_title").value == "Trust, week 4"
    at.switch_page("pages/ask.py").run()
    assert at.text_input(key="handout_title").value == "Trust, week 4"
    assert at.text_input(key="q").value == QUESTION

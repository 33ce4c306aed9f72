"""The question page's parts (app.py lays them out): the address and the session, the
question box, the answers, the reader, the basket with its handout export, uploads."""
from __future__ import annotations

import datetime as dt
import json

import streamlit as st

from core.errors import StoreUnavailable
from core.settings import Settings
from ingest import uploads
from search.searcher import Answer, EmptyQuestion, Searcher
from workshop import cite, handout
from workshop.basket import Basket, BasketItem
from workshop.catalog import document_info

from . import reader, render
from .address import View, same_params, view_from_params, view_to_params
from .components import (base_url, basket, change_basket, check_quote, open_passage,
                         passage_actions, quote_checker, show_citation, show_passage, style_picker,
                         warn_if_unverified)

WIDGET_KEYS = ("q", "k", "style", "src", "handout_title")  # kept while the reader hides them
READER_HEIGHT = 500  # pixels: the document scrolls in a box under the reader's heading
EXPORTS = (("markdown", "Markdown"), ("docx", "Word"), ("csv", "CSV"), ("html", "Printable HTML"))
STALE = ("This passage is no longer in the index (the document changed since the link was made). "
         "Ask the question again to find the passage as it reads now.")


# --- the address and the session ------------------------------------------------------------

def address() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def remember_link(settings: Settings, searcher: Searcher) -> None:
    """On a session's first run, take what the page shows from the URL. Widget values outlive
    the reader view (which does not show those widgets) and a visit to another page (whose
    runs forget them: they are restored from a copy kept in the session)."""
    linked = view_from_params(address(), settings.top_k, [s for s, _ in searcher.documents()])
    first = {"q": linked.q, "k": linked.k, "style": linked.style, "src": list(linked.sources),
             "p": linked.p, "basket": [], "handout_title": "Workshop handout"}
    first.update(st.session_state.get("kept", {}))
    for key, value in first.items():
        if key not in st.session_state:
            st.session_state[key] = value
    known = set(dict(searcher.documents()))
    st.session_state.src = [s for s in st.session_state.src if s in known]  # index rebuilt since
    for key in WIDGET_KEYS:
        st.session_state[key] = st.session_state[key]
    st.session_state.kept = {key: st.session_state[key] for key in WIDGET_KEYS}


def current_view() -> View:
    s = st.session_state
    return View(q=s.q, k=s.k, style=s.style or cite.DEFAULT_STYLE, sources=tuple(s.src), p=s.p)


def update_link(view: View) -> None:
    """Keep the address in step with the page so that a link reproduces it."""
    wanted = view_to_params(view)
    if not same_params(address(), wanted):
        st.query_params.from_dict(wanted)


def use_example(question: str) -> None:
    st.session_state.q = question


def close_reader() -> None:
    st.session_state.p = ""


def save_note(passage_id: str) -> None:
    change_basket(Basket.set_note, passage_id, st.session_state.get(f"note-{passage_id}", "") or "")


def remove_item(passage_id: str) -> None:
    change_basket(Basket.remove, passage_id)
    st.session_state.pop(f"note-{passage_id}", None)


def empty_basket() -> None:
    for item in basket():
        remove_item(item.passage_id)


# --- the question ----------------------------------------------------------------------------

def header(searcher: Searcher) -> None:
    st.title("Ask the essays")
    st.caption(render.md_escape(render.summary(
        searcher.index.manifest.model, searcher.documents(), len(searcher.passages))))
    with st.expander("Which essays?"):
        for source, title in searcher.documents():
            st.markdown(f"- {render.md_escape(title)} · `{source.replace('`', '')}`")


def question_box(searcher: Searcher, default_k: int) -> None:
    examples = searcher.index.memo("examples", lambda: render.example_questions(searcher.store.with_question()))
    st.text_input("Your question", key="q",
                  placeholder="Ask anything the essays might answer, then press Enter")
    if examples:
        st.caption("Or try one of these:")
        with st.container(horizontal=True, wrap=True):
            for example in examples:
                st.button(example, on_click=use_example, args=(example,))
    with st.container(horizontal=True, vertical_alignment="bottom", gap="large"):
        st.slider("Passages to show", render.MIN_RESULTS, render.MAX_RESULTS, key="k",
                  help=f"How many passages to list (default {default_k}).", width=260)
        style_picker()
    titles = dict(searcher.documents())
    st.multiselect("Search in", list(titles), key="src", format_func=lambda s: titles.get(s, s),
                   placeholder="All essays", help="Leave empty to search every essay.")


def search(searcher: Searcher, view: View) -> Answer | StoreUnavailable | None:
    """The answer to the question on screen; None before a question; the problem when the
    server that keeps the index does not answer (shown where the answer would be)."""
    try:
        return searcher.search(view.q, view.k, sources=list(view.sources) or None)
    except EmptyQuestion:
        return None
    except StoreUnavailable as err:
        return err


def show_answer(searcher: Searcher, settings: Settings, answer: Answer | StoreUnavailable | None,
                view: View) -> None:
    if isinstance(answer, StoreUnavailable):
        st.error(render.md_escape(str(answer)), icon=":material/error:")
        return
    if answer is None:
        st.info("Type a question above — or pick one of the examples — and the passages that "
                "answer it appear here, quoted word for word with their source.", icon=":material/chat:")
        return
    if not answer.answered:
        st.warning(render.md_escape(answer.notice), icon=":material/search_off:")
    if not answer.results:
        st.info("The index has no passages to show.")
        return
    for result in answer.results:
        show_passage(searcher, settings, result, view.style, key=result.passage.id,
                     surrounding=searcher.neighbours(result.passage))


# --- the reader ------------------------------------------------------------------------------

def reader_view(searcher: Searcher, settings: Settings, view: View, answer: Answer | None) -> None:
    """The whole document of the opened passage, the passage highlighted and scrolled to."""
    with st.container(horizontal=True, vertical_alignment="bottom", horizontal_alignment="distribute"):
        st.button("Back to results" if answer else "Back to the question", key="back",
                  icon=":material/arrow_back:", on_click=close_reader)
        style_picker()
    passage = searcher.passage(view.p)
    if passage is None:
        st.warning(render.md_escape(STALE), icon=":material/link_off:")
        return
    checker = quote_checker(searcher)
    span = reader.quote_span(passage.id, answer.results if answer else (), basket())
    item = BasketItem.from_passage(passage, *(span or (None, None)))
    check = check_quote(searcher, passage, item.quote, item.quote_start, item.quote_end)
    reading = reader.open_document(checker, searcher.document(passage.source), passage.source)
    info = document_info(checker.corpus_root, passage.source, passage.title, checker)
    st.html(reader.reader_head_html(reading, passage, info.author))
    warn_if_unverified(check)
    if reading.problem:
        st.info(render.md_escape(f"Showing the indexed passages only: {reading.problem}."),
                icon=":material/info:")
    show_citation(searcher, settings, passage, item.quote, view.style, check)
    passage_actions(item, key="reader", reader_button=False)
    with st.container(height=READER_HEIGHT, border=True, key=reader.SCROLL_BOX):
        st.html(reader.reader_html(reading.blocks, passage.id, *(span or (None, None))))
    st.html(reader.SCROLL_SCRIPT, unsafe_allow_javascript=True)


# --- the basket ------------------------------------------------------------------------------

def basket_sidebar(searcher: Searcher, settings: Settings, view: View) -> None:
    items = basket()
    with st.sidebar:
        st.header(f"Handout basket ({len(items)})")
        if not items:
            st.caption("Empty. Add passages with “Add to basket” on a result, in the reader or "
                       "under “More like this”; they stay here while you ask other questions.")
            return
        for n, item in enumerate(items, start=1):
            basket_entry(n, item, len(items))
        handout_export(searcher, settings, items, view.style)
        st.button("Empty the basket", key="empty", type="tertiary", icon=":material/delete_sweep:",
                  on_click=empty_basket)


def basket_entry(n: int, item: BasketItem, count: int) -> None:
    pid = item.passage_id
    with st.container(border=True):
        st.html(render.basket_item_html(n, item))
        note_key = f"note-{pid}"
        if note_key not in st.session_state:
            st.session_state[note_key] = item.note
        st.text_input("Note", key=note_key, placeholder="Add a note for the handout",
                      label_visibility="collapsed", on_change=save_note, args=(pid,))
        with st.container(horizontal=True, gap="small"):
            st.button("", key=f"up-{pid}", icon=":material/arrow_upward:", help="Move up",
                      type="tertiary", disabled=n == 1,
                      on_click=change_basket, args=(Basket.move, pid, -1))
            st.button("", key=f"down-{pid}", icon=":material/arrow_downward:", help="Move down",
                      type="tertiary", disabled=n == count,
                      on_click=change_basket, args=(Basket.move, pid, 1))
            st.button("", key=f"read-{pid}", icon=":material/menu_book:", help="Open in the reader",
                      type="tertiary", on_click=open_passage, args=(pid,))
            st.button("", key=f"remove-{pid}", icon=":material/close:", help="Remove from the basket",
                      type="tertiary", on_click=remove_item, args=(pid,))


def handout_export(searcher: Searcher, settings: Settings, items: Basket, style: str) -> None:
    st.subheader("Export as a handout")
    title = st.text_input("Handout title", key="handout_title")
    today = dt.date.today()
    stem = handout.filename(title, "markdown").rsplit(".", 1)[0]
    st.caption(render.md_escape(
        f"Dated {handout.date_label(today)}, with {cite.STYLE_NAMES[style]} citations. "
        f"Saved as {stem}.md, .docx, .csv or .html."))
    checker = quote_checker(searcher)
    contents = json.dumps(items.to_list())
    stamps = checker.stamps([i.source for i in items])
    with st.container(horizontal=True, gap="small"):
        for fmt, label in EXPORTS:
            data = handout_file(contents, fmt, style, title, today, base_url(settings), stamps,
                                _checker=checker)
            st.download_button(label, data=data, file_name=handout.filename(title, fmt),
                               mime=handout.FORMATS[fmt][1], key=f"export-{fmt}",
                               on_click="ignore", icon=":material/download:")


@st.cache_data(max_entries=64, show_spinner=False)
def handout_file(contents: str, fmt: str, style: str, title: str, date: dt.date, base_url: str,
                 stamps: tuple, _checker) -> bytes:
    """The handout's bytes, made again only when the basket, the options or a quoted file
    (`stamps`: its modification time and size) changed. Made on every run rather than on
    click, so that a click on the button of the run before (just after editing the title)
    still downloads."""
    return handout.export(Basket.from_list(json.loads(contents)), fmt, _checker, style, title, date, base_url)


# --- documents added by visitors (only when the host sets ESSAYS_ALLOW_UPLOADS=1) -------------

def upload_sidebar(searcher: Searcher, settings: Settings) -> None:
    """Add documents to the library: stored under uploads/ in the corpus folder, indexed
    incrementally, searchable at once. Off by default (settings.allow_uploads)."""
    if not settings.allow_uploads:
        return
    with st.sidebar:
        st.header("Add documents")
        for ok, message in st.session_state.pop("upload_notes", []):  # from the run before
            (st.success if ok else st.error)(render.md_escape(message))
        files = st.file_uploader(
            "Documents to add", type=[s.lstrip(".") for s in uploads.SUFFIXES],
            accept_multiple_files=True, key=f"upload-{st.session_state.get('upload_round', 0)}",
            max_upload_size=settings.max_upload_mb,
            help=f"{', '.join(uploads.SUFFIXES)}; up to {settings.max_upload_mb} MB each. "
                 "They are added to the library on this server, for everyone who uses it.")
        if not files or not st.button("Add to the library", key="upload-go",
                                      icon=":material/upload_file:"):
            return
        paths = searcher.index.corpus_paths
        notes, stored = [], 0
        for f in files:
            try:
                uploads.store_upload(uploads.upload_dir(paths), f.name, f.getvalue(),
                                     settings.max_upload_mb * 1_000_000)
                stored += 1
            except uploads.UploadRejected as err:
                notes.append((False, str(err)))
        if stored:
            bar = st.progress(0.0, text="Adding the documents…")
            outcome = uploads.ingest_uploads(
                paths, settings.index_folder(), settings,
                lambda fraction, text: bar.progress(fraction, text=render.md_escape(text[:300])))
            notes.insert(0, (outcome.ok, outcome.message))
        st.session_state.upload_notes = notes
        st.session_state.upload_round = st.session_state.get("upload_round", 0) + 1  # empty the box
        st.rerun()


def page(settings: Settings, searcher: Searcher) -> None:
    """The question page, in order."""
    remember_link(settings, searcher)
    view = current_view()
    answer = search(searcher, view)
    if view.p:
        answer = answer if isinstance(answer, Answer) else None
        reader_view(searcher, settings, view, answer)
    else:
        header(searcher)
        question_box(searcher, settings.top_k)
        show_answer(searcher, settings, answer, view)
    upload_sidebar(searcher, settings)
    basket_sidebar(searcher, settings, view)
    update_link(view)

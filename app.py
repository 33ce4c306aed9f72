"""The search page: ask the essays a question, see the passages that answer it, read them in
their document, collect the best in a basket and export it as a workshop handout.

    streamlit run app.py

The index folder is index/ unless ESSAYS_INDEX_DIR names another; the other settings come
from the ESSAYS_* environment variables (see ingest/settings.py); permalinks start from
ESSAYS_BASE_URL (else the page's own address). The address reproduces the page:
?q=QUESTION&k=N&style=apa&src=FILE&p=PASSAGE_ID (see search/reader.py).
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import streamlit as st

from ingest import IngestError
from ingest.embed import ModelError
from ingest.settings import Settings
from ingest.store import IngestBusy, current_build
from search import handout, reader, render, serving, themes, uploads
from search.api import Answer, EmptyQuestion, Result, Searcher
from search.basket import Basket, BasketItem
from search.catalog import document_info
from search.index import IndexProblem
from search.verify import verify

OPEN_ERRORS = (IndexProblem, IngestError, IngestBusy, ModelError, FileNotFoundError)
WIDGET_KEYS = ("q", "k", "style", "src", "handout_title")  # kept while the reader hides them
LIKE_K = 5
READER_HEIGHT = 500  # pixels: the document scrolls in a box under the reader's heading
EXPORTS = (("markdown", "Markdown"), ("docx", "Word"), ("csv", "CSV"), ("html", "Printable HTML"))
STALE = ("This passage is no longer in the index (the document changed since the link was made). "
         "Ask the question again to find the passage as it reads now.")


def open_or_explain(folder: Path, settings: Settings) -> Searcher:
    """The searcher, building the index the first time; on a problem, its fix-it message and stop."""
    first_time = current_build(folder) is None
    message = ("Building the index… (first run: reading and embedding every essay)"
               if first_time else "Loading the index and the model…")
    try:
        with st.spinner(message):
            return serving.load_searcher(folder, settings)
    except OPEN_ERRORS as err:
        st.error(render.md_escape(str(err)), icon=":material/error:")
        st.stop()


# --- the address and the session ------------------------------------------------------------

def address() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def remember_link(settings: Settings, searcher: Searcher) -> None:
    """On a session's first run, take what the page shows from the URL. Widget values outlive
    the reader view (which does not show those widgets) and a visit to another page (whose
    runs forget them: they are restored from a copy kept in the session)."""
    linked = reader.view_from_params(address(), settings.top_k, [s for s, _ in searcher.documents()])
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


def current_view() -> reader.View:
    s = st.session_state
    return reader.View(q=s.q, k=s.k, style=s.style or reader.DEFAULT_STYLE,
                       sources=tuple(s.src), p=s.p)


def update_link(view: reader.View) -> None:
    """Keep the address in step with the page so that a link reproduces it."""
    wanted = reader.view_to_params(view)
    if not reader.same_params(address(), wanted):
        st.query_params.from_dict(wanted)


def base_url() -> str:
    try:
        here = st.context.url
    except Exception:  # noqa: BLE001 - no browser (tests): the configured or default address
        here = None
    return reader.page_url(os.environ.get("ESSAYS_BASE_URL", ""), here)


def use_example(question: str) -> None:
    st.session_state.q = question


def open_passage(passage_id: str) -> None:
    st.session_state.p = passage_id


def close_reader() -> None:
    st.session_state.p = ""


def basket() -> Basket:
    return Basket.from_list(st.session_state.basket)


def change_basket(change, *args) -> None:
    st.session_state.basket = change(st.session_state.basket, *args)


def save_note(passage_id: str) -> None:
    change_basket(reader.basket_note, passage_id, st.session_state.get(f"note-{passage_id}", ""))


def remove_item(passage_id: str) -> None:
    change_basket(reader.basket_remove, passage_id)
    st.session_state.pop(f"note-{passage_id}", None)


def empty_basket() -> None:
    for item in basket():
        remove_item(item.passage_id)


# --- the question ----------------------------------------------------------------------------

def header(searcher: Searcher) -> None:
    st.title("Ask the essays")
    st.caption(render.md_escape(render.summary(
        searcher.index.manifest, searcher.documents(), len(searcher.passages))))
    with st.expander("Which essays?"):
        for source, title in searcher.documents():
            st.markdown(f"- {render.md_escape(title)} · `{source.replace('`', '')}`")


def question_box(searcher: Searcher, examples: list[str], default_k: int) -> None:
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


def style_picker() -> None:
    st.segmented_control("Citation style", list(reader.STYLE_NAMES), key="style", required=True,
                         format_func=reader.STYLE_NAMES.get,
                         help="How the copy-ready citations and the exported handout cite each quote.")


def search(searcher: Searcher, view: reader.View) -> Answer | None:
    try:
        return searcher.search(view.q, view.k, sources=list(view.sources) or None)
    except EmptyQuestion:
        return None


def show_answer(searcher: Searcher, answer: Answer | None, view: reader.View) -> None:
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
        show_result(searcher, result, view.style)


def show_result(searcher: Searcher, result: Result, style: str) -> None:
    root = searcher.index.corpus_root
    check = verify(root, result.passage, result.quote_start, result.quote_end, quote=result.quote)
    with st.container(border=True):
        if not check.ok:
            st.warning(render.md_escape(reader.unverified_message(check)), icon=":material/warning:")
        st.html(render.card_html(result))
        st.code(reader.citation(result.passage, result.quote, style, root, base_url(), check),
                language=None, wrap_lines=True)
        passage_actions(BasketItem.from_result(result), key=result.passage.id)
        with st.expander("Surrounding text", type="compact"):
            before, after = searcher.neighbours(result.passage)
            st.html(render.context_html(before, result, after))
        more_like_this(searcher, result.passage.id, style)


def passage_actions(item: BasketItem, key: str, reader_button: bool = True) -> None:
    """Add to basket (or "In basket"), and open the passage in the reader."""
    there = item.passage_id in basket()
    with st.container(horizontal=True):
        st.button("In basket" if there else "Add to basket", key=f"add-{key}", disabled=there,
                  icon=":material/playlist_add_check:" if there else ":material/playlist_add:",
                  on_click=change_basket, args=(reader.basket_add, item))
        if reader_button:
            st.button("Open in reader", key=f"open-{key}", icon=":material/menu_book:",
                      on_click=open_passage, args=(item.passage_id,))


def more_like_this(searcher: Searcher, passage_id: str, style: str) -> None:
    """Passages elsewhere that say something similar; computed only when opened."""
    box = st.expander("More like this", key=f"like-{passage_id}", on_change="rerun", type="compact")
    with box:
        if not box.open:
            return
        root = searcher.index.corpus_root
        similar = themes.more_like_this(searcher, passage_id, LIKE_K).results
        if not similar:
            st.caption("No other passage.")
        for r in similar:
            check = verify(root, r.passage, r.quote_start, r.quote_end, quote=r.quote)
            if not check.ok:
                st.warning(render.md_escape(reader.unverified_message(check)), icon=":material/warning:")
            st.html(reader.passage_card_html(r.passage, r.quote_start, r.quote_end))
            st.code(reader.citation(r.passage, r.quote, style, root, base_url(), check),
                    language=None, wrap_lines=True)
            passage_actions(BasketItem.from_result(r), key=f"{passage_id}-like-{r.passage.id}")


# --- the reader ------------------------------------------------------------------------------

def reader_view(searcher: Searcher, view: reader.View, answer: Answer | None) -> None:
    """The whole document of the opened passage, the passage highlighted and scrolled to."""
    with st.container(horizontal=True, vertical_alignment="bottom", horizontal_alignment="distribute"):
        st.button("Back to results" if answer else "Back to the question", key="back",
                  icon=":material/arrow_back:", on_click=close_reader)
        style_picker()
    passage = next((p for p in searcher.passages if p.id == view.p), None)
    if passage is None:
        st.warning(render.md_escape(STALE), icon=":material/link_off:")
        return
    root = searcher.index.corpus_root
    span = reader.quote_span(passage.id, answer.results if answer else (), basket())
    item = BasketItem.from_passage(passage, *(span or (None, None)))
    check = verify(root, passage, item.quote_start, item.quote_end, quote=item.quote)
    reading = reader.open_document(root, searcher.passages, passage.source)
    info = document_info(root, passage.source, passage.title)
    st.html(reader.reader_head_html(reading, passage, info.author))
    if not check.ok:
        st.warning(render.md_escape(reader.unverified_message(check)), icon=":material/warning:")
    if reading.problem:
        st.info(render.md_escape(f"Showing the indexed passages only: {reading.problem}."),
                icon=":material/info:")
    st.code(reader.citation(passage, item.quote, view.style, root, base_url(), check),
            language=None, wrap_lines=True)
    passage_actions(item, key="reader", reader_button=False)
    with st.container(height=READER_HEIGHT, border=True, key=reader.SCROLL_BOX):
        st.html(reader.reader_html(reading.blocks, passage.id, *(span or (None, None))))
    st.html(reader.SCROLL_SCRIPT, unsafe_allow_javascript=True)


# --- the basket ------------------------------------------------------------------------------

def basket_sidebar(searcher: Searcher, view: reader.View) -> None:
    items = basket()
    with st.sidebar:
        st.header(f"Handout basket ({len(items)})")
        if not items:
            st.caption("Empty. Add passages with “Add to basket” on a result, in the reader or "
                       "under “More like this”; they stay here while you ask other questions.")
            return
        for n, item in enumerate(items, start=1):
            basket_entry(n, item, len(items))
        handout_export(searcher, items, view.style)
        st.button("Empty the basket", key="empty", type="tertiary", icon=":material/delete_sweep:",
                  on_click=empty_basket)


def basket_entry(n: int, item: BasketItem, count: int) -> None:
    pid = item.passage_id
    with st.container(border=True):
        st.html(reader.basket_item_html(n, item))
        note_key = f"note-{pid}"
        if note_key not in st.session_state:
            st.session_state[note_key] = item.note
        st.text_input("Note", key=note_key, placeholder="Add a note for the handout",
                      label_visibility="collapsed", on_change=save_note, args=(pid,))
        with st.container(horizontal=True, gap="small"):
            st.button("", key=f"up-{pid}", icon=":material/arrow_upward:", help="Move up",
                      type="tertiary", disabled=n == 1,
                      on_click=change_basket, args=(reader.basket_move, pid, -1))
            st.button("", key=f"down-{pid}", icon=":material/arrow_downward:", help="Move down",
                      type="tertiary", disabled=n == count,
                      on_click=change_basket, args=(reader.basket_move, pid, 1))
            st.button("", key=f"read-{pid}", icon=":material/menu_book:", help="Open in the reader",
                      type="tertiary", on_click=open_passage, args=(pid,))
            st.button("", key=f"remove-{pid}", icon=":material/close:", help="Remove from the basket",
                      type="tertiary", on_click=remove_item, args=(pid,))


def handout_export(searcher: Searcher, items: Basket, style: str) -> None:
    st.subheader("Export as a handout")
    title = st.text_input("Handout title", key="handout_title")
    today = dt.date.today()
    stem = handout.filename(title, "markdown").rsplit(".", 1)[0]
    st.caption(render.md_escape(
        f"Dated {handout.date_label(today)}, with {reader.STYLE_NAMES[style]} citations. "
        f"Saved as {stem}.md, .docx, .csv or .html."))
    root = searcher.index.corpus_root
    contents = json.dumps(items.to_list())
    stamps = reader.file_stamps(root, [i.source for i in items])
    with st.container(horizontal=True, gap="small"):
        for fmt, label in EXPORTS:
            data = handout_file(contents, fmt, style, title, today, str(root), base_url(), stamps)
            st.download_button(label, data=data, file_name=handout.filename(title, fmt),
                               mime=handout.FORMATS[fmt][1], key=f"export-{fmt}",
                               on_click="ignore", icon=":material/download:")


@st.cache_data(max_entries=64, show_spinner=False)
def handout_file(contents: str, fmt: str, style: str, title: str, date: dt.date, root: str,
                 base_url: str, stamps: tuple) -> bytes:
    """The handout's bytes, made again only when the basket, the options or a quoted file
    (`stamps`: its modification time and size) changed. Made on every run rather than on
    click, so that a click on the button of the run before (just after editing the title)
    still downloads."""
    basket = Basket.from_list(json.loads(contents))
    return handout.export(basket, fmt, style, title, date, Path(root), base_url)


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
        paths = uploads.corpus_paths(searcher.index.manifest)
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
                paths, serving.index_dir(), settings,
                lambda fraction, text: bar.progress(fraction, text=render.md_escape(text[:300])))
            notes.insert(0, (outcome.ok, outcome.message))
        st.session_state.upload_notes = notes
        st.session_state.upload_round = st.session_state.get("upload_round", 0) + 1  # empty the box
        st.rerun()


# The page.
st.set_page_config(page_title="Ask the essays", page_icon="🔎", layout="centered")
st.html(render.CSS + reader.CSS)
settings = Settings.from_env()
searcher = open_or_explain(serving.index_dir(), settings)
remember_link(settings, searcher)
view = current_view()
answer = search(searcher, view)
if view.p:
    reader_view(searcher, view, answer)
else:
    header(searcher)
    question_box(searcher, render.example_questions(searcher.passages), settings.top_k)
    show_answer(searcher, answer, view)
upload_sidebar(searcher, settings)
basket_sidebar(searcher, view)
update_link(view)

"""The Ask page's parts (pages/ask.py lays them out): the address and the session, the
question box, the answers, the reader, uploads. The basket is ui.basket's, in the sidebar of
both pages."""
from __future__ import annotations

import streamlit as st

from core.errors import StoreUnavailable
from core.settings import Settings
from ingest import uploads
from search.searcher import Answer, EmptyQuestion, Searcher
from workshop import cite
from workshop.basket import BasketItem
from workshop.catalog import document_info

from . import basket, reader, render, serving
from .address import View, same_params, view_from_params, view_to_params
from .components import (base_url, check_quote, open_passage, quote_checker, show_citation,
                         show_passage, style_picker, warn_if_unverified)

WIDGET_KEYS = ("q", "k", "style", "src", "handout_title")  # kept while the reader hides them
READER_HEIGHT = 500  # pixels: the document scrolls in a box under the reader's heading
GONE = {
    True: "This passage is no longer in the index: its document changed or was removed since the "
          "link was made. Ask the question again to find the passage as it reads now.",
    False: "This link names a passage this index has never had: the link may be cut short or "
           "come from another library. Open the whole link you were sent, or ask the question again.",
    None: "This link names a passage that is not in the index now: its document may have changed "
          "since the link was made, or the link is cut short. Ask the question again.",
}


# --- the address and the session ------------------------------------------------------------

def address() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def remember_link(settings: Settings, searcher: Searcher) -> None:
    """On a session's first run, take what the page shows from the URL (the basket from the
    store). Widget values outlive the reader view (which does not show those widgets) and a
    visit to the other page (whose runs forget them: they are restored from a copy kept in the
    session)."""
    linked = view_from_params(address(), settings.top_k, [s for s, _ in searcher.documents()])
    basket.restore(settings, linked.b)
    first = {"q": linked.q, "k": linked.k, "style": linked.style, "src": list(linked.sources),
             "p": linked.p, "exact": linked.exact}
    first.update(st.session_state.get("kept", {}))
    for key, value in first.items():
        if key not in st.session_state:
            st.session_state[key] = value
    known = set(dict(searcher.documents()))
    st.session_state.src = [s for s in st.session_state.src if s in known]  # index rebuilt since
    for key in WIDGET_KEYS:
        st.session_state[key] = st.session_state[key]
    st.session_state.kept = {key: st.session_state[key] for key in WIDGET_KEYS}


def current_view(settings: Settings) -> View:
    s = st.session_state
    q = " ".join(str(s.q or "").split())[:settings.max_query_chars]  # what is searched
    return View(q=q, k=s.k, style=s.style or cite.DEFAULT_STYLE, sources=tuple(s.src), p=s.p,
                b=basket.address_id(), exact=bool(s.get("exact")))


def update_link(view: View) -> None:
    """Keep the address in step with the page so that a link reproduces it."""
    wanted = view_to_params(view)
    if not same_params(address(), wanted):
        st.query_params.from_dict(wanted)


def use_example(question: str) -> None:
    st.session_state.q = question
    st.session_state.exact = False


def new_question() -> None:
    st.session_state.exact = False  # typo repair is on again for the next question


def search_as_typed() -> None:
    st.session_state.exact = True


def close_reader() -> None:
    st.session_state.p = ""


# --- the question ----------------------------------------------------------------------------

def header(searcher: Searcher) -> None:
    """The page's title, what it searches, and the list of its documents: each title and file
    name on one line (a line break in a name shown as ␤) and escaped, so that no name renders
    as a link, an image, a colour or code, nor breaks the list."""
    st.title("Ask the essays")
    st.caption(render.md_escape(render.summary(
        searcher.index.manifest.model, searcher.documents(), len(searcher.passages))))
    with st.expander("Which essays?"):
        for source, title in searcher.documents():
            st.markdown(f"- {one_line(title)} · {one_line(source)}")


LINE_BREAKS = str.maketrans(dict.fromkeys("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029", "␤"))


def one_line(text: str) -> str:
    """A name as one escaped line of a Markdown list (a line break in it shown as ␤)."""
    return render.md_escape(" ".join(text.replace("\r\n", "\n").translate(LINE_BREAKS).split()))


def question_box(searcher: Searcher, settings: Settings) -> None:
    examples = searcher.index.memo("examples", lambda: render.example_questions(searcher.store.with_question()))
    st.text_input("Your question", key="q", on_change=new_question,
                  placeholder="Ask anything the essays might answer, then press Enter")
    if examples:
        st.caption("Or try one of these:")
        with st.container(horizontal=True, wrap=True):
            for example in examples:
                st.button(example, on_click=use_example, args=(example,))
    with st.container(horizontal=True, vertical_alignment="bottom", gap="large"):
        st.slider("Passages to show", render.MIN_RESULTS, render.MAX_RESULTS, key="k",
                  help=f"How many passages to list (default {settings.top_k}).", width=260)
        style_picker()
    titles = dict(searcher.documents())
    st.multiselect("Search in", list(titles), key="src", format_func=lambda s: titles.get(s, s),
                   placeholder="All essays", help="Leave empty to search every essay.")


def search(searcher: Searcher, view: View) -> Answer | StoreUnavailable | None:
    """The answer to the question on screen, computed once per question, settings and build
    and kept in the session (a basket or reader action does not search again); None before a
    question; the problem when the server that keeps the index does not answer (shown where the
    answer would be, and not kept)."""
    key = (str(searcher.index.build), view.q, view.k, view.sources, view.exact)
    kept = st.session_state.get("answer")
    if kept is not None and kept[0] == key:
        return kept[1]
    try:
        answer = searcher.search(st.session_state.q, view.k, sources=list(view.sources) or None,
                                 repair=not view.exact)
    except EmptyQuestion:
        answer = None
    except StoreUnavailable as err:
        return err
    st.session_state.answer = (key, answer)
    return answer


def notices(answer: Answer, settings: Settings) -> None:
    """What the page did to the question: shortened it, repaired a typo."""
    if answer.shortened:
        st.info(f"Your question was shortened to the first {settings.max_query_chars:,} characters.",
                icon=":material/content_cut:")
    if answer.repaired:
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.markdown(f"Showing results for *{render.md_escape(answer.query)}*")
            st.button(f"Search for “{answer.question[:120]}” instead", key="as-typed", type="tertiary",
                      icon=":material/spellcheck:", on_click=search_as_typed)


def show_answer(searcher: Searcher, settings: Settings, answer: Answer | StoreUnavailable | None,
                view: View) -> None:
    if isinstance(answer, StoreUnavailable):
        st.error(render.md_escape(str(answer)), icon=":material/error:")
        return
    if answer is None:
        st.info("Type a question above — or pick one of the examples — and the passages that "
                "answer it appear here, quoted word for word with their source.", icon=":material/chat:")
        return
    notices(answer, settings)
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
        st.warning(render.md_escape(GONE[searcher.retired(view.p)]), icon=":material/link_off:")
        return
    checker = quote_checker(searcher)
    span = reader.quote_span(passage.id, answer.results if answer else (), basket.basket())
    item = BasketItem.from_passage(passage, *(span or (None, None)))
    check = check_quote(searcher, passage, item.quote, item.quote_start, item.quote_end)
    reading = reader.open_document(checker, searcher.document(passage.source), passage.source)
    info = document_info(checker.corpus_root, passage.source, passage.title, checker)
    st.html(reader.reader_head_html(reading, passage, info.author))
    warn_if_unverified(check)
    if reading.problem:
        st.info(render.md_escape(f"Showing the indexed passages only: {reading.problem}."),
                icon=":material/info:")
    show_citation(searcher, settings, passage, item.quote, view.style, check, item.quote_start)
    basket.passage_actions(settings, view.style, item, "reader")
    with st.container(height=READER_HEIGHT, border=True, key=reader.SCROLL_BOX):
        st.html(reader.reader_html(reading.blocks, passage.id, *(span or (None, None))))
    st.html(reader.SCROLL_SCRIPT, unsafe_allow_javascript=True)


# --- documents added by visitors (only when the host sets ESSAYS_ALLOW_UPLOADS=1) -------------

def upload_sidebar(searcher: Searcher, settings: Settings) -> None:
    """Add documents to the library: stored under uploads/ in the corpus folder, indexed
    incrementally, searchable at once. Off unless the host sets allow_uploads and a passphrase
    (upload_passphrase), which a visitor types once per session to unlock the control."""
    if not settings.allow_uploads:
        return
    with st.sidebar:
        st.header("Add documents")
        if not settings.upload_passphrase:
            st.caption("Uploads are switched on, but they stay off until the host sets a "
                       "passphrase: ESSAYS_UPLOAD_PASSPHRASE in the page server's environment "
                       "(then restart it). Whoever is given the passphrase can add documents.")
            return
        if not st.session_state.get("uploads_unlocked"):
            unlock_uploads(settings)
            return
        for ok, message in st.session_state.pop("upload_notes", []):  # from the run before
            (st.success if ok else st.error)(render.md_escape(message))
        files = st.file_uploader(
            "Documents to add", type=[s.lstrip(".") for s in uploads.SUFFIXES],
            accept_multiple_files=True, key=f"upload-{st.session_state.get('upload_round', 0)}",
            max_upload_size=settings.max_upload_mb)
        st.caption(render.md_escape(
            f"{', '.join(uploads.SUFFIXES)}; up to {settings.max_upload_mb} MB each. They are "
            "added to the library on this server, for everyone who uses it."))
        if not files or not st.button("Add to the library", key="upload-go",
                                      icon=":material/upload_file:"):
            return
        paths = searcher.index.corpus_paths
        notes, stored = [], 0
        for f in files:
            try:
                uploads.store_upload(uploads.upload_dir(paths), f.name, f.getvalue(),
                                     settings.max_upload_mb * 1_000_000, settings=settings)
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


def unlock_uploads(settings: Settings) -> None:
    """The passphrase form: compared in constant time, a few wrong tries per session and per
    server process, never kept in the address or the session once checked."""
    limiter = serving.upload_attempts()
    with st.form("unlock-uploads", clear_on_submit=True, border=False):
        typed = st.text_input("Passphrase to add documents", type="password", key="upload-passphrase",
                              autocomplete="off")
        sent = st.form_submit_button("Unlock uploads", icon=":material/lock_open:")
    if not sent:
        return
    tries = st.session_state.get("upload_tries", 0)
    if tries >= uploads.MAX_PASSPHRASE_TRIES or not limiter.allow():
        st.error("Too many wrong passphrases. Ask the host for the right one and try again later.",
                 icon=":material/lock:")
        return
    if uploads.passphrase_matches(typed or "", settings.upload_passphrase):
        st.session_state.uploads_unlocked = True
        st.rerun()
    st.session_state.upload_tries = tries + 1
    limiter.failed()
    st.error("That is not the passphrase.", icon=":material/lock:")


def page(settings: Settings, searcher: Searcher) -> None:
    """The Ask page, in order."""
    remember_link(settings, searcher)
    view = current_view(settings)
    answer = search(searcher, view)
    if view.p:
        answer = answer if isinstance(answer, Answer) else None
        reader_view(searcher, settings, view, answer)
    else:
        header(searcher)
        question_box(searcher, settings)
        show_answer(searcher, settings, answer, view)
    upload_sidebar(searcher, settings)
    basket.sidebar(searcher, settings, view.style, quote_checker(searcher), base_url(settings), open_passage)
    update_link(current_view(settings))

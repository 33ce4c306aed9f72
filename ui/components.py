"""Streamlit pieces both pages use: settings and the searcher with fix-it messages, the
citation style, one passage card with its verified citation, "more like this", the basket in
the session. Every piece of document text reaches the page escaped (render.esc in st.html,
render.md_escape in Markdown, or st.code, which shows text as is)."""
from __future__ import annotations

import os

import streamlit as st

from core.errors import EssaysError, SettingsError, StoreUnavailable
from core.index_format import current_build
from core.passage import Passage
from core.settings import Settings
from ingest import BuildProgress
from search import themes
from search.searcher import Searcher
from workshop import cite
from workshop.basket import BasketItem
from workshop.verify import Verifier, verifier

from . import basket, render, serving
from .address import page_url

LIKE_K = 5


def settings_or_explain() -> Settings:
    """The settings from the environment; an unusable one stops the page with its fix."""
    try:
        return Settings.from_env()
    except SettingsError as err:
        st.error(render.md_escape(str(err)), icon=":material/error:")
        st.stop()


def start_page() -> tuple[Settings, Searcher]:
    """What every page starts with: the stylesheet, the settings and the searcher."""
    st.session_state.pop(basket.WHOLE_PAGE, None)  # this run draws the whole page anyway
    st.html(render.CSS)
    settings = settings_or_explain()
    searcher = searcher_or_explain(settings)
    if searcher.index.updating:
        st.info("The documents changed and the index is being updated: answers come from the "
                "previous index until the update is done.", icon=":material/sync:")
    return settings, searcher


def searcher_or_explain(settings: Settings) -> Searcher:
    """The searcher; the first time, the index is built under a progress bar (documents read,
    passages embedded, time left). On a problem, its fix-it message and stop."""
    first_time = not settings.store and current_build(settings.index_folder()) is None
    try:
        if not first_time:
            with st.spinner("Loading the index and the model…"):
                return serving.load_searcher(settings)
        return build_with_progress(settings)
    except (EssaysError, OSError) as err:
        st.error(render.md_escape(str(err)), icon=":material/error:")
        st.stop()


def build_with_progress(settings: Settings) -> Searcher:
    """The first start: the index built while the page shows how far it is."""
    box = st.empty()
    with box.container():
        st.title("Ask the essays")
        st.info("First start: the documents are read and embedded once to build the index. "
                "The page opens by itself when it is done.", icon=":material/hourglass_top:")
        bar = st.progress(0.0, text="Loading the embedding model…")
    progress = BuildProgress()

    def show(event) -> None:
        moved = progress.update(event)
        if moved is not None:
            bar.progress(moved[0], text=render.md_escape(moved[1]))

    searcher = serving.load_searcher(settings, on_event=show)
    box.empty()
    return searcher


def draw_or_explain(page, *args) -> None:
    """Draw a page; when the server that keeps the index (Milvus) stops answering meanwhile,
    say so where the page stopped (the session's question and basket are kept)."""
    try:
        page(*args)
    except StoreUnavailable as err:
        st.error(render.md_escape(str(err)), icon=":material/error:")


def quote_checker(searcher: Searcher) -> Verifier:
    return verifier(searcher.index)


def base_url(settings: Settings) -> str:
    try:
        here = st.context.url
    except Exception:  # noqa: BLE001 - no browser (tests): the configured or default address
        here = None
    return page_url(settings.base_url or os.environ.get("ESSAYS_BASE_URL", ""), here)


def style_picker() -> None:
    st.segmented_control("Citation style", list(cite.STYLE_NAMES), key="style", required=True,
                         format_func=cite.STYLE_NAMES.get,
                         help="How the copy-ready citations and the exported handout cite each quote.")


def chosen_style() -> str:
    style = st.session_state.get("style") or st.query_params.get("style") or cite.DEFAULT_STYLE
    return style if style in cite.STYLES else cite.DEFAULT_STYLE


def open_passage(passage_id: str) -> None:
    """Open a passage in the reader (the Ask page shows it)."""
    st.session_state.p = passage_id


# --- one passage ---------------------------------------------------------------------------

def warn_if_unverified(check) -> None:
    if not check.ok:
        st.warning(render.md_escape(render.unverified_message(check)), icon=":material/warning:")


def show_citation(searcher: Searcher, settings: Settings, passage: Passage, quote: str,
                  style: str, check, quote_start: int | None = None) -> None:
    """The copy-ready citation of a quote (flagged when the quote is not in its file as indexed);
    `quote_start`: where the quote stands, for its paragraphs and a PDF's page."""
    st.code(render.citation(quote_checker(searcher), passage, quote, style, base_url(settings), check,
                            quote_start),
            language=None, wrap_lines=True)


def check_quote(searcher: Searcher, passage: Passage, quote: str, quote_start: int, quote_end: int):
    return quote_checker(searcher).verify(passage, quote_start, quote_end, quote=quote)


def show_passage(searcher: Searcher, settings: Settings, result, style: str, key: str,
                 on_open=open_passage, ranked: bool = True, surrounding: tuple | None = None) -> None:
    """A result (of a search, theme search or "more like this") as a card with its verified
    citation, its actions (`on_open` opens it in the reader), [the surrounding text,] and
    "More like this"."""
    p = result.passage
    check = check_quote(searcher, p, result.quote, result.quote_start, result.quote_end)
    with st.container(border=True):
        warn_if_unverified(check)
        st.html(render.result_card_html(result) if ranked
                else render.card_html(p, result.quote_start, result.quote_end))
        show_citation(searcher, settings, p, result.quote, style, check, result.quote_start)
        basket.passage_actions(settings, style, BasketItem.from_result(result), key, on_open)
        if surrounding is not None:
            with st.expander("Surrounding text", type="compact"):
                st.html(render.context_html(surrounding[0], result, surrounding[1]))
        more_like_this(searcher, settings, p.id, style, key, on_open)


@st.fragment
def more_like_this(searcher: Searcher, settings: Settings, passage_id: str, style: str, key: str,
                   on_open=open_passage) -> None:
    """Passages elsewhere that say something similar; computed only when opened, and opening it
    redraws this part of the page alone (adding one to the basket redraws the page)."""
    if st.session_state.pop(basket.WHOLE_PAGE, False):
        st.rerun(scope="app")
    box = st.expander("More like this", key=f"like-{key}", on_change="rerun", type="compact")
    with box:
        if not box.open:
            return
        similar = themes.more_like_this(searcher, passage_id, LIKE_K).results
        if not similar:
            st.caption("No other passage.")
        for r in similar:
            check = check_quote(searcher, r.passage, r.quote, r.quote_start, r.quote_end)
            warn_if_unverified(check)
            st.html(render.card_html(r.passage, r.quote_start, r.quote_end))
            show_citation(searcher, settings, r.passage, r.quote, style, check, r.quote_start)
            basket.passage_actions(settings, style, BasketItem.from_result(r), f"{key}-like-{r.passage.id}", on_open)

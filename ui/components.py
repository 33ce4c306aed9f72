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
from search import themes
from search.searcher import Searcher
from workshop import cite
from workshop.basket import Basket, BasketItem
from workshop.verify import Verifier, verifier

from . import render, serving
from .address import page_url

LIKE_K = 5


def settings_or_explain() -> Settings:
    """The settings from the environment; an unusable one stops the page with its fix."""
    try:
        return Settings.from_env()
    except SettingsError as err:
        st.error(render.md_escape(str(err)), icon=":material/error:")
        st.stop()


def searcher_or_explain(settings: Settings) -> Searcher:
    """The searcher, building the index the first time; on a problem, its fix-it message and stop."""
    first_time = not settings.store and current_build(settings.index_folder()) is None
    message = ("Building the index… (first run: reading and embedding every essay)"
               if first_time else "Loading the index and the model…")
    try:
        with st.spinner(message):
            return serving.load_searcher(settings)
    except (EssaysError, OSError) as err:
        st.error(render.md_escape(str(err)), icon=":material/error:")
        st.stop()


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


# --- the basket in the session ---------------------------------------------------------------

def basket() -> Basket:
    return Basket.from_list(st.session_state.get("basket", []))


def change_basket(change, *args) -> None:
    """Apply one Basket method (add, remove, move, set_note) to the session's basket."""
    b = basket()
    try:
        change(b, *args)
    except KeyError:  # the item went away meanwhile (another tab): nothing to change
        pass
    st.session_state.basket = b.to_list()


def open_passage(passage_id: str) -> None:
    st.session_state.p = passage_id


def passage_actions(item: BasketItem, key: str, reader_button: bool = True) -> None:
    """Add to basket (or "In basket"), and open the passage in the reader."""
    there = item.passage_id in basket()
    with st.container(horizontal=True):
        st.button("In basket" if there else "Add to basket", key=f"add-{key}", disabled=there,
                  icon=":material/playlist_add_check:" if there else ":material/playlist_add:",
                  on_click=change_basket, args=(Basket.add, item))
        if reader_button:
            st.button("Open in reader", key=f"open-{key}", icon=":material/menu_book:",
                      on_click=open_passage, args=(item.passage_id,))


# --- one passage ---------------------------------------------------------------------------

def warn_if_unverified(check) -> None:
    if not check.ok:
        st.warning(render.md_escape(render.unverified_message(check)), icon=":material/warning:")


def show_citation(searcher: Searcher, settings: Settings, passage: Passage, quote: str,
                  style: str, check) -> None:
    """The copy-ready citation of a quote (flagged when the quote is not in its file as indexed)."""
    st.code(render.citation(quote_checker(searcher), passage, quote, style, base_url(settings), check),
            language=None, wrap_lines=True)


def check_quote(searcher: Searcher, passage: Passage, quote: str, quote_start: int, quote_end: int):
    return quote_checker(searcher).verify(passage, quote_start, quote_end, quote=quote)


def show_passage(searcher: Searcher, settings: Settings, result, style: str, key: str,
                 actions: bool = True, ranked: bool = True, surrounding: tuple | None = None) -> None:
    """A result (of a search, theme search or "more like this") as a card with its verified
    citation, [its actions, the surrounding text,] and "More like this"."""
    p = result.passage
    check = check_quote(searcher, p, result.quote, result.quote_start, result.quote_end)
    with st.container(border=True):
        warn_if_unverified(check)
        st.html(render.result_card_html(result) if ranked
                else render.card_html(p, result.quote_start, result.quote_end))
        show_citation(searcher, settings, p, result.quote, style, check)
        if actions:
            passage_actions(BasketItem.from_result(result), key=key)
        if surrounding is not None:
            with st.expander("Surrounding text", type="compact"):
                st.html(render.context_html(surrounding[0], result, surrounding[1]))
        more_like_this(searcher, settings, p.id, style, key, actions)


def more_like_this(searcher: Searcher, settings: Settings, passage_id: str, style: str, key: str,
                   actions: bool = True) -> None:
    """Passages elsewhere that say something similar; computed only when opened."""
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
            show_citation(searcher, settings, r.passage, r.quote, style, check)
            if actions:
                passage_actions(BasketItem.from_result(r), key=f"{key}-like-{r.passage.id}")

"""The handout basket in the sidebar of both pages, saved on the server as it changes.

A basket lives in the basket store (workshop.saved, SQLite beside the index) under an
unguessable id that the address carries (?b=ID), so a reload, a new tab or the next day brings
it back. It is created on the first passage added. "Copy a link to this basket" gives a second
id that opens it read-only; whoever opens that link can make their own copy. The session holds
the basket as shown (`basket`, `handout_title`) and every change is written to the store at once.
"""
from __future__ import annotations

import datetime as dt
import time
from functools import partial

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.errors import EssaysError
from core.settings import Settings
from search.searcher import Searcher
from workshop import cite, handout
from workshop.basket import Basket, BasketItem
from workshop.saved import DEFAULT_TITLE, MAX_TITLE_CHARS, BasketStore, SavedBasket
from workshop.verify import Verifier

from . import render
from .address import basket_link

EXPORTS = (("markdown", "Markdown"), ("docx", "Word"), ("csv", "CSV"), ("html", "Printable HTML"))
SETTLE_SECONDS = 0.4  # an export waits this long for a change sent just before the click
EMPTY = {"basket": [], "basket_id": "", "basket_share": "", "basket_read_only": False,
         "handout_title": DEFAULT_TITLE}  # a session's basket before anything is added


@st.cache_resource(show_spinner=False)
def basket_store(path: str, keep_days: int) -> BasketStore:
    return BasketStore(path, keep_days)


def store(settings: Settings) -> BasketStore:
    return basket_store(str(settings.baskets_path()), settings.basket_days)


# --- the session's basket --------------------------------------------------------------------

def restore(settings: Settings, wanted: str) -> None:
    """On a session's first run: the basket the address names (`wanted`), else an empty one.
    An unknown or expired id leaves a notice and an empty basket."""
    if "basket" in st.session_state:
        return
    st.session_state.update(EMPTY)
    if not wanted:
        return
    try:
        saved = store(settings).open(wanted)
    except EssaysError as err:
        st.session_state.basket_notice = str(err)
        return
    if saved is None:
        st.session_state.basket_notice = (
            "The basket in this link was not found: it may have expired (baskets are kept "
            f"{settings.basket_days} days after their last change) or the link is incomplete.")
        return
    show_saved(saved)


def show_saved(saved: SavedBasket) -> None:
    st.session_state.update(basket=saved.basket.to_list(), basket_id="" if saved.read_only else saved.id,
                            basket_share=saved.share_id, basket_read_only=saved.read_only,
                            handout_title=saved.title)
    for item in saved.basket:
        st.session_state[f"note-{item.passage_id}"] = item.note


def basket() -> Basket:
    return Basket.from_list(st.session_state.get("basket", []))


def in_basket(passage_id: str) -> bool:
    """Is the passage in the session's basket? (without reading the basket's items back)"""
    return any(d["passage"]["id"] == passage_id for d in st.session_state.get("basket", []))


def forget_notes() -> None:
    """Drop the note boxes' values of the basket's items (before it is emptied or replaced)."""
    for d in st.session_state.get("basket", []):
        st.session_state.pop(f"note-{d['passage']['id']}", None)


def address_id() -> str:
    """What the address should carry for this session's basket ("" for none yet)."""
    s = st.session_state
    return s.get("basket_id") or (s.get("basket_share", "") if s.get("basket_read_only") else "")


def save(settings: Settings, items: Basket, style: str) -> None:
    """Write the session's basket to the store (creating it on the first change)."""
    s = st.session_state
    s.basket = items.to_list()
    if s.get("basket_read_only"):
        return
    title = s.get("handout_title") or DEFAULT_TITLE
    try:
        if s.get("basket_id"):
            saved = store(settings).save(s.basket_id, items, title, style)
        else:
            saved = store(settings).create(items, title, style)
    except (EssaysError, KeyError) as err:
        s.basket_notice = f"The basket could not be saved: {err}"
        return
    s.basket_id, s.basket_share = saved.id, saved.share_id


def change(settings: Settings, style: str, method, *args) -> None:
    """Apply one Basket method (add, remove, move, set_note) and save."""
    if st.session_state.get("basket_read_only"):
        return
    b = basket()
    try:
        method(b, *args)
    except KeyError:  # the item went away meanwhile (another tab): nothing to change
        pass
    save(settings, b, style)


def save_note(settings: Settings, style: str, passage_id: str) -> None:
    change(settings, style, Basket.set_note, passage_id, st.session_state.get(f"note-{passage_id}", "") or "")


def remove_item(settings: Settings, style: str, passage_id: str) -> None:
    change(settings, style, Basket.remove, passage_id)
    st.session_state.pop(f"note-{passage_id}", None)


def empty(settings: Settings, style: str) -> None:
    forget_notes()
    save(settings, Basket(), style)


def save_title(settings: Settings, style: str) -> None:
    save(settings, basket(), style)


def copy_shared(settings: Settings) -> None:
    """Make the read-only basket this session's own (new ids)."""
    try:
        mine = store(settings).copy(st.session_state.get("basket_share", ""))
    except (EssaysError, KeyError) as err:
        st.session_state.basket_notice = f"The basket could not be copied: {err}"
        return
    show_saved(mine)


def start_new(settings: Settings) -> None:
    """Leave the basket on screen (it stays saved under its link) and start an empty one."""
    forget_notes()
    st.session_state.update(EMPTY)


# --- the actions on a passage ----------------------------------------------------------------

def passage_actions(settings: Settings, style: str, item: BasketItem, key: str,
                    on_open=None) -> None:
    """Add to basket (or "In basket"), and open the passage in the reader (`on_open`: the
    callback that opens it; None: no reader button)."""
    there = in_basket(item.passage_id)
    read_only = bool(st.session_state.get("basket_read_only"))
    with st.container(horizontal=True):
        st.button("In basket" if there else "Add to basket", key=f"add-{key}", disabled=there or read_only,
                  icon=":material/playlist_add_check:" if there else ":material/playlist_add:",
                  help="This basket is read-only: make your own copy in the sidebar to add to it."
                  if read_only else None,
                  on_click=whole_page, args=(change, settings, style, Basket.add, item))
        if on_open is not None:
            st.button("Open in reader", key=f"open-{key}", icon=":material/menu_book:",
                      on_click=whole_page, args=(on_open, item.passage_id))


# --- the sidebar -------------------------------------------------------------------------------

WHOLE_PAGE = "basket_whole_page"  # set by a basket action that changes more than the sidebar


def sidebar(searcher: Searcher, settings: Settings, style: str, checker: Verifier, base: str,
            on_open) -> None:
    """The basket: its passages with notes, order and removal, its link, and the handout export
    (`base`: the page's address, for the citations' links). A note, a move or the title redraws
    the sidebar alone; an action that changes what the page shows ("In basket" on a card, the
    reader) redraws the page."""
    with st.sidebar:
        basket_part(searcher, settings, style, checker, base, on_open)


def whole_page(action, *args) -> None:
    """A basket action after which the whole page is drawn again."""
    action(*args)
    st.session_state[WHOLE_PAGE] = True


@st.fragment
def basket_part(searcher: Searcher, settings: Settings, style: str, checker: Verifier, base: str,
                on_open) -> None:
    s = st.session_state
    if s.pop(WHOLE_PAGE, False):
        st.rerun(scope="app")
    items = basket()
    read_only = bool(s.get("basket_read_only"))
    st.header(f"Handout basket ({len(items)})")
    if s.get("basket_notice"):
        st.warning(render.md_escape(s.pop("basket_notice")), icon=":material/info:")
    if read_only:
        st.info("A basket shared with you: you can read and export it. To change it, make "
                "your own copy.", icon=":material/visibility:")
        st.button("Make my own copy", key="basket-copy", icon=":material/content_copy:",
                  on_click=whole_page, args=(copy_shared, settings))
    if not items:
        st.caption("Empty. Add passages with “Add to basket” on a result, in the reader, under "
                   "“More like this” or on the Themes page. The basket is saved on this server "
                   "and comes back with the page's address.")
        return
    for n, item in enumerate(items, start=1):
        gone = searcher.row(item.passage_id) is None
        entry(settings, style, n, item, len(items), read_only, gone, on_open)
    export(settings, style, checker, read_only, base)
    share(base)
    with st.container(horizontal=True, gap="small"):
        if not read_only:
            st.button("Empty the basket", key="empty", type="tertiary", icon=":material/delete_sweep:",
                      on_click=whole_page, args=(empty, settings, style))
        st.button("Start a new basket", key="basket-new", type="tertiary", icon=":material/add:",
                  on_click=whole_page, args=(start_new, settings))


def entry(settings: Settings, style: str, n: int, item: BasketItem, count: int, read_only: bool,
          gone: bool, on_open) -> None:
    pid = item.passage_id
    with st.container(border=True):
        st.html(render.basket_item_html(n, item))
        if gone:
            st.caption("No longer in the index (its document changed or was removed): the saved "
                       "quote and citation are kept for the handout.")
        if read_only:
            if item.note:
                st.caption(render.md_escape(f"Note: {item.note}"))
            return
        note_key = f"note-{pid}"
        if note_key not in st.session_state:
            st.session_state[note_key] = item.note
        st.text_input("Note", key=note_key, placeholder="Add a note for the handout",
                      label_visibility="collapsed", on_change=save_note, args=(settings, style, pid))
        with st.container(horizontal=True, gap="small"):
            st.button("", key=f"up-{pid}", icon=":material/arrow_upward:", help="Move up",
                      type="tertiary", disabled=n == 1,
                      on_click=change, args=(settings, style, Basket.move, pid, -1))
            st.button("", key=f"down-{pid}", icon=":material/arrow_downward:", help="Move down",
                      type="tertiary", disabled=n == count,
                      on_click=change, args=(settings, style, Basket.move, pid, 1))
            if not gone:
                st.button("", key=f"read-{pid}", icon=":material/menu_book:", help="Open in the reader",
                          type="tertiary", on_click=whole_page, args=(on_open, pid))
            st.button("", key=f"remove-{pid}", icon=":material/close:", help="Remove from the basket",
                      type="tertiary", on_click=whole_page, args=(remove_item, settings, style, pid))


def share(base: str) -> None:
    """The read-only link to this basket, ready to copy."""
    share_id = st.session_state.get("basket_share")
    if not share_id:
        return
    with st.expander("Copy a link to this basket", icon=":material/link:"):
        st.caption("Whoever opens this link sees the basket read-only and can make their own copy.")
        st.code(basket_link(base, share_id), language=None, wrap_lines=True)


def export(settings: Settings, style: str, checker: Verifier, read_only: bool, base: str) -> None:
    st.subheader("Export as a handout")
    if read_only:
        title = st.session_state.get("handout_title") or DEFAULT_TITLE
        st.caption(render.md_escape(f"Title: {title}"))
    else:
        st.text_input("Handout title", key="handout_title", max_chars=MAX_TITLE_CHARS,
                      on_change=save_title, args=(settings, style))
    today = dt.date.today()
    st.caption(render.md_escape(
        f"Dated {handout.date_label(today)}, with {cite.STYLE_NAMES[style]} citations. Saved as "
        f"{file_stem(today)}.md, .docx, .csv or .html."))
    state = get_script_run_ctx().session_state  # thread-safe: read when a button is clicked
    with st.container(horizontal=True, gap="small"):
        for fmt, label in EXPORTS:
            st.download_button(label, data=partial(handout_file, fmt, style, checker, base, state),
                               file_name=f"{file_stem(today)}.{handout.FORMATS[fmt][0]}",
                               mime=handout.FORMATS[fmt][1], key=f"export-{fmt}",
                               on_click="ignore", icon=":material/download:")


def file_stem(today: dt.date) -> str:
    return f"handout-{today.isoformat()}"


def handout_file(fmt: str, style: str, checker: Verifier, base: str, state) -> bytes:
    """The handout, made when its download button is clicked (in a thread of its own) from the
    session's values at that moment (the title, notes, order and style, a change sent just
    before the click included), not from the page's last run. `state`: the session's
    thread-safe state; `style`: the page's, when the session has none."""
    time.sleep(SETTLE_SECONDS)  # let a title or note typed just before the click land

    def value(key: str, default):
        return state[key] if key in state else default

    chosen = value("style", style)
    return handout.export(Basket.from_list(value("basket", [])), fmt, checker,
                          chosen if chosen in cite.STYLES else style,
                          value("handout_title", "") or DEFAULT_TITLE, dt.date.today(), base)

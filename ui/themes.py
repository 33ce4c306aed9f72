"""The Themes page's parts (pages/themes.py lays them out): theme search across the essays,
the theme map, the theme list and each theme's passages, cited in the style chosen on the
Ask page, with quotes verified against their files; each passage can go in the basket (the
same basket, in the sidebar) or be opened in the reader (on the Ask page)."""
from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from core.errors import EmptyQuestion
from core.settings import Settings
from search import themes
from search.searcher import Searcher
from workshop import cite
from workshop.basket import BasketItem

from . import basket, render
from .address import view_from_params
from .components import base_url, chosen_style, quote_checker, show_passage

THEME_TOP_K = 10
SHOWN_PER_THEME = 60  # a theme of a large corpus lists its most representative passages


@st.cache_resource(show_spinner=False)
def load_themes(build: str, settings: Settings, _searcher: Searcher) -> themes.ThemeMap:
    """The theme map of one build: computed once (and cached in the build folder)."""
    return themes.theme_map(_searcher)


def keep_question() -> str:
    """The question page's question (and number of results) outlive a visit to this page:
    Streamlit forgets a widget's value on a page that does not show the widget, unless the
    value is set again by the script."""
    for key in ("q", "k", "style", "handout_title"):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    if st.session_state.pop("go_to_reader", False):
        st.switch_page("pages/ask.py")
    return str(st.session_state.get("q") or st.query_params.get("q") or "").strip()


def open_in_reader(passage_id: str) -> None:
    """Open the passage in the reader, on the Ask page (the switch happens on the next run)."""
    st.session_state.p = passage_id
    st.session_state.go_to_reader = True


def back_link(question: str) -> None:
    params = {"q": question} if question else None
    if params and "k" in st.session_state:
        params["k"] = str(st.session_state.k)
    label = f"← Back to your question: {question[:80]}" if question else "← Ask a question"
    try:
        st.page_link("app.py", label=label, query_params=params)
    except StreamlitPageNotFoundError:  # this page run on its own (tests): a plain link instead
        st.markdown(f"[{render.md_escape(label)}](./{'?' + urlencode(params) if params else ''})")


def theme_search_box(searcher: Searcher, settings: Settings) -> None:
    st.subheader("Find a theme across the essays")
    phrase = st.text_input("Theme", key="theme_phrase",
                           placeholder="A theme word or phrase, e.g. trust, loneliness, healing after hurt")
    try:
        found = themes.theme_search(searcher, phrase, THEME_TOP_K)
    except EmptyQuestion:
        return
    if not found.answered:
        st.warning("No passage is close to this theme. The nearest passages are listed below, "
                   "but they probably do not treat it.", icon=":material/search_off:")
    counts = ", ".join(f"{e.title} ({e.matching})" for e in found.essays if e.matching)
    if counts:
        st.caption(render.md_escape(f"Passages on this theme per essay: {counts}"))
    style = chosen_style()
    for essay, results in found.groups():
        shown = (f"{essay.shown} shown of {essay.matching} on this theme" if essay.matching
                 else f"the nearest {'passage' if essay.shown == 1 else f'{essay.shown} passages'}")
        st.markdown(f"**{render.md_escape(essay.title)}** · {shown}")
        for r in results:
            show_passage(searcher, settings, r, style, key=f"theme-{r.passage.id}", on_open=open_in_reader)


def theme_map_chart(searcher: Searcher, found: themes.ThemeMap) -> None:
    import altair as alt
    import pandas as pd

    shown, xy = themes.map_points(searcher)
    label = {t.id: f"{t.id}. {t.label}" for t in found.themes}
    rows = [{"x": float(x), "y": float(y), "theme": label[found.assignment[i]],
             "essay": p.title, "where": cite.where(p),
             "passage": p.text if len(p.text) <= 300 else p.text[:300] + "…"}
            for i, (x, y), p in zip(shown, xy, searcher.store.passages(shown))]
    chart = alt.Chart(pd.DataFrame(rows)).mark_circle(size=70, opacity=0.8).encode(
        x=alt.X("x", axis=None), y=alt.Y("y", axis=None),
        color=alt.Color("theme:N", legend=alt.Legend(orient="bottom", columns=2, labelLimit=400)),
        tooltip=["theme", "essay", "where", "passage"])
    st.altair_chart(chart, width="stretch")
    sample = "" if len(shown) == len(searcher.passages) else \
        f" ({len(shown):,} passages of {len(searcher.passages):,}, spread evenly over the documents)"
    st.caption(f"Each dot is a passage{sample}, placed by meaning (its first two principal components) "
               "and coloured by theme; hover to read it.")


def theme_list(found: themes.ThemeMap) -> None:
    import pandas as pd

    table = pd.DataFrame([{"theme": t.id, "label": t.label, "passages": t.size,
                           "essays": len(t.sources),
                           "spans": ", ".join(f"{s} ({n})" for s, n in t.sources)} for t in found.themes])
    st.table(table.set_index("theme"))  # a table wraps its cells: "spans" is read whole


def quoted(p, quote: str) -> BasketItem:
    """The passage with the theme's sentence as its quote (the whole passage when not found)."""
    at = p.text.find(quote) if quote else -1
    return BasketItem.from_passage(p, p.start + at, p.start + at + len(quote)) if at >= 0 \
        else BasketItem.from_passage(p)


def open_theme(searcher: Searcher, settings: Settings, found: themes.ThemeMap) -> None:
    ids = [t.id for t in found.themes]
    choice = st.selectbox("Open a theme", ids, key="open_theme",
                          format_func=lambda i: f"{i}. {found.theme(i).label} ({found.theme(i).size} passages)")
    if choice is None:
        return
    theme = found.theme(choice)
    quotes = {q.row: q.text for q in theme.quotes}
    st.caption(render.md_escape(f"{theme.size} passages from {len(theme.sources)} essays; "
                                "the most representative first, with the sentence that carries the theme marked."))
    shown = theme.rows[:SHOWN_PER_THEME]
    by_essay: dict[str, list[int]] = {}
    for row in shown:
        by_essay.setdefault(searcher.passages[row].source, []).append(row)
    style = chosen_style()
    for source, n in theme.sources:
        rows = by_essay.get(source, [])
        if not rows:
            continue
        title = searcher.passages[rows[0]].title
        st.markdown(f"**{render.md_escape(title)}** · {n} passage{'s' if n != 1 else ''}")
        for row in rows:
            p = searcher.passages[row]
            show_passage(searcher, settings, quoted(p, quotes.get(row, "")), style,
                         key=f"map-{p.id}", on_open=open_in_reader, ranked=False)
    if len(theme.rows) > len(shown):
        st.caption(f"Showing the {len(shown)} most representative of {theme.size} passages.")


def page(settings: Settings, searcher: Searcher, question: str) -> None:
    """The theme page, in order."""
    basket.restore(settings, view_from_params(dict(st.query_params), settings.top_k, ()).b)
    with st.spinner("Finding the themes…"):
        found = load_themes(str(searcher.index.build), settings, searcher)
    back_link(question)
    st.title("Themes")
    how = "chosen from the passages" if found.chosen_by == "silhouette" else "set by the themes setting"
    st.caption(f"{len(found.themes)} themes over {len(searcher.passages)} passages from "
               f"{len(searcher.documents())} essays (the number of themes {how}).")
    theme_search_box(searcher, settings)
    st.subheader("Theme map")
    theme_map_chart(searcher, found)
    theme_list(found)
    st.subheader("Passages by theme")
    open_theme(searcher, settings, found)
    basket.sidebar(searcher, settings, chosen_style(), quote_checker(searcher), base_url(settings),
                   open_in_reader)
    if basket.address_id() and st.query_params.get("b") != basket.address_id():
        st.query_params["b"] = basket.address_id()  # a reload of this page keeps the basket

"""The theme page: what the essays talk about, all passages on one theme, theme search and
"more like this". Streamlit lists it beside the question page (app.py), which keeps its question.

Every piece of document text is escaped: html.escape (render.esc) before st.html, md_escape
before Markdown labels, or shown with st.code / st.dataframe / chart tooltips, which show text as is.
"""
from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from ingest import IngestError
from ingest.embed import ModelError
from ingest.settings import Settings
from ingest.store import IngestBusy
from search import cite, render, serving, themes
from search.api import EmptyQuestion, Searcher
from search.index import IndexProblem

OPEN_ERRORS = (IndexProblem, IngestError, IngestBusy, ModelError, FileNotFoundError)
THEME_TOP_K = 10
SHOWN_PER_THEME = 60  # a theme of a large corpus lists its most representative passages
LIKE_K = 5


@st.cache_resource(show_spinner=False)
def load_themes(folder: str, build: str, settings: Settings, _searcher: Searcher) -> themes.ThemeMap:
    """The theme map of one build: computed once (and cached in the build folder)."""
    return themes.theme_map(_searcher)


def keep_question() -> str:
    """The question page's question (and number of results) outlive a visit to this page:
    Streamlit forgets a widget's value on a page that does not show the widget, unless the
    value is set again by the script."""
    for key in ("q", "k"):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    return str(st.session_state.get("q") or st.query_params.get("q") or "").strip()


def back_link(question: str) -> None:
    params = {"q": question} if question else None
    if params and "k" in st.session_state:
        params["k"] = str(st.session_state.k)
    label = f"← Back to your question: {question[:80]}" if question else "← Ask a question"
    try:
        st.page_link("app.py", label=label, query_params=params)
    except StreamlitPageNotFoundError:  # this page run on its own (tests): a plain link instead
        st.markdown(f"[{render.md_escape(label)}](./{'?' + urlencode(params) if params else ''})")


def passage_html(p, quote: str = "") -> str:
    """A passage as an escaped card (the quote, when given and found, marked), with its citation line."""
    at = p.text.find(quote) if quote else -1
    body = (render.marked(p.text, p.start, p.start + at, p.start + at + len(quote)) if at >= 0
            else render.esc(p.text))
    return ('<div class="essay-card">'
            f'<div class="head"><span class="title">{render.esc(render.heading(p))}</span></div>'
            f'<p class="essay-passage">{body}</p>'
            f'<div class="essay-where">{render.esc(cite.where(p))}</div></div>')


def more_like_this(searcher: Searcher, passage_id: str) -> None:
    with st.expander("More like this"):
        similar = themes.more_like_this(searcher, passage_id, LIKE_K)
        if not similar.results:
            st.caption("No other passage.")
        for r in similar.results:
            st.html(passage_html(r.passage, r.quote))
            st.code(cite.citation(r.passage, r.quote or None), language=None, wrap_lines=True)


def show_passage(searcher: Searcher, p, quote: str = "") -> None:
    with st.container(border=True):
        st.html(passage_html(p, quote))
        st.code(cite.citation(p, quote or None), language=None, wrap_lines=True)
        more_like_this(searcher, p.id)


def theme_search_box(searcher: Searcher) -> None:
    st.subheader("Find a theme across the essays")
    phrase = st.text_input("Theme", key="theme_phrase",
                           placeholder="A theme word or phrase, e.g. trust, loneliness, healing after hurt")
    try:
        found = themes.theme_search(searcher, phrase, THEME_TOP_K)
    except EmptyQuestion:
        return
    if not found.answered:
        st.warning(found.notice, icon="🤷")
    counts = ", ".join(f"{e.title} ({e.matching})" for e in found.essays if e.matching)
    st.caption(render.md_escape(f"Passages on this theme per essay: {counts}" if counts
                                else "No essay has a passage clearly on this theme."))
    for essay, results in found.groups():
        st.markdown(f"**{render.md_escape(essay.title)}** · {essay.shown} shown of {essay.matching} "
                    "on this theme")
        for r in results:
            with st.container(border=True):
                st.html(render.card_html(r))
                st.code(cite.citation(r.passage, r.quote or None), language=None, wrap_lines=True)
                more_like_this(searcher, r.passage.id)


def theme_map_chart(searcher: Searcher, found: themes.ThemeMap) -> None:
    import altair as alt
    import pandas as pd

    xy = themes.project_2d(themes.document_free_vectors(searcher.index))
    label = {t.id: f"{t.id}. {t.label}" for t in found.themes}
    rows = [{"x": float(x), "y": float(y), "theme": label[found.assignment[i]],
             "essay": p.title, "where": cite.where(p),
             "passage": p.text if len(p.text) <= 300 else p.text[:300] + "…"}
            for i, ((x, y), p) in enumerate(zip(xy, searcher.passages))]
    chart = alt.Chart(pd.DataFrame(rows)).mark_circle(size=70, opacity=0.8).encode(
        x=alt.X("x", axis=None), y=alt.Y("y", axis=None),
        color=alt.Color("theme:N", legend=alt.Legend(orient="bottom", columns=2, labelLimit=400)),
        tooltip=["theme", "essay", "where", "passage"])
    st.altair_chart(chart, width="stretch")
    st.caption("Each dot is a passage, placed by meaning (its first two principal components) and "
               "coloured by theme; hover to read it.")


def theme_list(found: themes.ThemeMap) -> None:
    import pandas as pd

    table = pd.DataFrame([{"theme": t.id, "label": t.label, "passages": t.size,
                           "essays": len(t.sources),
                           "spans": ", ".join(f"{s} ({n})" for s, n in t.sources)} for t in found.themes])
    st.dataframe(table, hide_index=True, width="stretch")


def open_theme(searcher: Searcher, found: themes.ThemeMap) -> None:
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
    for source, n in theme.sources:
        rows = by_essay.get(source, [])
        if not rows:
            continue
        title = searcher.passages[rows[0]].title
        st.markdown(f"**{render.md_escape(title)}** · {n} passage{'s' if n != 1 else ''}")
        for row in rows:
            show_passage(searcher, searcher.passages[row], quotes.get(row, ""))
    if len(theme.rows) > len(shown):
        st.caption(f"Showing the {len(shown)} most representative of {theme.size} passages.")


# The page.
st.set_page_config(page_title="Themes · Ask the essays", page_icon="🗺️", layout="centered")
st.html(render.CSS)
question = keep_question()
settings = Settings.from_env()
folder = serving.index_dir().resolve()
try:
    with st.spinner("Loading the index and the model…"):
        searcher = serving.load_searcher(folder, settings)
        with st.spinner("Finding the themes…"):
            found = load_themes(str(folder), str(searcher.index.build), settings, searcher)
except OPEN_ERRORS as err:
    st.error(render.md_escape(str(err)), icon="⚠️")
    st.stop()

back_link(question)
st.title("Themes")
how = "chosen from the passages" if found.chosen_by == "silhouette" else "set by the themes setting"
st.caption(f"{len(found.themes)} themes over {len(searcher.passages)} passages from "
           f"{len(searcher.documents())} essays (the number of themes {how}).")
theme_search_box(searcher)
st.subheader("Theme map")
theme_map_chart(searcher, found)
theme_list(found)
st.subheader("Passages by theme")
open_theme(searcher, found)

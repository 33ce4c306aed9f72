"""The search page: ask the essays a question, see the passages that answer it.

    streamlit run app.py

The index folder is index/ unless ESSAYS_INDEX_DIR names another; the other settings come
from the ESSAYS_* environment variables (see ingest/settings.py). A link with ?q=QUESTION&k=N
reproduces a search.
"""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from ingest import IngestError
from ingest.embed import ModelError
from ingest.settings import DEFAULT_INDEX, Settings
from ingest.store import IngestBusy, current_build
from search import cite, render
from search.api import Answer, EmptyQuestion, Result, Searcher, open_searcher
from search.index import IndexProblem

OPEN_ERRORS = (IndexProblem, IngestError, IngestBusy, ModelError, FileNotFoundError)


def index_dir() -> Path:
    return Path(os.environ.get("ESSAYS_INDEX_DIR") or DEFAULT_INDEX)


@st.cache_resource(show_spinner=False)
def load_searcher(folder: str, settings: Settings) -> Searcher:
    """One Searcher per index folder and settings, shared by every session of this server."""
    return open_searcher(Path(folder), settings)


def open_or_explain(folder: Path, settings: Settings) -> Searcher:
    """The searcher, building the index the first time; on a problem, its fix-it message and stop."""
    first_time = current_build(folder) is None
    message = ("Building the index… (first run: reading and embedding every essay)"
               if first_time else "Loading the index and the model…")
    try:
        with st.spinner(message):
            return load_searcher(str(folder.resolve()), settings)
    except OPEN_ERRORS as err:
        st.error(render.md_escape(str(err)), icon=":material/error:")
        st.stop()


def remember_link(settings: Settings) -> None:
    """On a session's first run, take the question and the number of results from the URL."""
    if "q" not in st.session_state:
        st.session_state.q = st.query_params.get("q", "")
    if "k" not in st.session_state:
        st.session_state.k = render.parse_k(st.query_params.get("k"), settings.top_k)


def update_link(question: str, k: int) -> None:
    """Keep ?q=…&k=… in the address bar so that a link reproduces this search."""
    wanted = {"q": question.strip(), "k": str(k)} if question.strip() else {}
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)


def use_example(question: str) -> None:
    st.session_state.q = question


def header(searcher: Searcher) -> None:
    st.title("Ask the essays")
    st.caption(render.md_escape(render.summary(
        searcher.index.manifest, searcher.documents(), len(searcher.passages))))
    with st.expander("Which essays?"):
        for source, title in searcher.documents():
            st.markdown(f"- {render.md_escape(title)} · `{source.replace('`', '')}`")


def question_box(examples: list[str], default_k: int) -> tuple[str, int]:
    question = st.text_input(
        "Your question", key="q", placeholder="Ask anything the essays might answer, then press Enter")
    if examples:
        st.caption("Or try one of these:")
        with st.container(horizontal=True, wrap=True):
            for example in examples:
                st.button(example, on_click=use_example, args=(example,))
    k = st.slider("Passages to show", render.MIN_RESULTS, render.MAX_RESULTS, key="k",
                  help=f"How many passages to list (default {default_k}).")
    return question, k


def ask(searcher: Searcher, question: str, k: int) -> Answer | None:
    try:
        return searcher.search(question, k)
    except EmptyQuestion:
        st.info("Type a question above — or pick one of the examples — and the passages that "
                "answer it appear here, quoted word for word with their source.", icon=":material/chat:")
        return None


def show_answer(searcher: Searcher, answer: Answer) -> None:
    if not answer.answered:
        st.warning(render.md_escape(answer.notice), icon=":material/search_off:")
    if not answer.results:
        st.info("The index has no passages to show.")
        return
    for result in answer.results:
        show_result(searcher, result)


def show_result(searcher: Searcher, result: Result) -> None:
    with st.container(border=True):
        st.html(render.card_html(result))
        st.code(cite.citation(result.passage, result.quote), language=None, wrap_lines=True)
        with st.expander("Surrounding text"):
            before, after = searcher.neighbours(result.passage)
            st.html(render.context_html(before, result, after))


# The page.
st.set_page_config(page_title="Ask the essays", page_icon="🔎", layout="centered")
st.html(render.CSS)
settings = Settings.from_env()
searcher = open_or_explain(index_dir(), settings)
header(searcher)
remember_link(settings)
question, k = question_box(render.example_questions(searcher.passages), settings.top_k)
update_link(question, k)
answer = ask(searcher, question, k)
if answer is not None:
    show_answer(searcher, answer)

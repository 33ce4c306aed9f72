"""The loaded index for the Streamlit pages: one Searcher per server process and index build,
shared by every session and by every page (st.cache_resource; Searcher is thread-safe).

The cache is keyed by the build named in index/CURRENT, so when an ingest (from the command
line or an upload) writes a newer build, the next question in any session switches to it as a
whole, without a restart and without ever mixing two builds.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.index_format import current_build
from core.settings import Settings
from search.searcher import Searcher, open_searcher


def build_name(folder: Path) -> str:
    build = current_build(folder)
    return build.name if build else ""


@st.cache_resource(show_spinner=False, max_entries=2)
def cached_searcher(folder: str, settings: Settings, build: str) -> Searcher:
    return open_searcher(Path(folder), settings)


def load_searcher(settings: Settings) -> Searcher:
    """The Searcher for the current build of the settings' index folder (building the index
    when it is missing)."""
    folder = settings.index_folder().resolve()
    return cached_searcher(str(folder), settings, build_name(folder))


def clear() -> None:
    cached_searcher.clear()

"""The loaded index for the Streamlit pages: one Searcher per server process and index build,
shared by every session and by every page (st.cache_resource; Searcher is thread-safe).

The cache is keyed by the build named in index/CURRENT, so when an ingest (from the command
line or an upload) writes a newer build, the next question in any session switches to it as a
whole, without a restart and without ever mixing two builds.
"""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from ingest.settings import DEFAULT_INDEX, Settings
from ingest.store import current_build

from .api import Searcher, open_searcher


def index_dir() -> Path:
    """The index folder the pages serve: ESSAYS_INDEX_DIR, else index/."""
    return Path(os.environ.get("ESSAYS_INDEX_DIR") or DEFAULT_INDEX)


def build_name(folder: Path) -> str:
    build = current_build(folder)
    return build.name if build else ""


@st.cache_resource(show_spinner=False, max_entries=2)
def _load(folder: str, settings: Settings, build: str) -> Searcher:
    return open_searcher(Path(folder), settings)


def load_searcher(folder: Path, settings: Settings) -> Searcher:
    """The Searcher for the folder's current build (building the index when it is missing)."""
    return _load(str(Path(folder).resolve()), settings, build_name(folder))


def clear() -> None:
    _load.clear()

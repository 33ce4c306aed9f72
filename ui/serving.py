"""The loaded index for the Streamlit pages: one Searcher per server process and index build,
shared by every session and by every page (st.cache_resource; Searcher is thread-safe).

The cache is keyed by the build named in index/CURRENT, so when an ingest (from the command
line or an upload) writes a newer build, the next question in any session switches to it as a
whole, without a restart and without ever mixing two builds.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import streamlit as st

from core import milvus
from core.errors import StoreUnavailable
from core.index_format import current_build
from core.settings import Settings
from search.searcher import Searcher, open_searcher


SERVED_BUILD = "served_build"  # session state: the build this session was last served from


def build_name(folder: Path, settings: Settings) -> str:
    """The build being served: named in the folder's CURRENT, or in the Milvus collection's
    manifest row (read at every page run, so that a new ingest is picked up)."""
    address = settings.milvus()
    if address is None:
        build = current_build(folder)
        return build.name if build else ""
    try:  # one try: a session that has a build keeps it, and its search tries again (milvus.reaching)
        pointer = milvus.read_pointer(milvus_client(str(address)), address)
    except Exception as exc:  # noqa: BLE001 - a server that does not answer: say so
        raise milvus.down(address, exc) from exc
    return pointer["build"] if pointer else ""


@st.cache_resource(show_spinner=False)
def milvus_client(address: str):
    """One client per Milvus address for the page's checks (it reconnects by itself)."""
    return milvus.connect(milvus.parse_address(address))


@st.cache_resource(show_spinner=False, max_entries=2)
def cached_searcher(folder: str, settings: Settings, build: str, _on_event=None) -> Searcher:
    return open_searcher(Path(folder), settings, on_event=_on_event)


def load_searcher(settings: Settings, on_event=None) -> Searcher:
    """The Searcher for the current build of the settings' index folder (building the index
    when it is missing, telling `on_event` how far it is)."""
    folder = settings.index_folder().resolve()
    try:
        build = build_name(folder, settings)
    except StoreUnavailable:  # keep this session on the build it had: its question says why
        build = st.session_state.get(SERVED_BUILD)
        if build is None:
            raise
    st.session_state[SERVED_BUILD] = build
    return cached_searcher(str(folder), settings, build, on_event)


def clear() -> None:
    cached_searcher.clear()


class Attempts:
    """Wrong upload passphrases typed in this server process, all sessions together: at most
    `limit` in `window` seconds (a new session does not start afresh)."""

    def __init__(self, limit: int = 20, window: float = 600.0):
        self.limit, self.window = limit, window
        self.times: list[float] = []
        self.lock = threading.Lock()

    def allow(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.times = [t for t in self.times if now - t < self.window]
            return len(self.times) < self.limit

    def failed(self) -> None:
        with self.lock:
            self.times.append(time.monotonic())


@st.cache_resource(show_spinner=False)
def upload_attempts() -> Attempts:
    return Attempts()

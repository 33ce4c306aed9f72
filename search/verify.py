"""Checking a quote against its file before it is shown or exported.

The index records where each passage and quote stood in the file's text (as `read_text`
decodes it). A file edited, replaced or deleted since then no longer holds the same text at
those offsets: `verify` says so instead of passing the stored quote off as verified.
File texts are cached per (path, modification time, size), so checking a page of results
or a whole handout reads each file once.

Web pages, PDFs and Word files: offsets refer to the text extracted at ingest, which the index
stores (builds/<id>/texts/). Such a quote is checked against that stored text, and the file
itself must still have the sha256 the manifest recorded (else "file changed since indexing").
The index of a corpus folder is the one last loaded for it (`load_index` registers it here), or
the default index/ when it was built from that folder; with neither, the file is extracted
again and the quote checked against that text.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ingest import store
from ingest.read import SkipFile, file_sha256, is_plain, read_text

CHANGED = "file changed since indexing"
MISSING = "file no longer exists"


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str  # "verified", or why the quote cannot be vouched for

    def flag(self) -> str:
        """'' when verified; else the warning to print beside the quote."""
        return "" if self.ok else f"[quote not verified: {self.reason}]"


def verify(corpus_root: Path, passage, quote_start: int, quote_end: int,
           quote: str | None = None) -> Verification:
    """Is the passage (and the quote at [quote_start, quote_end)) still in its file, verbatim?

    `passage` needs `source`, `start`, `end` and `text` (an ingest Passage or a BasketItem).
    With `quote`, the quoted text itself must also equal the file's text at those offsets.
    """
    path = source_path(corpus_root, passage.source)
    if path is None:
        return Verification(False, "the file is not in the document folder")
    if not (passage.start <= quote_start <= quote_end <= passage.end):
        return Verification(False, "the quote lies outside its passage")
    if is_plain(passage.source):
        text, problem = file_text(path)
    else:
        text, problem = extracted_text(corpus_root, passage.source, path)
    if problem:
        return Verification(False, problem)
    if text[passage.start:passage.end] != passage.text:
        return Verification(False, CHANGED)
    if quote is not None and text[quote_start:quote_end] != quote:
        return Verification(False, "the quote differs from the file at its offsets")
    return Verification(True, "verified")


def source_path(corpus_root: Path, source: str) -> Path | None:
    """The file of a source (relative to the corpus root); None when it would lie outside it."""
    root = Path(corpus_root).resolve()
    path = (root / source).resolve()
    return path if path.is_relative_to(root) else None


def _unreadable(err: OSError) -> str:
    if isinstance(err, FileNotFoundError):
        return MISSING
    return f"the file cannot be read ({err.strerror or err.__class__.__name__})"


def file_text(path: Path) -> tuple[str, str]:
    """(text, "") or ("", why it cannot be read): read once per version of the file."""
    try:
        st = Path(path).stat()
    except OSError as err:
        return "", _unreadable(err)
    return _read(str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=64)
def _read(path: str, mtime_ns: int, size: int) -> tuple[str, str]:
    try:
        return read_text(Path(path)), ""
    except FileNotFoundError:
        return "", MISSING
    except SkipFile as err:
        return "", f"the file can no longer be read: {err}"


# --- formats that are extracted (HTML, PDF, DOCX) ----------------------------------------

@dataclass(frozen=True)
class _Known:
    build: Path
    files: dict  # source -> sha256 of the file's bytes at ingest
    texts: dict  # source -> {"file": "texts/<sha>.txt", "sha256": ...}


_INDEXES: dict[str, _Known] = {}  # resolved corpus root -> the index last loaded for it
_LOCK = threading.Lock()


def register_index(build: Path, manifest: dict) -> None:
    """Remember which build indexed a corpus folder (called by search.index.load_index)."""
    try:
        root = str(Path(manifest["corpus"]["root"]).resolve())
        known = _Known(Path(build), dict(manifest["corpus"]["files"]), dict(manifest.get("texts") or {}))
    except (KeyError, TypeError, ValueError):
        return
    with _LOCK:
        _INDEXES[root] = known


def _known(corpus_root: Path) -> _Known | None:
    key = str(Path(corpus_root).resolve())
    with _LOCK:
        known = _INDEXES.get(key)
    if known is not None and known.build.is_dir():
        return known
    from ingest.settings import DEFAULT_INDEX

    build = store.current_build(DEFAULT_INDEX)
    try:
        manifest = json.loads((build / store.MANIFEST).read_text(encoding="utf-8"))
        if str(Path(manifest["corpus"]["root"]).resolve()) != key:
            return None
    except Exception:  # noqa: BLE001 - no usable default index: nothing known
        return None
    register_index(build, manifest)
    with _LOCK:
        return _INDEXES.get(key)


def extracted_text(corpus_root: Path, source: str, path: Path) -> tuple[str, str]:
    """(text the index's offsets refer to, "") or ("", why the quote cannot be vouched for)
    for a web page, PDF or Word file."""
    try:
        st = Path(path).stat()
    except OSError as err:
        return "", _unreadable(err)
    known = _known(corpus_root)
    if known is not None and source in known.files:
        sha, problem = _sha(str(path), st.st_mtime_ns, st.st_size)
        if problem:
            return "", problem
        if sha != known.files[source]:
            return "", CHANGED
        entry = known.texts.get(source)
        if entry is not None:
            text = _stored(str(known.build), entry.get("file", ""), entry.get("sha256", ""))
            if text is not None:
                return text, ""
    return _read(str(path), st.st_mtime_ns, st.st_size)  # extract again: the same text


@lru_cache(maxsize=256)
def _sha(path: str, mtime_ns: int, size: int) -> tuple[str, str]:
    try:
        return file_sha256(Path(path)), ""
    except OSError as err:
        return "", _unreadable(err)


@lru_cache(maxsize=64)
def _stored(build: str, file: str, sha256: str) -> str | None:
    try:
        return store.read_stored_text(Path(build), {"file": file, "sha256": sha256})
    except (OSError, ValueError, UnicodeDecodeError):
        return None  # pruned or damaged: the caller extracts the file again

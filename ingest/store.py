"""The index folder, written atomically.

    index/
      CURRENT            name of the build being served (replaced atomically, last)
      builds/<id>/       one complete build: manifest.json, passages.jsonl,
                         passages.faiss, sentences.faiss
      .lock              held while an ingest writes

A build is written into a temporary folder, flushed, renamed into place, and only then named
in CURRENT. A crash at any point leaves CURRENT naming the previous, complete build.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
CURRENT = "CURRENT"
BUILDS = "builds"
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
PASSAGE_VECTORS = "passages.faiss"
SENTENCE_VECTORS = "sentences.faiss"
KEEP_BUILDS = 2  # the current build and the one before it


class IngestBusy(Exception):
    """Another ingest is writing this index folder."""


@contextmanager
def write_lock(index_dir: Path):
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestBusy(
                f"Another ingest is already writing {index_dir}; wait for it to finish and try again."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current_build(index_dir: Path) -> Path | None:
    """The folder of the build being served, or None when there is none."""
    pointer = Path(index_dir) / CURRENT
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8", errors="replace").strip()  # garbage: no such build
    return Path(index_dir) / BUILDS / name if name else None


def write_build(
    index_dir: Path,
    manifest: dict,
    passages: list[dict],
    passage_vectors: np.ndarray,
    sentence_vectors: np.ndarray,
) -> Path:
    """Write a complete build and make it current. Call under `write_lock`."""
    import faiss

    builds = Path(index_dir) / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(builds)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=builds))
    try:
        with open(tmp / PASSAGES, "w", encoding="utf-8") as out:
            for p in passages:
                out.write(json.dumps(p, ensure_ascii=False) + "\n")
        for name, vectors in ((PASSAGE_VECTORS, passage_vectors), (SENTENCE_VECTORS, sentence_vectors)):
            index = faiss.IndexFlatIP(vectors.shape[1])
            index.add(vectors)
            faiss.write_index(index, str(tmp / name))
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        for f in tmp.iterdir():
            _fsync(f)
        build_id = time.strftime("%Y%m%d-%H%M%S") + "-" + tmp.name[-6:].replace("_", "x")
        final = builds / build_id
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _replace_text(Path(index_dir) / CURRENT, build_id + "\n")
    _prune(builds, keep=final)
    return final


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_leftovers(builds: Path) -> None:
    """Temporary folders of ingests that were killed (we hold the lock, so none is live)."""
    for d in builds.glob(".tmp-*"):
        shutil.rmtree(d, ignore_errors=True)


def _prune(builds: Path, keep: Path) -> None:
    old = sorted(
        (d for d in builds.iterdir() if d.is_dir() and not d.name.startswith(".") and d != keep),
        # by when they were written: names carry the time only to the second
        key=lambda d: (d.stat().st_mtime_ns, d.name),
    )
    for d in old[: max(0, len(old) - (KEEP_BUILDS - 1))]:
        shutil.rmtree(d, ignore_errors=True)

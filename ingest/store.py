"""The index folder, written atomically.

    index/
      CURRENT            name of the build being served (replaced atomically, last)
      builds/<id>/       one complete build: manifest.json, passages.jsonl,
                         passages.faiss, sentences.faiss, and texts/<sha256>.txt: the
                         extracted text of each web page, PDF or Word file (named by the
                         sha256 of the file's bytes, listed in the manifest under "texts")
      .lock              held while an ingest writes

A build is written into a temporary folder, flushed, renamed into place, and only then named
in CURRENT. A crash at any point leaves CURRENT naming the previous, complete build.
"""
from __future__ import annotations

import fcntl
import hashlib
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
TEXTS = "texts"  # folder of extracted texts (formats other than plain text)
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
    texts: dict[str, str] | None = None,
) -> Path:
    """Write a complete build and make it current. Call under `write_lock`.

    `texts`: file name under texts/ -> extracted text (see `text_entry`)."""
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
        if texts:
            (tmp / TEXTS).mkdir()
            for name, text in texts.items():
                (tmp / TEXTS / name).write_bytes(text.encode("utf-8"))
                _fsync(tmp / TEXTS / name)
            fsync_dir(tmp / TEXTS)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        for f in tmp.iterdir():
            if f.is_file():
                _fsync(f)
        fsync_dir(tmp)
        build_id = time.strftime("%Y%m%d-%H%M%S") + "-" + tmp.name[-6:].replace("_", "x")
        final = builds / build_id
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _replace_text(Path(index_dir) / CURRENT, build_id + "\n")
    _prune(builds, keep=final)
    return final


def text_entry(file_sha256: str, text: str) -> tuple[str, dict]:
    """(file name under texts/, manifest entry) for a document's extracted text."""
    name = f"{file_sha256}.txt"
    return name, {"file": f"{TEXTS}/{name}", "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def read_stored_text(build: Path, entry: dict) -> str:
    """A stored extracted text, checked against the sha256 the manifest records for it.
    Raises ValueError (or OSError) when it is missing, truncated or altered."""
    rel = Path(str(entry["file"]))
    if rel.is_absolute() or ".." in rel.parts or rel.parts[:1] != (TEXTS,):
        raise ValueError(f"bad text file name {entry['file']!r}")
    data = (Path(build) / rel).read_bytes()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ValueError(f"{rel} does not match the sha256 in the manifest (truncated or altered)")
    return data.decode("utf-8")


def read_build(build: Path) -> tuple[dict, list[dict], np.ndarray, np.ndarray]:
    """(manifest, passage dicts, passage vectors, sentence vectors) of a build, for reuse by an
    incremental ingest. Raises (OSError, ValueError, RuntimeError, ...) on any damage."""
    import faiss

    manifest = json.loads((Path(build) / MANIFEST).read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise ValueError("the manifest is not a JSON object")
    with open(Path(build) / PASSAGES, encoding="utf-8") as handle:
        passages = [json.loads(line) for line in handle if line.strip()]
    vectors = []
    for name in (PASSAGE_VECTORS, SENTENCE_VECTORS):
        index = faiss.read_index(str(Path(build) / name))
        vectors.append(index.reconstruct_n(0, index.ntotal))
    n_sentences = sum(len(p["sentences"]) for p in passages)
    counts = manifest["counts"]
    if not (len(passages) == counts["passages"] == len(vectors[0])
            and n_sentences == counts["sentences"] == len(vectors[1])
            and vectors[0].shape[1] == vectors[1].shape[1] == manifest["dimension"]):
        raise ValueError("the files of the build do not agree with each other or the manifest")
    return manifest, passages, vectors[0], vectors[1]


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    """Make a rename or new file in this folder durable."""
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

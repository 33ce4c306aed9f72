"""Reading an index folder, and refusing one that does not match.

`load_index` checks the manifest against the settings and the corpus on disk and raises one
of the errors below; each carries a message that says how to fix it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest import store
from ingest.passages import Passage
from ingest.read import discover, fingerprint, is_plain
from ingest.settings import Settings


class IndexProblem(Exception):
    """The index cannot be served as it is; str(err) says why and how to fix it."""

    rebuildable = True  # a fresh ingest fixes it without losing anything


class IndexMissing(IndexProblem):
    pass


class IndexStale(IndexProblem):
    """The corpus or the index settings changed since the index was built."""


class IndexMismatch(IndexProblem):
    """Built with another model, dimension or format: never served."""


class IndexCorrupt(IndexProblem):
    """Files are missing, truncated or inconsistent."""


def _fix(index_dir: Path) -> str:
    return f"Rebuild it with: python -m ingest --index-dir {index_dir}"


@dataclass
class LoadedIndex:
    index_dir: Path
    build: Path
    manifest: dict
    passages: list[Passage]
    passage_vectors: np.ndarray  # (n_passages, dim), normalised
    sentence_vectors: np.ndarray  # (n_sentences, dim), normalised
    sentence_owner: np.ndarray  # passage row of each sentence row

    @property
    def corpus_root(self) -> Path:
        return Path(self.manifest["corpus"]["root"])

    @property
    def corpus_paths(self) -> list[Path]:
        return [Path(p) for p in self.manifest["corpus"]["paths"]]


def load_index(index_dir: Path, settings: Settings, check_corpus: bool = True) -> LoadedIndex:
    index_dir = Path(index_dir)
    build = store.current_build(index_dir)
    if build is None:
        raise IndexMissing(f"No index in {index_dir} yet. Build it with: python -m ingest --index-dir {index_dir}")
    if not build.is_dir():
        raise IndexCorrupt(f"The index in {index_dir} names a build folder that is missing ({build.name}). {_fix(index_dir)}")
    manifest = _read_manifest(build, index_dir)
    check_manifest(manifest, settings, index_dir)
    if check_corpus:
        changes = corpus_changes(manifest)
        if changes:
            raise IndexStale(
                f"The index in {index_dir} is out of date: {changes}. {_fix(index_dir)} "
                + " ".join(str(p) for p in manifest["corpus"]["paths"])
            )
    return _read_build(build, index_dir, manifest)


def check_manifest(manifest: dict, settings: Settings, index_dir: Path) -> None:
    if manifest.get("format_version") != store.FORMAT_VERSION:
        raise IndexMismatch(
            f"The index in {index_dir} has format version {manifest.get('format_version')}, "
            f"this program reads version {store.FORMAT_VERSION}. {_fix(index_dir)}"
        )
    if manifest.get("model") != settings.model:
        raise IndexMismatch(
            f"The index in {index_dir} was built with the model {manifest.get('model')!r}, "
            f"but the model setting is {settings.model!r}. {_fix(index_dir)}"
        )
    changed = {
        k: (manifest.get("settings", {}).get(k), v)
        for k, v in settings.index_settings().items()
        if manifest.get("settings", {}).get(k) != v
    }
    if changed:
        what = ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in changed.items())
        raise IndexStale(f"The index in {index_dir} was built with other settings ({what}). {_fix(index_dir)}")


def corpus_changes(manifest: dict) -> str:
    """'' when the documents on disk are those the index was built from; else a short summary."""
    paths = [Path(p) for p in manifest["corpus"]["paths"]]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        return f"{', '.join(missing)} no longer exists"
    root, files = discover(paths)
    now = fingerprint(root, files)
    then = manifest["corpus"]["files"]
    added = sorted(set(now) - set(then))
    removed = sorted(set(then) - set(now))
    changed = sorted(k for k in set(now) & set(then) if now[k] != then[k])
    parts = [
        f"{len(v)} {label} ({', '.join(v[:3])}{'…' if len(v) > 3 else ''})"
        for label, v in (("added", added), ("changed", changed), ("removed", removed))
        if v
    ]
    return "; ".join(parts)


def _read_manifest(build: Path, index_dir: Path) -> dict:
    try:
        manifest = json.loads((build / store.MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
        if manifest.get("format_version") != store.FORMAT_VERSION:
            return manifest  # another format: check_manifest says so (IndexMismatch)
        for key, kind in (("model", str), ("dimension", int), ("settings", dict),
                          ("corpus", dict), ("counts", dict)):
            if not isinstance(manifest[key], kind):
                raise ValueError(f"{key!r} is not a {kind.__name__}")
        corpus, counts = manifest["corpus"], manifest["counts"]
        if not (isinstance(corpus["paths"], list) and isinstance(corpus["files"], dict)
                and isinstance(counts["passages"], int) and isinstance(counts["sentences"], int)):
            raise ValueError("the corpus or counts entry is malformed")
        texts = manifest.setdefault("texts", {})  # absent in indexes of plain text only
        if not (isinstance(texts, dict) and all(
                isinstance(e, dict) and isinstance(e.get("file"), str) and isinstance(e.get("sha256"), str)
                for e in texts.values())):
            raise ValueError("the texts entry is malformed")
        return manifest
    except (OSError, ValueError, KeyError) as err:
        raise IndexCorrupt(
            f"The index manifest in {build} cannot be read ({err.__class__.__name__}: {err}). {_fix(index_dir)}"
        ) from err


def _read_build(build: Path, index_dir: Path, manifest: dict) -> LoadedIndex:
    import faiss

    try:
        with open(build / store.PASSAGES, encoding="utf-8") as handle:
            passages = [Passage.from_dict(json.loads(line)) for line in handle if line.strip()]
        vectors = []
        for name in (store.PASSAGE_VECTORS, store.SENTENCE_VECTORS):
            index = faiss.read_index(str(build / name))
            vectors.append(index.reconstruct_n(0, index.ntotal))
    except Exception as err:  # noqa: BLE001 - faiss raises RuntimeError, json ValueError, ...
        raise IndexCorrupt(
            f"The index files in {build} are damaged ({err.__class__.__name__}: {str(err)[:200]}). {_fix(index_dir)}"
        ) from err
    passage_vectors, sentence_vectors = vectors
    owner = np.array([i for i, p in enumerate(passages) for _ in p.sentences], dtype="int64")
    counts = manifest["counts"]
    dim = manifest["dimension"]
    consistent = (
        len(passages) == counts["passages"] == passage_vectors.shape[0]
        and len(owner) == counts["sentences"] == sentence_vectors.shape[0]
        and passage_vectors.shape[1] == sentence_vectors.shape[1] == dim
    )
    if not consistent:
        raise IndexCorrupt(
            f"The index files in {build} do not agree with each other or with the manifest "
            f"({len(passages)} passages, {passage_vectors.shape[0]} passage vectors, manifest says "
            f"{counts['passages']}). {_fix(index_dir)}"
        )
    _check_texts(build, index_dir, manifest, passages)
    from . import verify

    verify.register_index(build, manifest)
    return LoadedIndex(index_dir, build, manifest, passages, passage_vectors, sentence_vectors, owner)


def _check_texts(build: Path, index_dir: Path, manifest: dict, passages: list[Passage]) -> None:
    """The stored extracted texts (web pages, PDFs, Word files): each present, unaltered (its
    sha256), and holding its passages at their offsets."""
    texts = manifest.get("texts") or {}
    by_source: dict[str, list[Passage]] = {}
    for p in passages:
        by_source.setdefault(p.source, []).append(p)
    for source, found in by_source.items():
        if is_plain(source):
            continue
        if source not in texts:
            raise IndexCorrupt(
                f"The index in {build} has no stored text for {source} (the texts/ entry of the "
                f"manifest is incomplete). {_fix(index_dir)}"
            )
    for source, entry in texts.items():
        try:
            text = store.read_stored_text(build, entry)
        except (OSError, ValueError, UnicodeDecodeError) as err:
            raise IndexCorrupt(
                f"The stored text of {source} in {build} is damaged or missing "
                f"({err.__class__.__name__}: {str(err)[:200]}). {_fix(index_dir)}"
            ) from err
        if any(text[p.start:p.end] != p.text for p in by_source.get(source, [])):
            raise IndexCorrupt(
                f"The stored text of {source} in {build} does not hold its passages. {_fix(index_dir)}"
            )

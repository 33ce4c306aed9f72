"""Loading a build for serving, and refusing one that does not match.

`load_index` checks the manifest against the settings and the corpus on disk and raises one
of the core.errors index problems; each carries a message that says how to fix it. The
`LoadedIndex` it returns also holds what is derived from the build on the read side (keyword
index, speller, calibration, themes), computed once per loaded build (`memo`).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

from core import index_format as fmt
from core.documents import discover, fingerprint, is_plain
from core.errors import IndexCorrupt, IndexMissing, IndexStale
from core.index_format import Changes, Manifest
from core.settings import Settings

from .store import LocalStore, PassageList

T = TypeVar("T")


@dataclass
class LoadedIndex:
    index_dir: Path
    build: Path
    manifest: Manifest
    store: LocalStore
    derived: dict = field(default_factory=dict, init=False, repr=False)
    updating: bool = field(default=False, init=False)  # an ingest is writing a newer build meanwhile
    lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    @property
    def passages(self) -> PassageList:
        """Every passage that counts, read from the store on demand."""
        return PassageList(self.store)

    @property
    def passage_vectors(self) -> np.ndarray:
        """Every passage's vector, in row order (read once; for the theme map and comparisons)."""
        return self.memo("passage vectors", lambda: self.store.passage_vectors(np.arange(len(self.store))))

    @property
    def corpus_root(self) -> Path:
        return self.manifest.corpus.root_path

    @property
    def corpus_paths(self) -> list[Path]:
        return [Path(p) for p in self.manifest.corpus.paths]

    def memo(self, key, compute: Callable[[], T]) -> T:
        """What is derived from this build, computed once per key (thread-safe: computed under
        the lock, so two sessions asking at once compute it once)."""
        with self.lock:
            if key not in self.derived:
                self.derived[key] = compute()
            return self.derived[key]


def load_index(index_dir: Path, settings: Settings, check_corpus: bool = True) -> LoadedIndex:
    """The current build of `index_dir`, when it matches `settings` and, with `check_corpus`,
    the documents on disk. (The model's vector dimension is checked once the model is loaded.)"""
    index_dir = Path(index_dir)
    fmt.check_folder(index_dir)
    build = fmt.current_build(index_dir)
    if build is None:
        raise IndexMissing(f"No index in {index_dir} yet. Build it with: python -m ingest --index-dir {index_dir}")
    if not build.is_dir():
        raise IndexCorrupt(f"The index in {index_dir} names a build folder that is missing ({build.name}). "
                           f"{fmt.rebuild_hint(index_dir)}")
    manifest = fmt.read_manifest(build, index_dir)
    problem = manifest.mismatch(settings, index_dir)
    if problem is not None:
        raise problem
    if check_corpus:
        changes = corpus_changes(manifest)
        if changes:
            raise IndexStale(
                f"The index in {index_dir} is out of date: {changes}. {fmt.rebuild_hint(index_dir)} "
                + " ".join(manifest.corpus.paths)
            )
    data = fmt.read_build(build, index_dir, manifest)
    store = LocalStore(data)
    check_texts(data, store, index_dir)
    return LoadedIndex(index_dir, build, manifest, store)


def corpus_changes(manifest: Manifest) -> str:
    """'' when the documents on disk are those the index was built from; else a short summary."""
    paths = [Path(p) for p in manifest.corpus.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        return f"{', '.join(missing)} no longer exists"
    root, files = discover(paths, bool(manifest.settings.get("follow_links", False)))
    return Changes.between(manifest.corpus.files, fingerprint(root, files, manifest.corpus.stats)).summary()


def check_texts(data: fmt.Build, store: LocalStore, index_dir: Path) -> None:
    """The stored extracted texts (web pages, PDFs, Word files): each present, unaltered (its
    sha256), and holding its passages at their offsets."""
    texts = data.manifest.texts
    fix = fmt.rebuild_hint(index_dir)
    documents = store.documents()
    for source, _, _ in documents:
        if not is_plain(source) and source not in texts:
            raise IndexCorrupt(f"The index in {data.folder} has no stored text for {source} (the texts/ "
                               f"entry of the manifest is incomplete). {fix}")
    for source, first, stop in documents:
        if is_plain(source):
            continue
        entry = texts[source]
        try:
            text = fmt.read_stored_text(data.folder, entry)
        except (OSError, ValueError, UnicodeDecodeError) as err:
            raise IndexCorrupt(f"The stored text of {source} in {data.folder} is damaged or missing "
                               f"({err.__class__.__name__}: {str(err)[:200]}). {fix}") from err
        if any(text[p.start:p.end] != p.text for p in store.passages(range(first, stop))):
            raise IndexCorrupt(f"The stored text of {source} in {data.folder} does not hold its passages. {fix}")


def previous_corpus(index_dir: Path, settings: Settings | None = None) -> list[Path] | None:
    """The document folders an existing (stale) index was built from, if they still exist."""
    if settings is not None and settings.milvus():
        from core import milvus

        try:
            client = milvus.connect(settings.milvus())
            found = milvus.read_manifest_json(client, settings.milvus())
            paths = [Path(p) for p in found[1]["corpus"]["paths"]] if found else None
        except Exception:  # noqa: BLE001 - no usable previous manifest: use the default corpus
            return None
        return paths if paths and all(p.exists() for p in paths) else None
    build = fmt.current_build(index_dir)
    if build is None:
        return None
    try:
        paths = [Path(p) for p in fmt.read_manifest(build, index_dir).corpus.paths]
    except Exception:  # noqa: BLE001 - no usable previous manifest: use the default corpus
        return None
    return paths if all(p.exists() for p in paths) else None

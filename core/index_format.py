"""The index folder: its typed manifest, one reader and one writer of a build, and the check
of whether a build matches the settings. Both sides use these and nothing else.

    index/
      CURRENT            name of the build being served (replaced atomically, last)
      builds/<id>/       one complete build: manifest.json and segments/<name>/ (see
                         core/segments.py: passages in SQLite, vectors, keyword postings,
                         candidate indexes, extracted texts); a segment an earlier build
                         already had is hard-linked, not copied; later, caches derived from
                         the build (themes.json, calibration-*.json)
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
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .documents.formats import page_of
from .errors import IndexCorrupt, IndexMismatch, IndexProblem, IndexStale, IngestBusy
from .segments import SEGMENTS, TEXTS, Segment, SegmentEntry, damaged_files

# 2: code kept whole and web-page headings from the markup; 3: segments (SQLite, vectors, postings)
FORMAT_VERSION = 3
CURRENT = "CURRENT"
BUILDS = "builds"
MANIFEST = "manifest.json"
KEEP_BUILDS = 2  # the current build and the one before it


def rebuild_hint(index_dir: Path | str) -> str:
    if str(index_dir).startswith("milvus://"):
        return f"Rebuild it with: python -m ingest --store {index_dir}"
    return f"Rebuild it with: python -m ingest --index-dir {index_dir}"


def problem(kind: type[IndexProblem], message: str, reason: str) -> IndexProblem:
    """An index problem with its fix-it message and a short `reason` ("built with …") for the
    ingest report."""
    err = kind(message)
    err.reason = reason
    return err


# --- the manifest ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TextEntry:
    """Where a document's extracted text is stored in the build, its sha256 and, for a PDF,
    where each page starts in it."""
    file: str  # "texts/<sha256 of the file's bytes>.txt"
    sha256: str  # of the stored text's UTF-8 bytes
    pages: tuple[int, ...] = ()  # PDF: the offset where each page starts (empty: no pages)

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding the character at `offset`; None without pages."""
        return page_of(self.pages, offset)


@dataclass(frozen=True)
class Corpus:
    root: str  # the folder sources are relative to
    paths: tuple[str, ...]  # the files and folders the index was built from (absolute)
    files: dict[str, str]  # source -> sha256 of the file's bytes
    stats: dict[str, tuple] = field(default_factory=dict)  # source -> (size, mtime_ns, sha256)

    @property
    def root_path(self) -> Path:
        return Path(self.root)


@dataclass(frozen=True)
class Counts:
    documents: int
    passages: int
    sentences: int


@dataclass(frozen=True)
class Changes:
    """How the documents differ from those of an earlier build (by sha256 of their bytes)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @classmethod
    def between(cls, then: dict[str, str] | None, now: dict[str, str]) -> "Changes":
        then = then or {}
        return cls(
            added=sorted(set(now) - set(then)),
            changed=sorted(k for k in set(now) & set(then) if now[k] != then[k]),
            removed=sorted(set(then) - set(now)),
            unchanged=sorted(k for k in set(now) & set(then) if now[k] == then[k]),
        )

    def counts(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in ("added", "changed", "removed", "unchanged")}

    def summary(self) -> str:
        """'' when nothing changed; else e.g. '1 added (new.txt); 2 changed (a.txt, b.txt)'."""
        parts = [
            f"{len(v)} {label} ({', '.join(v[:3])}{'…' if len(v) > 3 else ''})"
            for label, v in (("added", self.added), ("changed", self.changed), ("removed", self.removed))
            if v
        ]
        return "; ".join(parts)


@dataclass(frozen=True)
class Manifest:
    """What a build is: the model and settings it was made with, the corpus it was made from."""

    model: str
    model_path: str
    dimension: int
    settings: dict  # the index settings (Settings.index_settings())
    corpus: Corpus
    counts: Counts
    segments: tuple[SegmentEntry, ...] = ()
    texts: dict[str, TextEntry] = field(default_factory=dict)  # source -> stored extracted text
    skipped: tuple[dict, ...] = ()  # {"source", "reason"} of each file left out
    warnings: tuple[dict, ...] = ()  # {"source", "warning"} of each document indexed with one
    ingest: dict = field(default_factory=dict)  # how the build was made (mode, changes, embedded)
    built_at: str = ""
    format_version: int = FORMAT_VERSION
    # where the passages are when they are not in segments: {"kind": "milvus", "documents":
    # {source: [first row, stop row]}, "next_row", "next_sentence", "dead": [[first, stop], …]}
    store: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        d = asdict(self)
        d["corpus"]["paths"] = list(self.corpus.paths)
        d["skipped"] = list(self.skipped)
        d["segments"] = [e.to_json() for e in self.segments]
        return d

    @classmethod
    def from_json(cls, d) -> "Manifest":
        """The manifest of a build of this format; ValueError (or KeyError, TypeError) saying
        what is malformed."""
        if not isinstance(d, dict):
            raise ValueError("not a JSON object")
        for key, kind in (("model", str), ("dimension", int), ("settings", dict),
                          ("corpus", dict), ("counts", dict)):
            if not isinstance(d[key], kind):
                raise ValueError(f"{key!r} is not a {kind.__name__}")
        corpus, counts = d["corpus"], d["counts"]
        if not (isinstance(corpus["paths"], list) and isinstance(corpus["files"], dict)
                and isinstance(corpus["root"], str)
                and all(isinstance(counts[k], int) for k in ("passages", "sentences"))):
            raise ValueError("the corpus or counts entry is malformed")
        if not isinstance(d["segments"], list):
            raise ValueError("'segments' is not a list")
        texts = d.get("texts") or {}  # absent in indexes of plain text only
        if not (isinstance(texts, dict) and all(
                isinstance(e, dict) and isinstance(e.get("file"), str) and isinstance(e.get("sha256"), str)
                and isinstance(e.get("pages", []), list) and all(type(n) is int for n in e.get("pages", []))
                for e in texts.values())):
            raise ValueError("the texts entry is malformed")
        return cls(
            model=d["model"], model_path=str(d.get("model_path") or d["model"]),
            dimension=d["dimension"], settings=dict(d["settings"]),
            corpus=Corpus(corpus["root"], tuple(str(p) for p in corpus["paths"]), dict(corpus["files"]),
                          {str(k): tuple(v) for k, v in (corpus.get("stats") or {}).items()
                           if isinstance(v, list) and len(v) == 3}),
            counts=Counts(int(counts.get("documents", 0)), counts["passages"], counts["sentences"]),
            segments=tuple(SegmentEntry.from_json(e) for e in d["segments"]),
            texts={s: TextEntry(e["file"], e["sha256"], tuple(e.get("pages", ()))) for s, e in texts.items()},
            skipped=tuple(d.get("skipped") or ()), ingest=dict(d.get("ingest") or {}),
            warnings=tuple(w for w in d.get("warnings") or () if isinstance(w, dict)),
            built_at=str(d.get("built_at", "")), format_version=d["format_version"],
            store=dict(d.get("store") or {}),
        )

    def mismatch(self, settings, index_dir: Path, dimension: int | None = None) -> IndexProblem | None:
        """None when this build can serve (and be reused) under `settings` (and a model giving
        `dimension`-dimensional vectors); else the problem: IndexMismatch for another model or
        dimension (never served), IndexStale for other index settings (rebuilt)."""
        fix = rebuild_hint(index_dir)
        if self.model != settings.model:
            return problem(IndexMismatch,
                           f"The index in {index_dir} was built with the model {self.model!r}, "
                           f"but the model setting is {settings.model!r}. {fix}",
                           f"built with the model {self.model!r}")
        if dimension is not None and dimension != self.dimension:
            return problem(IndexMismatch,
                           f"The index has {self.dimension}-dimensional vectors but the model gives "
                           f"{dimension}. {fix}", "built with vectors of another dimension")
        wanted = settings.index_settings()
        changed = {k: (self.settings.get(k), wanted.get(k)) for k in {**self.settings, **wanted}
                   if self.settings.get(k) != wanted.get(k)}
        if changed:
            what = ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in changed.items())
            return problem(IndexStale,
                           f"The index in {index_dir} was built with other settings ({what}). {fix}",
                           f"built with other index settings ({what})")
        return None


def read_manifest(build: Path, index_dir: Path) -> Manifest:
    """The manifest of a build. IndexMismatch for another format version, IndexCorrupt when it
    cannot be read or is malformed; each with a short `reason`."""
    try:
        data = json.loads((Path(build) / MANIFEST).read_text(encoding="utf-8"))
        version = data.get("format_version") if isinstance(data, dict) else None
        if isinstance(data, dict) and version != FORMAT_VERSION:
            raise problem(IndexMismatch,
                          f"The index in {index_dir} has format version {version}, this program "
                          f"reads version {FORMAT_VERSION}. {rebuild_hint(index_dir)}",
                          f"built with index format version {version}")
        return Manifest.from_json(data)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise problem(IndexCorrupt,
                      f"The index manifest in {build} cannot be read ({err.__class__.__name__}: "
                      f"{err}). {rebuild_hint(index_dir)}", "the previous index is unreadable") from err


# --- a build ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Build:
    """One build as read back: its folder, manifest and opened segments (in manifest order)."""
    folder: Path
    manifest: Manifest
    segments: list[Segment]

    def close(self) -> None:
        for seg in self.segments:
            seg.close()


def read_build(build: Path, index_dir: Path, manifest: Manifest | None = None,
               candidate_indexes: bool = True) -> Build:
    """A build's segments opened, each checked to agree with itself and with the manifest;
    IndexCorrupt (with the rebuild command) on any damage."""
    import sqlite3

    build = Path(build)
    manifest = manifest or read_manifest(build, index_dir)
    segments: list[Segment] = []
    try:
        for entry in manifest.segments:
            segments.append(Segment(build / SEGMENTS / entry.name, entry, manifest.dimension,
                                    candidate_indexes))
        live = [sum(stop - first for source, (_, first, stop, _) in seg.documents.items()
                    if source not in seg.entry.deleted) for seg in segments]
        if sum(live) != manifest.counts.passages:
            raise ValueError(f"the segments hold {sum(live)} passages, the manifest says "
                             f"{manifest.counts.passages}")
    except Exception as err:  # noqa: BLE001 - numpy, faiss and sqlite raise many kinds
        for seg in segments:
            seg.close()
        if isinstance(err, IndexProblem):
            raise
        detail = f"{err.__class__.__name__}: {str(err)[:200]}"
        if isinstance(err, sqlite3.Error):
            detail = f"the passages database is damaged ({detail})"
        raise problem(IndexCorrupt, f"The index files in {build} are damaged ({detail}). "
                      f"{rebuild_hint(index_dir)}", "the previous index is unreadable") from err
    return Build(build, manifest, segments)


@contextmanager
def new_build(index_dir: Path):
    """A temporary build folder to write segments into; removed if anything fails before
    `commit_build` renames it into place. Call under `write_lock`."""
    builds = Path(index_dir) / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    remove_leftovers(builds)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=builds))
    os.chmod(tmp, 0o777 & ~current_umask())  # as readable as any folder made here (mkdtemp: 0700)
    (tmp / SEGMENTS).mkdir()
    try:
        yield tmp
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def link_segment(previous_build: Path, tmp: Path, name: str) -> None:
    """Reuse a segment of an earlier build: its files are hard-linked (copied where the file
    system cannot link), never rewritten."""
    source, target = Path(previous_build) / SEGMENTS / name, tmp / SEGMENTS / name
    for path in sorted(source.rglob("*")):
        dest = target / path.relative_to(source)
        if path.is_dir():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except OSError:
            shutil.copy2(path, dest)


def commit_build(index_dir: Path, tmp: Path, manifest: Manifest) -> Path:
    """Write the manifest into the temporary build, flush everything, rename it into place and
    make it current; older builds beyond the last KEEP_BUILDS are removed."""
    builds = Path(index_dir) / BUILDS
    (tmp / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=2, ensure_ascii=False),
                                encoding="utf-8")
    for path in sorted(tmp.rglob("*"), reverse=True):  # files first, then their folders
        (fsync_dir if path.is_dir() else fsync_file)(path)
    fsync_dir(tmp)
    build_id = time.strftime("%Y%m%d-%H%M%S") + "-" + tmp.name[-6:].replace("_", "x")
    final = builds / build_id
    os.rename(tmp, final)
    replace_text(Path(index_dir) / CURRENT, build_id + "\n")
    prune(builds, keep=final)
    return final


def text_entry(segment: str, file_sha256: str, text: str, pages: tuple[int, ...] = ()) -> TextEntry:
    """The manifest entry of a document's extracted text, stored in its segment."""
    return TextEntry(f"{SEGMENTS}/{segment}/{TEXTS}/{file_sha256}.txt",
                     hashlib.sha256(text.encode("utf-8")).hexdigest(), tuple(pages))


def read_stored_text(build: Path, entry: TextEntry) -> str:
    """A stored extracted text, checked against the sha256 the manifest records for it.
    Raises ValueError (or OSError) when it is missing, truncated or altered."""
    rel = Path(str(entry.file))
    if rel.is_absolute() or ".." in rel.parts or len(rel.parts) != 4 or \
            (rel.parts[0], rel.parts[2]) != (SEGMENTS, TEXTS):
        raise ValueError(f"bad text file name {entry.file!r}")
    data = (Path(build) / rel).read_bytes()
    if hashlib.sha256(data).hexdigest() != entry.sha256:
        raise ValueError(f"{rel} does not match the sha256 in the manifest (truncated or altered)")
    return data.decode("utf-8")


# --- CURRENT, the lock, and atomic files -----------------------------------------------------

def current_build(index_dir: Path) -> Path | None:
    """The folder of the build being served, or None when there is none. With CURRENT lost
    (deleted, emptied), the newest complete build (one with a manifest) is the current one."""
    pointer = Path(index_dir) / CURRENT
    if pointer.is_file():
        name = pointer.read_text(encoding="utf-8", errors="replace").strip()  # garbage: no such build
        if name:
            return Path(index_dir) / BUILDS / name
    return newest_build(Path(index_dir) / BUILDS)


def newest_build(builds: Path) -> Path | None:
    """The most recently written complete build in `builds` (temporary folders never count)."""
    try:
        done = [d for d in builds.iterdir()
                if d.is_dir() and not d.name.startswith(".") and (d / MANIFEST).is_file()]
    except OSError:
        return None
    return max(done, key=lambda d: (written(d), d.name), default=None)


def ingest_running(index_dir: Path) -> bool:
    """Is an ingest writing this index folder now (holding its lock)?"""
    try:
        with open(Path(index_dir) / ".lock", "rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
    except OSError:
        return False
    return False


def check_folder(index_dir: Path) -> None:
    """IndexProblem when the index folder's path names something that is not a folder."""
    path = Path(index_dir)
    if path.exists() and not path.is_dir():
        raise IndexCorrupt(f"{path} is a file, not an index folder: name a folder (it is created when "
                           "missing), e.g. --index-dir index/")


@contextmanager
def write_lock(index_dir: Path):
    check_folder(index_dir)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise PermissionError(f"The index folder {index_dir} cannot be created here (permission "
                              "denied): choose a folder you may write to with --index-dir or "
                              "ESSAYS_INDEX_DIR.") from None
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


RETIRED = "retired-ids.txt"  # ids of passages earlier builds of this folder had and this one has not


def read_retired(build: Path) -> frozenset[str]:
    """The ids of passages that were in an earlier build of this index folder (documents
    changed or removed since); empty for a build written before these were kept."""
    try:
        return frozenset((Path(build) / RETIRED).read_text(encoding="ascii").split())
    except (OSError, ValueError):
        return frozenset()


def write_retired(build: Path, ids: set[str]) -> None:
    """Write the retired ids into a build folder that is being written (before its commit)."""
    (Path(build) / RETIRED).write_text("".join(f"{i}\n" for i in sorted(ids)), encoding="ascii")


def read_cached(build: Path, name: str, key: str) -> dict | None:
    """A JSON cache of something derived from a build (themes, calibration), when it was made
    with the same `key`; None when absent, damaged or made from something else."""
    try:
        data = json.loads((Path(build) / name).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) and data.get("key") == key else None
    except (OSError, ValueError):
        return None


def write_cached(build: Path, name: str, data: dict) -> None:
    """Write such a cache beside the build's files atomically (temp file, then os.replace); a
    build folder that cannot be written to only means it is computed again next time."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}-", suffix=".tmp", dir=build)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False)
            os.replace(tmp, Path(build) / name)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def replace_text(path: Path, text: str) -> None:
    """Write a small file atomically and durably: a temporary file, flushed, renamed over it."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    """Make a rename or new file in this folder durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_leftovers(builds: Path) -> None:
    """Temporary folders of ingests that were killed (we hold the lock, so none is live)."""
    for d in builds.glob(".tmp-*"):
        shutil.rmtree(d, ignore_errors=True)


PRUNE_AFTER_S = 3600  # a replaced build stays this long, for readers that still use it


def prune(builds: Path, keep: Path, now: float | None = None) -> None:
    """Remove old builds: never the current one (`keep`) or the one before it, and another only
    when the build that replaced it is more than PRUNE_AFTER_S old (a page or CLI that loaded it
    may still be answering from it)."""
    now = time.time_ns() if now is None else int(now * 1e9)
    done = sorted(
        (d for d in builds.iterdir() if d.is_dir() and not d.name.startswith(".") and d != keep),
        # by when they were written: names carry the time only to the second
        key=lambda d: (written(d), d.name),
    )
    later = done[1:] + [keep]
    for d, successor in list(zip(done, later))[: max(0, len(done) - (KEEP_BUILDS - 1))]:
        if now - written(successor) > PRUNE_AFTER_S * 1e9:
            shutil.rmtree(d, ignore_errors=True)


def written(build: Path) -> int:
    """When a build was committed (its manifest's time; later caches do not count), in ns."""
    try:
        return (build / MANIFEST).stat().st_mtime_ns
    except OSError:
        return build.stat().st_mtime_ns


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def verify_build(index_dir: Path) -> tuple[Path | None, list[str], int]:
    """Every file of the current build checked against the sha256 its manifest records, in
    full whatever its size (loading checks large segments by size and shape only): (the build,
    what is wrong, bytes read)."""
    build = current_build(index_dir)
    if build is None:
        return None, [f"there is no index in {index_dir}"], 0
    manifest = read_manifest(build, index_dir)
    wrong, read = [], 0
    for entry in manifest.segments:
        folder = build / SEGMENTS / entry.name
        wrong += [f"{entry.name}/{w}" for w in damaged_files(folder, entry)]
        read += sum((folder / name).stat().st_size for name in entry.files if (folder / name).is_file())
    for source, text in sorted(manifest.texts.items()):
        try:
            read += len(read_stored_text(build, text).encode("utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as err:
            wrong.append(f"the stored text of {source}: {err}")
    return build, wrong, read

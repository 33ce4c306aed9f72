"""The ingest pipeline: plan -> read -> embed -> write, in time proportional to the change.

- plan: which documents are under the paths, which of them the current build already holds
  (same bytes, by sha256) and may keep, and why nothing is kept when that is so;
- read and embed, streamed in batches: new and changed documents are read, cut into passages,
  and their passages (with title and section) and sentences embedded (`ingest/embedding.py`) by
  the embedder passed in (the bundled model by default, loaded only when something is new); every SEGMENT_PASSAGES
  passages a segment is written, so memory stays bounded;
- write: unchanged segments are hard-linked into the new build, the replaced and removed
  documents are marked deleted in theirs, small segments are merged (no document is embedded
  again for that), and the build is made current atomically with its typed manifest.

Incremental by default: the result holds what a full rebuild would (the same passages, vectors
and texts; only the order of documents may differ). The current build is reused only when
`Manifest.mismatch` finds nothing (the same check loading makes) and it reads back whole;
otherwise, or with `full=True`, every document is embedded again. Progress is reported as
`Event`s, with passages per second and the time left while embedding.
"""
from __future__ import annotations

import errno
import secrets
import shutil
import sqlite3
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from core import index_format as fmt
from core.documents import file_stats, fingerprint, is_plain, relative
from core.documents.find import find_documents
from core.errors import IndexProblem, IngestError
from core.index_format import Changes, Corpus, Counts, Manifest
from core.model import load_embedder
from core.segments import SEGMENTS, Segment, SegmentDocument, SegmentEntry, write_segment
from core.settings import Settings

from .steps import (EMBED_BATCH, BuildReport, Embedding, Event, Skipped, carried_warnings, print_event,
                    read_or_skip, record_skip)


@dataclass
class Plan:
    """What the current build offers: its readable build (None when nothing is reused), the
    segment of each reusable document by (source, sha256), the file hashes it was built from
    (for the change counts), and why nothing is reused ('' if reused)."""
    previous: fmt.Build | None
    reusable: dict[tuple[str, str], str]
    previous_files: dict[str, str] | None
    full_reason: str


SEGMENT_PASSAGES = 100_000  # a segment is written whenever this many new passages are embedded
SMALL_SEGMENT = 20_000  # segments with fewer passages are merged when there are too many of them
MAX_SMALL_SEGMENTS = 4


# --- the steps -------------------------------------------------------------------------------

def plan(index_dir: Path, settings: Settings, full: bool, on_event: Callable[[Event], None]) -> Plan:
    """What of the current build can be kept (see the module's docstring)."""
    build = fmt.current_build(index_dir)
    if build is None or not build.is_dir():
        return Plan(None, {}, None, "no previous index")
    try:
        manifest = fmt.read_manifest(build, index_dir)
    except IndexProblem as err:  # unreadable, or another format: rebuild everything
        on_event(Event("plan", f"the current index cannot be reused ({err.reason}); embedding every document"))
        return Plan(None, {}, None, err.reason)
    if full:
        return Plan(None, {}, manifest.corpus.files, "--full")
    mismatch = manifest.mismatch(settings, index_dir)
    if mismatch is not None:
        on_event(Event("plan", f"the current index was {mismatch.reason}; embedding every document"))
        return Plan(None, {}, manifest.corpus.files, mismatch.reason)
    try:
        data = fmt.read_build(build, index_dir, manifest, candidate_indexes=False)
    except IndexProblem as err:
        on_event(Event("plan", f"the current index cannot be reused ({err}); embedding every document"))
        return Plan(None, {}, manifest.corpus.files, err.reason)
    return Plan(data, reusable_documents(data), manifest.corpus.files, "")


def reusable_documents(data: fmt.Build) -> dict[tuple[str, str], str]:
    """The documents of a build whose passages and stored text are intact, and their segment."""
    reusable: dict[tuple[str, str], str] = {}
    for seg in data.segments:
        for source, (sha, first, stop, _) in seg.documents.items():
            if source in seg.entry.deleted or data.manifest.corpus.files.get(source) != sha:
                continue
            if not is_plain(source):
                try:
                    text = fmt.read_stored_text(data.folder, data.manifest.texts[source])
                except (KeyError, OSError, ValueError, UnicodeDecodeError):
                    continue  # a damaged entry: read and embed this document again
                if any(text[p.start:p.end] != p.text for p in seg.passages(range(first, stop))):
                    continue
            reusable[(source, sha)] = seg.entry.name
    return reusable


def write_new(tmp: Path, documents: list[SegmentDocument], settings: Settings, entries: list[SegmentEntry],
              texts: dict[str, fmt.TextEntry], live: dict[str, int], counts: dict[str, int]) -> None:
    """Write documents as a new segment of the build being written, and count them in."""
    name = segment_name()
    entry = write_segment(tmp / SEGMENTS / name, name, documents, settings.ann_min_vectors)
    entries.append(entry)
    live[name] = entry.passages
    counts["documents"] += entry.documents
    counts["passages"] += entry.passages
    counts["sentences"] += entry.sentences
    for d in documents:
        if d.text is not None:
            texts[d.source] = fmt.text_entry(name, d.sha256, d.text, d.pages)


def segment_name() -> str:
    return time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(4)


def documents_of(build: Path, segment: Segment, texts: dict[str, fmt.TextEntry]) -> list[SegmentDocument]:
    """The documents that count in an opened segment, read back whole (for a merge)."""
    out = []
    for source, (sha, first, stop, _) in sorted(segment.documents.items(), key=lambda kv: kv[1][1]):
        if source in segment.entry.deleted:
            continue
        a, b = segment.first_sentence[first], segment.first_sentence[stop]
        text = None if is_plain(source) else fmt.read_stored_text(build, texts[source])
        out.append(SegmentDocument(source, sha, segment.passages(range(first, stop)),
                                   np.asarray(segment.passage_vectors[first:stop], dtype="float32"),
                                   np.asarray(segment.sentence_vectors[a:b], dtype="float32"), text,
                                   texts[source].pages if source in texts else ()))
    return out


def to_merge(entries: list[SegmentEntry], live: dict[str, int]) -> list[str]:
    """Segments to rewrite as one: those with more deleted passages than live ones, and the
    small ones once there are more than MAX_SMALL_SEGMENTS of them."""
    sparse = [e.name for e in entries if live[e.name] * 2 < e.passages]
    small = [e.name for e in entries if live[e.name] < SMALL_SEGMENT and e.name not in sparse]
    return sparse + (small if len(small) > MAX_SMALL_SEGMENTS else [])


# --- the pipeline ----------------------------------------------------------------------------

def build_index(
    paths: list[Path],
    index_dir: Path,
    settings: Settings | None = None,
    on_event: Callable[[Event], None] = print_event,
    progress: bool = True,
    full: bool = False,
    embedder=None,
) -> BuildReport:
    """Build the index for the documents under `paths` and make it the one `index_dir` serves.

    Re-embeds only new and changed documents unless `full` (see the module's docstring).
    `embedder`: anything with `dimension` and `encode(texts)`; by default the model of the
    settings, loaded only when there is something to embed."""
    settings = settings or Settings.from_env()
    if settings.milvus():
        from .milvus_write import build_milvus

        return build_milvus(paths, settings.milvus(), settings, on_event, progress, full, embedder)
    started = time.perf_counter()
    index_dir = Path(index_dir)
    with fmt.write_lock(index_dir):
        root, files, refused = find_documents(paths, settings.follow_links)
        hashes = fingerprint(root, files)
        found = plan(index_dir, settings, full, on_event)
        try:
            return write(paths, index_dir, settings, root, files, hashes, found, on_event, progress,
                         embedder, started, refused)
        except (RuntimeError, sqlite3.Error) as err:  # faiss and SQLite report a full disk so
            if "space" not in str(err).lower() and "full" not in str(err).lower():
                raise
            raise OSError(errno.ENOSPC, f"No space left on device while writing the index in {index_dir} "
                          "(the previous index keeps serving): free some space and run the ingest again") from err
        finally:
            if found.previous is not None:
                found.previous.close()


def retired_ids(previous, kept: dict) -> set[str]:
    """The ids the previous build retired before, and those of its documents that this build
    replaces or removes (so that a link to one of them can say that its document changed)."""
    ids = set(fmt.read_retired(previous.folder))
    for seg in previous.segments:
        for source, (_, first, stop, _) in seg.documents.items():
            if source not in kept and source not in seg.entry.deleted and stop > first:
                ids.update(p.id for p in seg.passages(range(first, stop)))
    return ids


def write(paths, index_dir, settings, root, files, hashes, found: Plan, on_event, progress, embedder,
          started, refused=()) -> BuildReport:
    full_reason = found.full_reason
    previous = found.previous
    sources = [relative(root, f) for f in files]
    kept = {s: found.reusable[(s, hashes[s])] for s in sources if (s, hashes[s]) in found.reusable}
    fresh_files = [(f, s) for f, s in zip(files, sources) if s not in kept]
    if kept and fresh_files:
        embedder = embedder or load_embedder(settings.model_path(), settings.encoder)
        if embedder.dimension != previous.manifest.dimension:
            on_event(Event("plan", "the current index has vectors of another dimension; "
                                   "embedding every document"))
            full_reason, kept, previous = "vectors of another dimension", {}, None
            fresh_files = list(zip(files, sources))
    skipped: list[Skipped] = []
    for source, reason in refused:  # links out of the corpus, folders that cannot be listed
        record_skip(skipped, source, reason, on_event)
    warned = carried_warnings(previous.manifest if previous is not None else None, kept)
    entries: list[SegmentEntry] = []
    texts: dict[str, fmt.TextEntry] = {}
    live: dict[str, int] = {}  # passages that count in each segment
    counts = {"documents": len(kept), "passages": 0, "sentences": 0}
    with fmt.new_build(index_dir) as tmp:
        # unchanged segments, linked; the documents replaced or removed marked deleted
        by_segment: dict[str, list[str]] = {}
        for source, name in kept.items():
            by_segment.setdefault(name, []).append(source)
        if previous is not None:
            for seg in previous.segments:
                mine = by_segment.get(seg.entry.name, [])
                if not mine:
                    continue
                fmt.link_segment(previous.folder, tmp, seg.entry.name)
                deleted = tuple(sorted(s for s in seg.documents if s not in mine))
                entries.append(replace(seg.entry, deleted=deleted))
                live[seg.entry.name] = 0
                for s in mine:
                    _, first, stop, _ = seg.documents[s]
                    live[seg.entry.name] += stop - first
                    counts["passages"] += stop - first
                    counts["sentences"] += int(seg.first_sentence[stop] - seg.first_sentence[first])
                    if s in previous.manifest.texts:
                        texts[s] = previous.manifest.texts[s]

        # new and changed documents: read, embed in batches, written as segments
        pending: list[SegmentDocument] = []
        embedding = None

        def flush(batch_only: bool) -> None:
            nonlocal pending
            unembedded = [d for d in pending if d.passage_vectors is None]
            if unembedded:
                embedding(unembedded)
            if batch_only and sum(len(d.passages) for d in pending) < SEGMENT_PASSAGES:
                return
            if pending:
                write_new(tmp, pending, settings, entries, texts, live, counts)
            pending = []

        read_so_far = 0  # passages read, for the estimate of how many there will be
        for n, (f, source) in enumerate(fresh_files, start=1):
            read = read_or_skip(f, source, settings, skipped, on_event, warned)
            on_event(Event("plan", f"read {source}", len(kept) + n, len(files)))
            if read is None:
                continue
            passages, kind, text, pages = read
            read_so_far += len(passages)
            if embedding is None:
                embedder = embedder or load_embedder(settings.model_path(), settings.encoder)
                embedding = Embedding(embedder, settings, 0, on_event, progress)
                on_event(Event("embed", f"embedding {len(fresh_files)} new or changed documents"
                               + (f" ({len(kept)} unchanged documents reused)" if kept else ""), 0, 0))
            embedding.total = round(read_so_far * len(fresh_files) / n)  # exact once all are read
            pending.append(SegmentDocument(source, hashes[source], passages, None, None,
                                           None if kind == "text" else text, pages))
            if sum(len(d.passages) for d in pending if d.passage_vectors is None) >= EMBED_BATCH:
                flush(batch_only=True)
        if embedding is not None:
            embedding.total = read_so_far
        flush(batch_only=False)
        if not counts["documents"]:
            raise IngestError(
                f"No passages found under {', '.join(str(p) for p in paths)}: add documents with "
                "some text (.txt or .md, .html, .pdf, .docx) (skipped: "
                + (", ".join(f"{s.source} ({s.reason})" for s in skipped) or "none") + ")."
            )

        # small or mostly deleted segments, merged into one (nothing is embedded again)
        dimension = embedder.dimension if embedding else previous.manifest.dimension
        merge = [e for e in entries if e.name in to_merge(entries, live)]
        if merge:
            on_event(Event("write", f"merging {len(merge)} segments"))
            merged: list[SegmentDocument] = []
            for e in merge:
                seg = Segment(tmp / SEGMENTS / e.name, e, dimension, candidate_indexes=False)
                try:
                    docs = documents_of(tmp, seg, texts)
                finally:
                    seg.close()
                counts["documents"] -= len(docs)
                counts["passages"] -= sum(len(d.passages) for d in docs)
                counts["sentences"] -= sum(len(d.sentence_vectors) for d in docs)
                entries.remove(e)
                merged += docs
            write_new(tmp, merged, settings, entries, texts, live, counts)
            for e in merge:
                shutil.rmtree(tmp / SEGMENTS / e.name)

        if previous is not None:
            fmt.write_retired(tmp, retired_ids(previous, kept))

        n_passages = embedding.done if embedding else 0
        n_sentences = embedding.sentences if embedding else 0
        changes = Changes.between(found.previous_files, hashes)
        manifest = Manifest(
            model=settings.model, model_path=settings.model_path(), dimension=dimension,
            settings=settings.index_settings(),
            corpus=Corpus(str(root), tuple(str(Path(p).resolve()) for p in paths), hashes,
                          file_stats(root, files, hashes)),
            counts=Counts(counts["documents"], counts["passages"], counts["sentences"]),
            segments=tuple(entries), texts=texts, skipped=tuple(s.__dict__ for s in skipped),
            warnings=tuple(w.__dict__ for w in warned),
            ingest={"mode": "incremental" if not full_reason else "full", **changes.counts(),
                    "passages_embedded": n_passages, "segments": len(entries)},
            built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        on_event(Event("write", f"writing {counts['passages']} passages"))
        build = fmt.commit_build(index_dir, tmp, manifest)
    report = BuildReport(
        index_dir=index_dir, build=build, documents=counts["documents"], passages=counts["passages"],
        sentences=counts["sentences"], skipped=skipped, warnings=warned,
        seconds=time.perf_counter() - started, changes=changes, incremental=not full_reason,
        full_reason=full_reason, passages_embedded=n_passages, sentences_embedded=n_sentences,
    )
    on_event(Event("done", f"indexed {report.documents} documents, {report.passages} passages", 1, 1))
    return report

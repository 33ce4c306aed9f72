"""Ingest into a Milvus collection (setting `store`; see core/milvus.py for what is kept there).

The same plan -> read -> embed steps as an index folder, incremental by document: documents
whose bytes are unchanged keep their rows; removed and changed ones are deleted, and new and
changed ones are read, embedded and inserted under new rows. The manifest, written last (one
"manifest" row names it), commits the ingest: a run killed before it leaves the previous
manifest in force, whose documents' rows are all still there; the rows it had inserted are
deleted by the next ingest before it inserts its own.
"""
from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from core import index_format as fmt
from core import milvus
from core.documents import file_stats, fingerprint, relative
from core.documents.find import find_documents
from core.errors import IndexProblem, IngestError
from core.index_format import Changes, Corpus, Counts, Manifest
from core.model import load_embedder
from core.passage import Passage
from core.segments import SegmentDocument, keyword_text
from core.settings import Settings
from core.text import keyword_token_lists, word_counts

from .steps import (EMBED_BATCH, BuildReport, Embedding, Event, Skipped, carried_warnings, print_event,
                    read_or_skip, record_skip)

TEXTS_FOLDER = "segments/milvus/texts"  # where the read side mirrors extracted texts (TextEntry.file)


def previous_manifest(client, address: milvus.Address, settings: Settings, full: bool,
                      on_event) -> tuple[Manifest | None, str]:
    """The committed manifest when its rows may be kept, and why not ('' when they may)."""
    if not milvus.has_collections(client, address):
        return None, "no previous index"
    milvus.load_collections(client, address)
    try:
        found = milvus.read_manifest_json(client, address)
        manifest = Manifest.from_json(found[1]) if found else None
    except (ValueError, KeyError, TypeError) as err:
        on_event(Event("plan", f"the collection's manifest cannot be read ({err}); embedding every document"))
        return None, "the previous index is unreadable"
    if manifest is None:
        return None, "no previous index"
    if full:
        return manifest, "--full"
    mismatch = manifest.mismatch(settings, str(address))
    if mismatch is not None:
        on_event(Event("plan", f"the collection was {mismatch.reason}; embedding every document"))
        return manifest, mismatch.reason
    return manifest, ""


def vocabulary(passages: list[Passage], terms: list[list[str]]) -> Counter:
    """The meta counts a document adds: each word's occurrences (typo repair) and each keyword
    term's passages (the share of a question's words a passage has); `terms`: each passage's
    keyword terms."""
    counts = Counter({f"word:{w}": c for w, c in word_counts(keyword_text(p) for p in passages).items()})
    for passage_terms in terms:
        counts.update(f"term:{t}" for t in set(passage_terms))
    return counts


class Writer:
    """Inserts embedded documents under consecutive rows and keeps the meta counts."""

    def __init__(self, client, address: milvus.Address, next_row: int):
        self.client, self.address = client, address
        self.next_row = next_row
        self.documents: dict[str, list[int]] = {}
        self.texts: dict[str, fmt.TextEntry] = {}
        self.text_chunks: dict[str, int] = {}  # sha256 of a file -> chunks of its extracted text
        self.vocabulary: Counter = Counter()
        self.passages = self.sentences = self.keyword_tokens = 0

    def __call__(self, docs: list[SegmentDocument]) -> None:
        rows, sentence_rows = [], []
        for d in docs:
            first = self.next_row
            terms = keyword_token_lists([keyword_text(p) for p in d.passages])
            self.keyword_tokens += sum(len(t) for t in terms)
            s_at = 0
            for p, t, v in zip(d.passages, terms, d.passage_vectors):
                try:
                    rows.append(milvus.passage_values(self.next_row, p, t, v))
                except ValueError as err:
                    raise IngestError(f"{err.args[0][0].upper()}{err.args[0][1:]}: lower the setting "
                                      "max_chars and ingest again.") from err
                for number in range(len(p.sentences)):
                    sentence_rows.append({"key": milvus.sentence_key(self.next_row, number), "row": self.next_row,
                                          "number": number,
                                          "vector": d.sentence_vectors[s_at].tolist()})
                    s_at += 1
                self.next_row += 1
            self.documents[d.source] = [first, self.next_row]
            self.vocabulary.update(vocabulary(d.passages, terms))
            if d.text is not None:
                self.text_chunks[d.sha256] = milvus.write_chunks(self.client, self.address,
                                                                 milvus.text_key(d.sha256), d.text)
                entry = fmt.text_entry("milvus", d.sha256, d.text, d.pages)
                self.texts[d.source] = entry
            self.passages += len(d.passages)
            self.sentences += s_at
        for name, batch in (("passages", rows), ("sentences", sentence_rows)):
            for at in range(0, len(batch), milvus.BATCH):
                self.client.insert(self.address.name(name), batch[at:at + milvus.BATCH])


def delete_rows(client, address: milvus.Address, ranges: list[list[int]]) -> None:
    for first, stop in ranges:
        for part in ("passages", "sentences"):
            client.delete(address.name(part), filter=f"row >= {int(first)} and row < {int(stop)}")


def build_milvus(paths: list[Path], address: milvus.Address, settings: Settings,
                 on_event: Callable[[Event], None] = print_event, progress: bool = True,
                 full: bool = False, embedder=None) -> BuildReport:
    started = time.perf_counter()
    client = milvus.connect(address)
    try:
        return write(client, paths, address, settings, on_event, progress, full, embedder, started)
    except IndexProblem:
        raise
    except Exception as exc:  # noqa: BLE001 - the server went away mid-ingest
        if milvus.is_connection_error(exc):
            raise milvus.down(address, exc) from exc
        raise
    finally:
        client.close()


def write(client, paths, address, settings, on_event, progress, full, embedder, started) -> BuildReport:
    root, files, refused = find_documents(paths, settings.follow_links)
    hashes = fingerprint(root, files)
    sources = [relative(root, f) for f in files]
    previous, full_reason = previous_manifest(client, address, settings, full, on_event)
    if not full_reason and previous.corpus.files != hashes:  # something to embed: same dimension?
        embedder = embedder or load_embedder(settings.model_path(), settings.encoder)
        if embedder.dimension != previous.dimension:
            full_reason = "vectors of another dimension"
    state = previous.store if (previous is not None and not full_reason) else {}
    documents: dict[str, list[int]] = {s: list(r) for s, r in state.get("documents", {}).items()}
    old_files = previous.corpus.files if previous is not None else None
    if not files:  # before anything is dropped: the collection keeps what it held
        raise IngestError(f"No documents found under {', '.join(str(p) for p in paths)}: add .txt, .md, "
                          ".html, .pdf or .docx files and ingest again (the collection is unchanged).")
    if full_reason:
        embedder = embedder or load_embedder(settings.model_path(), settings.encoder)
        milvus.create_collections(client, address, embedder.dimension)
        documents = {}
    next_row = int(state.get("next_row", 0))
    # what an earlier run left: rows past the committed counter, rows it marked dead
    delete_rows(client, address, [[next_row, 2 ** 62]] + [list(r) for r in state.get("dead", [])])

    files_now = dict(zip(sources, files))
    kept = {s for s in sources if s in documents and old_files and old_files.get(s) == hashes[s]}
    gone = [s for s in documents if s not in kept]
    fresh = [s for s in sources if s not in kept]
    texts = {s: e for s, e in (previous.texts.items() if previous is not None and not full_reason else [])
             if s in kept}
    vocab: Counter = Counter()
    gone_sentences = gone_tokens = 0
    for s in gone:  # their words and terms no longer count
        first, stop = documents[s]
        old = list(milvus.read_passages(client, address, range(first, stop)).values())
        old_terms = keyword_token_lists([keyword_text(p) for p in old])
        vocab.subtract(vocabulary(old, old_terms))
        gone_sentences += sum(len(p.sentences) for p in old)
        gone_tokens += sum(len(t) for t in old_terms)

    writer = Writer(client, address, next_row)
    skipped: list[Skipped] = []
    for source, reason in refused:  # links out of the corpus, folders that cannot be listed
        record_skip(skipped, source, reason, on_event)
    warned = carried_warnings(previous if not full_reason else None, kept)
    pending: list[SegmentDocument] = []
    embedding = None
    read_so_far = 0  # passages read, for the estimate of how many there will be
    for n, source in enumerate(fresh, start=1):
        read = read_or_skip(files_now[source], source, settings, skipped, on_event, warned)
        on_event(Event("plan", f"read {source}", len(kept) + n, len(files)))
        if read is None:
            continue
        passages, kind, text, pages = read
        if embedding is None:
            embedder = embedder or load_embedder(settings.model_path(), settings.encoder)
            embedding = Embedding(embedder, settings, 0, on_event, progress)
            on_event(Event("embed", f"embedding {len(fresh)} new or changed documents"
                           + (f" ({len(kept)} unchanged documents kept)" if kept else ""), 0, 0))
        read_so_far += len(passages)
        embedding.total = round(read_so_far * len(fresh) / n)  # exact once all are read
        pending.append(SegmentDocument(source, hashes[source], passages, None, None,
                                       None if kind == "text" else text, pages))
        if sum(len(d.passages) for d in pending) >= EMBED_BATCH:
            embedding(pending)
            writer(pending)
            pending = []
    if embedding is not None:
        embedding.total = read_so_far
    if pending:
        embedding(pending)
        writer(pending)
    if not kept and not writer.documents:
        raise IngestError(
            f"No passages found under {', '.join(str(p) for p in paths)}: add documents with "
            "some text (.txt or .md, .html, .pdf, .docx) (skipped: "
            + (", ".join(f"{s.source} ({s.reason})" for s in skipped) or "none") + ").")
    vocab.update(writer.vocabulary)
    update_vocabulary(client, address, vocab)

    dead = [documents[s] for s in gone]
    live = {s: documents[s] for s in documents if s in kept}
    live.update(writer.documents)
    texts.update(writer.texts)
    chunks_before = state.get("text_chunks", {})
    text_chunks = {Path(e.file).stem: writer.text_chunks.get(Path(e.file).stem) or chunks_before[Path(e.file).stem]
                   for e in texts.values()}
    n_passages = sum(b - a for a, b in live.values())
    before = previous.counts.sentences if previous is not None and not full_reason else 0
    n_sentences = before - gone_sentences + writer.sentences
    changes = Changes.between(old_files, hashes)
    dimension = embedder.dimension if embedder is not None else previous.dimension
    manifest = Manifest(
        model=settings.model, model_path=settings.model_path(), dimension=dimension,
        settings=settings.index_settings(),
        corpus=Corpus(str(root), tuple(str(Path(p).resolve()) for p in paths), hashes,
                      file_stats(root, files, hashes)),
        counts=Counts(len(live), n_passages, n_sentences), texts=texts,
        skipped=tuple(s.__dict__ for s in skipped), warnings=tuple(w.__dict__ for w in warned),
        ingest={"mode": "incremental" if not full_reason else "full", **changes.counts(),
                "passages_embedded": writer.passages},
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        store={"kind": "milvus", "documents": live, "next_row": writer.next_row,
               "dead": dead, "text_chunks": text_chunks,
               "keyword_tokens": int(state.get("keyword_tokens", 0)) - gone_tokens + writer.keyword_tokens},
    )
    on_event(Event("write", f"committing {n_passages} passages"))
    for part in ("passages", "sentences"):  # sealed and indexed: searched 5-10x faster than while growing
        client.flush(address.name(part))
    build = commit(client, address, manifest, previous)
    delete_rows(client, address, dead)
    report = BuildReport(
        index_dir=str(address), build=Path(build), documents=len(live), passages=n_passages,
        sentences=n_sentences, skipped=skipped, warnings=warned, seconds=time.perf_counter() - started,
        changes=changes,
        incremental=not full_reason, full_reason=full_reason, passages_embedded=writer.passages,
        sentences_embedded=writer.sentences)
    on_event(Event("done", f"indexed {report.documents} documents, {report.passages} passages", 1, 1))
    return report


def update_vocabulary(client, address: milvus.Address, change: Counter) -> None:
    """Add `change` to the meta counts (a count that reaches 0 is deleted)."""
    keys = sorted(k for k, v in change.items() if v)
    now = milvus.counts_of(client, address, keys)
    values = {k: now[k] + change[k] for k in keys}
    milvus.upsert_meta(client, address, {k: str(v) for k, v in values.items() if v > 0})
    empty = [k for k, v in values.items() if v <= 0]
    for at in range(0, len(empty), milvus.BATCH):
        client.delete(address.name("meta"), filter=milvus.strings_filter("key", empty[at:at + milvus.BATCH]))


def commit(client, address: milvus.Address, manifest: Manifest, previous: Manifest | None) -> str:
    """Write the manifest in chunks, then the "manifest" row naming it (the commit); then drop
    the previous manifest's chunks and the texts no document uses any more."""
    old = milvus.read_pointer(client, address) if milvus.has_collections(client, address) else None
    build = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
    key = f"{milvus.MANIFEST_KEY}:{build}"
    chunks = milvus.write_chunks(client, address, key, json.dumps(manifest.to_json(), ensure_ascii=False))
    milvus.upsert_meta(client, address, {milvus.MANIFEST_KEY: json.dumps({"build": build, "chunks": chunks})})
    if old is not None:
        client.delete(address.name("meta"), filter=f'key like "{milvus.MANIFEST_KEY}:{old["build"]}:%"')
    in_use = {Path(e.file).stem for e in manifest.texts.values()}
    for entry in (previous.texts.values() if previous is not None else []):
        sha = Path(entry.file).stem
        if sha not in in_use:
            client.delete(address.name("meta"), filter=f'key like "{milvus.text_key(sha)}:%"')
    return build

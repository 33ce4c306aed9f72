"""The ingest pipeline: files -> structure -> passages -> vectors -> index folder.

Incremental by default: the documents whose bytes (sha256) are those of the current build keep
their passages, vectors and extracted texts; only new and changed documents are read and
embedded, and documents that are gone simply drop out. The result is the index a full rebuild
would write (same passages in the same order, same vectors). The current build is reused only
when it was built with the same format, model, dimension and index settings and reads back
whole; otherwise, or with `full=True`, every document is embedded again.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from . import store
from .embed import load_embedder
from .extract import kind_of
from .passages import Passage, make_passages
from .read import SkipFile, discover, fingerprint, is_plain, read_document, relative
from .settings import Settings
from .structure import Span, parse


class IngestError(Exception):
    """Ingest cannot produce an index; the message says what to do."""


@dataclass
class Skipped:
    source: str
    reason: str


@dataclass
class Changes:
    """How the documents differ from those of the build before (by sha256 of their bytes)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in ("added", "changed", "removed", "unchanged")}


@dataclass
class BuildReport:
    index_dir: Path
    build: Path
    documents: int
    passages: int
    sentences: int
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    changes: Changes = field(default_factory=Changes)
    incremental: bool = False  # True when the vectors of unchanged documents were reused
    full_reason: str = ""  # why every document was embedded, when incremental is False
    passages_embedded: int = 0
    sentences_embedded: int = 0

    def summary(self) -> dict:
        """The `python -m ingest --json` object."""
        return {
            "index_dir": str(self.index_dir), "build": str(self.build),
            "documents": self.documents, "passages": self.passages,
            "sentences": self.sentences, "seconds": round(self.seconds, 2),
            "mode": "incremental" if self.incremental else "full",
            "full_reason": self.full_reason,
            **self.changes.counts(),
            "passages_embedded": self.passages_embedded,
            "sentences_embedded": self.sentences_embedded,
            "skipped": [s.__dict__ for s in self.skipped],
        }


@dataclass
class Document:
    """One indexed document's share of a build."""

    source: str
    sha256: str
    kind: str
    passages: list[Passage]
    text: str | None = None  # the extracted text, stored with the index (not for plain text)
    passage_vectors: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None


def passage_text_for_embedding(p: Passage, embed_context: bool) -> str:
    text = " ".join(p.text.split())
    if embed_context and p.context():
        return f"{p.context()}: {text}"
    return text


def sentence_texts(p: Passage) -> list[str]:
    return [" ".join(p.text[s - p.start : e - p.start].split()) for s, e in p.sentences]


def read_passages(path: Path, source: str, settings: Settings) -> tuple[list[Passage], str, str]:
    """(passages, kind, text) of one file; raises SkipFile.

    PDF passages carry the page they start on. Short paragraphs are not merged across a page
    break (a passage crosses one only where a paragraph does), so the page is that of the text."""
    doc = read_document(path)
    structure = parse(doc.text, path.name)
    if doc.pages:
        structure.dropped.extend((Span(at, at, ""), "page break") for at in doc.pages[1:])
    found = make_passages(doc.text, structure, source, settings.max_chars, settings.min_chars)
    if not found:
        raise SkipFile("no passages: only headings or page boilerplate were found")
    if doc.pages:
        found = [replace(p, page=doc.page_at(p.start)) for p in found]
    return found, doc.kind, doc.text


def collect_passages(
    paths: list[Path], settings: Settings, echo: Callable[[str], None]
) -> tuple[Path, list[Path], list[Passage], list[Skipped]]:
    """Every document read afresh (no reuse): (root, files, passages, skipped)."""
    root, files = discover(paths)
    passages: list[Passage] = []
    skipped: list[Skipped] = []
    for f in files:
        read = _read_or_skip(f, relative(root, f), settings, skipped, echo)
        if read is not None:
            passages.extend(read[0])
    return root, files, passages, skipped


def _read_or_skip(f: Path, source: str, settings: Settings, skipped: list[Skipped],
                  echo: Callable[[str], None]):
    """read_passages(...), or None after recording and reporting why the file is skipped."""
    try:
        return read_passages(f, source, settings)
    except SkipFile as why:
        skipped.append(Skipped(source, str(why)))
        echo(f"skipped {source}: {why}")
        return None


def build_index(
    paths: list[Path],
    index_dir: Path,
    settings: Settings | None = None,
    echo: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    progress: bool = True,
    full: bool = False,
) -> BuildReport:
    """Build the index for the documents under `paths` and make it the one `index_dir` serves.

    Re-embeds only new and changed documents unless `full` (see the module's docstring)."""
    settings = settings or Settings.from_env()
    started = time.perf_counter()
    index_dir = Path(index_dir)
    with store.write_lock(index_dir):
        root, files = discover(paths)
        hashes = fingerprint(root, files)
        previous, previous_files, full_reason = _previous(index_dir, settings, full, echo)

        documents: list[Document] = []
        skipped: list[Skipped] = []
        for f in files:
            source = relative(root, f)
            sha = hashes[source]
            same = previous.get((source, sha))
            if same is not None:
                documents.append(same)
                continue
            read = _read_or_skip(f, source, settings, skipped, echo)
            if read is None:
                continue
            found, kind, text = read
            documents.append(Document(source, sha, kind, found, None if kind == "text" else text))
        if not documents:
            raise IngestError(
                f"No passages found under {', '.join(str(p) for p in paths)}: add documents with "
                "some text (.txt or .md, .html, .pdf, .docx) (skipped: "
                + (", ".join(f"{s.source} ({s.reason})" for s in skipped) or "none") + ")."
            )

        fresh = [d for d in documents if d.passage_vectors is None]
        if fresh:
            embedder = load_embedder(settings.model_path())
            reused = [d for d in documents if d.passage_vectors is not None]
            if reused and reused[0].passage_vectors.shape[1] != embedder.dimension:
                echo("the current index has vectors of another dimension; embedding every document")
                full_reason = "vectors of another dimension"
                for d in reused:
                    d.passage_vectors = d.sentence_vectors = None
                fresh = documents
        new_passages = [p for d in fresh for p in d.passages]
        new_sentences = [s for p in new_passages for s in sentence_texts(p)]
        if fresh:
            echo(f"embedding {len(new_passages)} passages from {len(fresh)} documents"
                 + (f" ({len(documents) - len(fresh)} unchanged documents reused)"
                    if len(fresh) < len(documents) else ""))
            pv = embedder.encode(
                [passage_text_for_embedding(p, settings.embed_context) for p in new_passages],
                progress=progress,
            )
            sv = embedder.encode(new_sentences, progress=progress)
            _share_out(fresh, pv, sv)
            dimension = embedder.dimension
        else:
            dimension = int(documents[0].passage_vectors.shape[1])

        passages = [p for d in documents for p in d.passages]
        passage_vectors = np.concatenate([d.passage_vectors for d in documents]).astype("float32")
        sentence_vectors = np.concatenate([d.sentence_vectors for d in documents]).astype("float32")
        texts, text_entries = {}, {}
        for d in documents:
            if d.text is not None:
                name, entry = store.text_entry(d.sha256, d.text)
                texts[name] = d.text
                text_entries[d.source] = entry
        changes = _changes(previous_files, hashes)
        manifest = {
            "format_version": store.FORMAT_VERSION,
            "model": settings.model,
            "model_path": settings.model_path(),
            "dimension": dimension,
            "settings": settings.index_settings(),
            "corpus": {
                "root": str(root),
                "paths": [str(Path(p).resolve()) for p in paths],
                "files": hashes,
            },
            "texts": text_entries,
            "skipped": [s.__dict__ for s in skipped],
            "counts": {
                "documents": len(documents),
                "passages": len(passages),
                "sentences": int(sentence_vectors.shape[0]),
            },
            "ingest": {
                "mode": "incremental" if not full_reason else "full",
                **changes.counts(),
                "passages_embedded": len(new_passages),
            },
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        build = store.write_build(
            index_dir, manifest, [p.to_dict() for p in passages], passage_vectors, sentence_vectors,
            texts,
        )
    return BuildReport(
        index_dir=index_dir,
        build=build,
        documents=len(documents),
        passages=len(passages),
        sentences=int(sentence_vectors.shape[0]),
        skipped=skipped,
        seconds=time.perf_counter() - started,
        changes=changes,
        incremental=not full_reason,
        full_reason=full_reason,
        passages_embedded=len(new_passages),
        sentences_embedded=len(new_sentences),
    )


def _share_out(fresh: list[Document], passage_vectors: np.ndarray, sentence_vectors: np.ndarray) -> None:
    """Give each freshly embedded document its rows of the two vector arrays."""
    p_at = s_at = 0
    for d in fresh:
        n_p = len(d.passages)
        n_s = sum(len(p.sentences) for p in d.passages)
        d.passage_vectors = passage_vectors[p_at : p_at + n_p]
        d.sentence_vectors = sentence_vectors[s_at : s_at + n_s]
        p_at, s_at = p_at + n_p, s_at + n_s


def _changes(previous_files: dict[str, str] | None, now: dict[str, str]) -> Changes:
    then = previous_files or {}
    return Changes(
        added=sorted(set(now) - set(then)),
        changed=sorted(k for k in set(now) & set(then) if now[k] != then[k]),
        removed=sorted(set(then) - set(now)),
        unchanged=sorted(k for k in set(now) & set(then) if now[k] == then[k]),
    )


def _previous(
    index_dir: Path, settings: Settings, full: bool, echo: Callable[[str], None]
) -> tuple[dict[tuple[str, str], Document], dict[str, str] | None, str]:
    """The reusable documents of the current build, keyed by (source, sha256); the file hashes
    it was built from (for the change counts); and why nothing is reused ('' when reused)."""
    build = store.current_build(index_dir)
    if build is None or not build.is_dir():
        return {}, None, "no previous index"
    try:
        manifest = json.loads((build / store.MANIFEST).read_text(encoding="utf-8"))
        files = manifest["corpus"]["files"]
        if not isinstance(files, dict):
            raise ValueError("the manifest's file list is malformed")
    except Exception as err:  # noqa: BLE001 - anything unreadable: rebuild everything
        echo(f"the current index cannot be reused ({err.__class__.__name__}: {str(err)[:120]}); "
             "embedding every document")
        return {}, None, "the previous index is unreadable"
    if full:
        return {}, files, "--full"
    why = _not_reusable(manifest, settings)
    if why:
        echo(f"the current index was built with {why}; embedding every document")
        return {}, files, f"built with {why}"
    try:
        manifest, rows, pv, sv = store.read_build(build)
    except Exception as err:  # noqa: BLE001
        echo(f"the current index cannot be reused ({err.__class__.__name__}: {str(err)[:120]}); "
             "embedding every document")
        return {}, files, "the previous index is unreadable"

    texts = manifest.get("texts") or {}
    by_source: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_source.setdefault(row["source"], []).append(i)
    first_sentence = np.concatenate([[0], np.cumsum([len(r["sentences"]) for r in rows])]).astype(int)
    reusable: dict[tuple[str, str], Document] = {}
    for source, at in by_source.items():
        sha = files.get(source)
        if sha is None or at != list(range(at[0], at[-1] + 1)):
            continue  # not listed, or not contiguous: read it again
        try:
            passages = [Passage.from_dict(rows[i]) for i in at]
            text = None
            if not is_plain(source):
                text = store.read_stored_text(build, texts[source])
                if any(text[p.start:p.end] != p.text for p in passages):
                    raise ValueError("the stored text does not hold the passages")
        except Exception:  # noqa: BLE001 - a damaged entry: read and embed this document again
            continue
        reusable[(source, sha)] = Document(
            source, sha, kind_of(Path(source)), passages, text,
            pv[at[0] : at[-1] + 1], sv[first_sentence[at[0]] : first_sentence[at[-1] + 1]],
        )
    return reusable, files, ""


def _not_reusable(manifest: dict, settings: Settings) -> str:
    """'' when vectors of this build can be reused under `settings`; else what differs."""
    if manifest.get("format_version") != store.FORMAT_VERSION:
        return f"index format version {manifest.get('format_version')}"
    if manifest.get("model") != settings.model:
        return f"the model {manifest.get('model')!r}"
    if manifest.get("settings") != settings.index_settings():
        return "other index settings"
    return ""

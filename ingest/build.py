"""The ingest pipeline: plan -> read -> embed -> write.

- plan: which documents are under the paths, which of them the current build already holds
  (same bytes, by sha256) and may keep, and why nothing is kept when that is so;
- read: new and changed documents are read, their structure found and cut into passages;
- embed: passages (with their title and section) and their sentences are embedded by the
  embedder passed in (the bundled model by default, loaded only when something is new);
- write: the build is written atomically with its typed manifest and made current.

Incremental by default: the result is the index a full rebuild would write (same passages in
the same order, same vectors). The current build is reused only when `Manifest.mismatch`
finds nothing (the same check loading makes) and it reads back whole; otherwise, or with
`full=True`, every document is embedded again. Progress is reported as `Event`s.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from core import index_format as fmt
from core.documents import SkipFile, discover, fingerprint, is_plain, read_document, relative
from core.errors import IndexProblem, IngestError
from core.index_format import Changes, Corpus, Counts, Manifest
from core.model import load_embedder
from core.passage import Passage
from core.settings import Settings

from .passages import make_passages
from .structure import Span, parse


@dataclass(frozen=True)
class Event:
    """What ingest is doing, for a progress display: `stage` is one of "plan", "skipped",
    "embed", "write" or "done"; `done` of `total` counts documents (plan) or passages (embed)."""
    stage: str
    message: str
    done: int = 0
    total: int = 0


def is_note(event: Event) -> bool:
    """Events worth a line of their own: files skipped, why nothing is reused, embedding starts."""
    return event.stage == "skipped" or (event.stage in ("plan", "embed") and event.done == 0 and
                                        (event.stage == "embed" or not event.total))


def print_event(event: Event) -> None:
    """The default: notes on standard error (the CLI prints the summary itself)."""
    if is_note(event):
        print(event.message, file=sys.stderr)


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


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
    passages: list[Passage]
    text: str | None = None  # the extracted text, stored with the index (not for plain text)
    passage_vectors: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None

    @property
    def n_sentences(self) -> int:
        return sum(len(p.sentences) for p in self.passages)


@dataclass
class Plan:
    """What the current build offers: its reusable documents by (source, sha256), the file
    hashes it was built from (for the change counts), and why nothing is reused ('' if reused)."""
    reusable: dict[tuple[str, str], Document]
    previous_files: dict[str, str] | None
    full_reason: str


# --- the steps -------------------------------------------------------------------------------

def passage_text_for_embedding(p: Passage, embed_context: bool) -> str:
    text = " ".join(p.text.split())
    if embed_context and p.context():
        return f"{p.context()}: {text}"
    return text


def sentence_texts(p: Passage) -> list[str]:
    return [" ".join(s.split()) for s in p.sentence_texts()]


def read_passages(path: Path, source: str, settings: Settings) -> tuple[list[Passage], str, str]:
    """(passages, kind, text) of one file; raises SkipFile.

    PDF passages carry the page they start on. Short paragraphs are not merged across a page
    break (a passage crosses one only where a paragraph does), so the page is that of the text."""
    doc = read_document(path)
    structure = parse(doc.text, path.name, doc.code)
    if doc.pages:
        structure.dropped.extend((Span(at, at, ""), "page break") for at in doc.pages[1:])
    found = make_passages(doc.text, structure, source, settings.max_chars, settings.min_chars)
    if not found:
        raise SkipFile("no passages: only headings or page boilerplate were found")
    if doc.pages:
        found = [replace(p, page=doc.page_at(p.start)) for p in found]
    return found, doc.kind, doc.text


def read_or_skip(f: Path, source: str, settings: Settings, skipped: list[Skipped],
                 on_event: Callable[[Event], None]):
    """read_passages(...), or None after recording and reporting why the file is skipped."""
    try:
        return read_passages(f, source, settings)
    except SkipFile as why:
        skipped.append(Skipped(source, str(why)))
        on_event(Event("skipped", f"skipped {source}: {why}"))
        return None


def plan(index_dir: Path, settings: Settings, full: bool, on_event: Callable[[Event], None]) -> Plan:
    """What of the current build can be kept (see the module's docstring)."""
    build = fmt.current_build(index_dir)
    if build is None or not build.is_dir():
        return Plan({}, None, "no previous index")
    try:
        manifest = fmt.read_manifest(build, index_dir)
    except IndexProblem as err:  # unreadable, or another format: rebuild everything
        on_event(Event("plan", f"the current index cannot be reused ({err.reason}); embedding every document"))
        return Plan({}, None, err.reason)
    if full:
        return Plan({}, manifest.corpus.files, "--full")
    mismatch = manifest.mismatch(settings, index_dir)
    if mismatch is not None:
        on_event(Event("plan", f"the current index was {mismatch.reason}; embedding every document"))
        return Plan({}, manifest.corpus.files, mismatch.reason)
    try:
        data = fmt.read_build(build, index_dir, manifest)
    except IndexProblem as err:
        on_event(Event("plan", f"the current index cannot be reused ({err}); embedding every document"))
        return Plan({}, manifest.corpus.files, err.reason)
    return Plan(reusable_documents(data), manifest.corpus.files, "")


def reusable_documents(data: fmt.Build) -> dict[tuple[str, str], Document]:
    """The documents of a build whose passages, vectors and stored text are intact."""
    by_source: dict[str, list[int]] = {}
    for i, p in enumerate(data.passages):
        by_source.setdefault(p.source, []).append(i)
    first_sentence = np.concatenate([[0], np.cumsum([len(p.sentences) for p in data.passages])]).astype(int)
    reusable: dict[tuple[str, str], Document] = {}
    for source, at in by_source.items():
        sha = data.manifest.corpus.files.get(source)
        if sha is None or at != list(range(at[0], at[-1] + 1)):
            continue  # not listed, or not contiguous: read it again
        passages = [data.passages[i] for i in at]
        text = None
        if not is_plain(source):
            try:
                text = fmt.read_stored_text(data.folder, data.manifest.texts[source])
            except (KeyError, OSError, ValueError, UnicodeDecodeError):
                continue  # a damaged entry: read and embed this document again
            if any(text[p.start:p.end] != p.text for p in passages):
                continue
        reusable[(source, sha)] = Document(
            source, sha, passages, text, data.passage_vectors[at[0] : at[-1] + 1],
            data.sentence_vectors[first_sentence[at[0]] : first_sentence[at[-1] + 1]],
        )
    return reusable


def embed(fresh: list[Document], embedder, settings: Settings, progress: bool,
          on_event: Callable[[Event], None], reused: int) -> tuple[int, int]:
    """Give each fresh document its passage and sentence vectors; (passages, sentences) embedded."""
    passages = [p for d in fresh for p in d.passages]
    sentences = [s for p in passages for s in sentence_texts(p)]
    if not fresh:
        return 0, 0
    on_event(Event("embed", f"embedding {len(passages)} passages from {len(fresh)} documents"
                   + (f" ({reused} unchanged documents reused)" if reused else ""), 0, len(passages)))
    pv = embedder.encode([passage_text_for_embedding(p, settings.embed_context) for p in passages],
                         progress=progress)
    sv = embedder.encode(sentences, progress=progress)
    p_at = s_at = 0
    for d in fresh:
        d.passage_vectors = pv[p_at : p_at + len(d.passages)]
        d.sentence_vectors = sv[s_at : s_at + d.n_sentences]
        p_at, s_at = p_at + len(d.passages), s_at + d.n_sentences
    on_event(Event("embed", f"embedded {len(passages)} passages", len(passages), len(passages)))
    return len(passages), len(sentences)


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
    `embedder`: anything with `dimension` and `encode(texts, progress)`; by default the model of
    the settings, loaded only when there is something to embed."""
    settings = settings or Settings.from_env()
    started = time.perf_counter()
    index_dir = Path(index_dir)
    with fmt.write_lock(index_dir):
        root, files = discover(paths)
        hashes = fingerprint(root, files)
        found = plan(index_dir, settings, full, on_event)
        full_reason = found.full_reason

        documents: list[Document] = []
        skipped: list[Skipped] = []
        for n, f in enumerate(files, start=1):
            source = relative(root, f)
            same = found.reusable.get((source, hashes[source]))
            if same is None:
                read = read_or_skip(f, source, settings, skipped, on_event)
                if read is None:
                    continue
                passages, kind, text = read
                same = Document(source, hashes[source], passages, None if kind == "text" else text)
            documents.append(same)
            on_event(Event("plan", f"read {source}", n, len(files)))
        if not documents:
            raise IngestError(
                f"No passages found under {', '.join(str(p) for p in paths)}: add documents with "
                "some text (.txt or .md, .html, .pdf, .docx) (skipped: "
                + (", ".join(f"{s.source} ({s.reason})" for s in skipped) or "none") + ")."
            )

        fresh = [d for d in documents if d.passage_vectors is None]
        if fresh:
            embedder = embedder or load_embedder(settings.model_path())
            reused = [d for d in documents if d.passage_vectors is not None]
            if reused and reused[0].passage_vectors.shape[1] != embedder.dimension:
                on_event(Event("plan", "the current index has vectors of another dimension; "
                                       "embedding every document"))
                full_reason = "vectors of another dimension"
                for d in reused:
                    d.passage_vectors = d.sentence_vectors = None
                fresh = documents
        n_passages, n_sentences = embed(fresh, embedder, settings, progress, on_event,
                                        len(documents) - len(fresh))
        dimension = embedder.dimension if fresh else int(documents[0].passage_vectors.shape[1])

        passages = [p for d in documents for p in d.passages]
        passage_vectors = np.concatenate([d.passage_vectors for d in documents]).astype("float32")
        sentence_vectors = np.concatenate([d.sentence_vectors for d in documents]).astype("float32")
        texts, text_entries = {}, {}
        for d in documents:
            if d.text is not None:
                name, entry = fmt.text_entry(d.sha256, d.text)
                texts[name] = d.text
                text_entries[d.source] = entry
        changes = Changes.between(found.previous_files, hashes)
        manifest = Manifest(
            model=settings.model, model_path=settings.model_path(), dimension=dimension,
            settings=settings.index_settings(),
            corpus=Corpus(str(root), tuple(str(Path(p).resolve()) for p in paths), hashes),
            counts=Counts(len(documents), len(passages), int(sentence_vectors.shape[0])),
            texts=text_entries, skipped=tuple(s.__dict__ for s in skipped),
            ingest={"mode": "incremental" if not full_reason else "full", **changes.counts(),
                    "passages_embedded": n_passages},
            built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        on_event(Event("write", f"writing {len(passages)} passages"))
        build = fmt.write_build(index_dir, manifest, passages, passage_vectors, sentence_vectors, texts)
    report = BuildReport(
        index_dir=index_dir, build=build, documents=len(documents), passages=len(passages),
        sentences=int(sentence_vectors.shape[0]), skipped=skipped,
        seconds=time.perf_counter() - started, changes=changes, incremental=not full_reason,
        full_reason=full_reason, passages_embedded=n_passages, sentences_embedded=n_sentences,
    )
    on_event(Event("done", f"indexed {len(documents)} documents, {len(passages)} passages", 1, 1))
    return report

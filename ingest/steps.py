"""The steps every ingest shares, whatever it writes to (an index folder: ingest/build.py; a
Milvus collection: ingest/milvus_write.py): progress events, the report, reading a file into
passages, and embedding documents in batches with passages per second and the time left."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from core.documents import SkipFile, read_document
from core.documents.find import read_problem
from core.index_format import Changes
from core.passage import Passage
from core.segments import SegmentDocument
from core.settings import Settings

from .embedding import embed_passages
from .passages import make_passages
from .structure import Span, parse

EMBED_BATCH = 256  # passages embedded at a time (with their sentences), for progress


@dataclass(frozen=True)
class Event:
    """What ingest is doing, for a progress display: `stage` is one of "plan", "skipped",
    "warning" (a document read with some damage, e.g. bytes that are not UTF-8), "embed",
    "write" or "done"; `done` of `total` counts documents (plan) or passages (embed)."""
    stage: str
    message: str
    done: int = 0
    total: int = 0


def is_note(event: Event) -> bool:
    """Events worth a line of their own: files skipped, warnings, why nothing is reused,
    embedding starts."""
    return event.stage in ("skipped", "warning") or (
        event.stage in ("plan", "embed") and event.done == 0 and (event.stage == "embed" or not event.total))


def print_event(event: Event) -> None:
    """The default: notes on standard error (the CLI prints the summary itself)."""
    if is_note(event):
        print(event.message, file=sys.stderr)


@dataclass
class BuildProgress:
    """Ingest events as a progress bar: `update(event)` gives (fraction done, what it is doing:
    documents read, passages embedded and the time left), or None for an event that does not
    move the bar. Used by the first start of the page and by uploads."""
    documents: str = ""  # "read 3 of 5 documents"
    fraction: float = 0.0  # never goes back

    def update(self, event: Event) -> tuple[float, str] | None:
        if event.stage == "plan" and event.total:
            self.documents = f"read {event.done:,} of {event.total:,} documents"
            moved = 0.05 + 0.25 * event.done / event.total, f"Reading the documents: {self.documents}"
        elif event.stage == "embed" and event.total:
            done = min(1.0, event.done / max(event.total, 1))
            moved = 0.3 + 0.6 * done, f"{self.documents} · {event.message}".strip(" ·").capitalize()
        elif event.stage == "write":
            moved = 0.95, f"{event.message.capitalize()}…"
        elif event.stage in ("plan", "embed"):
            moved = 0.05, event.message[:1].upper() + event.message[1:]
        else:
            return None
        self.fraction = max(self.fraction, moved[0])
        return self.fraction, moved[1]


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


@dataclass
class Warned:
    """A document indexed with a warning (a few bytes that are not UTF-8, replaced)."""
    source: str
    warning: str


def carried_warnings(previous, kept) -> list[Warned]:
    """The warnings a previous build's manifest recorded for documents kept unchanged."""
    found = [] if previous is None else previous.warnings
    return [Warned(w["source"], w["warning"]) for w in found if w.get("source") in kept]


@dataclass
class BuildReport:
    index_dir: Path
    build: Path
    documents: int
    passages: int
    sentences: int
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[Warned] = field(default_factory=list)  # every indexed document's, kept ones too
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
            "warnings": [w.__dict__ for w in self.warnings],
        }


def read_passages(path: Path, source: str, settings: Settings) -> tuple[list[Passage], str, str, tuple[int, ...]]:
    """(passages, kind, text, where each PDF page starts in it) of one file; raises SkipFile.

    PDF passages carry the page they start on. Short paragraphs are not merged across a page
    break (a passage crosses one only where a paragraph does), so the page is that of the text."""
    doc = read_document(path, settings)
    structure = parse(doc.text, path.name, doc.code)
    if doc.pages:
        structure.dropped.extend((Span(at, at, ""), "page break") for at in doc.pages[1:])
    found = make_passages(doc.text, structure, source, settings.max_chars, settings.min_chars,
                          settings.max_document_passages)
    if not found:
        raise SkipFile("no passages: only headings or page boilerplate were found")
    if doc.pages:
        found = [replace(p, page=doc.page_at(p.start)) for p in found]
    return found, doc.kind, doc.text, tuple(doc.pages or ())


def read_or_skip(f: Path, source: str, settings: Settings, skipped: list[Skipped],
                 on_event: Callable[[Event], None], warned: list[Warned]):
    """read_passages(...), or None after recording and reporting why the file is skipped (one
    file that cannot be read never stops the ingest). What decoding warns about (a few bytes
    that are not UTF-8, replaced) is reported as a "warning" event and recorded in `warned`."""
    problem = read_problem(f)
    if problem:
        record_skip(skipped, source, problem, on_event)
        return None
    try:
        read = read_passages(f, source, settings)
    except SkipFile as why:
        record_skip(skipped, source, str(why), on_event)
        return None
    except OSError as err:  # made unreadable or removed while it was being read
        why = read_problem(f) or f"cannot be read ({err.strerror or err})"
        record_skip(skipped, source, why, on_event)
        return None
    for warning in getattr(read[2], "warnings", ()):
        on_event(Event("warning", f"{source}: {warning}"))
        warned.append(Warned(source, warning))
    return read


def record_skip(skipped: list[Skipped], source: str, reason: str, on_event: Callable[[Event], None]) -> None:
    """Record that a file (or folder) is skipped, and report it as a "skipped" event."""
    skipped.append(Skipped(source, reason))
    on_event(Event("skipped", f"skipped {source}: {reason}"))


class Embedding:
    """Embeds fresh documents in batches (`embedding.embed_passages`), reporting passages per
    second and the time left."""

    def __init__(self, embedder, settings: Settings, total: int, on_event, progress: bool):
        self.embedder, self.settings, self.total = embedder, settings, total
        self.on_event, self.progress = on_event, progress
        self.done = self.sentences = 0
        self.started = time.perf_counter()

    def __call__(self, documents: list[SegmentDocument]) -> None:
        passages = [p for d in documents for p in d.passages]
        pv, sv = embed_passages(self.embedder, passages, self.settings)
        p_at = s_at = 0
        for d in documents:
            n_sentences = sum(len(p.sentences) for p in d.passages)
            d.passage_vectors = pv[p_at:p_at + len(d.passages)]
            d.sentence_vectors = sv[s_at:s_at + n_sentences]
            p_at, s_at = p_at + len(d.passages), s_at + n_sentences
        self.done += len(passages)
        self.sentences += len(sv)
        self.report()

    def report(self) -> None:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else 0.0
        message = (f"embedded {self.done:,} of {self.total:,} passages · {rate:,.0f} passages/s · "
                   f"{duration(left)} left")
        self.on_event(Event("embed", message, self.done, self.total))
        if self.progress:
            end = "\n" if self.done >= self.total else ""
            print(f"\r{message}   ", end=end, file=sys.stderr, flush=True)


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:.0f} s"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:.0f} min"

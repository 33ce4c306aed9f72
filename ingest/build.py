"""The ingest pipeline: files -> structure -> passages -> vectors -> index folder."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from . import store
from .embed import load_embedder
from .passages import Passage, make_passages
from .read import SkipFile, discover, fingerprint, read_text, relative
from .settings import Settings
from .structure import parse


class IngestError(Exception):
    """Ingest cannot produce an index; the message says what to do."""


@dataclass
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


def passage_text_for_embedding(p: Passage, embed_context: bool) -> str:
    text = " ".join(p.text.split())
    if embed_context and p.context():
        return f"{p.context()}: {text}"
    return text


def sentence_texts(p: Passage) -> list[str]:
    return [" ".join(p.text[s - p.start : e - p.start].split()) for s, e in p.sentences]


def collect_passages(
    paths: list[Path], settings: Settings, echo: Callable[[str], None]
) -> tuple[Path, list[Path], list[Passage], list[Skipped]]:
    root, files = discover(paths)
    passages: list[Passage] = []
    skipped: list[Skipped] = []
    for f in files:
        source = relative(root, f)
        try:
            text = read_text(f)
            structure = parse(text, f.name)
            found = make_passages(text, structure, source, settings.max_chars, settings.min_chars)
            if not found:
                raise SkipFile("no passages: only headings or page boilerplate were found")
        except SkipFile as why:
            skipped.append(Skipped(source, str(why)))
            echo(f"skipped {source}: {why}")
            continue
        passages.extend(found)
    return root, files, passages, skipped


def build_index(
    paths: list[Path],
    index_dir: Path,
    settings: Settings | None = None,
    echo: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    progress: bool = True,
) -> BuildReport:
    """Build the index for the documents under `paths` and make it the one `index_dir` serves."""
    settings = settings or Settings.from_env()
    started = time.perf_counter()
    index_dir = Path(index_dir)
    with store.write_lock(index_dir):
        root, files, passages, skipped = collect_passages(paths, settings, echo)
        if not passages:
            raise IngestError(
                f"No passages found under {', '.join(str(p) for p in paths)}: add .txt or .md "
                "files with some text (skipped: "
                + (", ".join(f"{s.source} ({s.reason})" for s in skipped) or "none") + ")."
            )
        embedder = load_embedder(settings.model_path())
        echo(f"embedding {len(passages)} passages from {len(files) - len(skipped)} documents")
        passage_vectors = embedder.encode(
            [passage_text_for_embedding(p, settings.embed_context) for p in passages],
            progress=progress,
        )
        sentences = [s for p in passages for s in sentence_texts(p)]
        sentence_vectors = embedder.encode(sentences, progress=progress)
        manifest = {
            "format_version": store.FORMAT_VERSION,
            "model": settings.model,
            "model_path": settings.model_path(),
            "dimension": embedder.dimension,
            "settings": settings.index_settings(),
            "corpus": {
                "root": str(root),
                "paths": [str(Path(p).resolve()) for p in paths],
                "files": fingerprint(root, files),
            },
            "skipped": [s.__dict__ for s in skipped],
            "counts": {
                "documents": len(files) - len(skipped),
                "passages": len(passages),
                "sentences": len(sentences),
            },
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        build = store.write_build(
            index_dir, manifest, [p.to_dict() for p in passages], passage_vectors, sentence_vectors
        )
    return BuildReport(
        index_dir=index_dir,
        build=build,
        documents=manifest["counts"]["documents"],
        passages=len(passages),
        sentences=len(sentences),
        skipped=skipped,
        seconds=time.perf_counter() - started,
    )

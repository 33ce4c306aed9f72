"""python -m ingest [PATH ...] [--index-dir DIR] [--model NAME]: build the search index."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .build import IngestError, build_index
from .embed import ModelError
from .settings import DEFAULT_CORPUS, DEFAULT_INDEX, Settings, describe
from .store import IngestBusy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Read .txt and .md documents, cut them into passages, embed them and write "
        "the index folder (atomically: the previous index keeps serving until the new one is complete).",
        epilog="Settings (environment variables ESSAYS_<NAME>): "
        + "; ".join(f"{n} (default {d!r}): {h}" for n, d, h in describe()),
    )
    parser.add_argument("paths", nargs="*", type=Path, help=f"files or folders (default: {DEFAULT_CORPUS})")
    parser.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX, help="where to write the index (default: index/)")
    parser.add_argument("--model", help="embedding model: 'bundled', a local folder or a cached model name")
    parser.add_argument("--json", action="store_true", help="print a summary as one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    settings = Settings.from_env(model=args.model)
    paths = args.paths or [DEFAULT_CORPUS]
    try:
        report = build_index(paths, args.index_dir, settings, progress=not args.quiet)
    except (IngestError, IngestBusy, ModelError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({
            "index_dir": str(report.index_dir), "build": str(report.build),
            "documents": report.documents, "passages": report.passages,
            "sentences": report.sentences, "seconds": round(report.seconds, 2),
            "skipped": [s.__dict__ for s in report.skipped],
        }))
    else:
        print(f"indexed {report.documents} documents, {report.passages} passages "
              f"in {report.seconds:.1f} s -> {report.index_dir}")
        for s in report.skipped:
            print(f"  skipped {s.source}: {s.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

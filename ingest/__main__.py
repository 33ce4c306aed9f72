"""python -m ingest [PATH ...] [--index-dir DIR] [--model NAME] [--full] [--json]: build the index.
python -m ingest --verify [--index-dir DIR]: check every file of the index against its checksum.

Incremental: only new and changed documents are read and embedded; --full embeds them all."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.errors import EssaysError, SettingsError
from core.settings import DEFAULT_CORPUS, Settings, describe

from .build import build_index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Read documents (.txt, .md, .html/.htm, .pdf, .docx), cut them into passages, "
        "embed them and write the index folder (atomically: the previous index keeps serving until "
        "the new one is complete). Only new and changed documents are embedded again; the passages "
        "of deleted documents are removed.",
        epilog="Settings (environment variables ESSAYS_<NAME>): "
        + "; ".join(f"{n} (default {d!r}): {h}" for n, d, h in describe()),
    )
    parser.add_argument("paths", nargs="*", type=Path, help=f"files or folders (default: {DEFAULT_CORPUS})")
    parser.add_argument("--index-dir", type=Path, default=None,
                        help="where to write the index (default: the index_dir setting, else index/)")
    parser.add_argument("--model", help="embedding model: 'bundled', a local folder or a cached model name")
    parser.add_argument("--store", default=None,
                        help="write to a Milvus collection instead, milvus://HOST:PORT/COLLECTION "
                        "(default: the store setting, else the index folder)")
    parser.add_argument("--full", action="store_true",
                        help="embed every document again instead of reusing the unchanged ones")
    parser.add_argument("--json", action="store_true",
                        help="print a summary as one JSON object (documents added, changed, removed, "
                        "unchanged; passages embedded)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--verify", action="store_true",
                        help="build nothing: check every file of the current index against the "
                        "sha256 its manifest records (loading checks segments over 256 MB by size "
                        "and shape only)")
    args = parser.parse_args(argv)
    if args.verify:
        return verify(args)

    paths = args.paths or [DEFAULT_CORPUS]
    try:
        settings = Settings.from_env(model=args.model, store=args.store)
        index_dir = args.index_dir or settings.index_folder()
        report = build_index(paths, index_dir, settings, progress=not args.quiet, full=args.full)
    except SettingsError as err:  # a usage error, as on the search command line
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (EssaysError, OSError) as err:  # OSError: missing path, disk full
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report.summary(), ensure_ascii=False))
    else:
        c = report.changes.counts()
        how = (f"{report.passages_embedded} embedded, the rest reused" if report.incremental
               else f"all embedded: {report.full_reason}")
        print(f"indexed {report.documents} documents, {report.passages} passages "
              f"in {report.seconds:.1f} s -> {settings.store or report.index_dir}")
        print(f"  documents: {c['added']} added, {c['changed']} changed, {c['removed']} removed, "
              f"{c['unchanged']} unchanged; passages: {how}")
        for s in report.skipped:
            print(f"  skipped {s.source}: {s.reason}")
        for w in report.warnings:
            print(f"  warning {w.source}: {w.warning}")
    return 0


def verify(args) -> int:
    """--verify: every file of the current build read and checked; 1 when any is wrong."""
    from core import index_format as fmt

    try:
        index_dir = args.index_dir or Settings.from_env().index_folder()
        build, wrong, read = fmt.verify_build(index_dir)
    except (EssaysError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if wrong:
        for problem in wrong:
            print(f"damaged: {problem}", file=sys.stderr)
        print(f"error: the index in {index_dir} is damaged. {fmt.rebuild_hint(index_dir)} --full",
              file=sys.stderr)
        return 1
    print(f"verified {read / 1e6:,.1f} MB of {build}: every file matches its checksum")
    return 0


if __name__ == "__main__":
    sys.exit(main())

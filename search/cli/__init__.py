"""python -m search: ask the essays from the command line. One parser with subcommands:

    python -m search "QUESTION" [--top-k N] [--json] [--source FILE]   (the same as: ask "QUESTION")
    python -m search - [--json]                 one question per line on standard input
    python -m search eval FILE.jsonl [--offtopic FILE.jsonl] [--verbose] [--compare ...] [--json]
    python -m search themes [--themes N] [--json]
    python -m search theme "PHRASE" [--top-k N] [--json]
    python -m search like SOURCE:PARAGRAPH|ID [--top-k N] [--json]

Arguments are checked before anything is loaded (an empty question exits 2 at once); errors
from the library are printed as their fix-it message ("error: …", exit 1), never a traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import EssaysError, SettingsError
from core.settings import Settings

from . import ask, evaluate, themes

EXIT_USAGE = 2
COMMANDS = {"ask": ask, "eval": evaluate, "themes": themes.map_command,
            "theme": themes.theme_command, "like": themes.like_command}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m search",
        description="Find the passages that answer a question, quoted word for word with citations. "
        "A question on its own is the same as 'ask QUESTION'.",
    )
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.arguments(command)
        common(command)
    return top


def common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (one object per question)")
    parser.add_argument("--index-dir", type=Path, default=None,
                        help="index folder (default: the index_dir setting, else index/)")
    parser.add_argument("--model", default=None, help="embedding model (default: the bundled all-MiniLM-L6-v2)")
    parser.add_argument("--store", default=None,
                        help="search a Milvus collection, milvus://HOST:PORT/COLLECTION (default: the "
                        "store setting, else the index folder)")
    parser.add_argument("--no-rebuild", action="store_true",
                        help="fail instead of rebuilding a missing or out-of-date index")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv.insert(0, "ask")  # python -m search "QUESTION": the question is the command
    args = parser().parse_args(argv)
    module = COMMANDS[args.command]
    try:
        problem = module.check(args)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return EXIT_USAGE
        return module.run(args)
    except SettingsError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (EssaysError, OSError) as err:  # OSError: a missing corpus folder, a full disk
        print(f"error: {err}", file=sys.stderr)
        return 1


def open_searcher(args):
    """The Searcher the arguments name (building the index unless --no-rebuild)."""
    from ..searcher import open_searcher as open_

    settings = Settings.from_env(model=args.model, store=args.store)
    return open_(args.index_dir, settings, rebuild=not args.no_rebuild)

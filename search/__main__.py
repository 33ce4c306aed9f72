"""python -m search: ask the essays from the command line.

    python -m search "QUESTION" [--top-k N] [--json] [--index-dir DIR]
    python -m search - [--json]               one question per line on standard input
    python -m search eval FILE.jsonl [--offtopic FILE.jsonl] [--verbose] [--json]
    python -m search themes | theme "PHRASE" | like SOURCE:PARAGRAPH   (see search/cli_themes.py)
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from ingest import IngestError
from ingest.embed import ModelError
from ingest.settings import DEFAULT_INDEX, Settings
from ingest.store import IngestBusy

from . import cite
from .api import Answer, EmptyQuestion, open_searcher
from .index import IndexProblem

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "eval":
        return eval_main(argv[1:])
    if argv and argv[0] in ("themes", "theme", "like"):
        from .cli_themes import main as themes_main

        return themes_main(argv[0], argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m search",
        description="Find the passages that answer a question, quoted word for word with citations. "
        "Also: 'python -m search eval FILE.jsonl' measures retrieval quality.",
    )
    parser.add_argument("question", help="the question, or - to read one question per line from standard input")
    _common(parser)
    parser.add_argument("--top-k", type=int, default=None, help="number of results (default 5)")
    parser.add_argument("--source", action="append", default=None, metavar="FILE",
                        help="only passages from this document (its path as listed in results; repeatable)")
    args = parser.parse_args(argv)
    if args.top_k is not None and args.top_k < 1:
        parser.error("--top-k must be at least 1")
    searcher = _open(args)
    if searcher is None:
        return 1
    known = {source for source, _ in searcher.documents()}
    unknown = [s for s in args.source or [] if s not in known]
    if unknown:
        print(f"error: no document {', '.join(unknown)} in the index; documents: {', '.join(sorted(known))}",
              file=sys.stderr)
        return EXIT_USAGE
    if args.question == "-":
        status = 0
        for line in sys.stdin:
            if not line.strip():
                continue
            status = max(status, _answer(searcher, line.strip(), args))
        return status
    return _answer(searcher, args.question, args)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (one object per question)")
    parser.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX, help="index folder (default: index/)")
    parser.add_argument("--model", default=None, help="embedding model (default: the bundled all-MiniLM-L6-v2)")
    parser.add_argument("--no-rebuild", action="store_true",
                        help="fail instead of rebuilding a missing or out-of-date index")


def _open(args):
    settings = Settings.from_env(model=args.model)
    try:
        return open_searcher(args.index_dir, settings, rebuild=not args.no_rebuild)
    except (IndexProblem, IngestError, IngestBusy, ModelError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return None


def _answer(searcher, question: str, args) -> int:
    try:
        answer = searcher.search(question, args.top_k, sources=args.source)
    except EmptyQuestion as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
    else:
        print(format_answer(answer))
    return 0


def format_answer(answer: Answer) -> str:
    lines = [f"Q: {answer.question}"]
    if not answer.answered:
        lines.append(f"  {answer.notice}")
    for r in answer.results:
        lines.append("")
        lines.append(f"{r.rank}. [{r.confidence} match, score {r.score:.2f}] {cite.where(r.passage)}")
        lines.append(textwrap.fill(f"“{r.quote}”", width=100, initial_indent="   ", subsequent_indent="    "))
        if r.quote != r.text:
            lines.append(textwrap.fill(r.text, width=100, initial_indent="   ", subsequent_indent="   "))
    return "\n".join(lines)


def eval_main(argv: list[str]) -> int:
    from .evaluate import evaluate, format_rows, format_table, load_questions

    parser = argparse.ArgumentParser(prog="python -m search eval",
                                     description="Measure retrieval quality on a question set.")
    parser.add_argument("questions", type=Path, help="JSON Lines: {\"q\": ..., \"gold\": [...]}")
    parser.add_argument("--offtopic", type=Path, help="JSON Lines of questions the corpus cannot answer")
    parser.add_argument("--verbose", action="store_true", help="a row per question: rank of the first hit, top quote")
    parser.add_argument("--compare", action="append", default=[], metavar="NAME:SETTING=VALUE,...",
                        help="also evaluate with other query settings, e.g. 'dense-only:sentence_weight=0,bm25_weight=0' (repeatable)")
    _common(parser)
    args = parser.parse_args(argv)
    try:
        questions = load_questions(args.questions)
        offtopic = load_questions(args.offtopic) if args.offtopic else None
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    searcher = _open(args)
    if searcher is None:
        return 1
    variants = [("default", searcher)]
    for spec in args.compare:
        try:
            variants.append(_variant(searcher, spec))
        except (ValueError, TypeError) as err:
            print(f"error: bad --compare {spec!r}: {err}", file=sys.stderr)
            return EXIT_USAGE
    reports = [evaluate(s, questions, offtopic, name) for name, s in variants]
    if args.json:
        print(json.dumps({"reports": [r.to_json(args.verbose) for r in reports]}, ensure_ascii=False))
        return 0
    print(format_table(reports))
    if args.verbose:
        for r in reports:
            print(f"\n[{r.name}]\n{format_rows(r)}")
    return 0


def _variant(searcher, spec: str):
    name, _, assignments = spec.partition(":")
    if not assignments:
        raise ValueError("expected NAME:SETTING=VALUE,...")
    changes = {}
    for pair in assignments.split(","):
        key, _, value = pair.partition("=")
        current = getattr(searcher.settings, key.strip())
        changes[key.strip()] = type(current)(value)
    return name, searcher.with_settings(**changes)


if __name__ == "__main__":
    sys.exit(main())

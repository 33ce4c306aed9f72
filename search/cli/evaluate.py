"""python -m search eval FILE.jsonl: retrieval quality on a question set, with --compare to
try other query-time settings on the same loaded index."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from core.settings import Settings, parse

from ..evaluate import evaluate, format_rows, format_table, load_questions

HELP = "measure retrieval quality on a question set"


def arguments(parser) -> None:
    parser.add_argument("questions", type=Path, help="JSON Lines: {\"q\": ..., \"gold\": [...]}")
    parser.add_argument("--offtopic", type=Path, help="JSON Lines of questions the corpus cannot answer")
    parser.add_argument("--verbose", action="store_true", help="a row per question: rank of the first hit, top quote")
    parser.add_argument("--compare", action="append", default=[], metavar="NAME:SETTING=VALUE,...",
                        help="also evaluate with other query settings, e.g. "
                        "'dense-only:sentence_weight=0,bm25_weight=0' (repeatable)")


def check(args) -> str:
    try:
        args.loaded = load_questions(args.questions), (load_questions(args.offtopic) if args.offtopic else None)
        args.variants = [variant(spec) for spec in args.compare]
    except (OSError, ValueError) as err:
        return str(err)
    return ""


def variant(spec: str) -> tuple[str, dict]:
    """('NAME', {setting: value}) from 'NAME:SETTING=VALUE,...'; ValueError when malformed."""
    name, _, assignments = spec.partition(":")
    if not assignments:
        raise ValueError(f"bad --compare {spec!r}: expected NAME:SETTING=VALUE,...")
    kinds = {f.name: type(f.default) for f in dataclasses.fields(Settings)}
    changes = {}
    for pair in assignments.split(","):
        key, _, value = (part.strip() for part in pair.partition("="))
        if key not in kinds:
            raise ValueError(f"bad --compare {spec!r}: {key!r} is not a setting")
        changes[key] = parse(key, value, kinds[key])
    return name, changes


def run(args) -> int:
    from . import open_searcher

    searcher = open_searcher(args)
    questions, offtopic = args.loaded
    variants = [("default", searcher)] + [(name, searcher.with_settings(**changes))
                                          for name, changes in args.variants]
    reports = [evaluate(s, questions, offtopic, name) for name, s in variants]
    if args.json:
        print(json.dumps({"reports": [r.to_json(args.verbose) for r in reports]}, ensure_ascii=False))
        return 0
    print(format_table(reports))
    if args.verbose:
        for r in reports:
            print(f"\n[{r.name}]\n{format_rows(r)}")
    return 0

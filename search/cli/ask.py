"""python -m search [ask] "QUESTION" | -: answers with quotes and citation lines, or JSON."""
from __future__ import annotations

import sys
import textwrap

from core.errors import EmptyQuestion
from workshop import cite

from ..searcher import Answer, clean_question
from .output import emit

HELP = "answer a question (or - : one question per line on standard input)"


def arguments(parser) -> None:
    parser.add_argument("question", help="the question, or - to read one question per line from standard input")
    parser.add_argument("--top-k", type=int, default=None, help="number of results (default 5)")
    parser.add_argument("--source", action="append", default=None, metavar="FILE",
                        help="only passages from this document (its path as listed in results; repeatable)")


def check(args) -> str:
    if args.top_k is not None and args.top_k < 1:
        return "--top-k must be at least 1"
    if args.question != "-":
        try:
            clean_question(args.question, 1)
        except EmptyQuestion as err:
            return str(err)
    return ""


def run(args) -> int:
    from . import open_searcher

    searcher = open_searcher(args)
    known = {source for source, _ in searcher.documents()}
    unknown = [s for s in args.source or [] if s not in known]
    if unknown:
        print(f"error: no document {', '.join(unknown)} in the index; documents: {', '.join(sorted(known))}",
              file=sys.stderr)
        return 2
    if args.question != "-":
        return answer(searcher, args.question, args)
    status = 0
    for n, raw in enumerate(sys.stdin.buffer, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            print(f"error: line {n} of the input is not UTF-8 (byte {err.start + 1}); it was skipped",
                  file=sys.stderr)
            status = max(status, 1)
            continue
        if line.strip():
            status = max(status, answer(searcher, line.strip(), args))
    return status


def answer(searcher, question: str, args) -> int:
    try:
        found = searcher.search(question, args.top_k, sources=args.source)
    except EmptyQuestion as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return emit(args, found.to_json(), format_answer(found))


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

"""python -m search themes | theme "PHRASE" | like SOURCE:PARAGRAPH: the theme map, passages on
a theme across every essay, and passages like one passage."""
from __future__ import annotations

import sys
import textwrap

from core.errors import EmptyQuestion
from workshop import cite

from .. import themes
from ..searcher import clean_question
from .output import emit

THEME_TOP_K = 10


def positive_top_k(args) -> str:
    return "--top-k must be at least 1" if args.top_k < 1 else ""


class map_command:
    HELP = "list the themes of the essays: label, size, essays spanned, representative quotes"

    @staticmethod
    def arguments(parser) -> None:
        parser.add_argument("--themes", type=int, default=None, metavar="N",
                            help="number of themes (default: the 'themes' setting; 0 chooses by silhouette)")

    @staticmethod
    def check(args) -> str:
        return "--themes must be 0 (automatic) or more" if args.themes is not None and args.themes < 0 else ""

    @staticmethod
    def run(args) -> int:
        from . import open_searcher

        searcher = open_searcher(args)
        found = themes.theme_map(searcher, args.themes)
        return emit(args, map_json(searcher, found), format_map(searcher, found))


class theme_command:
    HELP = "passages on a theme from every essay that treats it, grouped by essay"

    @staticmethod
    def arguments(parser) -> None:
        parser.add_argument("phrase", help="a theme word or phrase, e.g. 'trust' or 'healing after hurt'")
        parser.add_argument("--top-k", type=int, default=THEME_TOP_K, help=f"number of passages (default {THEME_TOP_K})")

    @staticmethod
    def check(args) -> str:
        try:
            clean_question(args.phrase, 1, "theme")
        except EmptyQuestion as err:
            return str(err)
        return positive_top_k(args)

    @staticmethod
    def run(args) -> int:
        from . import open_searcher

        found = themes.theme_search(open_searcher(args), args.phrase, args.top_k)
        return emit(args, found.to_json(), format_search(found))


class like_command:
    HELP = "passages most like one passage (itself and near-duplicates left out)"

    @staticmethod
    def arguments(parser) -> None:
        parser.add_argument("passage", help="SOURCE:PARAGRAPH (e.g. essay.txt:3) or a passage id")
        parser.add_argument("--top-k", type=int, default=5, help="number of passages (default 5)")

    check = staticmethod(positive_top_k)

    @staticmethod
    def run(args) -> int:
        from . import open_searcher

        try:
            similar = themes.more_like_this(open_searcher(args), args.passage, args.top_k)
        except LookupError as err:
            print(f"error: {err.args[0]}", file=sys.stderr)
            return 2
        return emit(args, similar.to_json(), format_similar(similar))


def map_json(searcher, found: themes.ThemeMap) -> dict:
    passages = searcher.passages
    out = found.to_json()
    del out["assignment"]
    for theme in out["themes"]:
        del theme["rows"]
        for q in theme["quotes"]:
            p = passages[q.pop("row")]
            q.update(source=p.source, paragraph=p.paragraph, where=cite.where(p))
    out["passages"] = len(passages)
    return out


def _wrap(text: str, indent: str = "   ") -> str:
    return textwrap.fill(" ".join(text.split()), width=100, initial_indent=indent, subsequent_indent=indent + " ")


def format_map(searcher, found: themes.ThemeMap) -> str:
    how = ("chosen by silhouette" if found.chosen_by == "silhouette" else "set by the 'themes' setting")
    lines = [f"{len(found.themes)} themes over {len(searcher.passages)} passages ({how})"]
    for t in found.themes:
        essays = ", ".join(f"{source} ({n})" for source, n in t.sources)
        lines += ["", f"{t.id}. {t.label} — {t.size} passages, {len(t.sources)} essays: {essays}"]
        for q in t.quotes:
            lines.append(_wrap(f"“{q.text}” — {cite.where(searcher.passages[q.row])}"))
    return "\n".join(lines)


def format_search(found: themes.ThemeSearch) -> str:
    lines = [f"Theme: {found.question}"]
    if not found.answered:
        lines.append(f"  {found.notice}")
    for essay, results in found.groups():
        lines += ["", f"== {essay.title} ({essay.source}): {essay.shown} shown of {essay.matching} on this theme"]
        for r in results:
            lines.append(f"{r.rank}. [{r.confidence} match] {cite.where(r.passage)}")
            lines.append(_wrap(f"“{r.quote or r.text}”"))
    missing = [e.source for e in found.essays if not e.shown]
    if missing:
        lines += ["", f"Not on this theme: {', '.join(missing)}"]
    return "\n".join(lines)


def format_similar(similar: themes.Similar) -> str:
    lines = [f"Like: {cite.where(similar.passage)}", _wrap(similar.passage.text)]
    for r in similar.results:
        lines += ["", f"{r.rank}. [score {r.score:.2f}] {cite.where(r.passage)}", _wrap(f"“{r.quote or r.text}”")]
    return "\n".join(lines)

"""Retrieval quality on question sets: hit@k, MRR@10, nDCG@10, quote hits and abstention.

A question file is JSON Lines: {"q": "...", "gold": ["phrase", ...]}; an off-topic file has
only "q". A result hits when its text contains a gold phrase after normalising case,
whitespace, curly quotes and dashes.
"""
from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .searcher import Answer, Searcher

_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"',
                         "‟": '"', "–": "-", "—": "-", "‒": "-", "―": "-", "‐": "-", "‑": "-",
                         "\u00a0": " "})


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.translate(_QUOTES).lower()).strip()


def hits(text: str, gold: list[str]) -> bool:
    t = normalise(text)
    return any(normalise(g) in t for g in gold)


def load_questions(path: Path) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as handle:
        for n, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    item = json.loads(line)
                    item["q"]
                except (ValueError, KeyError, TypeError) as err:
                    raise ValueError(f"{path}:{n}: not a question object ({err})") from err
                out.append(item)
    return out


@dataclass
class QuestionRow:
    q: str
    first_hit: int | None  # 1-based rank of the first hit within the top 10, None if none
    quote_hit: bool
    answered: bool
    top_quote: str


@dataclass
class Report:
    name: str
    questions: int
    hit1: float
    hit5: float
    mrr10: float
    ndcg10: float
    quote_hit1: float
    false_abstention: float
    distinct_docs5: float = 0.0  # mean number of different documents in the top 5
    redundancy5: float = 0.0  # mean of the highest similarity between two of the top 5
    offtopic: int = 0
    offtopic_abstention: float | None = None
    median_passage_chars: float = 0.0
    rows: list[QuestionRow] = field(default_factory=list)

    def to_json(self, verbose: bool = False) -> dict:
        d = asdict(self)
        if not verbose:
            d.pop("rows")
        return d


def evaluate(searcher: Searcher, questions: list[dict], offtopic: list[dict] | None = None,
             name: str = "default") -> Report:
    rows = []
    docs, redundancy = [], []
    for item in questions:
        answer: Answer = searcher.search(item["q"], k=10)
        top5 = answer.results[:5]
        docs.append(len({r.source for r in top5}))
        vecs = searcher.store.passage_vectors([searcher.row(r.id) for r in top5])
        sims = vecs @ vecs.T - 2 * np.eye(len(top5))
        redundancy.append(float(sims.max()) if len(top5) > 1 else 0.0)
        gold = item.get("gold", [])
        first = next((r.rank for r in answer.results if hits(r.text, gold)), None)
        top = answer.results[0] if answer.results else None
        rows.append(QuestionRow(item["q"], first, bool(top and hits(top.quote, gold)),
                                answer.answered, top.quote if top else ""))
    n = max(1, len(rows))
    # One relevant passage per question is assumed for nDCG (ideal DCG = 1).
    ndcg = sum(1 / math.log2(r.first_hit + 1) for r in rows if r.first_hit) / n
    report = Report(
        name=name,
        questions=len(rows),
        hit1=sum(r.first_hit == 1 for r in rows) / n,
        hit5=sum(bool(r.first_hit and r.first_hit <= 5) for r in rows) / n,
        mrr10=sum(1 / r.first_hit for r in rows if r.first_hit) / n,
        ndcg10=ndcg,
        quote_hit1=sum(r.quote_hit for r in rows) / n,
        false_abstention=sum(not r.answered for r in rows) / n,
        median_passage_chars=searcher.index.memo("median passage chars", lambda: statistics.median(
            len(p.text) for p in searcher.passages)),
        distinct_docs5=sum(docs) / n,
        redundancy5=sum(redundancy) / n,
        rows=rows,
    )
    if offtopic:
        answers = [searcher.search(item["q"], k=10) for item in offtopic]
        report.offtopic = len(answers)
        report.offtopic_abstention = sum(not a.answered for a in answers) / len(answers)
    return report


COLUMNS = [("hit@1", "hit1"), ("hit@5", "hit5"), ("MRR@10", "mrr10"), ("nDCG@10", "ndcg10"),
           ("quote-hit@1", "quote_hit1"), ("off-topic abstention", "offtopic_abstention"),
           ("false abstention", "false_abstention"), ("documents in top 5", "distinct_docs5"),
           ("top-5 redundancy", "redundancy5"), ("median passage chars", "median_passage_chars")]


def format_table(reports: list[Report]) -> str:
    """Metrics as rows, one column per report (settings compared side by side)."""
    width = max(22, *(len(r.name) + 2 for r in reports))
    lines = ["metric".ljust(22) + "".join(r.name.rjust(width) for r in reports)]
    for label, key in COLUMNS:
        cells = []
        for r in reports:
            v = getattr(r, key)
            cells.append(("n/a" if v is None else f"{v:.0f}" if key == "median_passage_chars" else f"{v:.3f}").rjust(width))
        lines.append(label.ljust(22) + "".join(cells))
    lines.append("questions".ljust(22) + "".join(f"{r.questions} (+{r.offtopic} off-topic)".rjust(width) for r in reports))
    return "\n".join(lines)


def format_rows(report: Report) -> str:
    lines = [f"{'rank':>4}  {'quote':5}  question / top quote"]
    for r in report.rows:
        rank = str(r.first_hit) if r.first_hit else "-"
        lines.append(f"{rank:>4}  {'yes' if r.quote_hit else 'no':5}  {r.q}")
        lines.append(f"{'':>4}  {'':5}  » {r.top_quote[:150]}")
    return "\n".join(lines)

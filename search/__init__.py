"""Read side: answer questions from the index with quoted, cited passages."""
from __future__ import annotations

from .api import Answer, Calibration, EmptyQuestion, Result, Searcher, open_searcher
from .index import IndexCorrupt, IndexMismatch, IndexMissing, IndexProblem, IndexStale

_default: Searcher | None = None


def search(question: str, k: int | None = None) -> Answer:
    """Answer a question from the default index (index/ over seeds/), loaded once per process."""
    global _default
    if _default is None:
        _default = open_searcher()
    return _default.search(question, k)


__all__ = ["Answer", "Calibration", "EmptyQuestion", "Result", "Searcher", "open_searcher", "search",
           "IndexCorrupt", "IndexMismatch", "IndexMissing", "IndexProblem", "IndexStale"]

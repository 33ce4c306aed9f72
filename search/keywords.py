"""Keyword relevance (BM25 via bm25s, English stemming), built in memory from the passages."""
from __future__ import annotations

import threading

import numpy as np

from core.text import keyword_terms, keyword_tokens


class KeywordIndex:
    def __init__(self, texts: list[str]):
        import bm25s

        self.lock = threading.Lock()
        self.bm25 = bm25s.BM25()
        self.bm25.index(keyword_tokens(texts), show_progress=False)
        self.size = len(texts)
        self.terms = [set(keyword_terms(t)) for t in texts]
        df: dict[str, int] = {}
        for ts in self.terms:
            for t in ts:
                df[t] = df.get(t, 0) + 1
        self.idf = {t: np.log(1 + self.size / n) for t, n in df.items()}
        self.unknown_idf = float(np.log(1 + self.size))

    def coverage(self, query: str, rows) -> np.ndarray:
        """For each passage row, the idf-weighted share of the query's words it contains."""
        qterms = set(keyword_terms(query))
        if not qterms:
            return np.zeros(len(rows))
        weight = {t: self.idf.get(t, self.unknown_idf) for t in qterms}
        total = sum(weight.values())
        return np.array([sum(w for t, w in weight.items() if t in self.terms[r]) / total for r in rows])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for the query (zeros when no query word is indexed)."""
        tokens = keyword_terms(query)
        vocab = self.bm25.vocab_dict
        known = [t for t in tokens if t in vocab]
        if not known:
            return np.zeros(self.size, dtype="float64")
        with self.lock:
            return np.asarray(self.bm25.get_scores(known), dtype="float64")

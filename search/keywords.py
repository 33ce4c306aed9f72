"""Keyword relevance (BM25 via bm25s, English stemming), built in memory from the passages."""
from __future__ import annotations

import threading

import bm25s
import numpy as np
import Stemmer

_STEMMER = Stemmer.Stemmer("english")


def terms(text: str) -> list[str]:
    """Stemmed content words, as the keyword index sees them."""
    return bm25s.tokenize([text], stopwords="en", stemmer=_STEMMER, return_ids=False,
                          show_progress=False)[0]


class KeywordIndex:
    def __init__(self, texts: list[str]):
        self._lock = threading.Lock()
        self.bm25 = bm25s.BM25()
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, show_progress=False)
        self.bm25.index(tokens, show_progress=False)
        self.size = len(texts)
        self._terms = [set(terms(t)) for t in texts]
        df: dict[str, int] = {}
        for ts in self._terms:
            for t in ts:
                df[t] = df.get(t, 0) + 1
        self._idf = {t: np.log(1 + self.size / n) for t, n in df.items()}
        self._unknown_idf = float(np.log(1 + self.size))

    def coverage(self, query: str, rows) -> np.ndarray:
        """For each passage row, the idf-weighted share of the query's words it contains."""
        qterms = set(terms(query))
        if not qterms:
            return np.zeros(len(rows))
        weight = {t: self._idf.get(t, self._unknown_idf) for t in qterms}
        total = sum(weight.values())
        return np.array([sum(w for t, w in weight.items() if t in self._terms[r]) / total for r in rows])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for the query (zeros when no query word is indexed)."""
        tokens = terms(query)
        vocab = self.bm25.vocab_dict
        known = [t for t in tokens if t in vocab]
        if not known:
            return np.zeros(self.size, dtype="float64")
        with self._lock:
            return np.asarray(self.bm25.get_scores(known), dtype="float64")

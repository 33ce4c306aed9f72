"""Keyword relevance (BM25 via bm25s, English stemming), built in memory from the passages."""
from __future__ import annotations

import threading

import bm25s
import numpy as np
import Stemmer

_STEMMER = Stemmer.Stemmer("english")


class KeywordIndex:
    def __init__(self, texts: list[str]):
        self._lock = threading.Lock()
        self.bm25 = bm25s.BM25()
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, show_progress=False)
        self.bm25.index(tokens, show_progress=False)
        self.size = len(texts)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for the query (zeros when no query word is indexed)."""
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=_STEMMER, return_ids=False,
                                show_progress=False)[0]
        vocab = self.bm25.vocab_dict
        known = [t for t in tokens if t in vocab]
        if not known:
            return np.zeros(self.size, dtype="float64")
        with self._lock:
            return np.asarray(self.bm25.get_scores(known), dtype="float64")

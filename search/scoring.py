"""The one scoring step, used by question search, theme search and more-like-this alike.

Candidates first, exact scoring after: each signal finds its own candidates with the index made
for it (passage vectors and sentence vectors through each segment's FAISS index, keywords
through the BM25 postings), and only the union of candidates is scored exactly (dense passage
similarity, best sentence, BM25 scaled by the best keyword match) and fused. With `candidates`
0 every passage is a candidate: exact scoring, which the candidates reproduce on small corpora
(a test compares them) and approximate on large ones (recall measured by bench/scale.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.text import keyword_terms

from .keywords import Postings
from .rank import weighted_sum

SENTENCE_CANDIDATES = 3  # sentences searched per passage candidate (a passage has several)


@dataclass(frozen=True)
class Scores:
    """One query's scores over its candidate passages (`rows`, ascending)."""

    query: str  # the question as matched (typos repaired)
    rows: np.ndarray  # candidate passage rows
    dense: np.ndarray  # passage vector . query vector
    sentence: np.ndarray  # the best sentence of each candidate
    bm25: np.ndarray  # BM25, scaled so that the best passage that may be returned has 1
    sentence_sims: list[np.ndarray]  # each candidate's sentences . query vector
    postings: Postings  # of the query's keywords (for the evidence)

    def fused(self, settings) -> np.ndarray:
        """The weighted sum the ranking orders by."""
        return weighted_sum({"dense": self.dense, "sentence": self.sentence, "bm25": self.bm25},
                            {"dense": settings.dense_weight, "sentence": settings.sentence_weight,
                             "bm25": settings.bm25_weight})


def candidates(store, keywords, query: str, vector: np.ndarray, n: int,
               allowed: np.ndarray | None, nprobe: int) -> tuple[np.ndarray, np.ndarray, float, Postings]:
    """(positions to score, their BM25, the best BM25 of a position that may be returned, the
    query's postings)."""
    postings = keywords.postings(keyword_terms(query))
    if n <= 0 or n >= len(store):
        found = np.arange(store.total) if allowed is None else np.flatnonzero(allowed)
        bm25 = keywords.scores(query, postings, allowed)
        if bm25 is None:
            return found, np.zeros(len(found)), 0.0, postings
        return found, bm25[found], float(bm25.max()), postings
    keyword_best, keyword_scores = keywords.top(query, postings, n, allowed)
    parts = [store.dense_candidates(vector, n, allowed, nprobe),
             store.sentence_candidates(vector, SENTENCE_CANDIDATES * n, allowed, nprobe), keyword_best]
    found = np.unique(np.concatenate(parts)).astype("int64")
    top = float(keyword_scores.max()) if len(keyword_scores) else 0.0
    return found, keywords.at(query, postings, found), top, postings


def score(store, keywords, query: str, vector: np.ndarray, n: int = 0,
          allowed: np.ndarray | None = None, nprobe: int = 16) -> Scores:
    """The scores of the candidate passages for `query` (already typo-repaired), whose
    embedding is `vector`; `allowed`: the positions that may be returned (see LocalStore)."""
    positions, bm25, top, postings = candidates(store, keywords, query, vector, n, allowed, nprobe)
    rows = store.rows(positions)
    vector = np.asarray(vector, dtype="float32")
    sims = [s @ vector for s in store.sentence_vectors(rows)]
    return Scores(
        query=query, rows=rows,
        dense=(store.passage_vectors(rows) @ vector).astype("float64"),
        sentence=np.array([float(s.max()) if len(s) else -np.inf for s in sims], dtype="float64"),
        bm25=bm25 / top if top > 0 else np.zeros(len(rows)),
        sentence_sims=sims, postings=postings,
    )


def evidence(scores: Scores, keywords, picked, keyword_evidence: float) -> np.ndarray:
    """How closely each of the `picked` candidates (indexes into scores.rows) matches in meaning
    and words: the better of its dense and best-sentence similarity, plus the idf-weighted share
    of the query's words it has."""
    picked = np.asarray(picked, dtype="int64")
    meaning = np.maximum(scores.dense[picked], scores.sentence[picked])
    return meaning + keyword_evidence * keywords.coverage(scores.query, scores.rows[picked], scores.postings)

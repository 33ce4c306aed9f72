"""The one scoring step, used by question search, theme search and more-like-this alike:
every passage's evidence for a query (dense passage similarity, best sentence, keywords),
their weighted fusion, and the evidence a ranked passage shows for "no good answer"."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rank import max_by_owner, scale_by_max, weighted_sum


@dataclass(frozen=True)
class Scores:
    """One query's scores over every passage of a loaded index."""

    query: str  # the question as matched (typos repaired)
    dense: np.ndarray  # passage vector . query vector
    sentence: np.ndarray  # the best sentence of each passage
    bm25: np.ndarray  # BM25, scaled so that the best passage has 1
    sentence_sims: np.ndarray  # every sentence of the index . query vector

    def fused(self, settings) -> np.ndarray:
        """The weighted sum the ranking orders by."""
        return weighted_sum({"dense": self.dense, "sentence": self.sentence, "bm25": self.bm25},
                            {"dense": settings.dense_weight, "sentence": settings.sentence_weight,
                             "bm25": settings.bm25_weight})


def score(index, keywords, query: str, query_vector: np.ndarray) -> Scores:
    """The scores of every passage of `index` for `query` (already typo-repaired), whose
    embedding is `query_vector`."""
    sentence_sims = index.sentence_vectors @ query_vector
    return Scores(
        query=query,
        dense=index.passage_vectors @ query_vector,
        sentence=max_by_owner(sentence_sims, index.sentence_owner, len(index.passages)),
        bm25=scale_by_max(keywords.scores(query)),
        sentence_sims=sentence_sims,
    )


def evidence(scores: Scores, keywords, rows, keyword_evidence: float) -> np.ndarray:
    """How closely each of the passage `rows` matches in meaning and words: the better of its
    dense and best-sentence similarity, plus the idf-weighted share of the query's words it has."""
    rows = np.asarray(rows, dtype="int64")
    meaning = np.maximum(scores.dense[rows], scores.sentence[rows])
    return meaning + keyword_evidence * keywords.coverage(scores.query, rows)

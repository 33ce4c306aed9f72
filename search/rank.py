"""Scoring and fusion as small pure functions over numpy arrays (tested against brute force)."""
from __future__ import annotations

import numpy as np


def weighted_sum(features: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Sum of weight * feature over the named features (missing weights count as 0)."""
    names = [n for n in features if weights.get(n, 0.0)]
    total = np.zeros(len(next(iter(features.values()))), dtype="float64")
    for n in names:
        total += weights[n] * features[n]
    return total


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores, best first; ties broken by lower index."""
    order = np.lexsort((np.arange(len(scores)), -scores))
    return order[:k]


def mmr(scores: np.ndarray, vectors: np.ndarray, k: int, lambda_: float = 0.7) -> list[int]:
    """Maximal marginal relevance: pick by lambda*score - (1-lambda)*max similarity to picks.
    The first pick is always the best-scoring item."""
    chosen: list[int] = []
    candidates = list(range(len(scores)))
    sims = vectors @ vectors.T
    while candidates and len(chosen) < k:
        best, best_value = None, -np.inf
        for c in candidates:
            penalty = max((sims[c, j] for j in chosen), default=0.0)
            value = lambda_ * scores[c] - (1 - lambda_) * penalty
            if value > best_value:
                best, best_value = c, value
        chosen.append(best)
        candidates.remove(best)
    return chosen

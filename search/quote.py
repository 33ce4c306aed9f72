"""Choosing the sentence(s) of a passage that answer the question."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.text import content_words


@dataclass(frozen=True)
class Quote:
    start: int  # absolute offsets into the source file's text
    end: int
    sentences: tuple[int, ...]  # indices into the passage's sentences


def sentence_scores(dense: np.ndarray, overlap: np.ndarray, lexical_weight: float) -> np.ndarray:
    """Each sentence's fitness as an answer: its similarity plus weighted word overlap."""
    return dense + lexical_weight * overlap


def word_overlap(question_words: set[str], sentences: list[str]) -> np.ndarray:
    """Share of the question's content words found in each sentence."""
    if not question_words:
        return np.zeros(len(sentences))
    return np.array(
        [len(question_words & content_words(s)) / len(question_words) for s in sentences]
    )


def choose(scores: np.ndarray, spans: list[tuple[int, int]], max_chars: int = 320,
           extend_within: float = 0.03) -> Quote:
    """The best sentence, joined by a neighbour that scores nearly as well when both fit."""
    best = int(np.argmax(scores))
    chosen = [best]
    for neighbour in (best - 1, best + 1):
        if 0 <= neighbour < len(spans) and scores[neighbour] >= scores[best] - extend_within:
            lo, hi = min(best, neighbour), max(best, neighbour)
            if spans[hi][1] - spans[lo][0] <= max_chars:
                chosen = [lo, hi]
                break
    return Quote(spans[chosen[0]][0], spans[chosen[-1]][1], tuple(chosen))

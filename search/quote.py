"""Choosing the sentence(s) of a passage that answer the question."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"\w+")
_STOP = frozenset(
    "a an and are as at be but by can could did do does doing for from had has have how i if in "
    "into is it its me my of on or our so some than that the their them then there these they "
    "this to up was we were what when where which while who why will with would you your".split()
)


@dataclass(frozen=True)
class Quote:
    start: int  # absolute offsets into the source file's text
    end: int
    sentences: tuple[int, ...]  # indices into the passage's sentences


def content_words(text: str, stem) -> set[str]:
    return {stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def sentence_scores(dense: np.ndarray, overlap: np.ndarray, lexical_weight: float) -> np.ndarray:
    """Each sentence's fitness as an answer: its similarity plus weighted word overlap."""
    return dense + lexical_weight * overlap


def word_overlap(question_words: set[str], sentences: list[str], stem) -> np.ndarray:
    """Share of the question's content words found in each sentence."""
    if not question_words:
        return np.zeros(len(sentences))
    return np.array(
        [len(question_words & content_words(s, stem)) / len(question_words) for s in sentences]
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

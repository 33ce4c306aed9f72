"""Choosing the sentence(s) of a passage that answer the question."""
from __future__ import annotations

import re
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


RESTATES = 0.5  # share of a sentence's words already in the question or heading: a restatement


def leads_on(sentence: str, known_words: set[str]) -> bool:
    """Whether a sentence only leads to its answer: it announces what follows (ends with a
    colon or a question mark) or mostly restates the question or the heading ("Note that the
    coordinate system used in curses is unusual.")."""
    if sentence.rstrip().endswith((":", "?")):
        return True
    words = content_words(sentence)
    return bool(words) and len(words & known_words) / len(words) >= RESTATES


PROMPT = re.compile(r"^\s*(>>>|\.\.\.|\$) ", re.M)  # an interactive session or a shell
SENTENCE_END = re.compile(r"[.!?:;…][\"'”’)\]]*\s*$")
CODE_MARKS = re.compile(r"[=(){}\[\]<>]")
POINTS_BACK = re.compile(r"(This|These|That|Those|Such)\b")  # "This breaks the convention…"


def looks_like_code(text: str) -> bool:
    """Whether a "sentence" is a code block (ingest keeps each whole, after the sentence that
    introduces it): a prompt, indented lines after the first, or symbols without a sentence end."""
    lines = [line for line in text.splitlines() if line.strip()]
    if PROMPT.search(text) or any(line[:1] in " \t" for line in lines[1:]):
        return True
    return not SENTENCE_END.search(text) and bool(CODE_MARKS.search(text))


def choose(scores: np.ndarray, spans: list[tuple[int, int]], max_chars: int = 320,
           extend_within: float = 0.03, leads: list[bool] | None = None,
           texts: list[str] | None = None) -> Quote:
    """The best sentence, with the sentence announcing it when it is what that sentence's colon
    announces (an example, a list's first item) and both fit; an announced code block too long
    for that gives way to its announcement, which says in words what the code shows. A best
    sentence that points back ("This breaks the normal convention…") is quoted with the
    sentence it points to, so that the quote stands on its own. Otherwise the best sentence
    joined by the next one when it only leads on to it (`leads`, one flag per sentence), else
    by a neighbour that scores nearly as well; when both fit. `texts`: the sentences' texts."""
    best = int(np.argmax(scores))
    before, after = best - 1, best + 1

    def quote(lo: int, hi: int) -> Quote | None:
        """Sentences lo..hi as the quote, when they exist and fit."""
        if 0 <= lo and hi < len(spans) and spans[hi][1] - spans[lo][0] <= max_chars:
            return Quote(spans[lo][0], spans[hi][1], tuple(range(lo, hi + 1)))
        return None

    if texts and before >= 0 and texts[before].rstrip().endswith(":"):
        if found := quote(before, best):
            return found
        if looks_like_code(texts[best]):
            return Quote(spans[before][0], spans[before][1], (before,))
    if texts and POINTS_BACK.match(texts[best]) and (found := quote(before, best)):
        return found
    if leads and leads[best] and (found := quote(best, after)):
        return found
    for neighbour in (before, after):
        if 0 <= neighbour < len(spans) and scores[neighbour] >= scores[best] - extend_within:
            if found := quote(min(best, neighbour), max(best, neighbour)):
                return found
    return Quote(spans[best][0], spans[best][1], (best,))

"""Typo repair for questions: words unknown to the corpus are mapped to a corpus word one edit
away (insertion, deletion, substitution or transposition), the most frequent one if several.

Only words of five letters or more are touched, and only when neither the corpus nor the
dictionary knows them (the dictionary is the embedding model's own word list, so real words
such as "taxes" are never "corrected" into corpus words such as "takes").
"""
from __future__ import annotations

from typing import Callable

from core.text import LETTERS

MIN_LENGTH = 5


class Speller:
    """`counts(words)` gives how often each of the words occurs in the corpus (absent: never);
    the corpus is asked only about the words one edit away from a word of the question."""

    def __init__(self, counts: Callable[[list[str]], dict[str, int]],
                 dictionary: set[str] | frozenset[str] = frozenset()):
        self.counts = counts
        self.dictionary = dictionary

    def correct_word(self, word: str) -> str:
        low = word.lower()
        if len(low) < MIN_LENGTH or low in self.dictionary:
            return word
        near = sorted(w for w in edits(low) if len(w) >= MIN_LENGTH - 1)
        known = self.counts([low] + near)
        if low in known:
            return word
        candidates = [c for c in near if c in known]
        if not candidates:
            return word
        best = max(candidates, key=lambda c: (known[c], c))
        return best.capitalize() if word[:1].isupper() else best

    def correct(self, text: str) -> str:
        """The text with unknown words repaired; everything else (spacing, case) kept."""
        return LETTERS.sub(lambda m: self.correct_word(m.group()), text)


def edits(word: str) -> set[str]:
    """Every string one insertion, deletion, substitution or swap away from the word (letters
    a-z and the word's own)."""
    letters = set("abcdefghijklmnopqrstuvwxyz") | set(word)
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return ({a + b[1:] for a, b in splits if b}
            | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b for c in letters}
            | {a + c + b for a, b in splits for c in letters}) - {word}


"""Typo repair for questions: words unknown to the corpus are mapped to a corpus word one edit
away (insertion, deletion, substitution or transposition), the most frequent one if several.

Only words of five letters or more are touched, and only when neither the corpus nor the
dictionary knows them (the dictionary is the embedding model's own word list, so real words
such as "taxes" are never "corrected" into corpus words such as "takes"). A word the dictionary
knows with a common prefix or ending ("subnet", "zeros", "router", "runny") is a word too, a
word in capitals (an acronym such as "VLOOKUP") is left alone, and a repair keeps the first
letter, which people seldom mistype ("mangle" never becomes "angle").
"""
from __future__ import annotations

from typing import Callable

from core.text import LETTERS

MIN_LENGTH = 5
PREFIXES = ("re", "un", "non", "pre", "sub", "over", "under", "out", "mis", "dis", "de", "co",
            "inter", "multi", "super", "self")
ENDINGS = ("s", "es", "ed", "d", "er", "r", "ers", "ing", "ly", "y", "ness", "able", "ful", "less")


class Speller:
    """`counts(words)` gives how often each of the words occurs in the corpus (absent: never);
    the corpus is asked only about the words one edit away from a word of the question."""

    def __init__(self, counts: Callable[[list[str]], dict[str, int]],
                 dictionary: set[str] | frozenset[str] = frozenset()):
        self.counts = counts
        self.dictionary = dictionary

    def correct_word(self, word: str) -> str:
        low = word.lower()
        if len(low) < MIN_LENGTH or word.isupper() or self.is_word(low):
            return word
        near = sorted(w for w in edits(low) if len(w) >= MIN_LENGTH - 1 and w[0] == low[0])
        known = self.counts([low] + near)
        if low in known:
            return word
        candidates = [c for c in near if c in known]
        if not candidates:
            return word
        best = max(candidates, key=lambda c: (known[c], c))
        return best.capitalize() if word[:1].isupper() else best

    def is_word(self, low: str) -> bool:
        """In the dictionary, or a dictionary word of three letters or more with a common
        prefix or ending (a doubled last consonant or a dropped final e allowed)."""
        known = self.dictionary
        if low in known:
            return True
        for end in ENDINGS:
            stem = low[: -len(end)]
            if low.endswith(end) and len(stem) >= 3 and (
                    stem in known or stem + "e" in known or (stem[-1] == stem[-2] and stem[:-1] in known)):
                return True
        return any(low.startswith(p) and len(low) - len(p) >= 3 and low[len(p):] in known for p in PREFIXES)

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


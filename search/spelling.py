"""Typo repair for questions: words unknown to the corpus are mapped to a corpus word one edit
away (insertion, deletion, substitution or transposition), the most frequent one if several.

Only words of five letters or more are touched, and only when neither the corpus nor the
dictionary knows them (the dictionary is the embedding model's own word list, so real words
such as "taxes" are never "corrected" into corpus words such as "takes").
"""
from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
MIN_LENGTH = 5


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def edit_distance_at_most_one(a: str, b: str) -> bool:
    """True when a and b differ by at most one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


class Speller:
    def __init__(self, texts: list[str], dictionary: set[str] | frozenset[str] = frozenset()):
        self.dictionary = dictionary
        self.counts = Counter(w for t in texts for w in _WORD.findall(t.lower()))
        self._by_delete: dict[str, set[str]] = {}
        for word in self.counts:
            if len(word) >= MIN_LENGTH - 1:
                for key in _deletes(word) | {word}:
                    self._by_delete.setdefault(key, set()).add(word)

    def correct_word(self, word: str) -> str:
        low = word.lower()
        if len(low) < MIN_LENGTH or low in self.counts or low in self.dictionary:
            return word
        candidates = set()
        for key in _deletes(low) | {low}:
            candidates |= self._by_delete.get(key, set())
        candidates = [c for c in candidates if edit_distance_at_most_one(low, c)]
        if not candidates:
            return word
        best = max(candidates, key=lambda c: (self.counts[c], c))
        return best.capitalize() if word[:1].isupper() else best

    def correct(self, text: str) -> str:
        """The text with unknown words repaired; everything else (spacing, case) kept."""
        return _WORD.sub(lambda m: self.correct_word(m.group()), text)

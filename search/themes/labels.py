"""Theme labels: the theme's most distinctive words and two-word phrases by class-based
TF-IDF over stemmed words, stop words and corpus-wide words removed, re-ordered by meaning."""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from typing import Callable

import numpy as np

from core.text import LABEL_STOP_WORDS, VAGUE_WORDS, stem

from .cluster import centroids, normalise

CORPUS_WIDE = 0.25  # a word in more than this share of passages labels nothing
LABEL_TERMS = 3
MEANING_WEIGHT = 1.0  # in labels: closeness in meaning to the theme, against TF-IDF (1)
WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
BREAK = re.compile(r"[^\w\s'’-]+|\s[-–—]+\s")  # punctuation ends a phrase


def terms(text: str) -> list[tuple[str, str]]:
    """(key, surface) of each content word and each two-word phrase of adjacent words that are
    not stop words. Keys are stemmed ("trusting" and "trusted" are one term); surfaces are as
    written. A vague word ("time") counts only inside a phrase ("quality time")."""
    out: list[tuple[str, str]] = []
    for chunk in BREAK.split(text.lower().replace("’", "'")):
        previous = None
        for word in WORD.findall(chunk):
            if len(word) < 3 or word in LABEL_STOP_WORDS:
                previous = None
                continue
            current = (stem(word.removesuffix("'s")), word.removesuffix("'s"))
            if word not in VAGUE_WORDS:
                out.append(current)
            if previous and previous[0] != current[0] and not (previous[1] in VAGUE_WORDS and word in VAGUE_WORDS):
                out.append((f"{previous[0]} {current[0]}", f"{previous[1]} {current[1]}"))
            previous = current
    return out


def label_terms(texts: list[str], labels: np.ndarray, top: int = LABEL_TERMS,
                embed: Callable[[list[str]], np.ndarray] | None = None,
                vectors: np.ndarray | None = None, sources: list[str] | None = None) -> list[tuple[str, ...]]:
    """The most distinctive terms of each cluster by class-based TF-IDF over passage occurrence:
    share of the cluster's passages with the term (weighted towards terms that several of the
    cluster's documents use, when `sources` are given) x log(1 + average cluster size / passages
    with the term anywhere). Terms in more than CORPUS_WIDE of all passages or in only one
    passage, and phrase fragments ("weaken emotional"), are left out; a term already naming an
    earlier (larger) cluster is not used again. With `embed` (the embedding model) and the
    passages' `vectors`, the best TF-IDF candidates are re-ordered by meaning too: the term's
    similarity to the cluster's centre."""
    n = len(texts)
    per_passage = [terms(t) for t in texts]
    surfaces: dict[str, Counter] = defaultdict(Counter)
    for found in per_passage:
        for key, surface in found:
            surfaces[key][surface] += 1
    sets = [set(k for k, _ in found) for found in per_passage]
    df = Counter(k for s in sets for k in s)
    wide = CORPUS_WIDE * n

    def usable(key: str) -> bool:
        if not 2 <= df[key] <= max(2, wide):
            return False
        if " " not in key:
            return True
        # a phrase ending in a corpus-wide word is a fragment ("weaken emotional [intimacy]"),
        # and so is one joining a corpus-wide word to a vague one ("intimacy helps")
        first, last = key.split()
        common = [df.get(w, 0) > max(2, wide) for w in (first, last)]
        return not common[1] and not (common[0] and surfaces[key].most_common(1)[0][0].split()[1] in VAGUE_WORDS)

    n_clusters = int(labels.max()) + 1 if n else 0
    average = n / max(n_clusters, 1)
    candidates = []
    for c in range(n_clusters):
        members = np.flatnonzero(labels == c)
        inside = Counter(k for r in members for k in sets[r])
        docs: dict[str, set] = defaultdict(set)  # the cluster's documents that use each term
        for r in members:
            for k in sets[r]:
                docs[k].add(sources[r] if sources else r)
        n_docs = len({sources[r] for r in members}) if sources else len(members)
        scored = {k: (cnt / len(members)) * (0.5 + 0.5 * len(docs[k]) / n_docs) * math.log(1 + average / df[k])
                  for k, cnt in inside.items() if cnt >= min(2, len(members)) and usable(k)}
        candidates.append(sorted(scored.items(), key=lambda s: (-s[1], s[0]))[:4 * top])
    surface = {k: surfaces[k].most_common(1)[0][0] for found in candidates for k, _ in found}
    if embed is not None and vectors is not None and surface:
        keys = sorted(surface)
        term_vectors = dict(zip(keys, normalise(embed([surface[k] for k in keys]))))
        x = normalise(vectors)
        centre = centroids(x, labels)
        for c, found in enumerate(candidates):
            if not found:
                continue
            best = found[0][1]
            meaning = {k: float(term_vectors[k] @ centre[c]) for k, _ in found}
            top_meaning = max(max(meaning.values()), 1e-6)
            candidates[c] = sorted(((k, s / best + MEANING_WEIGHT * max(meaning[k], 0.0) / top_meaning) for k, s in found),
                                   key=lambda s: (-s[1], s[0]))
    out, used = [], set()
    for found in candidates:  # largest cluster first when clusters are numbered by size
        chosen: list[str] = []
        for key, _ in found:
            if key in used or any(set(key.split()) & set(k.split()) for k in chosen):
                continue  # names another theme, or overlaps a chosen term ("trust", "mutual trust")
            chosen.append(key)
            if len(chosen) == top:
                break
        used.update(chosen)
        out.append(tuple(surface[k] for k in chosen))
    return out

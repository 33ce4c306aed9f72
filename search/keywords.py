"""Keyword relevance: BM25 (the Lucene variant bm25s uses, k1 1.5, b 0.75) over the keyword
postings of every segment, with statistics (passages, lengths, document frequencies) over the
passages that count, so a build of several segments scores exactly as one rebuilt whole.
Nothing is held per passage in Python: postings and lengths stay memory-mapped."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from core.text import keyword_terms

K1, B = 1.5, 0.75


@dataclass(frozen=True)
class Postings:
    """The passages (positions, live only) holding each of a query's terms, and how often."""
    positions: dict[str, np.ndarray]
    tf: dict[str, np.ndarray]

    def df(self, term: str) -> int:
        return len(self.positions.get(term, ()))


class KeywordIndex:
    def __init__(self, store):
        self.store = store
        lengths = np.concatenate([seg.doc_lengths for seg in store.segments]) if store.segments \
            else np.zeros(0)
        self.size = len(store)
        self.avgdl = float(lengths[store.live].mean()) if self.size else 1.0
        self.norm = (K1 * ((1 - B) + B * lengths / self.avgdl)).astype("float32")  # per passage
        self.unknown_idf = float(np.log(1 + self.size))

    def postings(self, terms) -> Postings:
        terms = sorted(set(terms))
        positions: dict[str, list] = {t: [] for t in terms}
        tfs: dict[str, list] = {t: [] for t in terms}
        for n, seg in enumerate(self.store.segments):
            for term, (a, b) in seg.term_ranges(terms).items():
                positions[term].append(np.asarray(seg.postings_rows[a:b], dtype="int64") + self.store.base[n])
                tfs[term].append(np.asarray(seg.postings_tf[a:b], dtype="float64"))
        out_p, out_tf = {}, {}
        for t in terms:
            if positions[t]:
                p, tf = np.concatenate(positions[t]), np.concatenate(tfs[t])
                live = self.store.live[p]
                if live.any():
                    out_p[t], out_tf[t] = p[live], tf[live]
        return Postings(out_p, out_tf)

    def scores(self, query: str, postings: Postings | None = None,
               allowed: np.ndarray | None = None) -> np.ndarray | None:
        """BM25 of every position for the query (a query word counts as often as it occurs);
        None when no query word is indexed. Positions outside `allowed` score 0."""
        tokens = keyword_terms(query)
        postings = postings or self.postings(tokens)
        counts = Counter(t for t in tokens if postings.df(t))
        if not counts:
            return None
        positions, weights = [], []
        for term, times in counts.items():
            p, tf = postings.positions[term], postings.tf[term]
            df = len(p)
            idf = np.log(1 + (self.size - df + 0.5) / (df + 0.5))
            positions.append(p)
            weights.append(times * idf * tf / (self.norm[p] + tf))
        total = np.bincount(np.concatenate(positions), weights=np.concatenate(weights),
                            minlength=self.store.total)
        if allowed is not None:
            total[~allowed] = 0.0
        return total

    def coverage(self, query: str, rows, postings: Postings | None = None) -> np.ndarray:
        """For each passage row, the idf-weighted share of the query's words it contains."""
        qterms = set(keyword_terms(query))
        if not qterms:
            return np.zeros(len(rows))
        postings = postings or self.postings(qterms)
        positions = self.store.positions(rows)
        total, have = 0.0, np.zeros(len(positions))
        for t in qterms:
            df = postings.df(t)
            w = float(np.log(1 + self.size / df)) if df else self.unknown_idf
            total += w
            if df:
                have += w * contains(postings.positions[t], positions)
        return have / total


def contains(sorted_positions: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Whether each of `positions` is in `sorted_positions` (ascending), by binary search."""
    at = np.searchsorted(sorted_positions, positions)
    found = np.zeros(len(positions), dtype=bool)
    inside = at < len(sorted_positions)
    found[inside] = sorted_positions[at[inside]] == positions[inside]
    return found

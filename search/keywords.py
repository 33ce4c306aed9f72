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


def query_weights(query: str, df, size: int) -> dict[str, float]:
    """Each indexed query term's weight: idf (over `size` passages; `df(term)` of them have it)
    times how often the query says it. The same for every store."""
    counts = Counter(t for t in keyword_terms(query) if df(t))
    return {t: times * float(np.log(1 + (size - df(t) + 0.5) / (df(t) + 0.5))) for t, times in counts.items()}


def word_share(qterms: set[str], df, size: int, n: int, has) -> np.ndarray:
    """For n passages, the idf-weighted share of the query's terms they contain: `has(term)`
    says which of them contain it (a term no passage has weighs as the rarest). The same for
    every store."""
    total, have = 0.0, np.zeros(n)
    for t in qterms:
        w = float(np.log(1 + size / df(t))) if df(t) else float(np.log(1 + size))
        total += w
        if df(t):
            have += w * np.asarray(has(t), dtype="float64")
    return have / total


def length_norm(lengths, avgdl: float):
    """BM25's per-passage term-frequency saturation: k1 * (1 - b + b * length / average)."""
    return K1 * ((1 - B) + B * np.asarray(lengths, dtype="float64") / avgdl)


@dataclass(frozen=True)
class Run:
    """One term's postings in one segment, left in the memory-mapped arrays until asked for:
    local passage rows (ascending) and term frequencies, and the segment's live mask (None when
    nothing in the segment is deleted)."""
    base: int  # the segment's first global position
    stop: int  # and the one after its last
    rows: np.ndarray
    tf: np.ndarray
    live: np.ndarray | None

    def count(self) -> int:
        if self.live is None:
            return len(self.rows)
        return int(self.live[np.asarray(self.rows)].sum())

    def local(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows in the segment, tf) of the live postings."""
        rows, tf = np.asarray(self.rows), np.asarray(self.tf, dtype="float64")
        if self.live is not None:
            keep = self.live[rows]
            rows, tf = rows[keep], tf[keep]
        return rows, tf

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        """(global positions, tf) of the live postings."""
        rows, tf = self.local()
        return rows.astype("int64") + self.base, tf

    def lookup(self, positions: np.ndarray, out: np.ndarray) -> None:
        """Write into `out` the tf of each of `positions` in this segment that has a live
        posting here (binary search in the ascending rows)."""
        mine = np.flatnonzero((positions >= self.base) & (positions < self.stop))
        if not len(mine) or not len(self.rows):
            return
        local = positions[mine] - self.base
        at = np.minimum(np.searchsorted(self.rows, local), len(self.rows) - 1)
        hit = np.asarray(self.rows[at]) == local
        if self.live is not None:
            hit &= self.live[local]
        out[mine[hit]] = self.tf[at[hit]]


class Postings:
    """Where each of a query's terms occurs: its runs, one per segment holding it. Long lists
    are read only when the ranking needs them (see `KeywordIndex.top`)."""

    def __init__(self, runs: dict[str, list[Run]]):
        counts = {t: sum(r.count() for r in rs) for t, rs in runs.items()}
        self.counts = {t: c for t, c in counts.items() if c}  # terms with no live posting: none
        self.runs = {t: rs for t, rs in runs.items() if counts[t]}

    def df(self, term: str) -> int:
        return self.counts.get(term, 0)

    def read(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(ascending global positions, tf) of the term's live postings."""
        parts = [r.read() for r in self.runs.get(term, [])]
        if not parts:
            return np.zeros(0, dtype="int64"), np.zeros(0)
        return np.concatenate([p for p, _ in parts]), np.concatenate([t for _, t in parts])

    def lookup(self, term: str, positions: np.ndarray) -> np.ndarray:
        """The term's tf at each global position (0: absent)."""
        out = np.zeros(len(positions))
        for run in self.runs.get(term, []):
            run.lookup(positions, out)
        return out


MAX_SCORE_BUDGET = 100_000  # postings read before top() gives up pruning and scores everything


class KeywordIndex:
    def __init__(self, store):
        self.store = store
        lengths = np.concatenate([seg.doc_lengths for seg in store.segments]) if store.segments \
            else np.zeros(0)
        self.size = len(store)
        self.avgdl = float(lengths[store.live].mean()) if self.size else 1.0
        self.norm = length_norm(lengths, self.avgdl).astype("float32")  # per passage

    def postings(self, terms) -> Postings:
        terms = sorted(set(terms))
        runs: dict[str, list[Run]] = {}
        for n, seg in enumerate(self.store.segments):
            first, stop = int(self.store.base[n]), int(self.store.base[n + 1])
            live = None if not seg.entry.deleted else self.store.live[first:stop]
            for term, (a, b) in seg.term_ranges(terms).items():
                runs.setdefault(term, []).append(Run(first, stop, seg.postings_rows[a:b],
                                                     seg.postings_tf[a:b], live))
        return Postings(runs)

    def weights(self, query: str, postings: Postings) -> dict[str, float]:
        """Each indexed query term's weight: idf times how often the query says it."""
        return query_weights(query, postings.df, self.size)

    def scores(self, query: str, postings: Postings | None = None,
               allowed: np.ndarray | None = None) -> np.ndarray | None:
        """BM25 of every position for the query (a query word counts as often as it occurs);
        None when no query word is indexed. Positions outside `allowed` score 0."""
        postings = postings or self.postings(keyword_terms(query))
        weights = self.weights(query, postings)
        if not weights:
            return None
        total = np.zeros(self.store.total)
        for term, w in weights.items():
            for run in postings.runs[term]:  # a term's rows are distinct: += adds each once
                rows, tf = run.local()
                part = total[run.base:run.stop]
                part[rows] += w * tf / (self.norm[run.base:run.stop][rows] + tf)
        if allowed is not None:
            total[~allowed] = 0.0
        return total

    def at(self, query: str, postings: Postings, positions: np.ndarray, terms=None) -> np.ndarray:
        """BM25 at the given global positions only (the values `scores` gives there); with
        `terms`, only what those terms contribute."""
        positions = np.asarray(positions, dtype="int64")
        total = np.zeros(len(positions))
        norm = self.norm[positions]
        for term, w in self.weights(query, postings).items():
            if terms is None or term in terms:
                tf = postings.lookup(term, positions)
                total += w * tf / (norm + tf)
        return total

    def top(self, query: str, postings: Postings, n: int,
            allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(positions, BM25) of the n best allowed positions scoring above 0: those `scores`
        gives, without reading every posting (MaxScore). Terms are read from the rarest; a term
        adds less than its weight to any passage, so once the n-th best score of the positions
        read so far beats the sum of the unread terms' weights, no other position can enter,
        and only the unread terms are looked up for the positions read. Otherwise (or past
        MAX_SCORE_BUDGET postings) the whole `scores` array is used."""
        weights = self.weights(query, postings)
        order = sorted(weights, key=postings.df)
        positions: list[np.ndarray] = []
        contributions: list[np.ndarray] = []
        read = 0
        for i, term in enumerate(order + [""]):
            # the check costs a sort of what was read: made before reading a term that is long
            # compared with what was read so far, and once everything is read
            if positions and (not term or postings.df(term) > 2 * read):
                found, inverse = np.unique(np.concatenate(positions), return_inverse=True)
                partial = np.bincount(inverse, weights=np.concatenate(contributions))
                if not term:  # every term read
                    return best(found, partial, n)
                rest = order[i:]
                if len(found) >= n and np.partition(partial, len(found) - n)[len(found) - n] > \
                        sum(weights[t] for t in rest):
                    return best(found, partial + self.at(query, postings, found, set(rest)), n)
            if not term:
                return np.zeros(0, dtype="int64"), np.zeros(0)
            read += postings.df(term)
            if read > MAX_SCORE_BUDGET:
                break
            p, tf = postings.read(term)
            if allowed is not None:
                keep = allowed[p]
                p, tf = p[keep], tf[keep]
            positions.append(p)
            contributions.append(weights[term] * tf / (self.norm[p] + tf))
        total = self.scores(query, postings, allowed)
        chosen = np.argpartition(-total, min(n, len(total) - 1))[:n]
        return best(chosen, total[chosen], n)

    def coverage(self, query: str, rows, postings: Postings | None = None) -> np.ndarray:
        """For each passage row, the idf-weighted share of the query's words it contains."""
        qterms = set(keyword_terms(query))
        if not qterms:
            return np.zeros(len(rows))
        postings = postings or self.postings(qterms)
        positions = self.store.positions(rows)
        return word_share(qterms, postings.df, self.size, len(positions),
                          lambda t: postings.lookup(t, positions) > 0)


def best(positions: np.ndarray, scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The n highest-scoring of `positions` with a score above 0 (in no particular order)."""
    keep = scores > 0
    positions, scores = positions[keep], scores[keep]
    if len(positions) > n:
        chosen = np.argpartition(-scores, n - 1)[:n]
        positions, scores = positions[chosen], scores[chosen]
    return positions, scores

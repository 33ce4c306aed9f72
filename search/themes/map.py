"""The theme map: the passages grouped by meaning across all the essays, each with a readable label.

`compute_themes` is a pure function of vectors and texts: spherical k-means (FAISS, fixed seed)
for each number of themes in a range, the number chosen by the mean silhouette (cosine, numpy),
every passage in exactly one theme (no outlier bucket: a theme too small to stand on its own is
dissolved into its neighbours). Labels are the theme's most distinctive words and two-word
phrases by class-based TF-IDF over stemmed words, stop words and corpus-wide words removed.
`theme_map(searcher)` computes the themes of a loaded index once and caches them in its build
folder (themes.json), so they are rebuilt whenever the index is.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from core.index_format import read_cached, write_cached

from .cluster import SEED, across_documents, centroids, cluster, normalise, project_2d
from .labels import label_terms

ALGORITHM = "kmeans-silhouette-ctfidf-4"  # part of the cache key: bump when the method changes
QUOTES = 3
CACHE_FILE = "themes.json"
THEME_SAMPLE = 20_000  # passages the themes are found on; the rest are assigned to them
MAP_POINTS = 3_000  # passages drawn on the theme map


@dataclass(frozen=True)
class ThemeQuote:
    row: int  # passage row in the index
    id: str  # passage id
    text: str  # a sentence of that passage, verbatim


@dataclass(frozen=True)
class Theme:
    id: int  # 1 = the largest theme
    label: str
    terms: tuple[str, ...]  # distinctive words and phrases, most distinctive first
    size: int
    sources: tuple[tuple[str, int], ...]  # (essay, passages in this theme), most first
    rows: tuple[int, ...]  # passage rows, most representative first
    ids: tuple[str, ...]  # passage ids, in the same order
    quotes: tuple[ThemeQuote, ...] = ()

    def to_json(self) -> dict:
        return {"id": self.id, "label": self.label, "terms": list(self.terms), "size": self.size,
                "sources": [{"source": s, "passages": n} for s, n in self.sources],
                "rows": list(self.rows), "ids": list(self.ids),
                "quotes": [asdict(q) for q in self.quotes]}

    @classmethod
    def from_json(cls, d: dict) -> "Theme":
        return cls(id=d["id"], label=d["label"], terms=tuple(d["terms"]), size=d["size"],
                   sources=tuple((s["source"], s["passages"]) for s in d["sources"]),
                   rows=tuple(d["rows"]), ids=tuple(d["ids"]),
                   quotes=tuple(ThemeQuote(**q) for q in d["quotes"]))


@dataclass(frozen=True)
class ThemeMap:
    themes: tuple[Theme, ...]
    assignment: tuple[int, ...]  # theme id of each passage row
    chosen_by: str  # "silhouette" or "setting"
    silhouette: dict[int, float] = field(default_factory=dict)  # score of each number tried
    key: str = ""  # what the themes were computed from (cache key)

    def theme(self, theme_id: int) -> Theme:
        return next(t for t in self.themes if t.id == theme_id)

    def to_json(self) -> dict:
        return {"key": self.key, "algorithm": ALGORITHM, "chosen_by": self.chosen_by,
                "silhouette": {str(k): v for k, v in self.silhouette.items()},
                "assignment": list(self.assignment), "themes": [t.to_json() for t in self.themes]}

    @classmethod
    def from_json(cls, d: dict) -> "ThemeMap":
        return cls(themes=tuple(Theme.from_json(t) for t in d["themes"]),
                   assignment=tuple(d["assignment"]), chosen_by=d["chosen_by"],
                   silhouette={int(k): v for k, v in d["silhouette"].items()}, key=d["key"])


def compute_themes(vectors: np.ndarray, texts: list[str], sources: list[str] | None = None,
                   ids: list[str] | None = None, n_themes: int = 0, seed: int = SEED,
                   embed: Callable[[list[str]], np.ndarray] | None = None) -> ThemeMap:
    """Group the passages (rows of `vectors`, with their `texts` and the document each comes
    from) into labelled themes. Deterministic for the same input and settings. Themes are
    numbered from the largest; each theme's rows are listed most representative first."""
    n = len(texts)
    sources = list(sources) if sources is not None else [""] * n
    ids = list(ids) if ids is not None else [str(i) for i in range(n)]
    if n == 0:
        return ThemeMap((), (), "empty", {})
    x = normalise(vectors)
    space = across_documents(x, sources) if len(set(sources)) > 1 else x
    labels, chosen_by, scores = cluster(space, n_themes, seed)
    # number the themes by size (largest first), ties by their first row: stable and readable
    order = sorted(range(int(labels.max()) + 1), key=lambda c: (-(labels == c).sum(), np.argmax(labels == c)))
    labels = np.argsort(order)[labels]
    found = label_terms(texts, labels, embed=embed, vectors=x, sources=sources)
    centre = centroids(space, labels)
    themes = []
    for c in range(len(order)):
        members = np.flatnonzero(labels == c)
        closeness = space[members] @ centre[c]
        rows = members[np.lexsort((members, -closeness))]
        spans = Counter(sources[r] for r in rows)
        words = found[c]
        themes.append(Theme(
            id=c + 1, label=", ".join(words) or f"theme {c + 1}", terms=words, size=len(rows),
            sources=tuple(sorted(spans.items(), key=lambda s: (-s[1], s[0]))),
            rows=tuple(int(r) for r in rows), ids=tuple(ids[r] for r in rows)))
    return ThemeMap(tuple(themes), tuple(int(c) + 1 for c in labels), chosen_by, scores)


# --------------------------------------------------------------------------- a loaded index

def cache_key(index, n_themes: int) -> str:
    """What the themes of an index depend on: its passages and vectors' model, the method and
    the theme setting. The cache lives in the build folder, so a new build starts afresh."""
    ids = [e.to_json() for e in index.manifest.segments]  # which passages, without reading them
    what = {"algorithm": ALGORITHM, "seed": SEED, "themes": int(n_themes), "passages": ids,
            "model": index.manifest.model, "settings": index.manifest.settings}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def theme_map(searcher, n_themes: int | None = None) -> ThemeMap:
    """The themes of the searcher's index: kept with the loaded index once known, else read
    from the build folder's themes.json when it was computed with the same key, else computed
    now and saved there."""
    index = searcher.index
    n_themes = int(searcher.settings.themes if n_themes is None else n_themes)
    key = cache_key(index, n_themes)

    def load_or_compute() -> ThemeMap:
        cached = read_cached(index.build, CACHE_FILE, key)
        if cached is not None and cached.get("algorithm") == ALGORITHM:
            try:
                return ThemeMap.from_json(cached)
            except (KeyError, TypeError, ValueError):  # damaged: compute afresh
                pass
        found = compute_for_index(searcher, n_themes, key)
        write_cached(index.build, CACHE_FILE, found.to_json())
        return found

    return index.memo(("themes", key), load_or_compute)


def sample_rows(n: int, limit: int) -> np.ndarray:
    """Rows spread evenly over the index (all of them when there are at most `limit`)."""
    return np.arange(n) if n <= limit else np.unique(np.linspace(0, n - 1, limit).round().astype("int64"))


def compute_for_index(searcher, n_themes: int = 0, key: str = "") -> ThemeMap:
    """compute_themes over a loaded index, with a representative sentence quoted from each of
    the QUOTES most representative passages of every theme. Above THEME_SAMPLE passages the
    themes are found on an even sample and every passage is then given the theme whose centre
    is closest (read in blocks), so time and memory stay bounded as the corpus grows."""
    store = searcher.store
    rows = sample_rows(len(store), THEME_SAMPLE)
    passages = store.passages(rows)
    vectors = store.passage_vectors(rows)
    found = compute_themes(vectors, [p.text for p in passages], [p.source for p in passages],
                           [p.id for p in passages], n_themes=n_themes, embed=searcher.embedder.encode)
    sampled = len(rows) < len(store)
    x = normalise(vectors)
    sample_theme = np.asarray(found.assignment) - 1
    if sampled:  # every passage to the closest theme centre; sizes and essays over them all
        found = assign_all(found, store, rows, centroids(x, sample_theme))
    # the sentence that carries the theme: closest to the theme's centre once what every
    # passage shares (the corpus mean) is taken out of both, else the most generic one wins
    mean = x.mean(axis=0) if len(x) else None
    centre = centroids(x, sample_theme) - mean if len(x) else None
    themes = []
    for t in found.themes:
        quotes = []
        rows_t = list(t.rows[:QUOTES])
        for row, p, sentences in zip(rows_t, store.passages(rows_t), store.sentence_vectors(rows_t)):
            sims = (sentences - mean) @ centre[t.id - 1]
            a, b = p.sentences[int(np.argmax(sims))] if len(sims) else (p.start, p.end)
            quotes.append(ThemeQuote(row, p.id, p.text[a - p.start:b - p.start]))
        themes.append(dataclasses.replace(t, quotes=tuple(quotes)))
    return dataclasses.replace(found, themes=tuple(themes), key=key)


def assign_all(found: ThemeMap, store, rows: np.ndarray, centres: np.ndarray, block: int = 50_000) -> ThemeMap:
    """The themes found on the sample `rows`, with every passage of the store assigned to the
    closest centre; a theme lists its sample passages (most representative first)."""
    assignment = np.zeros(len(store), dtype="int64")
    for lo in range(0, len(store), block):
        part = normalise(store.passage_vectors(np.arange(lo, min(lo + block, len(store)))))
        assignment[lo:lo + len(part)] = np.argmax(part @ centres.T, axis=1) + 1
    assignment[rows] = found.assignment  # the sample keeps the themes it was clustered into
    owner = np.zeros(len(store), dtype="int64")
    names = []
    for n, (source, first, stop) in enumerate(store.documents()):
        owner[first:stop] = n
        names.append(source)
    themes = []
    for t in found.themes:
        members = assignment == t.id
        spans = Counter(dict(zip(names, np.bincount(owner[members], minlength=len(names)).tolist())))
        spans = +spans  # drop the zeros
        themes.append(dataclasses.replace(
            t, size=int(members.sum()), rows=tuple(int(rows[r]) for r in t.rows),
            sources=tuple(sorted(spans.items(), key=lambda s: (-s[1], s[0])))))
    return dataclasses.replace(found, themes=tuple(themes), assignment=tuple(int(a) for a in assignment),
                               chosen_by=found.chosen_by + f" (on a sample of {len(rows):,})")


def map_points(searcher, limit: int = MAP_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(rows, 2-D positions) of the passages the theme map shows: every passage when there are
    at most `limit`, else an even sample; placed by what each says beyond its document."""
    def compute():
        rows = sample_rows(len(searcher.store), limit)
        sources = [p.source for p in searcher.store.passages(rows)]
        return rows, project_2d(across_documents(searcher.store.passage_vectors(rows), sources))
    return searcher.index.memo(("map points", limit), compute)

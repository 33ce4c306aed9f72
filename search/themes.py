"""Themes: the passages grouped by meaning across all the essays, each with a readable label;
theme search (a phrase -> passages from every essay that treats it) and "more like this".

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
import math
import os
import re
import tempfile
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from . import quote as quoting
from .api import Ranking, clean_question
from .keywords import _STEMMER  # English Snowball stemmer, as the keyword index uses
from .rank import weighted_sum

ALGORITHM = "kmeans-silhouette-ctfidf-4"  # part of the cache key: bump when the method changes
SEED = 1234
MIN_THEMES, MAX_THEMES = 6, 30  # what a person can browse; the silhouette chooses within
MIN_THEME_SIZE = 3  # passages; a smaller group is not a theme but noise around another one
SILHOUETTE_SAMPLE = 2000  # rows the silhouette is measured on (all of them when fewer)
NEAR_DUPLICATE = 0.95  # cosine above which two passages count as the same text
CORPUS_WIDE = 0.25  # a word in more than this share of passages labels nothing
LABEL_TERMS = 3
MEANING_WEIGHT = 1.0  # in labels: closeness in meaning to the theme, against TF-IDF (1)
QUOTES = 3
CACHE_FILE = "themes.json"

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
_BREAK = re.compile(r"[^\w\s'’-]+|\s[-–—]+\s")  # punctuation ends a phrase

# English function words: never in a label, and a phrase never runs across one.
STOP_WORDS = frozenset("""
a about above across after again against all almost also although always am among an and
another any anybody anyone anything are around as at away be became because become becomes been
before behind being below beside besides between beyond both but by can cannot could did do does
doing done down during each either else enough etc even ever every everybody everyone everything
few for from further furthermore had has have having he hence her here hers herself him himself
his how however i if in indeed instead into is it its itself just may maybe me might more
moreover most much must my myself neither never nevertheless no nobody none nor not nothing now
of off often on once one ones only onto or other others otherwise ought our ours ourselves out
over own per perhaps quite rather really same shall she should since so some somebody somehow
someone something sometimes somewhat still such than that the their theirs them themselves then
there thereby therefore these they this those though through throughout thus to together too
toward towards under unless until up upon us very via was we well were what whatever when
whenever where whether which while who whoever whole whom whose why will with within without
would yet you your yours yourself yourselves ain't can't don't doesn't didn't isn't aren't
wasn't weren't won't wouldn't couldn't shouldn't haven't hasn't hadn't it's that's there's
what's let's i'm i've i'd i'll you're you've you'll you'd we're we've they're they've he's she's
""".split())

# Words too vague to name a theme on their own (they may still be part of a phrase).
VAGUE_WORDS = frozenset("""
able according actually allow allows already apart ask asking back best better bring brings came
certain certainly clearly come comes course currently definitely despite different especially
exactly example far find finds first form forms found four gave get gets getting give gives given
go goes going gone got gotten great happen happens hardly important keep keeps kind know known
knows last least less let like likely little long look made main mainly major make makes making
many matter matters mean means near nearly need needs new next ok okay overall part place put
regarding said saw say says second see seem seemed seems seen self several show shows six soon
sure take takes taken thing things think three time times took truly try two use used uses using
usually various want wants way ways went yes help helps helped helping
""".split())


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


# --------------------------------------------------------------------------- clustering

def normalise(vectors: np.ndarray) -> np.ndarray:
    v = np.ascontiguousarray(vectors, dtype="float32")
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def across_documents(vectors: np.ndarray, sources: list[str]) -> np.ndarray:
    """Each passage vector minus n/(n+1) of the mean of its document's n passages: what a
    passage says beyond what its whole essay shares (title, voice, overall subject), so that
    themes gather passages from different essays instead of re-finding the essays."""
    x = normalise(vectors).astype("float64")
    names, owner = np.unique(np.asarray(sources, dtype=object), return_inverse=True)
    counts = np.bincount(owner, minlength=len(names)).astype("float64")
    sums = np.zeros((len(names), x.shape[1]))
    np.add.at(sums, owner, x)
    means = sums / counts[:, None]
    return normalise(x - (counts / (counts + 1))[owner, None] * means[owner])


def kmeans(vectors: np.ndarray, k: int, seed: int = SEED) -> np.ndarray:
    """Spherical k-means (FAISS, fixed seed, best of several starts): the cluster of each row."""
    import faiss

    x = normalise(vectors)
    threads = faiss.omp_get_max_threads()
    if len(x) < 20_000:  # small: one thread is faster (no thread start-up on each of many calls)
        faiss.omp_set_num_threads(1)
    try:
        # large corpora: k-means trains on a fixed sample of 256 rows per theme, fewer restarts
        km = faiss.Kmeans(x.shape[1], k, niter=50, nredo=10 if len(x) <= 5000 else 3, seed=seed,
                          spherical=True, min_points_per_centroid=1, max_points_per_centroid=256,
                          verbose=False)
        km.train(x)
        _, labels = km.index.search(x, 1)
    finally:
        faiss.omp_set_num_threads(threads)
    return labels[:, 0].astype("int64")


def centroids(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The normalised mean vector of each cluster 0..labels.max()."""
    sums = np.zeros((int(labels.max()) + 1, vectors.shape[1]), dtype="float64")
    np.add.at(sums, labels, vectors)
    return normalise(sums)


def dissolve_small(vectors: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Reassign the rows of clusters smaller than min_size to the nearest remaining cluster,
    smallest first, and renumber 0..m-1. Every row keeps exactly one cluster."""
    x = normalise(vectors)
    labels = labels.copy()
    while True:
        sizes = np.bincount(labels)
        live = np.flatnonzero(sizes)
        small = [c for c in live if sizes[c] < min_size]
        if not small or len(live) <= 1:
            break
        gone = min(small, key=lambda c: (sizes[c], c))
        keep = np.array([c for c in live if c != gone])
        sims = x[labels == gone] @ centroids(x, labels)[keep].T
        labels[labels == gone] = keep[np.argmax(sims, axis=1)]
    _, renumbered = np.unique(labels, return_inverse=True)
    return renumbered.astype("int64")


def silhouettes(vectors: np.ndarray, labels: np.ndarray, sample: int = SILHOUETTE_SAMPLE,
                seed: int = SEED) -> np.ndarray:
    """The silhouette (cosine distance) of each row of a fixed random sample of at most `sample`
    rows: how much closer it is to its own cluster than to the next nearest, in -1..1."""
    x = normalise(vectors).astype("float64")
    if len(x) > sample:
        pick = np.sort(np.random.default_rng(seed).choice(len(x), sample, replace=False))
        x, labels = x[pick], labels[pick]
    ids, labels = np.unique(labels, return_inverse=True)
    if len(ids) < 2:
        return np.zeros(len(x))
    sums = (1.0 - x @ x.T) @ np.eye(len(ids))[labels]  # total distance of each row to each cluster
    counts = np.bincount(labels, minlength=len(ids)).astype("float64")
    rows = np.arange(len(x))
    own = counts[labels] - 1
    a = sums[rows, labels] / np.maximum(own, 1)
    others = sums / counts
    others[rows, labels] = np.inf
    b = others.min(axis=1)
    return np.where(own > 0, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)


def theme_range(n: int) -> range:
    """The numbers of themes worth trying for n passages: MIN_THEMES..MAX_THEMES, and no more
    than leaves an average theme of 5 passages."""
    hi = max(1, min(MAX_THEMES, n // 5))
    return range(min(MIN_THEMES, hi), hi + 1)


def numbers_to_try(n: int, most: int = 10) -> list[int]:
    """theme_range(n), thinned to at most `most` numbers spread evenly on a log scale."""
    every = list(theme_range(n))
    if len(every) <= most:
        return every
    return sorted({int(round(k)) for k in np.geomspace(every[0], every[-1], most)})


def cluster(vectors: np.ndarray, n_themes: int = 0, seed: int = SEED) -> tuple[np.ndarray, str, dict[int, float]]:
    """The theme of each row, how their number was chosen, and the mean silhouette of each
    number tried. Automatic: the fewest themes whose mean silhouette is within one standard
    error of the best (a difference smaller than that is noise). n_themes > 0 fixes the number
    (a theme under MIN_THEME_SIZE passages is still dissolved into its neighbours)."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype="int64"), "empty", {}
    min_size = min(MIN_THEME_SIZE, max(1, n // 2))
    tries = [min(n_themes, n)] if n_themes > 0 else numbers_to_try(n)
    found = []
    for k in tries:
        labels = dissolve_small(vectors, kmeans(vectors, k, seed), min_size) if k > 1 else np.zeros(n, "int64")
        s = silhouettes(vectors, labels, seed=seed)
        found.append((k, labels, float(s.mean()), float(s.std() / np.sqrt(len(s)))))
    best = max(found, key=lambda f: f[2])
    chosen = next(f for f in found if f[2] >= best[2] - best[3])  # tries are in increasing k
    return chosen[1], ("setting" if n_themes > 0 else "silhouette"), {f[0]: f[2] for f in found}


# --------------------------------------------------------------------------- labels

def terms(text: str) -> list[tuple[str, str]]:
    """(key, surface) of each content word and each two-word phrase of adjacent words that are
    not stop words. Keys are stemmed ("trusting" and "trusted" are one term); surfaces are as
    written. A vague word ("time") counts only inside a phrase ("quality time")."""
    out: list[tuple[str, str]] = []
    for chunk in _BREAK.split(text.lower().replace("’", "'")):
        previous = None
        for word in _WORD.findall(chunk):
            if len(word) < 3 or word in STOP_WORDS:
                previous = None
                continue
            current = (_STEMMER.stemWord(word.removesuffix("'s")), word.removesuffix("'s"))
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


# --------------------------------------------------------------------------- themes

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


def project_2d(vectors: np.ndarray) -> np.ndarray:
    """(n, 2) coordinates for a map: the first two principal components (numpy SVD), with signs
    fixed so the same vectors always give the same picture."""
    x = np.asarray(vectors, dtype="float64")
    if len(x) == 0:
        return np.zeros((0, 2))
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    axes = vt[:2]
    axes = axes * np.where(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)] < 0, -1.0, 1.0)[:, None]
    xy = x @ axes.T
    return np.hstack([xy, np.zeros((len(x), 2 - xy.shape[1]))]) if xy.shape[1] < 2 else xy


# --------------------------------------------------------------------------- a loaded index

_MEMO: dict[tuple[str, str], ThemeMap] = {}


def cache_key(index, n_themes: int) -> str:
    """What the themes of an index depend on: its passages and vectors' model, the method and
    the theme setting. The cache lives in the build folder, so a new build starts afresh."""
    ids = hashlib.sha256("\n".join(p.id for p in index.passages).encode()).hexdigest()
    what = {"algorithm": ALGORITHM, "seed": SEED, "themes": int(n_themes), "passages": ids,
            "model": index.manifest.get("model"), "settings": index.manifest.get("settings")}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def theme_map(searcher, n_themes: int | None = None) -> ThemeMap:
    """The themes of the searcher's index: from memory, else from the build folder's
    themes.json when it was computed with the same key, else computed now and saved there."""
    index = searcher.index
    n_themes = int(searcher.settings.themes if n_themes is None else n_themes)
    key = cache_key(index, n_themes)
    memo = (str(index.build), key)
    if memo in _MEMO:
        return _MEMO[memo]
    path = index.build / CACHE_FILE
    found = _read_cache(path, key)
    if found is None:
        found = compute_for_index(searcher, n_themes, key)
        _write_cache(path, found)
    _MEMO[memo] = found
    return found


def compute_for_index(searcher, n_themes: int = 0, key: str = "") -> ThemeMap:
    """compute_themes over a loaded index, with a representative sentence quoted from each of
    the QUOTES most representative passages of every theme."""
    index, passages = searcher.index, searcher.passages
    found = compute_themes(index.passage_vectors, [p.text for p in passages],
                           [p.source for p in passages], [p.id for p in passages],
                           n_themes=n_themes, embed=searcher.embedder.encode)
    assignment = np.asarray(found.assignment) - 1
    x = normalise(index.passage_vectors)
    # the sentence that carries the theme: closest to the theme's centre once what every
    # passage shares (the corpus mean) is taken out of both, else the most generic one wins
    mean = x.mean(axis=0) if len(x) else None
    centre = centroids(x, assignment) - mean if len(x) else None
    first = np.concatenate([[0], np.cumsum([len(p.sentences) for p in passages])]).astype(int)
    themes = []
    for t in found.themes:
        quotes = []
        for row in t.rows[:QUOTES]:
            p = passages[row]
            sims = (index.sentence_vectors[first[row]:first[row + 1]] - mean) @ centre[t.id - 1]
            a, b = p.sentences[int(np.argmax(sims))] if len(sims) else (p.start, p.end)
            quotes.append(ThemeQuote(row, p.id, p.text[a - p.start:b - p.start]))
        themes.append(dataclasses.replace(t, quotes=tuple(quotes)))
    return dataclasses.replace(found, themes=tuple(themes), key=key)


def _read_cache(path, key: str) -> ThemeMap | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") != key or data.get("algorithm") != ALGORITHM:
            return None
        return ThemeMap.from_json(data)
    except (OSError, ValueError, KeyError, TypeError):  # missing or damaged: compute afresh
        return None


def _write_cache(path, found: ThemeMap) -> None:
    """Write themes.json beside the index atomically (temp file, then os.replace); an index
    folder that cannot be written to just means the themes are computed again next time."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".themes-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(found.to_json(), out, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


# --------------------------------------------------------------------------- finding passages

def find_passage(passages, ref: str):
    """The row of a passage named by its id, or by SOURCE:PARAGRAPH (the first passage that
    covers that paragraph). LookupError with a helpful message when there is none."""
    ref = (ref or "").strip()
    for row, p in enumerate(passages):
        if p.id == ref:
            return row
    source, sep, number = ref.rpartition(":")
    if sep and number.strip().isdigit():
        n = int(number)
        same = [(row, p) for row, p in enumerate(passages) if p.source == source.strip()]
        if not same:
            names = sorted({p.source for p in passages})
            raise LookupError(f"no document {source!r} in the index; documents: {', '.join(names)}")
        for row, p in same:
            if p.paragraph <= n <= p.paragraph_end:
                return row
        numbers = sorted({q for _, p in same for q in range(p.paragraph, p.paragraph_end + 1)})
        raise LookupError(f"{source} has no passage at paragraph {n}; paragraphs with passages: "
                          f"{numbers[0]}–{numbers[-1]}")
    raise LookupError(f"no passage {ref!r}: give a passage id or SOURCE:PARAGRAPH "
                      "(e.g. essay.txt:3)")


@dataclass(frozen=True)
class EssayCount:
    source: str
    title: str
    shown: int  # results from this essay
    matching: int  # passages of this essay on the theme, shown or not


@dataclass(frozen=True)
class ThemeSearch:
    question: str  # the phrase as searched
    answered: bool
    results: list  # search.api.Result, grouped by essay (essays with the best match first)
    essays: list[EssayCount]  # every essay of the index, in the order of the results
    notice: str = ""

    def groups(self) -> list[tuple[EssayCount, list]]:
        """(essay, its results) for each essay with results, in order."""
        return [(e, [r for r in self.results if r.source == e.source]) for e in self.essays if e.shown]

    def to_json(self) -> dict:
        return {"question": self.question, "answered": self.answered, "notice": self.notice,
                "results": [r.to_json() for r in self.results],
                "per_essay": [asdict(e) for e in self.essays]}


def round_robin(groups: list[list[int]], k: int, vectors: np.ndarray,
                near_duplicate: float = NEAR_DUPLICATE) -> list[int]:
    """Take the best remaining row of each group in turn (groups in order, rows best first)
    until k are taken, skipping a row nearly identical to one already taken."""
    queues = [list(g) for g in groups]
    taken: list[int] = []
    while len(taken) < k and any(queues):
        for queue in queues:
            while queue:
                row = queue.pop(0)
                if not taken or float(np.max(vectors[taken] @ vectors[row])) <= near_duplicate:
                    taken.append(row)
                    break
            if len(taken) == k:
                break
    return taken


def theme_search(searcher, phrase: str, k: int = 10) -> ThemeSearch:
    """Passages on a theme from every essay that treats it: the question ranking's scores
    (meaning, best sentence, keywords), every passage that clears the "answered" bar, then
    essays take turns (best essay first) so that k results cover as many essays as possible.
    When none clears the bar, the nearest passages are shown, still across essays, with a notice."""
    phrase = clean_question(phrase, searcher.settings.max_query_chars)
    k = max(1, int(k))
    s = searcher.settings
    query = searcher.speller.correct(phrase)
    f = searcher.features(query)
    fused = weighted_sum(f, {"dense": s.dense_weight, "sentence": s.sentence_weight,
                             "bm25": s.bm25_weight})
    n = len(searcher.passages)
    evidence = np.maximum(f["dense"], f["sentence"]) + s.keyword_evidence * searcher.keywords.coverage(query, range(n))
    on_theme = evidence >= searcher.calibration.threshold
    answered = bool(on_theme.any())
    eligible = on_theme if answered else np.ones(n, dtype=bool)
    order = np.lexsort((np.arange(n), -fused))
    titles = dict(searcher.documents())
    by_essay: dict[str, list[int]] = {source: [] for source in titles}
    for row in order:
        if eligible[row]:
            by_essay[searcher.passages[row].source].append(int(row))
    essays = sorted((e for e in by_essay if by_essay[e]), key=lambda e: (-fused[by_essay[e][0]], e))
    picked = round_robin([by_essay[e] for e in essays], k, searcher.index.passage_vectors)
    position = {e: i for i, e in enumerate(essays)}
    rows = sorted(picked, key=lambda r: (position[searcher.passages[r].source], -fused[r], r))
    ranking = Ranking(query, rows, fused[rows], evidence[rows], f["_sentence_sims"])
    qwords = quoting.content_words(query, _STEMMER.stemWord)
    results = [searcher._result(ranking, i, qwords) for i in range(len(rows))]
    shown = Counter(searcher.passages[r].source for r in rows)
    matching = Counter(searcher.passages[r].source for r in np.flatnonzero(on_theme))
    listed = essays + [e for e in titles if e not in position]
    counts = [EssayCount(e, titles[e], shown.get(e, 0), matching.get(e, 0)) for e in listed]
    notice = "" if answered else (
        "Nothing in these documents is clearly on this theme. The nearest passages of each "
        "essay are listed below, but they probably do not treat it.")
    return ThemeSearch(phrase, answered, results, counts, notice)


@dataclass(frozen=True)
class Similar:
    passage: object  # the ingest Passage the others are like
    results: list  # search.api.Result, most similar first

    def to_json(self) -> dict:
        p = self.passage
        return {"passage": {"id": p.id, "source": p.source, "paragraph": p.paragraph,
                            "title": p.title, "text": p.text},
                "results": [r.to_json() for r in self.results]}


def document_free_vectors(index) -> np.ndarray:
    """across_documents() of a loaded index's passage vectors, computed once per loaded index."""
    space = getattr(index, "_document_free", None)
    if space is None:
        space = across_documents(index.passage_vectors, [p.source for p in index.passages])
        index._document_free = space
    return space


def more_like_this(searcher, ref: str, k: int = 5) -> Similar:
    """The k passages closest in meaning to the passage `ref` (id or SOURCE:PARAGRAPH), never the
    passage itself nor a near-duplicate of it (cosine above NEAR_DUPLICATE) or of each other.
    Closeness is measured as for themes, on what a passage says beyond what its whole essay
    shares, so that the essay's own title and voice do not keep every neighbour in the same
    essay. Each result quotes its sentence closest to the passage."""
    row = find_passage(searcher.passages, ref)
    vectors = searcher.index.passage_vectors
    space = document_free_vectors(searcher.index)
    sims = space @ space[row]
    same = vectors @ vectors[row]
    order = [int(r) for r in np.lexsort((np.arange(len(sims)), -sims))
             if r != row and same[r] <= NEAR_DUPLICATE]
    rows = round_robin([order], max(1, int(k)), vectors)
    mean = vectors.mean(axis=0)  # quote the sentence closest to what is particular to the passage
    sentence_sims = (searcher.index.sentence_vectors - mean) @ (vectors[row] - mean)
    ranking = Ranking(searcher.passages[row].text, rows, sims[rows], same[rows], sentence_sims)
    results = [searcher._result(ranking, i, set()) for i in range(len(rows))]
    return Similar(searcher.passages[row], results)

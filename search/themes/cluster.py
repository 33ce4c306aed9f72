"""Grouping passages by meaning: spherical k-means (FAISS, fixed seed) for each number of
themes in a range, the number chosen by the mean silhouette (cosine, numpy), every passage in
exactly one theme (a theme too small to stand on its own is dissolved into its neighbours);
and the 2-D map of the passages (principal components)."""
from __future__ import annotations

import numpy as np

SEED = 1234
MIN_THEMES, MAX_THEMES = 6, 30  # what a person can browse; the silhouette chooses within
MIN_THEME_SIZE = 3  # passages; a smaller group is not a theme but noise around another one
SILHOUETTE_SAMPLE = 2000  # rows the silhouette is measured on (all of them when fewer)


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
    return without_document(x, (sums / counts[:, None])[owner], counts[owner])


def without_document(x: np.ndarray, document_means: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Normalised passage vectors `x` minus n/(n+1) of their documents' means (n: `counts`)."""
    return normalise(x - (counts / (counts + 1))[:, None] * document_means)


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

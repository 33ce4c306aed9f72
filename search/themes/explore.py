"""Finding passages by theme: theme search (a phrase -> passages from every essay that treats
it, with the question ranking's scores) and "more like this" (passages closest in meaning to
one passage). Both dress their results with the Searcher's own quote and confidence step."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, replace

import numpy as np

from ..searcher import Ranking, clean_question
from ..scoring import evidence
from .cluster import normalise, without_document

NEAR_DUPLICATE = 0.95  # cosine above which two passages count as the same text
THEME_CANDIDATES = 10  # a theme search brings this many times the question's candidates
SIMILAR_CANDIDATES = 2000  # passages "more like this" compares exactly (all, in smaller libraries)


def find_passage(searcher, ref: str) -> int:
    """The row of a passage named by its id, or by SOURCE:PARAGRAPH (the first passage that
    covers that paragraph). LookupError with a helpful message when there is none."""
    ref = (ref or "").strip()
    row = searcher.row(ref)
    if row is not None:
        return row
    source, sep, number = ref.rpartition(":")
    if sep and number.strip().isdigit():
        n = int(number)
        found = {name: (first, stop) for name, first, stop in searcher.index.memo("documents", searcher.store.documents)}
        if source.strip() not in found:
            raise LookupError(f"no document {source!r} in the index; documents: {', '.join(sorted(found))}")
        first, stop = found[source.strip()]
        same = searcher.store.passages(range(first, stop))
        for row, p in zip(range(first, stop), same):
            if p.paragraph <= n <= p.paragraph_end:
                return row
        numbers = sorted({q for p in same for q in range(p.paragraph, p.paragraph_end + 1)})
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
    results: list  # search.searcher.Result, grouped by essay (essays with the best match first)
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
    (meaning, best sentence, keywords), every passage that clears the theme bar
    (`Calibration.on_theme`, which also labels them), then essays take turns (best essay
    first) so that k results cover as many essays as possible.
    When none clears the bar, the nearest passages are shown, still across essays, with a notice."""
    phrase = clean_question(phrase, searcher.settings.max_query_chars, "theme")
    k = max(1, int(k))
    found = searcher.scores(phrase, candidates=THEME_CANDIDATES * searcher.settings.candidates)
    fused = found.fused(searcher.settings)
    n = len(found.rows)
    strength = evidence(found, searcher.keywords, range(n), searcher.settings.keyword_evidence)
    on_theme = strength >= searcher.calibration.on_theme
    answered = bool(on_theme.any())
    eligible = on_theme if answered else np.ones(n, dtype=bool)
    order = np.lexsort((found.rows, -fused))
    sources = [p.source for p in searcher.store.passages(found.rows)]
    titles = dict(searcher.documents())
    by_essay: dict[str, list[int]] = {source: [] for source in titles}
    for i in order:
        if eligible[i]:
            by_essay[sources[i]].append(int(i))
    essays = sorted((e for e in by_essay if by_essay[e]), key=lambda e: (-fused[by_essay[e][0]], e))
    picked = round_robin([by_essay[e] for e in essays], k, searcher.store.passage_vectors(found.rows))
    position = {e: i for i, e in enumerate(essays)}
    picked = sorted(picked, key=lambda i: (position[sources[i]], -fused[i], found.rows[i]))
    bars = replace(searcher.calibration, threshold=searcher.calibration.on_theme)
    results = searcher.results(Ranking(found.query, [int(found.rows[i]) for i in picked], fused[picked],
                                       strength[picked], [found.sentence_sims[i] for i in picked]),
                               calibration=bars)
    shown = Counter(sources[i] for i in picked)
    matching = Counter(sources[i] for i in np.flatnonzero(on_theme))
    listed = essays + [e for e in titles if e not in position]
    counts = [EssayCount(e, titles[e], shown.get(e, 0), matching.get(e, 0)) for e in listed]
    notice = "" if answered else (
        "Nothing in these documents is clearly on this theme. The nearest passages of each "
        "essay are listed below, but they probably do not treat it.")
    return ThemeSearch(phrase, answered, results, counts, notice)


@dataclass(frozen=True)
class Similar:
    passage: object  # the Passage the others are like
    results: list  # search.searcher.Result, most similar first

    def to_json(self) -> dict:
        p = self.passage
        return {"passage": {"id": p.id, "source": p.source, "paragraph": p.paragraph,
                            "title": p.title, "text": p.text},
                "results": [r.to_json() for r in self.results]}


@dataclass(frozen=True)
class DocumentMeans:
    """Each document's mean (normalised) passage vector and passage count, and the mean of all
    passage vectors: what `across_documents` subtracts, kept per document (not per passage) so
    that "more like this" reads only the vectors of its candidates."""
    firsts: np.ndarray  # the first row of each document, ascending
    means: np.ndarray  # (documents, dimension) float64
    counts: np.ndarray  # passages per document
    mean: np.ndarray  # of every passage vector

    def free(self, rows: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """across_documents() of these rows' vectors."""
        owner = np.searchsorted(self.firsts, rows, side="right") - 1
        return without_document(normalise(vectors).astype("float64"), self.means[owner], self.counts[owner])


def document_means(searcher) -> DocumentMeans:
    """DocumentMeans of a loaded index, computed once per loaded index, a document at a time."""
    def compute() -> DocumentMeans:
        documents = searcher.index.memo("documents", searcher.store.documents)
        dim = searcher.index.manifest.dimension
        means, total = np.zeros((len(documents), dim)), np.zeros(dim)
        for i, (_, first, stop) in enumerate(documents):
            vectors = searcher.store.passage_vectors(np.arange(first, stop))
            means[i] = normalise(vectors).astype("float64").mean(axis=0)
            total += vectors.sum(axis=0, dtype="float64")
        counts = np.array([stop - first for _, first, stop in documents], dtype="float64")
        return DocumentMeans(np.array([first for _, first, _ in documents], dtype="int64"), means,
                             counts, (total / max(1.0, counts.sum())).astype("float32"))
    return searcher.index.memo("document means", compute)


def more_like_this(searcher, ref: str, k: int = 5) -> Similar:
    """The k passages closest in meaning to the passage `ref` (id or SOURCE:PARAGRAPH), never the
    passage itself nor a near-duplicate of it (cosine above NEAR_DUPLICATE) or of each other.
    Closeness is measured as for themes, on what a passage says beyond what its whole essay
    shares, so that the essay's own title and voice do not keep every neighbour in the same
    essay. Each result quotes its sentence closest to the passage. Candidates first: the
    SIMILAR_CANDIDATES passages nearest to that direction by the passage index (every passage in
    smaller libraries), compared exactly."""
    row = find_passage(searcher, ref)
    store, means = searcher.store, document_means(searcher)
    vector = store.passage_vectors([row])[0]
    direction = means.free(np.array([row]), vector[None])[0]
    if SIMILAR_CANDIDATES >= len(store):
        rows = np.arange(len(store))
    else:
        found = store.dense_candidates(direction.astype("float32"), SIMILAR_CANDIDATES, store.allowed(None),
                                       searcher.settings.ann_nprobe)
        rows = np.sort(store.rows(found))
    vectors = store.passage_vectors(rows)
    sims = means.free(rows, vectors) @ direction
    same = vectors @ vector
    order = [int(i) for i in np.lexsort((rows, -sims)) if rows[i] != row and same[i] <= NEAR_DUPLICATE]
    picked = round_robin([order], max(1, int(k)), vectors)
    mean = means.mean  # quote the sentence closest to what is particular to the passage
    sentence_sims = [(s - mean) @ (vector - mean) for s in store.sentence_vectors(rows[picked])]
    ranking = Ranking(searcher.passages[row].text, rows[picked], sims[picked], same[picked], sentence_sims)
    results = searcher.results(ranking, question_words=set())
    return Similar(searcher.passages[row], results)

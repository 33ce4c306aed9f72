"""The query-side library: one Searcher answers questions for the page, the CLI and the tests."""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ingest import build_index
from ingest.embed import Embedder, load_embedder
from ingest.passages import Passage
from ingest.settings import DEFAULT_CORPUS, DEFAULT_INDEX, Settings

from . import quote as quoting
from .index import IndexCorrupt, IndexMismatch, IndexProblem, LoadedIndex, load_index
from .keywords import _STEMMER, KeywordIndex
from .rank import max_by_owner, mmr, scale_by_max, top_k, weighted_sum
from .rerank import load_reranker
from .spelling import Speller

BASELINE_FILE = Path(__file__).with_name("baseline_questions.txt")
QUOTE_LEXICAL_WEIGHT = 0.3


class EmptyQuestion(ValueError):
    """The question is empty or blank."""

    def __init__(self):
        super().__init__("Type a question first: the question is empty.")


@dataclass(frozen=True)
class Result:
    rank: int
    score: float
    confidence: str  # "strong", "partial" or "weak"
    text: str
    quote: str
    quote_start: int
    quote_end: int
    passage: Passage

    # The passage's own fields, flattened for the JSON contract and the page.
    title = property(lambda self: self.passage.title)
    section = property(lambda self: self.passage.section)
    question = property(lambda self: self.passage.question)
    source = property(lambda self: self.passage.source)
    paragraph = property(lambda self: self.passage.paragraph)
    start = property(lambda self: self.passage.start)
    end = property(lambda self: self.passage.end)
    kind = property(lambda self: self.passage.kind)
    id = property(lambda self: self.passage.id)

    def to_json(self) -> dict:
        p = self.passage
        return {
            "rank": self.rank, "score": round(self.score, 4), "text": self.text,
            "quote": self.quote, "title": p.title, "section": p.section,
            "source": p.source, "paragraph": p.paragraph, "start": p.start, "end": p.end,
            "quote_start": self.quote_start, "quote_end": self.quote_end,
            "confidence": self.confidence, "question": p.question, "kind": p.kind,
            "paragraph_end": p.paragraph_end, "id": p.id, "page": getattr(p, "page", None),
        }


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    results: list[Result]
    notice: str = ""  # shown instead of claiming an answer, when answered is False

    def to_json(self) -> dict:
        return {"question": self.question, "answered": self.answered,
                "notice": self.notice, "results": [r.to_json() for r in self.results]}


@dataclass(frozen=True)
class Calibration:
    """Where unrelated questions land in this corpus: the bar a real answer must clear."""

    baseline_scores: tuple[float, ...]
    threshold: float  # evidence below this: no good answer
    strong: float  # evidence at or above this: strong match

    def confidence(self, evidence: float) -> str:
        if evidence >= self.strong:
            return "strong"
        return "partial" if evidence >= self.threshold else "weak"


@dataclass(frozen=True)
class Ranking:
    """The outcome of ranking, before results are dressed with quotes."""

    query: str  # the question as matched (typos repaired)
    rows: list[int]  # passage rows, best first
    scores: np.ndarray  # fused score of each row
    evidence: np.ndarray  # how closely each row matches in meaning and words
    sentence_sims: np.ndarray  # similarity of every sentence in the index to the query

    @property
    def best_evidence(self) -> float:
        return float(self.evidence.max()) if len(self.rows) else float("-inf")


@dataclass
class Searcher:
    index: LoadedIndex = field(repr=False)
    embedder: Embedder = field(repr=False)
    settings: Settings
    keywords: KeywordIndex = field(init=False, repr=False)
    speller: Speller = field(init=False, repr=False)
    calibration: Calibration = field(init=False, repr=False)

    def __post_init__(self):
        self._first_sentence = np.concatenate([[0], np.cumsum([len(p.sentences) for p in self.passages])])
        self.keywords = KeywordIndex([keyword_text(p) for p in self.index.passages])
        self.speller = Speller([keyword_text(p) for p in self.index.passages], self.embedder.words())
        self.calibration = calibrate(self, baseline_questions())

    @property
    def passages(self) -> list[Passage]:
        return self.index.passages

    def with_settings(self, **changes) -> "Searcher":
        """The same loaded index and model with other query-time settings (for comparisons)."""
        clone = dataclasses.replace(self, settings=dataclasses.replace(self.settings, **changes))
        return clone

    def features(self, question: str, qv: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Per-passage evidence for the question: dense, best sentence, keywords (scaled).
        `qv` is the question's vector when it was already embedded (in a batch)."""
        qv = self.embedder.encode([question])[0] if qv is None else qv
        sentence_sims = self.index.sentence_vectors @ qv
        n = len(self.index.passages)
        return {
            "dense": self.index.passage_vectors @ qv,
            "sentence": max_by_owner(sentence_sims, self.index.sentence_owner, n),
            "bm25": scale_by_max(self.keywords.scores(question)),
            "_sentence_sims": sentence_sims,
        }

    def search(self, question: str, k: int | None = None, sources: list[str] | None = None) -> Answer:
        question = clean_question(question, self.settings.max_query_chars)
        k = self.settings.top_k if k is None else max(1, int(k))
        ranking = self.rank(question, k, sources)
        answered = ranking.best_evidence >= self.calibration.threshold
        qwords = quoting.content_words(ranking.query, _STEMMER.stemWord)
        results = [self._result(ranking, n, qwords) for n in range(len(ranking.rows))]
        notice = "" if answered else (
            "No good answer: nothing in these documents is close to this question. "
            "The nearest passages are listed below, but they probably do not answer it."
        )
        return Answer(question=question, answered=answered, results=results, notice=notice)

    def rank(self, question: str, k: int, sources: list[str] | None = None,
             vector: np.ndarray | None = None) -> "Ranking":
        """The k best passages for the question, with their fused scores and evidence.
        `vector`, when given, is the embedding of the typo-repaired question."""
        query = self.speller.correct(question)
        f = self.features(query, vector)
        s = self.settings
        fused = weighted_sum(f, {"dense": s.dense_weight, "sentence": s.sentence_weight,
                                 "bm25": s.bm25_weight})
        if sources:
            allowed = np.array([p.source in sources for p in self.passages])
            fused = np.where(allowed, fused, -np.inf)
        wide = k * 4 if (s.diversity or s.reranker) else k
        rows = [int(i) for i in top_k(fused, wide) if np.isfinite(fused[i])]
        if s.reranker and rows:
            rerank = load_reranker(s.reranker).scores(query, [self.passages[i].text for i in rows])
            rows = [rows[j] for j in top_k(rerank, len(rows))]
            fused = fused.copy()
            fused[rows] = np.sort(rerank)[::-1]
        if s.diversity and rows:
            relevance = fused[rows] / max(float(fused[rows[0]]), 1e-9)
            picked = mmr(relevance, self.index.passage_vectors[rows], k, 1.0 - s.diversity)
            rows = [rows[j] for j in picked]
        rows = rows[:k]
        coverage = self.keywords.coverage(query, rows)
        evidence = np.maximum(f["dense"][rows], f["sentence"][rows]) + s.keyword_evidence * coverage
        return Ranking(query, rows, fused[rows], evidence, f["_sentence_sims"])

    def _result(self, ranking: Ranking, n: int, qwords: set[str]) -> Result:
        """The n-th ranked passage as a result, with the sentence(s) that answer quoted."""
        row = ranking.rows[n]
        p = self.passages[row]
        first = self._first_sentence[row]
        sentences = [p.text[a - p.start : b - p.start] for a, b in p.sentences]
        overlap = quoting.word_overlap(qwords, sentences, _STEMMER.stemWord)
        sims = ranking.sentence_sims[first : first + len(sentences)]
        q = quoting.choose(quoting.sentence_scores(sims, overlap, QUOTE_LEXICAL_WEIGHT), list(p.sentences))
        confidence = self.calibration.confidence(float(ranking.evidence[n]))
        if confidence == "weak":  # no sentence answers: highlight nothing rather than the wrong one
            q = quoting.Quote(p.start, p.start, ())
        return Result(
            rank=n + 1, score=float(ranking.scores[n]), confidence=confidence,
            text=p.text, quote=p.text[q.start - p.start : q.end - p.start],
            quote_start=q.start, quote_end=q.end, passage=p,
        )

    def neighbours(self, passage: Passage, before: int = 1, after: int = 1) -> tuple[list[Passage], list[Passage]]:
        """The passages just before and after this one in the same document."""
        same = [p for p in self.passages if p.source == passage.source]
        at = next(i for i, p in enumerate(same) if p.id == passage.id)
        return same[max(0, at - before) : at], same[at + 1 : at + 1 + after]

    def documents(self) -> list[tuple[str, str]]:
        """(source, title) of each indexed document, in index order."""
        seen: dict[str, str] = {}
        for p in self.passages:
            seen.setdefault(p.source, p.title)
        return list(seen.items())


def keyword_text(p: Passage) -> str:
    return f"{p.section} {p.question} {p.text}"


_INVISIBLE = dict.fromkeys(
    [c for c in range(0x20) if c not in (9, 10, 13)] + [0x7F, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]
)


def clean_question(question: str, max_chars: int) -> str:
    """The question on one line, without control or zero-width characters, and with any lone
    surrogate (undecodable bytes passed on a command line) replaced; EmptyQuestion if nothing is left."""
    text = "" if question is None else str(question)
    text = text.encode("utf-8", "replace").decode("utf-8").translate(_INVISIBLE)
    text = " ".join(text.split())
    if not text:
        raise EmptyQuestion()
    return text[:max_chars]


def baseline_questions() -> list[str]:
    lines = BASELINE_FILE.read_text(encoding="utf-8").splitlines()
    return [l.strip() for l in lines if l.strip() and not l.startswith("#")]


def calibrate(searcher: Searcher, questions: list[str]) -> Calibration:
    """Score unrelated questions against this corpus; an answer must clearly beat them."""
    vectors = searcher.embedder.encode([searcher.speller.correct(q) for q in questions])
    best = np.array([searcher.rank(q, 5, vector=v).best_evidence for q, v in zip(questions, vectors)])
    threshold = float(np.quantile(best, 0.95)) + searcher.settings.abstain_margin
    spread = float(best.std())
    return Calibration(tuple(float(b) for b in best), threshold, threshold + 3 * spread)


def open_searcher(
    index_dir: Path | None = None,
    settings: Settings | None = None,
    rebuild: bool = True,
    echo: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    corpus: list[Path] | None = None,
) -> Searcher:
    """Load the index (building or rebuilding it when missing or out of date) and the model."""
    settings = settings or Settings.from_env()
    index_dir = Path(index_dir or DEFAULT_INDEX)
    embedder = load_embedder(settings.model_path())
    try:
        loaded = _load_matching(index_dir, settings, embedder)
    except IndexProblem as problem:
        if not rebuild or isinstance(problem, IndexCorrupt):
            raise
        paths = corpus or _previous_corpus(index_dir) or [DEFAULT_CORPUS]
        echo(f"{problem}\nBuilding the index from {', '.join(map(str, paths))} now…")
        build_index(paths, index_dir, settings, echo=echo)
        loaded = _load_matching(index_dir, settings, embedder)
    return Searcher(loaded, embedder, settings)


def _load_matching(index_dir: Path, settings: Settings, embedder: Embedder) -> LoadedIndex:
    loaded = load_index(index_dir, settings)
    if embedder.dimension != loaded.manifest["dimension"]:
        raise IndexMismatch(
            f"The index has {loaded.manifest['dimension']}-dimensional vectors but the model gives "
            f"{embedder.dimension}. Rebuild it with: python -m ingest --index-dir {index_dir}"
        )
    return loaded


def _previous_corpus(index_dir: Path) -> list[Path] | None:
    """The document folders an existing (stale) index was built from, if they still exist."""
    import json

    from ingest import store

    build = store.current_build(index_dir)
    try:
        paths = [Path(p) for p in json.loads((build / store.MANIFEST).read_text())["corpus"]["paths"]]
    except Exception:  # noqa: BLE001 - no usable previous manifest: use the default corpus
        return None
    return paths if all(p.exists() for p in paths) else None

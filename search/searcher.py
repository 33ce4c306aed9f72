"""The query-side library: one Searcher answers questions for the page, the CLI and the tests.

A Searcher is a loaded build, the embedding model and the settings. What is derived from the
build (the keyword index, the speller, the calibration of "no good answer") is computed once
per loaded build and kept there (`LoadedIndex.memo`), so `with_settings` for query-time
settings costs nothing and a calibration is computed once per build and set of settings.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from core import index_format as fmt
from core.errors import EmptyQuestion, IndexCorrupt, IndexProblem, IndexStale, StoreUnavailable
from core.model import Embedder, load_embedder, load_reranker
from core.passage import Passage
from core.settings import DEFAULT_CORPUS, Settings
from core.text import content_words

from . import quote as quoting
from .loading import LoadedIndex, load_index, previous_corpus
from .milvus_store import load_milvus
from .rank import mmr, top_k
from .scoring import Scores, evidence, score
from .spelling import Speller
from .store import LocalStore, PassageList

BASELINE_FILE = Path(__file__).with_name("baseline_questions.txt")
QUOTE_LEXICAL_WEIGHT = 0.3
CORPUS_QUESTIONS, CORPUS_QUESTIONS_MIN = 150, 40  # the corpus's own sentences asked for calibration
BASELINE_MARGIN = 0.05  # above the unrelated questions' 95th percentile: the bar of a tiny corpus
CALIBRATION_VERSION = 2  # 2: the bar also follows the corpus's own sentences
CALIBRATION_SETTINGS = ("dense_weight", "sentence_weight", "bm25_weight", "diversity", "reranker",
                        "keyword_evidence", "abstain_margin", "candidates", "ann_nprobe")
NO_ANSWER = ("No good answer: nothing in these documents is close to this question. "
             "The nearest passages are listed below, but they probably do not answer it.")


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
            "paragraph_end": p.paragraph_end, "id": p.id, "page": p.page,
        }


@dataclass(frozen=True)
class Answer:
    question: str  # as asked (on one line, cut to max_query_chars)
    answered: bool
    results: list[Result]
    notice: str = ""  # shown instead of claiming an answer, when answered is False
    query: str = ""  # what was searched: the question with typos repaired
    shortened: bool = False  # the question was longer than max_query_chars and was cut

    @property
    def repaired(self) -> bool:
        return bool(self.query) and self.query != self.question

    def to_json(self) -> dict:
        return {"question": self.question, "answered": self.answered, "query": self.query or self.question,
                "shortened": self.shortened, "notice": self.notice,
                "results": [r.to_json() for r in self.results]}


@dataclass(frozen=True)
class Calibration:
    """Where unrelated questions and the corpus's own sentences land in this corpus: the bar a
    real answer must clear (`calibrate`)."""

    baseline_scores: tuple[float, ...]
    threshold: float  # evidence below this: no good answer
    strong: float  # evidence at or above this: strong match
    corpus_scores: tuple[float, ...] = ()
    unrelated: float = float("inf")  # clearly above every unrelated question but 5 %

    @property
    def on_theme(self) -> float:
        """The evidence a passage needs to count as on a theme: the question bar, or clearly
        above the unrelated questions (a theme is a short phrase, not a question, and scores
        lower than a question on the same thing)."""
        return min(self.threshold, self.unrelated)

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
    sentence_sims: list[np.ndarray]  # similarity of each row's sentences to the query

    @property
    def best_evidence(self) -> float:
        return float(self.evidence.max()) if len(self.rows) else float("-inf")


@dataclass(frozen=True)
class Searcher:
    index: LoadedIndex
    embedder: Embedder
    settings: Settings

    # --- what is derived from the build, once per loaded build ------------------------------

    @property
    def passages(self) -> PassageList:
        return self.index.passages

    @property
    def store(self) -> LocalStore:
        return self.index.store

    @property
    def keywords(self):
        """The keyword signal of the store (KeywordIndex for an index folder)."""
        return self.index.memo("keywords", self.store.keywords)

    @property
    def speller(self) -> Speller:
        return self.index.memo(("speller", self.embedder.name), lambda: Speller(
            self.store.word_counts, self.embedder.words()))

    @property
    def calibration(self) -> Calibration:
        """Computed once per build and settings that change it (then kept with the build)."""
        key = ("calibration", self.embedder.name,
               tuple(getattr(self.settings, name) for name in CALIBRATION_SETTINGS))
        return self.index.memo(key, lambda: stored_calibration(self, key))

    def with_settings(self, **changes) -> "Searcher":
        """The same loaded index and model with other query-time settings (for comparisons);
        the keyword index and the speller are shared, not rebuilt."""
        return dataclasses.replace(self, settings=self.settings.query_changes(**changes))

    # --- searching -----------------------------------------------------------------------------

    def scores(self, question: str, vector: np.ndarray | None = None, sources: list[str] | None = None,
               candidates: int | None = None, repair: bool = True) -> Scores:
        """The candidate passages' scores for the question (typos repaired first unless
        `repair` is False), among the documents `sources` when given. `vector` is the embedding
        of the repaired question when it was already embedded (in a batch); `candidates` per
        signal (0: every passage)."""
        query = self.speller.correct(question) if repair else question
        vector = self.embedder.encode([query], threads=self.settings.query_threads)[0] if vector is None else vector
        n = self.settings.candidates if candidates is None else candidates
        return score(self.store, self.keywords, query, vector, n, self.store.allowed(sources),
                     self.settings.ann_nprobe)

    def search(self, question: str, k: int | None = None, sources: list[str] | None = None,
               repair: bool = True) -> Answer:
        """The k best passages for the question among `sources` (all when None), with their
        quotes; `repair` False searches the words as typed (no typo repair)."""
        whole = clean_question(question, len(str(question or "")) + 1)
        question = whole[:self.settings.max_query_chars]
        k = self.settings.top_k if k is None else max(1, int(k))
        ranking = self.rank(question, k, sources, repair=repair)
        answered = ranking.best_evidence >= self.calibration.threshold
        return Answer(question=question, answered=answered, results=follow_ranking(self.results(ranking)),
                      notice="" if answered else NO_ANSWER, query=ranking.query,
                      shortened=len(whole) > self.settings.max_query_chars)

    def rank(self, question: str, k: int, sources: list[str] | None = None,
             vector: np.ndarray | None = None, candidates: int | None = None,
             repair: bool = True) -> Ranking:
        """The k best passages for the question, with their fused scores and evidence."""
        found = self.scores(question, vector, sources, candidates, repair)
        s = self.settings
        fused = found.fused(s)
        wide = k * 4 if (s.diversity or s.reranker) else k
        picked = [int(i) for i in top_k(fused, wide) if np.isfinite(fused[i])]
        if s.reranker and picked:
            rerank = load_reranker(s.reranker).scores(found.query, [p.text for p in self.store.passages(found.rows[picked])])
            picked = [picked[j] for j in top_k(rerank, len(picked))]
            fused = fused.copy()
            fused[picked] = np.sort(rerank)[::-1]
        if s.diversity and picked:
            relevance = fused[picked] / max(float(fused[picked[0]]), 1e-9)
            chosen = mmr(relevance, self.store.passage_vectors(found.rows[picked]), k, 1.0 - s.diversity)
            picked = [picked[j] for j in chosen]
        picked = picked[:k]
        return Ranking(found.query, [int(r) for r in found.rows[picked]], fused[picked],
                       evidence(found, self.keywords, picked, s.keyword_evidence),
                       [found.sentence_sims[i] for i in picked])

    def results(self, ranking: Ranking, question_words: set[str] | None = None,
                calibration: Calibration | None = None) -> list[Result]:
        """The ranked passages as results, each with the sentence(s) that answer quoted.
        `question_words`: the words a quote should share (default: the query's content words);
        `calibration`: the bars of the labels (default: the build's)."""
        words = content_words(ranking.query) if question_words is None else question_words
        calibration = calibration or self.calibration
        return [self.result(ranking, n, words, calibration) for n in range(len(ranking.rows))]

    def result(self, ranking: Ranking, n: int, question_words: set[str],
               calibration: Calibration | None = None) -> Result:
        """The n-th ranked passage as a result, with the sentence(s) that answer quoted."""
        p = self.passages[ranking.rows[n]]
        sentences = p.sentence_texts()
        overlap = quoting.word_overlap(question_words, sentences)
        sims = ranking.sentence_sims[n]
        known = question_words | content_words(p.context())
        q = quoting.choose(quoting.sentence_scores(sims, overlap, QUOTE_LEXICAL_WEIGHT), list(p.sentences),
                           leads=[quoting.leads_on(s, known) for s in sentences], texts=sentences)
        confidence = (calibration or self.calibration).confidence(float(ranking.evidence[n]))
        if confidence == "weak":  # no sentence answers: highlight nothing rather than the wrong one
            q = quoting.Quote(p.start, p.start, ())
        return Result(
            rank=n + 1, score=float(ranking.scores[n]), confidence=confidence,
            text=p.text, quote=p.text[q.start - p.start : q.end - p.start],
            quote_start=q.start, quote_end=q.end, passage=p,
        )

    # --- the documents -------------------------------------------------------------------------

    def passage(self, passage_id: str) -> Passage | None:
        """The passage with this id, or None."""
        row = self.store.row_of_id(passage_id)
        return None if row is None else self.passages[row]

    def row(self, passage_id: str) -> int | None:
        return self.store.row_of_id(passage_id)

    def retired(self, passage_id: str) -> bool | None:
        """Was this passage in an earlier build of this index (its document changed or was
        removed since)? None when the index does not keep that (a Milvus collection)."""
        if self.index.manifest.store:
            return None
        return passage_id in self.index.memo("retired", lambda: fmt.read_retired(self.index.build))

    def document(self, source: str) -> list[Passage]:
        """The passages of one document, in order ([] when it is not indexed)."""
        for name, first, stop in self.index.memo("documents", self.store.documents):
            if name == source:
                return self.store.passages(range(first, stop))
        return []

    def neighbours(self, passage: Passage, before: int = 1, after: int = 1) -> tuple[list[Passage], list[Passage]]:
        """The passages just before and after this one in the same document."""
        same = self.document(passage.source)
        at = next(i for i, p in enumerate(same) if p.id == passage.id)
        return same[max(0, at - before) : at], same[at + 1 : at + 1 + after]

    def documents(self) -> list[tuple[str, str]]:
        """(source, title) of each indexed document, in index order."""
        def compute():
            found = self.index.memo("documents", self.store.documents)
            firsts = self.store.passages([first for _, first, _ in found])
            return [(source, p.title) for (source, _, _), p in zip(found, firsts)]
        return list(self.index.memo("document titles", compute))


STRENGTH = {"weak": 0, "partial": 1, "strong": 2}


def follow_ranking(results: list[Result]) -> list[Result]:
    """Match labels that follow the ranking: no card says more than a card above it (a result
    brought down to "weak" highlights nothing, as every weak match)."""
    out, cap = [], "strong"
    for r in results:
        if STRENGTH[r.confidence] > STRENGTH[cap]:
            quote = {} if cap != "weak" else {"quote": "", "quote_start": r.start, "quote_end": r.start}
            r = dataclasses.replace(r, confidence=cap, **quote)
        cap = r.confidence
        out.append(r)
    return out


INVISIBLE = dict.fromkeys(
    [c for c in range(0x20) if c not in (9, 10, 13)] + [0x7F, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]
)


def clean_question(question: str, max_chars: int, what: str = "question") -> str:
    """The question on one line, without control or zero-width characters, and with any lone
    surrogate (undecodable bytes passed on a command line) replaced; EmptyQuestion if nothing is left."""
    text = "" if question is None else str(question)
    text = text.encode("utf-8", "replace").decode("utf-8").translate(INVISIBLE)
    text = " ".join(text.split())
    if not text:
        raise EmptyQuestion(what)
    return text[:max_chars]


def baseline_questions() -> list[str]:
    lines = BASELINE_FILE.read_text(encoding="utf-8").splitlines()
    return [l.strip() for l in lines if l.strip() and not l.startswith("#")]


def corpus_questions(passages, n: int = CORPUS_QUESTIONS) -> list[tuple[int, str]]:
    """Sentences of the corpus to ask it as questions, with the row of their passage: the first
    plain sentence (one line, 8 words or more, not code) of passages spread evenly over it."""
    rows = np.unique(np.linspace(0, len(passages) - 1, min(len(passages), 4 * n)).astype(int))
    found: list[tuple[int, str]] = []
    for row in rows:
        for text in passages[int(row)].sentence_texts():
            if len(text.split()) >= 8 and "\n" not in text.strip() and not quoting.looks_like_code(text):
                found.append((int(row), " ".join(text.split())))
                break
    if len(found) <= n:
        return found
    return [found[i] for i in np.unique(np.linspace(0, len(found) - 1, n).astype(int))]


def calibrate(searcher: Searcher, questions: list[str]) -> Calibration:
    """Where this corpus's answers begin. Unrelated questions are scored against it (their
    embeddings computed once per build and model; only the rankings follow the settings), and
    so are the corpus's own sentences, asked with their own passage left out.

    The bar for "no good answer" lies midway between where the unrelated questions end (their
    95th percentile) and where the corpus's own sentences begin (their 5th), plus the setting
    `abstain_margin`. On prose far from everyday topics the two lie far apart and the bar sits
    well clear of both; on programming pages that speak of planets, spreadsheets and routers
    they overlap, and the baseline alone would put the bar above real questions. A corpus with
    fewer than `CORPUS_QUESTIONS_MIN` such sentences is judged by the unrelated questions alone
    (their 95th percentile plus `BASELINE_MARGIN`). "Strong" is a match far above the unrelated
    questions: three standard deviations over that same baseline bar."""
    repaired = [searcher.speller.correct(q) for q in questions]
    vectors = searcher.index.memo(("baseline vectors", searcher.embedder.name, tuple(repaired)),
                                  lambda: searcher.embedder.encode(repaired, threads=searcher.settings.query_threads))
    best = np.array([searcher.rank(q, 5, vector=v).best_evidence for q, v in zip(questions, vectors)])
    unrelated = float(np.quantile(best, 0.95))
    threshold = unrelated + BASELINE_MARGIN
    strong = threshold + 3 * float(best.std())
    related = corpus_scores(searcher)
    if len(related) >= CORPUS_QUESTIONS_MIN:
        threshold = (unrelated + float(np.quantile(related, 0.05))) / 2
    threshold += searcher.settings.abstain_margin
    return Calibration(tuple(float(b) for b in best), threshold, max(strong, threshold), tuple(related),
                       unrelated + BASELINE_MARGIN)


def corpus_scores(searcher: Searcher) -> list[float]:
    """How well each of the corpus's own sentences (`corpus_questions`) finds the rest of it:
    the best evidence among the passages other than its own. The sentences and their
    embeddings are found once per build and model; only the rankings follow the settings."""
    def asked():
        own = corpus_questions(searcher.passages)
        if len(own) < CORPUS_QUESTIONS_MIN:
            return [], []
        return own, searcher.embedder.encode([q for _, q in own], threads=searcher.settings.query_threads)

    own, vectors = searcher.index.memo(("corpus questions", searcher.embedder.name), asked)
    found = []
    for (row, q), v in zip(own, vectors):
        ranking = searcher.rank(q, 6, vector=v, repair=False)
        others = [float(e) for r, e in zip(ranking.rows, ranking.evidence) if r != row]
        if others:
            found.append(max(others))
    return found


def stored_calibration(searcher: Searcher, key: tuple) -> Calibration:
    """The calibration kept with the build for these settings, else computed and kept there
    (so that a large index does not rank the baseline questions again at every start)."""
    questions = searcher.index.memo("baseline", baseline_questions)
    digest = hashlib.sha256(json.dumps([CALIBRATION_VERSION, list(map(str, key)), questions]).encode()).hexdigest()
    name = f"calibration-{digest[:16]}.json"
    cached = fmt.read_cached(searcher.index.build, name, digest)
    try:
        return Calibration(tuple(cached["baseline"]), float(cached["threshold"]), float(cached["strong"]),
                           tuple(cached["corpus"]), float(cached["unrelated"]))
    except (TypeError, KeyError, ValueError):
        found = calibrate(searcher, questions)
        fmt.write_cached(searcher.index.build, name, {"key": digest, "baseline": found.baseline_scores,
                                                      "threshold": found.threshold, "strong": found.strong,
                                                      "corpus": found.corpus_scores, "unrelated": found.unrelated})
        return found


def open_searcher(
    index_dir: Path | None = None,
    settings: Settings | None = None,
    rebuild: bool = True,
    on_event: Callable | None = None,
    corpus: list[Path] | None = None,
) -> Searcher:
    """Load the index (building or rebuilding it when missing or out of date) and the model.
    The index is checked before the model is loaded, so a missing index is reported at once."""
    # The one place the read side calls the write side: to build an index that is missing or
    # out of date, as the page and the CLI promise to do.
    from ingest.build import Event, build_index, print_event

    settings = settings or Settings.from_env()
    index_dir = Path(index_dir or settings.index_folder())
    try:
        loaded, embedder = load_matching(index_dir, settings)
    except IndexProblem as problem:
        if not rebuild or isinstance(problem, (IndexCorrupt, StoreUnavailable)):
            raise
        on_event = on_event or print_event
        if isinstance(problem, IndexStale) and not settings.milvus() and fmt.ingest_running(index_dir):
            # the documents changed and an ingest is writing the new build: serve this one meanwhile
            loaded, embedder = load_matching(index_dir, settings, check_corpus=False)
            loaded.updating = True
            on_event(Event("plan", "The documents changed and an ingest is updating the index; "
                                   "answering from the previous build until it is done."))
        else:
            paths = corpus or previous_corpus(index_dir, settings) or [DEFAULT_CORPUS]
            on_event(Event("plan", f"{problem}\nBuilding the index from {', '.join(map(str, paths))} now…"))
            build_index(paths, index_dir, settings, on_event=on_event)
            loaded, embedder = load_matching(index_dir, settings)
    searcher = Searcher(loaded, embedder, settings)
    searcher.calibration  # noqa: B018 - computed now, so that the first question is quick
    return searcher


def load_matching(index_dir: Path, settings: Settings, check_corpus: bool = True) -> tuple[LoadedIndex, Embedder]:
    """The current build, checked against the settings and then against the model's dimension."""
    address = settings.milvus()
    loaded = load_milvus(address, settings) if address else load_index(index_dir, settings, check_corpus)
    embedder = load_embedder(settings.model_path(), settings.encoder)
    problem = loaded.manifest.mismatch(settings, address or index_dir, embedder.dimension)
    if problem is not None:
        raise problem
    return loaded, embedder

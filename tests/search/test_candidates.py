"""Candidates first, exact scoring after: the candidate search gives the same answers as
scoring every passage (on the seeds and on the HOWTO pages, real model), BM25 over the
segments' postings equals bm25s, the document filter works inside the candidate search, and an
approximate index finds what exact search finds (recall measured on clustered vectors)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core import index_format as fmt
from core import segments
from core.passage import Passage
from core.text import STEMMER
from search.evaluate import load_questions
from core.text import keyword_terms
from search import keywords as keywords_module
from search.keywords import KeywordIndex
from search.store import LocalStore
from helpers import EVAL_DIR



def questions(folder) -> list[str]:
    return [q["q"] for name in ("dev_questions.jsonl", "dev_offtopic.jsonl")
            for q in load_questions(folder / name)]


def answers(searcher, question: str) -> tuple:
    a = searcher.search(question, k=10)
    return (a.answered, [(r.id, r.confidence, r.quote) for r in a.results], [r.score for r in a.results])


def assert_same_as_exact(searcher, asked: list[str]) -> None:
    exact = searcher.with_settings(candidates=0)
    assert exact.calibration.threshold == pytest.approx(searcher.calibration.threshold)
    for q in asked:
        found, wanted = answers(searcher, q), answers(exact, q)
        assert found[:2] == wanted[:2], q
        # BM25 summed over the candidates' postings or over all of them: equal up to rounding
        assert found[2] == pytest.approx(wanted[2], abs=1e-6), q


def test_candidates_rank_the_seeds_as_exact_scoring(searcher):
    assert_same_as_exact(searcher, questions(EVAL_DIR) + ["trust", "Why do poeple build walls?"])


def test_candidates_rank_the_howto_pages_as_exact_scoring(howto_searcher):
    assert len(howto_searcher.passages) > 10 * howto_searcher.settings.candidates  # a real subset
    assert_same_as_exact(howto_searcher, questions(EVAL_DIR / "howto"))


def test_the_document_filter_works_inside_the_candidate_search(howto_searcher):
    source = "sorting.html"
    picked = howto_searcher.search("How do I sort a list of dictionaries by a key?", k=8, sources=[source])
    assert picked.results and all(r.source == source for r in picked.results)
    exact = howto_searcher.with_settings(candidates=0).search(
        "How do I sort a list of dictionaries by a key?", k=8, sources=[source])
    assert [r.id for r in picked.results] == [r.id for r in exact.results]
    # a document with no passage on the subject still gives its nearest passages, never others
    other = howto_searcher.search("How do I sort a list of dictionaries by a key?", k=3, sources=["ipaddress.html"])
    assert other.results and all(r.source == "ipaddress.html" for r in other.results)


def test_bm25_over_postings_equals_bm25s(searcher):
    import bm25s

    passages = list(searcher.passages)
    reference = bm25s.BM25()
    reference.index(bm25s.tokenize([segments.keyword_text(p) for p in passages], stopwords="en",
                                   stemmer=STEMMER, show_progress=False), show_progress=False)
    for q in ["trust", "walls around their hearts", "physical touch and touch", "emotional emotional intimacy"]:
        tokens = [t for t in bm25s.tokenize([q], stopwords="en", stemmer=STEMMER, return_ids=False,
                                            show_progress=False)[0] if t in reference.vocab_dict]
        mine = searcher.keywords.scores(q)
        assert np.allclose(mine, reference.get_scores(tokens), rtol=1e-5, atol=1e-6), q


def assert_top_is_brute_force(keywords, asked: list[str], allowed=None) -> int:
    """top() gives the n best scores that scoring every posting gives; returns how many of the
    calls pruned (answered without scoring every position)."""
    pruned = 0
    real_scores = keywords.scores
    for q in asked:
        total = real_scores(q, allowed=allowed)
        if total is None:
            continue
        postings = keywords.postings(keyword_terms(q))
        for n in (1, 5, 20, 100):
            calls = []
            keywords.scores = lambda *a, **k: calls.append(1) or real_scores(*a, **k)
            try:
                positions, got = keywords.top(q, postings, n, allowed)
            finally:
                del keywords.scores
            pruned += not calls
            expected = np.sort(total[total > 0])[::-1][:n]
            assert np.allclose(np.sort(got)[::-1], expected), (q, n)
            assert np.allclose(total[positions], got), (q, n)
    return pruned


def test_keyword_top_n_prunes_and_equals_scoring_every_posting(howto_searcher, searcher, monkeypatch):
    asked = questions(EVAL_DIR / "howto") + ["python", "the sort key function", "socket socket socket"]
    keywords = howto_searcher.keywords
    assert assert_top_is_brute_force(keywords, asked) > len(asked)  # most questions were pruned
    assert_top_is_brute_force(keywords, asked, howto_searcher.store.allowed(["sorting.html", "logging.html"]))
    assert_top_is_brute_force(searcher.keywords, questions(EVAL_DIR))
    monkeypatch.setattr(keywords_module, "MAX_SCORE_BUDGET", 10)  # give up pruning at once
    assert assert_top_is_brute_force(keywords, asked[:5]) == 0


# --- an approximate index, tested for recall against exact search -----------------------------

def clustered(n: int, dim: int = 64, centres: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim))
    x = c[rng.integers(0, centres, n)] + 0.6 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype("float32")


def synthetic_build(folder, vectors: np.ndarray, ann_min_vectors: int, deleted: tuple = ()) -> fmt.Build:
    """A build of one segment of these vectors (100 passages a document), written for real."""
    docs = []
    for d in range(0, len(vectors), 100):
        block = vectors[d:d + 100]
        passages = [Passage(f"{d + i}", f"doc{d // 100}.txt", "T", "", "", "body", i + 1, i + 1,
                            i * 10, i * 10 + 9, f"passage {d + i}", ((i * 10, i * 10 + 9),))
                    for i in range(len(block))]
        docs.append(segments.SegmentDocument(f"doc{d // 100}.txt", "x", passages, block, block))
    entry = segments.write_segment(folder / "seg", "seg", docs, ann_min_vectors)
    seg = segments.Segment(folder / "seg", dataclasses.replace(entry, deleted=deleted), vectors.shape[1])
    return fmt.Build(folder, None, [seg])


def test_an_approximate_index_is_chosen_as_the_corpus_grows_and_keeps_recall(tmp_path):
    vectors = clustered(20000)
    build = synthetic_build(tmp_path, vectors, ann_min_vectors=5000)
    kinds = build.segments[0].entry.ann
    assert kinds["passages"].startswith("IVF") and kinds["sentences"].endswith("SQ8")
    store = LocalStore(build)
    queries = clustered(50, seed=1)
    found = 0
    for q in queries:
        exact = set(np.argsort(-(vectors @ q), kind="stable")[:10].tolist())
        found += len(exact & set(store.dense_candidates(q, 10, None, nprobe=32).tolist()))
    assert found / (10 * len(queries)) >= 0.95
    small = synthetic_build(tmp_path / "small", vectors[:2000], ann_min_vectors=5000)
    assert small.segments[0].entry.ann == {"passages": "flat", "sentences": "flat"}
    build.close()
    small.close()


def test_the_filter_and_deleted_documents_work_inside_an_approximate_index(tmp_path):
    vectors = clustered(20000)
    build = synthetic_build(tmp_path, vectors, ann_min_vectors=5000, deleted=("doc3.txt",))
    store = LocalStore(build)
    allowed = store.allowed(["doc3.txt", "doc7.txt"])
    for q in clustered(20, seed=2):
        found = store.dense_candidates(q, 10, allowed, nprobe=32)
        assert len(found) and all(700 <= p < 800 for p in found)  # doc7 only: doc3 is deleted
        assert not set(store.dense_candidates(q, 50, store.allowed(None), nprobe=32).tolist()) & set(range(300, 400))
    build.close()


def test_keyword_index_counts_only_live_passages(tmp_path):
    vectors = clustered(300)
    build = synthetic_build(tmp_path, vectors, ann_min_vectors=5000)
    store = LocalStore(build)
    keywords = KeywordIndex(store)
    assert keywords.size == 300
    scores = keywords.scores("passage")
    assert scores is not None and np.all(scores > 0)
    build.close()


def test_deleted_passages_have_no_postings_in_scores_top_or_lookup(tmp_path):
    build = synthetic_build(tmp_path, clustered(300), ann_min_vectors=5000, deleted=("doc1.txt",))
    keywords = KeywordIndex(LocalStore(build))
    postings = keywords.postings(keyword_terms("passage 150 250"))
    passage = keyword_terms("passage")[0]  # as stemmed
    assert postings.df(passage) == 200 and postings.df("150") == 0 and postings.df("250") == 1
    total = keywords.scores("passage 150 250")
    assert np.all(total[100:200] == 0) and np.argmax(total) == 250
    positions, got = keywords.top("passage 150 250", postings, 5)
    assert 250 in positions and not set(positions.tolist()) & set(range(100, 200))
    assert np.allclose(keywords.at("passage 150 250", postings, positions), got)
    assert keywords.at("passage", postings, np.array([150]))[0] == 0
    build.close()

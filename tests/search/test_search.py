"""The query API on the real model and index: answers, quotes, abstention, odd questions."""
from __future__ import annotations

import pytest

from search import EmptyQuestion
from search.evaluate import evaluate, hits, load_questions, normalise
from helpers import EVAL_DIR

REAL_QUESTIONS = [
    ("How does feeling emotionally supported affect well-being?", "less stress and greater life satisfaction"),
    ("Do big romantic gestures build emotional intimacy?", "small, meaningful moments rather than grand gestures"),
    ("Why do men find it hard to open up?", "men are more uncomfortable than women in opening up"),
    ("What happens in the brain during sex?", "the brain releases"),
]


@pytest.mark.parametrize("question,phrase", REAL_QUESTIONS)
def test_real_questions_are_answered_with_a_verbatim_quote(searcher, seed_corpus, question, phrase):
    answer = searcher.search(question, k=5)
    assert answer.answered and not answer.notice
    assert any(hits(r.text, [phrase]) for r in answer.results[:3]), [r.quote for r in answer.results]
    for r in answer.results:
        original = (seed_corpus / r.source).read_text(encoding="utf-8")
        assert original[r.start:r.end] == r.text
        assert original[r.quote_start:r.quote_end] == r.quote
        assert r.start <= r.quote_start <= r.quote_end <= r.end
    assert answer.results[0].quote, "the best answer has a highlighted sentence"
    assert [r.rank for r in answer.results] == list(range(1, len(answer.results) + 1))
    plain = searcher.with_settings(diversity=0.0).search(question, k=5).results
    assert all(a.score >= b.score for a, b in zip(plain, plain[1:]))
    assert answer.results[0].id == plain[0].id, "diversity never changes the best result"


@pytest.mark.parametrize("question", [
    "How do I file my income taxes?", "What is photosynthesis?", "Who won the 1998 world cup final?",
])
def test_unrelated_questions_get_no_good_answer(searcher, question):
    answer = searcher.search(question)
    assert not answer.answered
    assert "No good answer" in answer.notice
    assert answer.results, "the nearest passages are still listed under the notice"
    assert all(r.confidence == "weak" for r in answer.results)
    assert all(r.quote == "" for r in answer.results), "a weak match highlights nothing"


@pytest.mark.parametrize("question", ["", "   ", "\n\t", None, "\x00\u200b\ufeff"])
def test_empty_question_is_refused_clearly(searcher, question):
    with pytest.raises(EmptyQuestion, match="empty"):
        searcher.search(question)


def test_very_long_question_is_handled(searcher):
    question = "Why do people build walls around their hearts after being hurt? " * 320  # ~20,000 chars
    answer = searcher.search(question, k=3)
    assert len(question) > 19_000
    assert len(answer.question) <= searcher.settings.max_query_chars
    assert answer.answered and len(answer.results) == 3


@pytest.mark.parametrize("question", [
    "¿Qué es la intimidad emocional?", "親密さとは何ですか", "emotional intimacy 💔🙂", "\u0000\u202e trust?",
    "<script>alert(1)</script> trust", "**trust** [x](y)",
])
def test_any_unicode_question_works(searcher, question):
    answer = searcher.search(question, k=3)
    assert len(answer.results) == 3


def test_diversity_reduces_repetition_without_losing_the_best(searcher, dev_report):
    """MMR on: the top 5 repeat each other less and span more essays, and rank 1 is unchanged."""
    diverse = dev_report  # the default settings (diversity 0.3)
    plain = evaluate(searcher.with_settings(diversity=0.0), load_questions(EVAL_DIR / "dev_questions.jsonl"))
    assert diverse.redundancy5 < plain.redundancy5
    assert diverse.distinct_docs5 > plain.distinct_docs5
    assert diverse.hit1 == plain.hit1


def test_k_is_respected_and_clamped(searcher):
    assert len(searcher.search("trust", k=1).results) == 1
    assert len(searcher.search("trust", k=0).results) == 1
    n = len(searcher.passages)
    assert len(searcher.search("trust", k=n + 50).results) == n


def test_filter_by_document(searcher):
    source = "emotional-intimacy-and-why-it-is-important.txt"
    answer = searcher.search("emotional intimacy", k=5, sources=[source])
    assert answer.results and {r.source for r in answer.results} == {source}


def test_comments_are_marked(searcher):
    answer = searcher.search("Why invest in relationships where you can be fully open?", k=3)
    top = answer.results[0]
    assert top.kind == "comment" and top.section == "Comments"


def test_normalise_matches_curly_quotes_dashes_case_and_space():
    assert normalise("It’s  A—b\u00a0“c”") == normalise("it's a-b \"c\"")
    assert hits("Emotional isolation doesn’t define who we are", ["emotional isolation doesn't define"])
    assert not hits("something else", ["emotional isolation"])


def test_dev_set_quality_gate(dev_report):
    """Quality gate on the shared dev set (issue thresholds); not a timed test."""
    report = dev_report
    assert report.hit5 == 1.0, report
    assert report.hit1 >= 0.95, report
    assert report.mrr10 >= 0.93, report
    assert report.quote_hit1 >= 0.90, report
    assert report.median_passage_chars <= 700
    assert report.offtopic_abstention == 1.0
    assert report.false_abstention == 0.0


def test_howto_quality_gate(howto_searcher):
    """The HOWTO pages' dev set: what the ranking reaches now, so that it does not slip back
    (the quality issue asks for more: hit@1 0.70, MRR@10 0.78, quote-hit@1 0.60)."""
    howto = EVAL_DIR / "howto"
    report = evaluate(howto_searcher, load_questions(howto / "dev_questions.jsonl"),
                      load_questions(howto / "dev_offtopic.jsonl"))
    assert report.hit5 >= 0.90, report
    assert report.hit1 >= 0.60, report
    assert report.mrr10 >= 0.70, report
    assert report.quote_hit1 >= 0.55, report
    assert report.offtopic_abstention == 1.0
    assert report.false_abstention == 0.0


def test_the_bar_lies_between_unrelated_questions_and_the_corpus_own_sentences(searcher, howto_searcher):
    """The bar for "no good answer" lies midway between the unrelated questions' 95th percentile
    and the 5th percentile of the corpus's own sentences (asked with their own passage left
    out). On the HOWTO pages, where everyday questions on planets find the enum page's Planet
    example, that is below the unrelated questions' old bar; on the essays, whose sentences
    reach far above the unrelated questions, it is above it."""
    import numpy as np

    from search.searcher import BASELINE_MARGIN, CORPUS_QUESTIONS, corpus_questions

    for s, lower in ((howto_searcher, True), (searcher, False)):
        c = s.calibration
        unrelated = float(np.quantile(c.baseline_scores, 0.95))
        assert c.threshold == pytest.approx((unrelated + float(np.quantile(c.corpus_scores, 0.05))) / 2)
        assert (c.threshold < unrelated) if lower else (c.threshold > unrelated + BASELINE_MARGIN)
        assert c.strong > c.threshold
    asked = corpus_questions(howto_searcher.passages)
    assert len(asked) == CORPUS_QUESTIONS == len(howto_searcher.calibration.corpus_scores)
    rows = [row for row, _ in asked]
    assert rows == sorted(set(rows)) and rows[-1] > 0.9 * len(howto_searcher.passages), "spread over the corpus"
    assert all(len(q.split()) >= 8 and ">>>" not in q for _, q in asked)
    assert len(corpus_questions(searcher.passages)) == len(searcher.passages)  # 75 passages: each asked


def test_a_tiny_corpus_is_judged_by_the_unrelated_questions_alone(tmp_path, settings):
    import numpy as np

    from ingest import build_index
    from search.searcher import BASELINE_MARGIN, open_searcher

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bees.txt").write_text("Bees dance to tell each other where the flowers are.\n\n"
                                     "A hive keeps warm in winter by shivering together.\n", encoding="utf-8")
    build_index([corpus], tmp_path / "index", settings, on_event=lambda e: None, progress=False)
    c = open_searcher(tmp_path / "index", settings, rebuild=False).calibration
    assert c.corpus_scores == ()
    assert c.threshold == pytest.approx(float(np.quantile(c.baseline_scores, 0.95)) + BASELINE_MARGIN)


def test_query_settings_share_what_is_derived_from_the_build(searcher):
    """with_settings is cheap: the keyword index, the speller and the baseline embeddings are
    the loaded build's, and a calibration is computed once per build and settings."""
    other = searcher.with_settings(diversity=0.0)
    assert other.keywords is searcher.keywords and other.speller is searcher.speller
    assert other.index is searcher.index and other.settings.diversity == 0.0
    assert other.calibration is other.calibration
    assert searcher.with_settings(diversity=0.0).calibration is other.calibration
    assert searcher.calibration is searcher.with_settings().calibration


def test_labels_follow_the_ranking(searcher):
    """A card never has a stronger label than one ranked above it (over many questions)."""
    order = {"weak": 0, "partial": 1, "strong": 2}
    questions = ["trust", "Is attraction enough?", "what do bees eat", "loneliness at work",
                 "How can I rebuild trust after being hurt?", "taxes and intimacy"]
    for q in questions:
        labels = [order[r.confidence] for r in searcher.search(q, k=10).results]
        assert labels == sorted(labels, reverse=True), (q, labels)
        for r in searcher.search(q, k=10).results:
            assert (r.confidence == "weak") == (r.quote == ""), (q, r.rank)

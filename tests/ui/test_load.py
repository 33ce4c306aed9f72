"""Load: the page under 20 concurrent sessions, and one Searcher shared by many threads.

The page test starts the real `streamlit run app.py` on 127.0.0.1 (loopback only) against the
seed index, and drives 20 sessions at once from one headless Chromium (Playwright, Debian's
/usr/bin/chromium; nothing downloaded), with the code of bench/bench_load.py. Each session
opens `/?q=QUESTION&k=3` for dev questions, for at most ROUNDS rounds and no new round after
TIME_LIMIT seconds. No timing is asserted (the machine may be small and shared); p50/p95 of the
time to the first result card are printed. When no browser can be started the test is
skipped with the reason printed, never passed silently.
"""
from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import bench_load

SESSIONS = 20
ROUNDS = 2
TIME_LIMIT = 20.0  # seconds: no session starts a new round after this
THREADS = 8


bench = bench_load()


def test_twenty_concurrent_sessions_get_the_single_user_answers(seed_index, searcher, tmp_path, capsys):
    questions = bench.dev_questions(5)
    expected = bench.expected_quotes(searcher, questions, k=3)
    assert all(expected.values()), "every dev question should have a highlighted quote"
    try:
        with bench.serve(seed_index, tmp_path / "streamlit.log") as server:
            cold, (run,) = bench.run_load(server, questions, [SESSIONS], rounds=ROUNDS,
                                          time_limit=TIME_LIMIT, k=3)
    except bench.BrowserUnavailable as err:
        with capsys.disabled():
            print(f"\nLOAD TEST SKIPPED: {err}", file=sys.stderr)
        pytest.skip(str(err))

    row = run.summary(expected)
    with capsys.disabled():
        print(f"\nload: {SESSIONS} concurrent sessions, {row['visits']} visits, "
              f"{row['questions']} questions, {row['errors']} errors, {row['mismatches']} "
              f"different answers; time to first card p50 {row['p50_s']} s, p95 {row['p95_s']} s, "
              f"max {row['max_s']} s; first visit (model load) {cold:.1f} s; wall {row['wall_s']} s; "
              f"server CPU {row['server_cpu_s_per_visit']} s/visit, "
              f"{row['server_cpu_share']:.0%} of the machine's", file=sys.stderr)

    assert run.errors == []
    assert len(run.visits) >= SESSIONS and {v.session for v in run.visits} == set(range(SESSIONS))
    assert all(v.cards == 3 for v in run.visits), [(v.session, v.round, v.cards) for v in run.visits]
    assert run.mismatches(expected) == []
    assert len({v.question for v in run.visits}) == len(questions)


def _answers(searcher, question: str) -> dict:
    return searcher.search(question, k=5).to_json()


def test_one_searcher_answers_eight_threads_as_it_answers_one(searcher):
    """The shared model, keyword index and speller give the same answers when 8 threads ask at
    once (as Streamlit sessions do) as when the questions are asked one by one."""
    questions = [q for q in _all_dev_questions()] + [
        "Why do poeple build walls?",  # a typo: the speller is shared too
        "How do I bake sourdough bread?",  # off-topic: no good answer
    ]
    sequential = {q: _answers(searcher, q) for q in questions}
    asked = questions * 4  # every question asked by several threads, interleaved
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        concurrent = list(pool.map(lambda q: (q, _answers(searcher, q)), asked))
    assert len(concurrent) == len(asked)
    different = [q for q, answer in concurrent if answer != sequential[q]]
    assert different == []


def _all_dev_questions() -> list[str]:
    return bench.dev_questions(100)

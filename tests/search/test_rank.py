"""Scoring and fusion functions against brute-force definitions."""
from __future__ import annotations

import numpy as np

from search import rank
from search.quote import choose

rng = np.random.default_rng(7)


def test_weighted_sum_matches_a_loop():
    feats = {n: rng.normal(size=50) for n in ("a", "b", "c")}
    weights = {"a": 0.5, "b": 2.0}
    expected = [0.5 * feats["a"][i] + 2.0 * feats["b"][i] for i in range(50)]
    assert np.allclose(rank.weighted_sum(feats, weights), expected)


def test_top_k_orders_by_score_then_index():
    scores = np.array([0.1, 0.9, 0.5, 0.9, -1.0])
    assert rank.top_k(scores, 3).tolist() == [1, 3, 2]
    assert rank.top_k(scores, 10).tolist() == [1, 3, 2, 0, 4]


def test_mmr_with_lambda_one_is_plain_ranking_and_penalises_duplicates():
    vectors = np.eye(4)
    vectors[1] = vectors[0]  # passage 1 duplicates passage 0
    scores = np.array([1.0, 0.99, 0.5, 0.4])
    assert rank.mmr(scores, vectors, 4, lambda_=1.0) == [0, 1, 2, 3]
    assert rank.mmr(scores, vectors, 2, lambda_=0.5) == [0, 2]


def test_quote_takes_best_sentence_and_a_close_neighbour():
    spans = [(0, 50), (51, 100), (101, 150)]
    assert choose(np.array([0.2, 0.8, 0.3]), spans).sentences == (1,)
    q = choose(np.array([0.2, 0.8, 0.79]), spans)
    assert q.sentences == (1, 2) and (q.start, q.end) == (51, 150)
    assert choose(np.array([0.2, 0.8, 0.79]), [(0, 50), (51, 300), (301, 700)]).sentences == (1,)


def test_a_sentence_that_only_leads_on_is_quoted_with_the_next_one():
    from core.text import content_words
    from search.quote import leads_on

    known = content_words("which coordinate comes first in the curses coordinate system")
    assert leads_on("Note that the coordinate system used in curses is unusual.", known)
    assert leads_on("There are two methods for getting input from a window:", set())
    assert leads_on("What can you do if you do not know a file's encoding?", set())
    assert not leads_on("Coordinates are always passed in the order y,x, and the top-left corner is (0,0).", known)
    spans = [(0, 50), (51, 100), (101, 150)]
    scores = np.array([0.9, 0.5, 0.1])
    assert choose(scores, spans, leads=[True, False, False]).sentences == (0, 1)
    assert choose(scores, spans, leads=[False, False, False]).sentences == (0,)
    assert choose(scores, [(0, 50), (51, 400)], leads=[True, False]).sentences == (0,)  # too long
    assert choose(np.array([0.1, 0.9]), [(0, 50), (51, 100)], leads=[False, True]).sentences == (1,)  # nothing after


def test_what_a_colon_announces_is_quoted_with_its_announcement():
    from search.quote import looks_like_code

    intro = "To coerce the extra bits to zero, pass strict=False to the constructor:"
    code = ">>> ipaddress.ip_network('192.0.2.1/24', strict=False)\nIPv4Network('192.0.2.0/24')"
    texts = ["By default a network with host bits set raises ValueError.", intro, code]
    spans = [(0, 58), (59, 59 + len(intro)), (60 + len(intro), 60 + len(intro) + len(code))]
    scores = np.array([0.5, 0.4, 0.6])  # the code scores best
    assert choose(scores, spans, texts=texts).sentences == (1, 2)
    # too long to quote with its announcement: the announcement says in words what the code shows
    assert choose(scores, spans, max_chars=100, texts=texts).sentences == (1,)
    # a long prose sentence after a colon is the answer itself: it is kept
    prose = ["There are several signs:", "One of the first signs is surface-level communication " + "x" * 80 + "."]
    assert choose(np.array([0.1, 0.9]), [(0, 24), (25, 160)], max_chars=100, texts=prose).sentences == (1,)
    # without a colon before it, the best sentence stands as before
    assert choose(scores, spans, texts=[texts[0], intro.rstrip(":") + ".", code]).sentences == (2,)
    assert looks_like_code(code) and looks_like_code("logging.basicConfig(filename='example.log', filemode='w')")
    assert looks_like_code("def main(stdscr):\n    stdscr.clear()")
    assert not looks_like_code(intro) and not looks_like_code("Raymond Hettinger")
    assert not looks_like_code("Called from an object (or a class) | Called from a class.")


def test_a_sentence_that_points_back_is_quoted_with_the_one_it_points_to():
    texts = ["Note that the coordinate system used in curses is unusual.",
             "Coordinates are always passed in the order y,x.",
             "This breaks the normal convention where the x coordinate comes first."]
    spans = [(0, 58), (59, 106), (107, 176)]
    scores = np.array([0.8, 0.7, 0.9])
    assert choose(scores, spans, texts=texts).sentences == (1, 2)
    assert choose(scores, spans, max_chars=60, texts=texts).sentences == (2,)  # too long: alone
    texts[2] = "Thistle grows where the x coordinate comes first in the garden plan."
    assert choose(scores, spans, texts=texts).sentences == (2,)  # a word that only starts so

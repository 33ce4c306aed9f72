"""The handout basket: adding without duplicates, removing, reordering, notes, JSON round trips."""
from __future__ import annotations

import dataclasses
import json

import pytest

from search.basket import Basket, BasketItem


@pytest.fixture
def items(searcher):
    answer = searcher.search("Why do people build walls around their hearts?", k=4)
    return [BasketItem.from_result(r) for r in answer.results]


def test_item_from_result_quotes_the_answering_sentence(searcher):
    r = searcher.search("What does it mean to feel emotionally safe with someone?", k=1).results[0]
    item = BasketItem.from_result(r, note="start here")
    assert (item.passage_id, item.source, item.title, item.section) == (r.id, r.source, r.title, r.section)
    assert (item.quote, item.quote_start, item.quote_end) == (r.quote, r.quote_start, r.quote_end)
    assert (item.paragraph, item.paragraph_end, item.start, item.end) == (r.paragraph, r.passage.paragraph_end, r.start, r.end)
    assert item.text == r.text and item.note == "start here" and item.id == r.id


def test_nothing_highlighted_means_the_whole_passage(searcher):
    r = searcher.search("trust", k=1).results[0]
    weak = dataclasses.replace(r, quote="", quote_start=r.start, quote_end=r.start)
    item = BasketItem.from_result(weak)
    assert (item.quote, item.quote_start, item.quote_end) == (r.text, r.start, r.end)


def test_add_refuses_duplicates_and_keeps_order(items):
    basket = Basket()
    assert all(basket.add(i) for i in items)
    assert not basket.add(items[1])
    assert not basket.add(dataclasses.replace(items[0], note="other note"))
    assert [i.passage_id for i in basket] == [i.passage_id for i in items]
    assert len(basket) == len(items) and items[2].passage_id in basket


def test_remove_move_and_note(items):
    basket = Basket()
    for i in items:
        basket.add(i)
    a, b, c, d = (i.passage_id for i in items)
    assert basket.move_up(c) and [i.passage_id for i in basket] == [a, c, b, d]
    assert basket.move_down(a) and [i.passage_id for i in basket] == [c, a, b, d]
    assert not basket.move_up(c)  # already first
    assert not basket.move_down(d)  # already last
    assert basket.move(d, -10) and [i.passage_id for i in basket] == [d, c, a, b]
    basket.set_note(a, "Ask the group first")
    assert basket.get(a).note == "Ask the group first" and basket.get(a).quote == items[0].quote
    assert basket.remove(c) and not basket.remove(c)
    assert [i.passage_id for i in basket] == [d, a, b]
    with pytest.raises(KeyError):
        basket.set_note(c, "gone")
    basket.clear()
    assert len(basket) == 0


def test_json_round_trip(items):
    basket = Basket()
    for n, i in enumerate(items):
        basket.add(dataclasses.replace(i, note=f"note {n} <b>&</b>"))
    data = json.loads(json.dumps(basket.to_list()))
    assert Basket.from_list(data) == basket


def test_compact_round_trip_rebuilds_from_the_index(items, searcher):
    basket = Basket()
    for i in items:
        basket.add(i)
    basket.set_note(items[1].passage_id, "why?")
    compact = json.loads(json.dumps(basket.to_list(compact=True)))
    assert all(set(d) <= {"p", "qs", "qe", "note"} for d in compact)
    passages = {p.id: p for p in searcher.passages}
    assert Basket.from_list(compact, passages) == basket
    assert len(Basket.from_list(compact)) == 0  # nothing to rebuild from


def test_malformed_entries_are_dropped(items, searcher):
    good = Basket(items=[items[0]]).to_list()
    data = good + ["junk", {"p": "unknown-id", "qs": 0, "qe": 1}, {"p": items[1].passage_id, "qs": "x", "qe": 2},
                   {"passage_id": "x"}, {**good[0], "text": None}]
    rebuilt = Basket.from_list(data, {p.id: p for p in searcher.passages})
    assert [i.passage_id for i in rebuilt] == [items[0].passage_id]
    assert len(Basket.from_list("not a list")) == 0


def test_offsets_outside_the_passage_fall_back_to_the_whole_passage(searcher):
    p = searcher.passages[0]
    item = BasketItem.from_passage(p, p.start - 5, p.end + 5)
    assert (item.quote, item.quote_start, item.quote_end) == (p.text, p.start, p.end)

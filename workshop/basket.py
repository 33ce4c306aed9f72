"""The handout basket: quotes collected for a workshop, in the order they will be printed.

Pure data (no Streamlit): the page keeps `basket.to_list()` in st.session_state and rebuilds
it with `Basket.from_list`. Each item holds its whole Passage (so a handout cites it exactly
as the index did: section, paragraphs, page) with the quoted span and a note. One item per
passage: adding a passage already in the basket changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from core.passage import Passage

MAX_NOTE_CHARS = 5000


@dataclass(frozen=True)
class BasketItem:
    passage: Passage
    quote_start: int  # absolute offsets of the quote in the file's text, inside the passage
    quote_end: int
    note: str = ""

    @property
    def passage_id(self) -> str:
        return self.passage.id

    @property
    def source(self) -> str:
        return self.passage.source

    @property
    def title(self) -> str:
        return self.passage.title

    @property
    def quote(self) -> str:
        """Verbatim: the file's text at [quote_start, quote_end)."""
        p = self.passage
        return p.text[self.quote_start - p.start : self.quote_end - p.start]

    @classmethod
    def from_passage(cls, passage: Passage, quote_start: int | None = None,
                     quote_end: int | None = None, note: str = "") -> "BasketItem":
        """An item quoting [quote_start, quote_end) of the passage (the whole passage when the
        span is empty, missing or outside it)."""
        p = passage
        qs = p.start if quote_start is None else quote_start
        qe = p.end if quote_end is None else quote_end
        if not (p.start <= qs < qe <= p.end):
            qs, qe = p.start, p.end
        return cls(p, qs, qe, note[:MAX_NOTE_CHARS])

    @classmethod
    def from_result(cls, result, note: str = "") -> "BasketItem":
        """An item from a search Result: its quote (or the whole passage when nothing was
        highlighted)."""
        return cls.from_passage(result.passage, result.quote_start, result.quote_end, note)

    def to_dict(self) -> dict:
        return {"passage": self.passage.to_dict(), "quote_start": self.quote_start,
                "quote_end": self.quote_end, "note": self.note}

    @classmethod
    def from_dict(cls, d) -> "BasketItem":
        """The item back from `to_dict`; TypeError (or ValueError, KeyError) for anything else."""
        if not isinstance(d, dict) or not isinstance(d.get("passage"), dict):
            raise TypeError("not a basket item")
        passage = Passage.from_dict(d["passage"])
        for name, kind in (("quote_start", int), ("quote_end", int), ("note", str)):
            if type(d.get(name)) is not kind:
                raise TypeError(f"{name} is not {kind.__name__}")
        for name in ("id", "source", "title", "section", "question", "kind", "text"):
            if type(getattr(passage, name)) is not str:
                raise TypeError(f"passage {name} is not text")
        return cls.from_passage(passage, d["quote_start"], d["quote_end"], d["note"])


@dataclass
class Basket:
    items: list[BasketItem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __contains__(self, passage_id: str) -> bool:
        return any(i.passage_id == passage_id for i in self.items)

    def position(self, passage_id: str) -> int:
        """Where the passage's item is; KeyError when it is not in the basket."""
        for n, item in enumerate(self.items):
            if item.passage_id == passage_id:
                return n
        raise KeyError(passage_id)

    def add(self, item: BasketItem) -> bool:
        """Append the item; False (and no change) when its passage is already in the basket."""
        if item.passage_id in self:
            return False
        self.items.append(item)
        return True

    def remove(self, passage_id: str) -> bool:
        before = len(self.items)
        self.items = [i for i in self.items if i.passage_id != passage_id]
        return len(self.items) < before

    def move(self, passage_id: str, by: int) -> bool:
        """Move an item `by` places (negative: up), clamped to the ends; False if it did not move."""
        at = self.position(passage_id)
        to = max(0, min(len(self.items) - 1, at + by))
        if to == at:
            return False
        self.items.insert(to, self.items.pop(at))
        return True

    def set_note(self, passage_id: str, note: str) -> None:
        at = self.position(passage_id)
        self.items[at] = replace(self.items[at], note=str(note)[:MAX_NOTE_CHARS])

    def to_list(self) -> list[dict]:
        """JSON-able items, for the session (and `from_list`)."""
        return [i.to_dict() for i in self.items]

    @classmethod
    def from_list(cls, data) -> "Basket":
        """The basket back from `to_list()`; malformed entries are dropped."""
        basket = cls()
        for d in data if isinstance(data, list) else []:
            try:
                basket.add(BasketItem.from_dict(d))
            except (TypeError, ValueError, KeyError):
                continue
        return basket

"""The handout basket: quotes collected for a workshop, in the order they will be printed.

Pure data (no Streamlit): the page keeps `basket.to_list()` in st.session_state (or a compact
`to_list(compact=True)` in the query string) and rebuilds it with `Basket.from_list`.
One item per passage: adding a passage already in the basket changes nothing.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

MAX_NOTE_CHARS = 5000


@dataclass(frozen=True)
class BasketItem:
    passage_id: str
    source: str  # relative to the corpus root
    title: str
    section: str
    paragraph: int
    text: str  # the whole passage, verbatim
    quote: str  # verbatim: the file's text at [quote_start, quote_end)
    quote_start: int
    quote_end: int
    note: str = ""
    # The rest of the passage's fields: enough to cite and to verify it without the index.
    question: str = ""
    kind: str = "body"
    paragraph_end: int = 0  # 0: same as paragraph
    start: int = -1  # the passage's offsets in the file; -1: unknown (not verifiable)
    end: int = -1

    def __post_init__(self):
        if not self.paragraph_end:
            object.__setattr__(self, "paragraph_end", self.paragraph)

    @property
    def id(self) -> str:  # so an item can be cited like a Passage
        return self.passage_id

    @classmethod
    def from_passage(cls, passage, quote_start: int | None = None, quote_end: int | None = None,
                     note: str = "") -> "BasketItem":
        """An item quoting [quote_start, quote_end) of the passage (the whole passage when the
        span is empty, missing or outside it)."""
        p = passage
        qs = p.start if quote_start is None else quote_start
        qe = p.end if quote_end is None else quote_end
        if not (p.start <= qs < qe <= p.end):
            qs, qe = p.start, p.end
        return cls(passage_id=p.id, source=p.source, title=p.title, section=p.section,
                   paragraph=p.paragraph, text=p.text, quote=p.text[qs - p.start:qe - p.start],
                   quote_start=qs, quote_end=qe, note=note[:MAX_NOTE_CHARS], question=p.question,
                   kind=p.kind, paragraph_end=p.paragraph_end, start=p.start, end=p.end)

    @classmethod
    def from_result(cls, result, note: str = "") -> "BasketItem":
        """An item from a search Result: its quote (or the whole passage when nothing was
        highlighted)."""
        return cls.from_passage(result.passage, result.quote_start, result.quote_end, note)

    @classmethod
    def from_dict(cls, d: dict) -> "BasketItem":
        """The item back from `asdict`; TypeError for anything else (wrong types included)."""
        if not isinstance(d, dict):
            raise TypeError("not an object")
        values = {}
        for f in fields(cls):
            if f.name in d:
                value = d[f.name]
                kind = int if f.type == "int" else str
                if type(value) is not kind:
                    raise TypeError(f"{f.name} is not {kind.__name__}")
                values[f.name] = value
        return cls(**values)


@dataclass
class Basket:
    items: list[BasketItem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __contains__(self, passage_id: str) -> bool:
        return any(i.passage_id == passage_id for i in self.items)

    def _at(self, passage_id: str) -> int:
        for n, item in enumerate(self.items):
            if item.passage_id == passage_id:
                return n
        raise KeyError(passage_id)

    def get(self, passage_id: str) -> BasketItem | None:
        return next((i for i in self.items if i.passage_id == passage_id), None)

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
        at = self._at(passage_id)
        to = max(0, min(len(self.items) - 1, at + by))
        if to == at:
            return False
        self.items.insert(to, self.items.pop(at))
        return True

    def move_up(self, passage_id: str) -> bool:
        return self.move(passage_id, -1)

    def move_down(self, passage_id: str) -> bool:
        return self.move(passage_id, 1)

    def set_note(self, passage_id: str, note: str) -> None:
        at = self._at(passage_id)
        self.items[at] = BasketItem(**{**asdict(self.items[at]), "note": str(note)[:MAX_NOTE_CHARS]})

    def clear(self) -> None:
        self.items = []

    def to_list(self, compact: bool = False) -> list[dict]:
        """JSON-able items. `compact`: only passage id, quote offsets and note (for a URL);
        `from_list` fills in the rest from the index's passages."""
        if compact:
            return [{"p": i.passage_id, "qs": i.quote_start, "qe": i.quote_end, **({"note": i.note} if i.note else {})}
                    for i in self.items]
        return [asdict(i) for i in self.items]

    @classmethod
    def from_list(cls, data, passages: dict | None = None) -> "Basket":
        """The basket back from `to_list()` (full or compact). Compact entries need `passages`
        (passage id -> Passage, e.g. {p.id: p for p in searcher.passages}); entries that are
        malformed or name a passage not in the index are dropped."""
        basket = cls()
        for d in data if isinstance(data, list) else []:
            try:
                if isinstance(d, dict) and "p" in d and "passage_id" not in d:
                    p = (passages or {}).get(d["p"])
                    if p is None:
                        continue
                    item = BasketItem.from_passage(p, int(d["qs"]), int(d["qe"]), str(d.get("note", "")))
                else:
                    item = BasketItem.from_dict(d)
            except (TypeError, ValueError, KeyError):
                continue
            basket.add(item)
        return basket

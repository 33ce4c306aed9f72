"""A passage: a contiguous span of a document's text, with where it stands in the document."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Passage:
    id: str
    source: str  # the file, relative to the corpus root, with forward slashes
    title: str
    section: str
    question: str  # the FAQ question it answers, if any
    kind: str  # "body" or "comment"
    paragraph: int  # first paragraph number (1-based)
    paragraph_end: int  # last paragraph number (same as paragraph unless merged)
    start: int  # offsets into the document's text: text == doc[start:end]
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]  # absolute spans of its sentences
    page: int | None = None  # PDF: the page it starts on (1-based); None for other formats

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sentences"] = [list(s) for s in self.sentences]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Passage":
        return cls(**{**d, "sentences": tuple(tuple(s) for s in d["sentences"])})

    def context(self) -> str:
        """Title, section and question: what the passage is about, for embedding and display."""
        return " — ".join(p for p in (self.title, self.section, self.question) if p)

    def sentence_texts(self) -> list[str]:
        """Each sentence's text, verbatim."""
        return [self.text[a - self.start : b - self.start] for a, b in self.sentences]

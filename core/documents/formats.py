"""Which files are documents, and the two things every reader returns or raises."""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

KINDS = {".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}  # extracted formats
PLAIN_SUFFIXES = (".txt", ".md")
SUFFIXES = PLAIN_SUFFIXES + tuple(KINDS)  # .txt .md .html .htm .pdf .docx


class SkipFile(Exception):
    """A file that cannot be ingested; the message says why, for the person running ingest."""


@dataclass(frozen=True)
class Extracted:
    text: str
    kind: str  # "text", "html", "pdf" or "docx"
    pages: list[int] | None = None  # PDF only: the offset in `text` where each page starts
    code: tuple[tuple[int, int], ...] = ()  # web pages: where each code block (<pre>) stands in `text`

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding the character at `offset` (None for formats without pages)."""
        return page_of(self.pages, offset)


def page_of(pages, offset: int) -> int | None:
    """The 1-based page holding the character at `offset`, given where each page starts in the
    text (None without pages)."""
    return max(1, bisect.bisect_right(pages, offset)) if pages else None


def kind_of(path: Path | str) -> str:
    """'html', 'pdf', 'docx', or 'text' for everything else (.txt, .md)."""
    return KINDS.get(Path(path).suffix.lower(), "text")


def is_plain(path: Path | str) -> bool:
    """True for .txt and .md: offsets refer to the file's own text (no stored copy needed)."""
    return kind_of(path) == "text"

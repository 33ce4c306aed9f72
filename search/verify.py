"""Checking a quote against its file before it is shown or exported.

The index records where each passage and quote stood in the file's text (as `read_text`
decodes it). A file edited, replaced or deleted since then no longer holds the same text at
those offsets: `verify` says so instead of passing the stored quote off as verified.
File texts are cached per (path, modification time, size), so checking a page of results
or a whole handout reads each file once.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ingest.read import SkipFile, read_text

CHANGED = "file changed since indexing"
MISSING = "file no longer exists"


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str  # "verified", or why the quote cannot be vouched for

    def flag(self) -> str:
        """'' when verified; else the warning to print beside the quote."""
        return "" if self.ok else f"[quote not verified: {self.reason}]"


def verify(corpus_root: Path, passage, quote_start: int, quote_end: int,
           quote: str | None = None) -> Verification:
    """Is the passage (and the quote at [quote_start, quote_end)) still in its file, verbatim?

    `passage` needs `source`, `start`, `end` and `text` (an ingest Passage or a BasketItem).
    With `quote`, the quoted text itself must also equal the file's text at those offsets.
    """
    path = source_path(corpus_root, passage.source)
    if path is None:
        return Verification(False, "the file is not in the document folder")
    if not (passage.start <= quote_start <= quote_end <= passage.end):
        return Verification(False, "the quote lies outside its passage")
    text, problem = file_text(path)
    if problem:
        return Verification(False, problem)
    if text[passage.start:passage.end] != passage.text:
        return Verification(False, CHANGED)
    if quote is not None and text[quote_start:quote_end] != quote:
        return Verification(False, "the quote differs from the file at its offsets")
    return Verification(True, "verified")


def source_path(corpus_root: Path, source: str) -> Path | None:
    """The file of a source (relative to the corpus root); None when it would lie outside it."""
    root = Path(corpus_root).resolve()
    path = (root / source).resolve()
    return path if path.is_relative_to(root) else None


def file_text(path: Path) -> tuple[str, str]:
    """(text, "") or ("", why it cannot be read): read once per version of the file."""
    try:
        st = Path(path).stat()
    except FileNotFoundError:
        return "", MISSING
    except OSError as err:
        return "", f"the file cannot be read ({err.strerror or err.__class__.__name__})"
    return _read(str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=64)
def _read(path: str, mtime_ns: int, size: int) -> tuple[str, str]:
    try:
        return read_text(Path(path)), ""
    except FileNotFoundError:
        return "", MISSING
    except SkipFile as err:
        return "", f"the file can no longer be read: {err}"

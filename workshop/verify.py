"""Checking a quote against its file before it is shown or exported.

The index records where each passage and quote stood in the file's text (as `read_text`
decodes it). A file edited, replaced or deleted since then no longer holds the same text at
those offsets: `Verifier.verify` says so instead of passing the stored quote off as verified.

Web pages, PDFs and Word files: offsets refer to the text extracted at ingest, which the build
stores (builds/<id>/texts/). Such a quote is checked against that stored text, and the file
itself must still have the sha256 the manifest recorded (else "file changed since indexing").
A Verifier belongs to one loaded build (`verifier(index)`); one made for a corpus folder alone
(`Verifier(root)`) extracts such files again and checks the quote against that text.
File texts are cached per (path, modification time, size) in the Verifier, so checking a page
of results or a whole handout reads each file once.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from core.documents import SkipFile, file_sha256, is_plain, read_text
from core.index_format import TextEntry, read_stored_text

CHANGED = "file changed since indexing"
MISSING = "file no longer exists"
OUTSIDE = "the file is not in the document folder"
CACHED_FILES = 64


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str  # "verified", or why the quote cannot be vouched for

    def flag(self) -> str:
        """'' when verified; else the warning to print beside the quote."""
        return "" if self.ok else f"[quote not verified: {self.reason}]"


def source_path(corpus_root: Path, source: str) -> Path | None:
    """The file of a source (relative to the corpus root); None when it would lie outside it."""
    root = Path(corpus_root).resolve()
    path = (root / source).resolve()
    return path if path.is_relative_to(root) else None


def unreadable(err: OSError) -> str:
    """Why a file cannot be read, in words."""
    if isinstance(err, FileNotFoundError):
        return MISSING
    return f"the file cannot be read ({err.strerror or err.__class__.__name__})"


@dataclass
class Verifier:
    """Quote checks for the documents of one corpus folder (and, given, the build indexing it)."""

    corpus_root: Path
    build: Path | None = None
    files: dict[str, str] = field(default_factory=dict)  # source -> sha256 of its bytes at ingest
    texts: dict[str, TextEntry] = field(default_factory=dict)  # source -> stored extracted text
    cache: dict = field(default_factory=dict, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def for_index(cls, index) -> "Verifier":
        m = index.manifest
        return cls(index.corpus_root, index.build, dict(m.corpus.files), dict(m.texts))

    def verify(self, passage, quote_start: int, quote_end: int, quote: str | None = None) -> Verification:
        """Is the passage (and the quote at [quote_start, quote_end)) still in its file, verbatim?

        `passage` needs `source`, `start`, `end` and `text`. With `quote`, the quoted text itself
        must also equal the file's text at those offsets."""
        text, problem = self.document_text(passage.source)
        if problem == OUTSIDE:
            return Verification(False, problem)
        if not (passage.start <= quote_start <= quote_end <= passage.end):
            return Verification(False, "the quote lies outside its passage")
        if problem:
            return Verification(False, problem)
        if text[passage.start:passage.end] != passage.text:
            return Verification(False, CHANGED)
        if quote is not None and text[quote_start:quote_end] != quote:
            return Verification(False, "the quote differs from the file at its offsets")
        return Verification(True, "verified")

    def page_at(self, source: str, offset: int | None) -> int | None:
        """The PDF page holding the character at `offset` of a document's text, when the build
        recorded where its pages start; else None (cite the passage's own page)."""
        entry = self.texts.get(source)
        return entry.page_at(offset) if entry is not None and offset is not None else None

    def document_text(self, source: str) -> tuple[str, str]:
        """(the text the index's offsets refer to, '') or ('', why it cannot be vouched for):
        the file's own text for plain text, else the text extracted at ingest while the file is
        unchanged (extracted again when this Verifier knows no build)."""
        path = source_path(self.corpus_root, source)
        if path is None:
            return "", OUTSIDE
        try:
            st = path.stat()
        except OSError as err:
            return "", unreadable(err)
        stamp = (str(path), st.st_mtime_ns, st.st_size)
        if is_plain(source) or source not in self.files:
            return self.cached(("text",) + stamp, lambda: self.read(path))
        sha, problem = self.cached(("sha",) + stamp, lambda: self.sha(path))
        if problem:
            return "", problem
        if sha != self.files[source]:
            return "", CHANGED
        entry = self.texts.get(source)
        if entry is not None and self.build is not None:
            stored = self.cached(("stored", str(self.build), entry.file), lambda: self.stored(entry))
            if stored is not None:
                return stored, ""
        return self.cached(("text",) + stamp, lambda: self.read(path))  # extract again: the same text

    def file_text(self, path: Path) -> tuple[str, str]:
        """(text, '') or ('', why it cannot be read) of any file, read once per version of it."""
        try:
            st = Path(path).stat()
        except OSError as err:
            return "", unreadable(err)
        return self.cached(("text", str(path), st.st_mtime_ns, st.st_size), lambda: self.read(Path(path)))

    def stamps(self, sources) -> tuple:
        """(source, modification time, size) of each file (None, None when it cannot be
        found): what changes when a file is edited, for caching work that reads the files."""
        out = []
        for source in dict.fromkeys(sources):
            path = source_path(self.corpus_root, source)
            try:
                st = path.stat() if path is not None else None
            except OSError:
                st = None
            out.append((source, st.st_mtime_ns, st.st_size) if st else (source, None, None))
        return tuple(out)

    # --- reading, cached per file version ------------------------------------------------------

    def cached(self, key, compute):
        with self.lock:
            if key in self.cache:
                return self.cache[key]
        value = compute()
        with self.lock:
            if len(self.cache) >= CACHED_FILES:
                self.cache.pop(next(iter(self.cache)))
            self.cache[key] = value
        return value

    @staticmethod
    def read(path: Path) -> tuple[str, str]:
        try:
            return read_text(path), ""
        except FileNotFoundError:
            return "", MISSING
        except SkipFile as err:
            return "", f"the file can no longer be read: {err}"

    @staticmethod
    def sha(path: Path) -> tuple[str, str]:
        try:
            return file_sha256(path), ""
        except OSError as err:
            return "", unreadable(err)

    def stored(self, entry: TextEntry) -> str | None:
        try:
            return read_stored_text(self.build, entry)
        except (OSError, ValueError, UnicodeDecodeError):
            return None  # pruned or damaged: the caller extracts the file again


def verifier(index) -> Verifier:
    """The Verifier of a loaded build, made once and kept with it."""
    return index.memo("verifier", lambda: Verifier.for_index(index))

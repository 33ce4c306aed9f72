"""Turning a document's bytes into text, or saying why not.

`read_document` (and `read_text`, its text) is the single entry point: plain text (.txt, .md)
is decoded here; web pages, PDFs and Word files are extracted by `extract.py`. The text
returned is what every offset in the index refers to. For plain text it is the file's own
text, so a quote is checked against the file; for the other formats it is the extracted text,
which ingest stores with the index (builds/<id>/texts/) for the same purpose.
"""
from __future__ import annotations

from pathlib import Path

from .decode import decode
from .extract import extract
from .formats import PLAIN_SUFFIXES, SUFFIXES, Extracted, SkipFile, kind_of

MAX_BYTES = 20_000_000  # 20 MB of text is far beyond an essay; larger files are refused
MAX_DOCUMENT_BYTES = 100_000_000  # PDFs and Word files carry pictures and fonts: a larger limit


def read_text(path: Path) -> str:
    """The file's text; raises SkipFile for empty, binary, huge, undecodable, corrupt or
    encrypted files (see read_document)."""
    return read_document(path).text


def read_document(path: Path) -> Extracted:
    """The file's text, its kind and (PDF) page offsets, dispatching on the suffix: .txt and
    .md are decoded, .html/.htm, .pdf and .docx extracted. Raises SkipFile with the reason."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SkipFile(f"not a supported document (supported: {', '.join(SUFFIXES)})")
    limit = MAX_BYTES if suffix in PLAIN_SUFFIXES or kind_of(path) == "html" else MAX_DOCUMENT_BYTES
    size = path.stat().st_size
    if size > limit:
        raise SkipFile(f"too large ({size / 1e6:.1f} MB; the limit is {limit / 1e6:g} MB): split it into smaller files")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SkipFile(f"cannot be read ({err.strerror or err.__class__.__name__})") from None
    if suffix in PLAIN_SUFFIXES:
        return Extracted(decode(data), "text", None)
    return extract(path, data)

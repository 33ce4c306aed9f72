"""Finding documents and turning their bytes into text, or saying why not.

`read_document` (and `read_text`, its text) is the single entry point: plain text (.txt, .md)
is decoded here; web pages, PDFs and Word files are extracted by `ingest/extract.py`. The text
returned is what every offset in the index refers to. For plain text it is the file's own
text, so a quote is checked against the file; for the other formats it is the extracted text,
which ingest stores with the index (builds/<id>/texts/) for the same purpose.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .extract import KINDS, Extracted, SkipFile, extract, kind_of

PLAIN_SUFFIXES = (".txt", ".md")
SUFFIXES = PLAIN_SUFFIXES + tuple(KINDS)  # .txt .md .html .htm .pdf .docx
MAX_BYTES = 20_000_000  # 20 MB of text is far beyond an essay; larger files are refused
MAX_DOCUMENT_BYTES = 100_000_000  # PDFs and Word files carry pictures and fonts: a larger limit

__all__ = ["SUFFIXES", "PLAIN_SUFFIXES", "MAX_BYTES", "SkipFile", "Extracted", "SourceFile",
           "discover", "fingerprint", "relative", "read_text", "read_document", "decode",
           "is_plain", "file_sha256"]


@dataclass(frozen=True)
class SourceFile:
    path: Path  # absolute
    source: str  # relative to the corpus root, with forward slashes
    sha256: str


def discover(paths: list[Path]) -> tuple[Path, list[Path]]:
    """The corpus root and the candidate files (sorted) under the given files and folders."""
    paths = [Path(p).resolve() for p in paths]
    for p in paths:
        if not p.exists():
            raise FileNotFoundError(f"{p} does not exist: give a folder or a document file "
                                    f"({', '.join(SUFFIXES)})")
    files: set[Path] = set()
    for p in paths:
        if p.is_dir():
            files.update(
                f for f in p.rglob("*")
                if f.is_file() and f.suffix.lower() in SUFFIXES
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
                and not f.name.startswith("~$")  # the lock file Word keeps beside an open document
            )
        else:
            files.add(p)
    dirs = [p if p.is_dir() else p.parent for p in paths]
    root = Path(_common_path(dirs))
    return root, sorted(files)


def _common_path(dirs: list[Path]) -> str:
    import os

    return os.path.commonpath([str(d) for d in dirs])


def fingerprint(root: Path, files: list[Path]) -> dict[str, str]:
    """source -> sha256 of the file's bytes: the corpus as the index saw it."""
    return {relative(root, f): file_sha256(f) for f in files}


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in chunks (PDFs can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_plain(path: Path | str) -> bool:
    """True for .txt and .md: offsets refer to the file's own text (no stored copy needed)."""
    return kind_of(Path(path)) == "text"


def relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


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


def decode(data: bytes) -> str:
    if not data.strip():
        raise SkipFile("empty: the file has no text")
    if _looks_binary(data):
        raise SkipFile("binary: it does not look like a text file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise SkipFile("undecodable: it starts like UTF-16 but is not valid UTF-16; save it as UTF-8") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = _western(data) or _detect(data)
    if not text.strip():
        raise SkipFile("empty: the file has no text")
    return text


def _looks_binary(data: bytes) -> bool:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark
        return False
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls > len(head) * 0.05


# Non-ASCII characters of ordinary Western European text in Windows-1252 / Latin-1.
_WESTERN_PUNCT = set("\u00a0“”‘’‚„–—…•€™«»°£§©®·¡¿´¨")


def _western(data: bytes) -> str | None:
    """The text as Windows-1252 (a superset of Latin-1 for printable text) when it reads as
    Western European text: accented letters and typographic punctuation, mostly ASCII letters.

    Statistical detection cannot tell cp1252 from cp1250/cp1257 in short texts ("naïve"
    comes out as "naďve"), while cp1252 is by far the most common legacy encoding of English.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:  # bytes undefined in cp1252: let the detector decide
        return None
    odd = [c for c in text if ord(c) > 127]
    letters = sum(c.isalpha() for c in text)
    if all(c.isalpha() or c in _WESTERN_PUNCT for c in odd) and len(odd) <= 0.3 * letters:
        return text
    return None


def _detect(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise SkipFile("undecodable: its character encoding could not be recognised; save it as UTF-8")
    text = str(best)
    if "\ufffd" in text or sum(not c.isprintable() and c not in "\r\n\t" for c in text) > len(text) * 0.05:
        raise SkipFile("undecodable: its character encoding could not be recognised; save it as UTF-8")
    return text

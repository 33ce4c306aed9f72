"""Finding documents and turning their bytes into text, or saying why not.

The text returned by `read_text` is what every offset in the index refers to: the same
function is used at ingest and when a quote is checked against its file.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = (".txt", ".md")
MAX_BYTES = 20_000_000  # 20 MB of text is far beyond an essay; larger files are refused


class SkipFile(Exception):
    """A file that cannot be ingested; the message says why, for the person running ingest."""


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
            raise FileNotFoundError(f"{p} does not exist: give a folder or a .txt/.md file")
    files: set[Path] = set()
    for p in paths:
        if p.is_dir():
            files.update(
                f for f in p.rglob("*")
                if f.is_file() and f.suffix.lower() in SUFFIXES
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
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
    return {relative(root, f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def read_text(path: Path) -> str:
    """The file's text, decoded; raises SkipFile for empty, binary, huge or undecodable files."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise SkipFile(f"not a .txt or .md file (supported: {', '.join(SUFFIXES)})")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SkipFile(f"too large ({size / 1e6:.1f} MB; the limit is {MAX_BYTES / 1e6:g} MB): split it into smaller files")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SkipFile(f"cannot be read ({err.strerror or err.__class__.__name__})") from None
    return decode(data)


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

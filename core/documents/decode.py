"""Bytes to text: encodings detected (UTF-8, UTF-16 with or without a byte-order mark,
UTF-8 with a few damaged bytes, Windows-1252, then statistical detection), binary data refused.

`decode` returns a `Decoded` text: a str that also carries `warnings`, what the person running
ingest should hear about the file (a few bytes that are not UTF-8, replaced by U+FFFD)."""
from __future__ import annotations

import codecs

from .formats import SkipFile

MAX_DAMAGED = 20  # so many invalid UTF-8 sequences, or ...
MAX_DAMAGED_SHARE = 0.01  # ... this share of the bytes, still read as UTF-8 with replacements


class Decoded(str):
    """A file's text, with what decoding it warns about (empty when nothing)."""

    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, text: str, warnings: tuple[str, ...] = ()) -> "Decoded":
        out = cls(text)
        out.warnings = tuple(warnings)
        return out


def decode(data: bytes) -> Decoded:
    """The text of a plain-text file's bytes; raises SkipFile for empty, binary or undecodable
    data. `.warnings` on the result says what was repaired."""
    if not data.strip():
        raise SkipFile("empty: the file has no text")
    warnings: tuple[str, ...] = ()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise SkipFile("undecodable: it starts like UTF-16 but is not valid UTF-16; save it as UTF-8") from None
    elif (utf16 := utf16_without_bom(data)) is not None:
        text = utf16
    elif looks_binary(data):
        raise SkipFile("binary: it does not look like a text file")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            mostly = mostly_utf8(data)
            if mostly is not None:
                text, warnings = mostly
            else:
                text = _western(data) or _detect(data)
    if not text.strip():
        raise SkipFile("empty: the file has no text")
    return Decoded.of(text, warnings)


def utf16_without_bom(data: bytes) -> str | None:
    """The text of UTF-16 (little- or big-endian) saved without a byte-order mark, recognised by
    its zero bytes: the high byte of every ASCII character (spaces, digits, punctuation, Latin
    letters) is zero, so zeros fill many of one set of alternating positions and (almost) none
    of the other. None when it is not that, or does not decode cleanly to printable text."""
    if len(data) < 4 or len(data) % 2:
        return None
    head = data[:8192]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2
    for zeros, others, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros >= 0.1 * half and others <= 0.01 * half:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                return None
            odd_chars = sum(1 for c in text[:4096] if not c.isprintable() and c not in "\r\n\t")
            return text if "\x00" not in text and odd_chars <= 0.01 * min(len(text), 4096) else None
    return None


def utf8_damage(data: bytes) -> tuple[int, int, int]:
    """(invalid sequences, their bytes, offset of the first) when `data` is read as UTF-8;
    counting stops past what `mostly_utf8` accepts."""
    limit = max(MAX_DAMAGED, int(len(data) * MAX_DAMAGED_SHARE))
    view = memoryview(data)
    sequences = damaged = at = 0
    first = -1
    while at < len(data) and sequences <= limit:
        try:
            codecs.utf_8_decode(view[at:], "strict", True)
            break
        except UnicodeDecodeError as err:
            if first < 0:
                first = at + err.start
            sequences += 1
            damaged += err.end - err.start
            at += err.end
    return sequences, damaged, first


def mostly_utf8(data: bytes) -> tuple[str, tuple[str, ...]] | None:
    """(text, warnings) for UTF-8 with a few damaged bytes (a stray Latin-1 "é" in a UTF-8
    file), each replaced by U+FFFD; None when the bytes are not mostly UTF-8.

    Mostly UTF-8: at most MAX_DAMAGED invalid sequences or MAX_DAMAGED_SHARE of the bytes,
    and more valid multi-byte characters than invalid sequences. A Windows-1252 file has no
    valid multi-byte characters, so it is still read as Windows-1252."""
    sequences, damaged, first = utf8_damage(data)
    if sequences > MAX_DAMAGED and damaged > len(data) * MAX_DAMAGED_SHARE:
        return None
    text = data.decode("utf-8-sig", errors="replace")
    valid = len(text) - len(text.encode("ascii", errors="ignore")) - text.count("\ufffd")
    if valid <= sequences:
        return None
    line = data.count(b"\n", 0, first) + 1
    plural = "s" if sequences != 1 else ""
    warning = (f"read as UTF-8 with {sequences} invalid byte sequence{plural} ({damaged} byte"
               f"{'s' if damaged != 1 else ''}, the first on line {line}) replaced by \ufffd; "
               f"save the file as UTF-8 to keep those characters")
    return text, (warning,)


def looks_binary(data: bytes) -> bool:
    """Zero bytes, or many control characters, in the first 8 KB (UTF-16 with a byte-order
    mark aside)."""
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

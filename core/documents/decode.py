"""Bytes to text: encodings detected (UTF-8, UTF-16 with a byte-order mark, Windows-1252,
then statistical detection), binary data refused."""
from __future__ import annotations

from .formats import SkipFile


def decode(data: bytes) -> str:
    if not data.strip():
        raise SkipFile("empty: the file has no text")
    if looks_binary(data):
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


def looks_binary(data: bytes) -> bool:
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

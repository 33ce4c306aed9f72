"""Bad input, property-based (hypothesis): random bytes, random Unicode, huge lines, NUL bytes
and odd encodings to ingest; random strings to search.

Ingest may refuse a file only with SkipFile, and every offset it records round-trips:
`text[p.start:p.end] == p.text`. Search never crashes and raises EmptyQuestion only for a
blank question. Example counts are kept small so this file runs in well under 40 s.
"""
from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings as hsettings, strategies as st

from core.documents import SkipFile
from ingest.passages import make_passages
from core.documents import decode, read_document
from ingest.structure import parse
from core.errors import EmptyQuestion
from helpers import DOCX_BLOCKS, HTML_PAGE, PDF_PAGES, make_docx, make_pdf

FAST = hsettings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text without lone surrogates (they cannot be written to a file as UTF-8) and without
# control characters other than tab and line breaks.
PRINTABLE = st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\t\n\r")
ANY_TEXT = st.characters(blacklist_categories=("Cs",))
LINE_BREAKS = ["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]

LINE = st.one_of(
    st.text(PRINTABLE, max_size=80),
    st.sampled_from([
        "", "   ", "# A Heading", "## Why It Matters", "Title Case Heading Here", "- a list item",
        "1. first point", "Q: What is trust?", "What is trust?", "FAQ", "Back to top", "Share this:",
        "3 thoughts on “Intimacy”", "Comments", "Reply", "---", "Liked by 3 people",
        "It ended. Then it began again! Did it? Yes.", "Dr. Smith arrived at 3 p.m. He left.",
        "\x00\x00", "\ufeff", "\u200b", "naïve café — “quoted”…", "e.g. this, i.e. that.",
    ]),
    st.text(st.sampled_from("ab .!?\n"), min_size=200, max_size=3000),  # long, sentence-ish
)
DOCUMENT = st.builds(
    lambda lines, seps: "".join(l + s for l, s in zip(lines, seps)),
    st.lists(LINE, max_size=40),
    st.lists(st.sampled_from(LINE_BREAKS + ["\n\n", "\n\n\n"]), min_size=40, max_size=40),
)


def check_passages(text: str, filename: str = "doc.txt") -> None:
    """parse + make_passages on any text: no exception, every offset round-trips."""
    structure = parse(text, filename)
    assert isinstance(structure.title, str) and structure.title
    for para in structure.paragraphs:
        assert 0 <= para.start < para.end <= len(text)
        assert text[para.start:para.end].strip()
    for max_chars, min_chars in ((550, 160), (80, 30)):
        passages = make_passages(text, structure, filename, max_chars, min_chars)
        ids = [p.id for p in passages]
        assert len(ids) == len(set(ids))
        last = -1
        for p in passages:
            assert text[p.start:p.end] == p.text and p.text.strip() == p.text and p.text
            assert p.start >= last
            last = p.end
            assert p.sentences and p.sentences[0][0] == p.start and p.sentences[-1][1] == p.end
            for s, e in p.sentences:
                assert p.start <= s < e <= p.end and text[s:e].strip() == text[s:e]


# --- decoding ----------------------------------------------------------------------------

@FAST
@given(st.binary(max_size=3000))
@example(b"\x00" * 100)
@example(b"\xff\xfe\x00\xd8")  # UTF-16 BOM, lone surrogate
@example(b"\xef\xbb\xbf")  # a UTF-8 BOM and nothing else
@example(b"\xfe\xff" + "Hi".encode("utf-16-be"))
@example(bytes(range(128, 256)))
def test_decode_random_bytes_gives_text_or_skipfile(data):
    try:
        text = decode(data)
    except SkipFile as why:
        assert str(why)
        return
    assert isinstance(text, str) and text.strip()
    check_passages(text)


@FAST
@given(st.text(PRINTABLE, min_size=1, max_size=2000))
def test_utf8_and_utf16_text_decodes_to_itself(text):
    assume(not text.startswith("\ufeff"))
    for data in (text.encode("utf-8"), text.encode("utf-16"), "\ufeff".encode("utf-16-be") + text.encode("utf-16-be")):
        try:
            assert decode(data) == text
        except SkipFile as why:
            assert not text.strip() and "empty" in str(why)


@FAST
@given(st.text(ANY_TEXT, max_size=400),
       st.sampled_from(["cp1252", "latin-1", "cp1251", "cp1250", "koi8-r", "shift_jis", "gb18030",
                        "big5", "euc-kr", "iso-8859-7", "mac-roman", "utf-32", "utf-16-le", "cp437"]))
def test_odd_encodings_never_raise_anything_but_skipfile(text, encoding):
    data = text.encode(encoding, errors="ignore")
    try:
        decoded = decode(data)
    except SkipFile:
        return
    check_passages(decoded)


# --- structure and passages ---------------------------------------------------------------

@FAST
@given(st.text(ANY_TEXT, max_size=3000))
def test_random_unicode_parses_and_offsets_round_trip(text):
    check_passages(text)


@FAST
@given(DOCUMENT)
@example("# Title\n\nA paragraph.\r\nSame paragraph\u2028next line.\x0cAnother\x85one.\n")
@example("\x00" * 50 + "\nText after NULs. More text.\n")
def test_document_like_text_parses_and_offsets_round_trip(text):
    check_passages(text)


@pytest.mark.parametrize("line", [
    "word " * 400_000,  # 2 MB on one line, with spaces
    "x" * 2_000_000,  # 2 MB without a single space or sentence end
    ("A sentence that ends. " * 100_000),  # 100,000 sentences on one line
    ("a" * 30 + ". ") * 60_000,  # sentence ends, all lowercase: never split
    "\x00" * 500_000 + " tail. Last sentence here.",
])
def test_huge_lines_are_cut_quickly_and_offsets_round_trip(line):
    text = "A Title\n\n" + line + "\n\nA closing paragraph.\n"
    started = time.perf_counter()
    check_passages(text)
    assert time.perf_counter() - started < 30


# --- whole files of every format ----------------------------------------------------------

SUFFIXES = [".txt", ".md", ".html", ".htm", ".pdf", ".docx"]


def _read_or_skip(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"doc{suffix}"
        path.write_bytes(data)
        try:
            doc = read_document(path)
        except SkipFile as why:
            assert str(why)
            return
    assert isinstance(doc.text, str) and doc.text.strip()
    if doc.pages is not None:
        assert doc.pages == sorted(doc.pages) and all(0 <= p <= len(doc.text) for p in doc.pages)
    check_passages(doc.text, f"doc{suffix}")


@FEW
@given(st.binary(max_size=4000), st.sampled_from(SUFFIXES))
@example(b"%PDF-1.7\n" + b"\x00" * 50, ".pdf")
@example(b"PK\x03\x04" + b"\x00" * 100, ".docx")
@example(b"<html><body>\x00\x00</body></html>", ".html")
def test_random_bytes_under_any_document_name(data, suffix):
    _read_or_skip(data, suffix)


VALID = {
    ".pdf": make_pdf(PDF_PAGES),
    ".docx": make_docx(DOCX_BLOCKS),
    ".html": HTML_PAGE.encode("utf-8"),
}


@FEW
@given(st.sampled_from(sorted(VALID)), st.integers(0, 2**32 - 1),
       st.sampled_from(["flip", "truncate", "splice", "zero"]))
def test_damaged_documents_give_text_or_skipfile(suffix, seed, how):
    data = bytearray(VALID[suffix])
    rng = random.Random(seed)
    if how == "flip":
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif how == "truncate":
        data = data[: rng.randrange(len(data))]
    elif how == "splice":
        at = rng.randrange(len(data))
        data[at:at] = rng.randbytes(rng.randint(1, 200))
    else:
        at = rng.randrange(len(data))
        data[at : at + rng.randint(1, 500)] = b"\x00" * 500
    _read_or_skip(bytes(data), suffix)


# --- search -----------------------------------------------------------------------------

QUESTIONS = st.one_of(
    st.text(ANY_TEXT, max_size=300),
    st.text(st.sampled_from(" \t\n\r\x0b\x0c\u00a0\u2028\u3000"), max_size=20),  # blank
    st.text(PRINTABLE, min_size=2000, max_size=6000),  # longer than max_query_chars
    st.sampled_from(["trust", "WHAT IS INTIMACY???", "intimcy withot trsut", "a", "?", "\x00",
                     "'; DROP TABLE passages; --", "<script>alert(1)</script>", "%s %d {0}",
                     "💔❤️‍🔥", "感情の親密さとは", "близость", "ﷺ", "\u200b\u200b"]),
)


@hsettings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=QUESTIONS, k=st.integers(-3, 40))
def test_search_never_crashes_and_refuses_only_blank_questions(searcher, question, k):
    visible = question.translate(dict.fromkeys([*range(0x20), 0x7F, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]))
    if not visible.strip():
        with pytest.raises(EmptyQuestion):
            searcher.search(question, k=k)
        return
    answer = searcher.search(question, k=k)
    assert answer.question and len(answer.question) <= searcher.settings.max_query_chars
    assert 0 < len(answer.results) <= max(1, k)
    for r in answer.results:
        assert r.text == r.passage.text
        assert r.start <= r.quote_start <= r.quote_end <= r.end
        assert r.quote == r.text[r.quote_start - r.start : r.quote_end - r.start]
    assert answer.answered or answer.notice


@pytest.mark.parametrize("question", ["\udcff", "trust \ud800 me"])
def test_search_with_lone_surrogates(searcher, question):
    searcher.search(question, k=3)

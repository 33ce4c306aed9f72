"""The structure of one document: its title, headings, FAQ questions and paragraphs.

Input is the decoded text; output is a `Structure` whose paragraphs carry character offsets
into that exact text. Headings and FAQ questions are not paragraphs: they become the section
and question context of the paragraphs under them. Paragraphs may be separated by blank lines
or by single newlines; hard-wrapped lines inside a paragraph are joined.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath

from core.documents import boilerplate

_LIST_MARKER = re.compile(r"^(?:[-*•+]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])\s+")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_FAQ_HEADING = re.compile(r"\b(faqs?|frequently asked|questions|q ?& ?a)\b", re.IGNORECASE)
_TERMINAL = re.compile(r"[.!?…:;\"”’')\]]$")
_SMALL_WORDS = {
    "a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "is", "it", "nor",
    "of", "on", "or", "so", "the", "to", "up", "vs", "with", "that", "this", "your", "you",
}


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    number: int  # 1-based, in reading order, counting only paragraphs (not headings)
    start: int
    end: int
    section: str  # the heading above it, "" before the first heading
    question: str  # the FAQ question it answers, "" otherwise
    kind: str  # "body" or "comment"


@dataclass
class Structure:
    title: str
    title_from: str  # "text" when a heading-like first line is the title, else "filename"
    paragraphs: list[Paragraph]
    headings: list[Span] = field(default_factory=list)
    questions: list[Span] = field(default_factory=list)
    dropped: list[tuple[Span, str]] = field(default_factory=list)  # (line, why)


@dataclass
class _Unit:
    start: int
    end: int
    text: str
    list_item: bool
    blank_before: bool


def parse(text: str, filename: str = "") -> Structure:
    lines = _lines(text)
    dropped: list[tuple[Span, str]] = []
    kept: list[tuple[Span, bool]] = []  # (line, blank line before it)
    comments_at: int | None = None
    blank = True
    for span in lines:
        if span is None:
            blank = True
            continue
        if boilerplate.is_boilerplate(span.text):
            dropped.append((span, "boilerplate"))
            blank = True
            continue
        if comments_at is None and boilerplate.opens_comments(span.text) and kept:
            comments_at = span.start
            dropped.append((span, "comment section heading"))
            blank = True
            continue
        kept.append((span, blank))
        blank = False

    units = _units(kept)
    title, title_from = "", "filename"
    if len(units) > 1 and not _MD_HEADING.match(units[0].text) and boilerplate.is_category_label(
        units[0].text, units[1].text, heading_like
    ):
        dropped.append((Span(units[0].start, units[0].end, units[0].text), "category label"))
        units = units[1:]
    if units and _title_like(units[0].text) and len(units) > 1:
        title, title_from = _clean_heading(units[0].text), "text"
        units = units[1:]
    if not title:
        title = title_from_filename(filename)

    structure = Structure(title=title, title_from=title_from, paragraphs=[], dropped=dropped)
    section, question, number = "", "", 0
    for i, unit in enumerate(units):
        in_comments = comments_at is not None and unit.start >= comments_at
        nxt = units[i + 1] if i + 1 < len(units) else None
        if not in_comments and _is_question(unit, nxt, bool(_FAQ_HEADING.search(section))):
            question = _clean_heading(unit.text)
            structure.questions.append(Span(unit.start, unit.end, question))
            continue
        if not in_comments and _is_heading(unit, nxt):
            section, question = _clean_heading(unit.text), ""
            structure.headings.append(Span(unit.start, unit.end, section))
            continue
        number += 1
        start = unit.start + _marker_length(unit.text)
        structure.paragraphs.append(
            Paragraph(
                number=number,
                start=start,
                end=unit.end,
                section="Comments" if in_comments else section,
                question="" if in_comments else question,
                kind="comment" if in_comments else "body",
            )
        )
    return structure


def heading_like(line: str) -> bool:
    """Short, unpunctuated at the end, and written like a heading (title case or very short)."""
    line = line.strip()
    if _MD_HEADING.match(line):
        return True
    words = line.split()
    if not words or len(line) > 120 or len(words) > 14 or re.search(r"[.,;!]$", line):
        return False
    if _LIST_MARKER.match(line) or not re.search(r"[A-Za-z]", line):
        return False
    if len(words) <= 4:
        return line[0].isupper() or line[0].isdigit()
    content = [w for w in words if w.lower().strip(":?,") not in _SMALL_WORDS and w[0].isalpha()]
    capitalised = sum(w[0].isupper() for w in content)
    return bool(content) and capitalised / len(content) >= 0.6


def title_from_filename(filename: str) -> str:
    stem = PurePath(filename).stem if filename else "Untitled"
    stem = re.sub(r"^[\d_\-. ]+", "", stem) or stem
    words = re.sub(r"[_\-]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else "Untitled"


def _title_like(line: str) -> bool:
    line = line.strip()
    return heading_like(line) or (len(line.split()) <= 16 and not re.search(r"[.,;]$", line))


def _is_heading(unit: _Unit, nxt: _Unit | None) -> bool:
    if _MD_HEADING.match(unit.text):
        return True
    return nxt is not None and not unit.list_item and heading_like(unit.text)


def _is_question(unit: _Unit, nxt: _Unit | None, in_faq: bool = False) -> bool:
    """An FAQ entry: a listed or "Q:" question followed by its answer, or under an FAQ
    heading, a question on a line of its own followed by its answer."""
    text = unit.text.strip()
    if not text.endswith("?") or nxt is None or nxt.text.strip().endswith("?"):
        return False
    return (
        unit.list_item
        or bool(re.match(r"^(q|question)\s*[:.]", text, re.IGNORECASE))
        or (in_faq and "\n" not in text and len(text.split()) <= 25)
    )


def _clean_heading(text: str) -> str:
    return _strip_marker(_MD_HEADING.sub("", text.strip())).strip()


def _strip_marker(text: str) -> str:
    return text[_marker_length(text):].strip()


def _marker_length(text: str) -> int:
    m = _LIST_MARKER.match(text) or re.match(r"^(?:q|question|a|answer)\s*:\s*", text, re.IGNORECASE)
    return m.end() if m else 0


def _lines(text: str) -> list[Span | None]:
    """Each line's stripped content with its offsets; None for a blank line. Skips front matter."""
    out: list[Span | None] = []
    pos = 0
    raw_lines = text.splitlines(keepends=True)
    skip_until = _front_matter_end(raw_lines)
    for n, raw in enumerate(raw_lines):
        body = raw.rstrip("\r\n")
        stripped = body.strip()
        if n < skip_until or not stripped:
            out.append(None)
        else:
            start = pos + (len(body) - len(body.lstrip()))
            out.append(Span(start, start + len(stripped), stripped))
        pos += len(raw)
    return out


def _front_matter_end(raw_lines: list[str]) -> int:
    if raw_lines and raw_lines[0].strip() == "---":
        for n, line in enumerate(raw_lines[1:40], start=1):
            if line.strip() == "---":
                return n + 1
    return 0


def _units(kept: list[tuple[Span, bool]]) -> list[_Unit]:
    """Join hard-wrapped lines into units; a new unit starts after a blank line, a list
    marker, a heading, or a line that ends a sentence."""
    units: list[_Unit] = []
    for span, blank_before in kept:
        is_item = bool(_LIST_MARKER.match(span.text))
        prev = units[-1] if units else None
        joins = (
            prev is not None
            and not blank_before
            and not is_item
            and not _MD_HEADING.match(span.text)
            and not _TERMINAL.search(prev.text)
            and not heading_like(prev.text.split("\n")[-1])
        )
        if joins:
            prev.end = span.end
            prev.text = prev.text + "\n" + span.text
        else:
            units.append(_Unit(span.start, span.end, span.text, is_item, blank_before))
    return units

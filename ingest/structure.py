"""The structure of one document: its title, headings, FAQ questions and paragraphs.

Input is the decoded text; output is a `Structure` whose paragraphs carry character offsets
into that exact text. Headings and FAQ questions are not paragraphs: they become the section
and question context of the paragraphs under them. Paragraphs may be separated by blank lines
or by single newlines; hard-wrapped lines inside a paragraph are joined.

Code is kept whole as a paragraph of kind "code": a fenced block (``` or ~~~, as Markdown
writes it and as web pages' <pre> blocks are extracted), or in Markdown an indented block
after a blank line. Its lines are never headings, page furniture or the start of comments.
In web pages and Word files the headings are those of the markup ("# …" lines written by the
extraction): a short line of body text there is never taken for a heading.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import PurePath

from core.documents import boilerplate

_LIST_MARKER = re.compile(r"^(?:[-*•+]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])\s+")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_FENCE = re.compile(r"^(`{3,}|~{3,})")
MARKED_HEADINGS = (".html", ".htm", ".docx")  # formats whose extraction marks every heading
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
    kind: str  # "body", "code" or "comment"


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
    code: bool = False


def parse(text: str, filename: str = "", code_spans: tuple[tuple[int, int], ...] = ()) -> Structure:
    """`code_spans`: where code blocks stand in `text` when the extraction knows (web pages)."""
    lines = _lines(text)
    code = code_lines(lines, text if PurePath(filename).suffix.lower() == ".md" else None)
    starts = [a for a, _ in code_spans]
    for n, span in enumerate(lines):
        at = bisect.bisect_right(starts, span.start) - 1 if span is not None else -1
        if at >= 0 and span.start < code_spans[at][1]:
            code[n] = f"code {at}"  # the lines of one block share its name
    marked = PurePath(filename).suffix.lower() in MARKED_HEADINGS
    dropped: list[tuple[Span, str]] = []
    kept: list[tuple[Span, bool, bool]] = []  # (line, blank line before it, in a code block)
    comments_at: int | None = None
    blank = True
    block = None  # the code block the last kept line belongs to
    for n, span in enumerate(lines):
        if n in code:
            if code[n] == "fence":
                blank, block = True, None
            elif span is not None:
                kept.append((span, block != code[n], True))
                blank, block = False, code[n]
            continue
        if span is None:  # a blank line: inside a block of code or not, as the next line says
            blank = True
            continue
        block = None
        if boilerplate.is_boilerplate(span.text):
            dropped.append((span, "boilerplate"))
            blank = True
            continue
        if comments_at is None and boilerplate.opens_comments(span.text) and kept:
            comments_at = span.start
            dropped.append((span, "comment section heading"))
            blank = True
            continue
        kept.append((span, blank, False))
        blank = False

    units = _units(kept)
    title, title_from = "", "filename"
    if len(units) > 1 and not _MD_HEADING.match(units[0].text) and boilerplate.is_category_label(
        units[0].text, units[1].text, heading_like
    ):
        dropped.append((Span(units[0].start, units[0].end, units[0].text), "category label"))
        units = units[1:]
    if units and not units[0].code and _title_like(units[0].text) and len(units) > 1:
        title, title_from = _clean_heading(units[0].text), "text"
        units = units[1:]
    if not title:
        title = title_from_filename(filename)

    structure = Structure(title=title, title_from=title_from, paragraphs=[], dropped=dropped)
    section, question, number = "", "", 0
    for i, unit in enumerate(units):
        in_comments = comments_at is not None and unit.start >= comments_at
        nxt = units[i + 1] if i + 1 < len(units) else None
        if unit.code:
            number += 1
            structure.paragraphs.append(Paragraph(number, unit.start, unit.end,
                                                  "Comments" if in_comments else section,
                                                  "" if in_comments else question,
                                                  "comment" if in_comments else "code"))
            continue
        if not in_comments and _is_question(unit, nxt, bool(_FAQ_HEADING.search(section))):
            question = _clean_heading(unit.text)
            structure.questions.append(Span(unit.start, unit.end, question))
            continue
        if not in_comments and _is_heading(unit, nxt, marked):
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


def _is_heading(unit: _Unit, nxt: _Unit | None, marked: bool = False) -> bool:
    if _MD_HEADING.match(unit.text):
        return True
    return not marked and nxt is not None and not nxt.code and not unit.list_item and heading_like(unit.text)


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


def code_lines(lines: list[Span | None], indented_in: str | None = None) -> dict[int, str]:
    """Which lines belong to code blocks: line number -> "fence" (an opening or closing fence)
    or the name of its block (shared by the block's lines, blank ones included). Fenced blocks (``` or ~~~, closed by a fence of the same kind and at least the
    same length, or by the end of the text); with `indented_in` (the text of a Markdown file),
    also blocks indented by four spaces or a tab after a blank line that does not follow a
    list item (blank lines inside them included)."""
    out: dict[int, str] = {}
    n = 0
    while n < len(lines):
        span = lines[n]
        opened = _FENCE.match(span.text) if span is not None else None
        if opened:
            mark = opened.group(1)
            out[n] = "fence"
            name = f"fenced {n}"
            n += 1
            while n < len(lines):
                inner = lines[n]
                if inner is not None and inner.text.startswith(mark[0] * len(mark)) and \
                        not inner.text.strip(mark[0]):
                    out[n] = "fence"
                    break
                out[n] = name
                n += 1
        elif indented_in is not None and span is not None and _indented(indented_in, span) \
                and n > 0 and lines[n - 1] is None and not _after_list_item(lines, n - 1):
            first = last = n
            while n < len(lines) and (lines[n] is None or _indented(indented_in, lines[n])):
                if lines[n] is not None:
                    last = n
                n += 1
            out.update({i: f"indented {first}" for i in range(first, last + 1)})
            n = last + 1
            continue
        n += 1
    return out


def _indented(text: str, span: Span) -> bool:
    """The line starts with four spaces or a tab (its stripped text begins after them)."""
    start = text.rfind("\n", 0, span.start) + 1
    lead = text[start:span.start]
    return lead.startswith("\t") or lead.startswith("    ")


def _after_list_item(lines: list[Span | None], n: int) -> bool:
    """Is the last line with text before line n a list item (whose continuation is indented)?"""
    for span in reversed(lines[:n]):
        if span is not None:
            return bool(_LIST_MARKER.match(span.text))
    return False


def _front_matter_end(raw_lines: list[str]) -> int:
    if raw_lines and raw_lines[0].strip() == "---":
        for n, line in enumerate(raw_lines[1:40], start=1):
            if line.strip() == "---":
                return n + 1
    return 0


def _units(kept: list[tuple[Span, bool, bool]]) -> list[_Unit]:
    """Join hard-wrapped lines into units; a new unit starts after a blank line, a list
    marker, a heading, or a line that ends a sentence. The lines of a code block make one
    unit (blank lines inside it included), never joined with the text around it."""
    units: list[_Unit] = []
    for span, blank_before, code in kept:
        prev = units[-1] if units else None
        if code:
            if prev is not None and prev.code and not blank_before:
                prev.end = span.end
                prev.text = prev.text + "\n" + span.text
            else:
                units.append(_Unit(span.start, span.end, span.text, False, blank_before, code=True))
            continue
        is_item = bool(_LIST_MARKER.match(span.text))
        joins = (
            prev is not None
            and not prev.code
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

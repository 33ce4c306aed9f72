"""Paragraphs to passages: split long paragraphs at sentence boundaries, merge short ones.

A passage is always a contiguous span of the document text: `text == doc[start:end]`. A code
block is one passage of kind "code" (or joins the sentence introducing it), never cut line by
line: only a block longer than two passages is cut, into runs of whole lines.

No passage outgrows its limit (max_chars; up to 1.25 times that where short ones are merged,
twice for code): a sentence longer than max_chars (a text without sentence ends, or without a
single space) is cut into pieces of at most max_chars, at a space where there is one
(`cut_long`), and so is a line of code longer than a code passage. A document that makes more
than `max_passages` passages (ingest passes the setting max_document_passages) is skipped
whole (SkipFile), like any other document over a limit of bounded work.
"""
from __future__ import annotations

import bisect
import hashlib
import math
import re
from dataclasses import replace

from core.documents import SkipFile
from core.passage import Passage

from .structure import Paragraph, Structure

# A sentence ends at . ! ? or … (plus closing quotes/brackets) followed by space and a capital,
# digit, quote or bracket. A line break inside a paragraph is not a sentence end: the lines of
# a paragraph were joined because the line before did not end a sentence (hard wrapping).
_SENTENCE_END = re.compile(r"[.!?…]+[\"”’')\]]*(?=\s+[\"“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|etc|e\.g|i\.e|cf|No|Fig)\.$")
_ABBREVIATION_WINDOW = 16  # characters before a sentence end that can hold an abbreviation


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Absolute (start, end) of each sentence in text[start:end], whitespace trimmed."""
    spans = []
    cursor = start
    chunk = text[start:end]
    for m in _SENTENCE_END.finditer(chunk):
        stop = start + m.end()
        # only the end of the sentence is looked at: "Dr. Dr. Dr. ..." must not make this quadratic
        if _ABBREVIATIONS.search(text[max(cursor, stop - _ABBREVIATION_WINDOW):stop]):
            continue
        spans.append((cursor, stop))
        cursor = stop
    spans.append((cursor, end))
    out = []
    for s, e in spans:
        seg = text[s:e]
        ls = len(seg) - len(seg.lstrip())
        rs = len(seg) - len(seg.rstrip())
        if e - rs > s + ls:
            out.append((s + ls, e - rs))
    return out


def make_passages(
    text: str, structure: Structure, source: str, max_chars: int, min_chars: int,
    max_passages: int | None = None,
) -> list[Passage]:
    """The passages of a document. SkipFile when there would be more than `max_passages`
    (ingest passes the max_document_passages setting; None: no limit)."""
    pieces: list[tuple[Paragraph, list[tuple[int, int]]]] = []
    for para in structure.paragraphs:
        if para.kind == "code":  # kept whole (a huge block in runs of whole lines): one "sentence"
            pieces.extend((para, [span]) for span in code_chunks(text, para.start, para.end, 2 * max_chars))
            continue
        sents = [piece for a, b in sentence_spans(text, para.start, para.end)
                 for piece in cut_long(text, a, b, max_chars)]
        for group in _split(sents, max_chars):
            pieces.append((para, group))
    # Where headings, FAQ questions and dropped boilerplate stand: a merge never crosses one
    # (a passage is a contiguous span, so it would carry the line in its text).
    breaks = sorted(
        [span.start for span in structure.headings + structure.questions]
        + [span.start for span, _ in structure.dropped]
    )
    merged = _merge_short(_attach_code(text, pieces, max_chars, breaks), min_chars, max_chars, breaks)
    if max_passages is not None and len(merged) > max_passages:
        raise too_many_passages(len(merged), max_passages)
    passages = []
    seen: dict[str, int] = {}
    for group in merged:
        p = _passage(text, structure, source, group)
        # The same text twice in one document ("Great post!" in two comments) needs two ids.
        repeat = seen.get(p.id, 0)
        seen[p.id] = repeat + 1
        if repeat:
            p = replace(p, id=hashlib.sha256(f"{source}\0{p.text}\0{repeat}".encode()).hexdigest()[:16])
        passages.append(p)
    return passages


def too_many_passages(found: int, limit: int) -> SkipFile:
    return SkipFile(f"too long: {found:,} passages; the limit is {limit:,} per document (setting "
                    "max_document_passages), and each passage is embedded: split it into smaller "
                    "files, or raise the limit (ESSAYS_MAX_DOCUMENT_PASSAGES)")


_CUT_BEFORE = (" ", "\n", "\t", "\u3000")  # whitespace: the piece ends before it
_CUT_AFTER = ("。", "！", "？", "；", "，", "、")  # CJK punctuation, where a text has no spaces


def cut_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """text[start:end] as one span, or, when longer than `limit`, as consecutive pieces of at
    most `limit` characters, of about equal length, each ending at a space (else after CJK
    punctuation, else at `limit` characters); whitespace between pieces is left out."""
    if end - start <= limit:
        return [(start, end)]
    pieces = []
    while end - start > limit:
        n = -(-(end - start) // limit)  # pieces still to make
        stop = start + -(-(end - start) // n)  # even lengths; never beyond start + limit
        floor = start + (stop - start) // 2  # a cut is looked for in the second half only
        cut = max(text.rfind(c, floor, stop + 1) for c in _CUT_BEFORE)
        if cut <= start:
            cut = max(text.rfind(c, floor, stop) for c in _CUT_AFTER) + 1
        if cut <= start:
            cut = stop
        piece_end = cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        if piece_end > start:
            pieces.append((start, piece_end))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


def code_chunks(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """A code block as one span, or, when it is longer than `limit`, as consecutive runs of
    whole lines of at most `limit` characters each (a longer line is cut by `cut_long`)."""
    if end - start <= limit:
        return [(start, end)]
    chunks, begin, cursor = [], start, start
    while cursor < end:
        stop = text.find("\n", cursor, end)
        stop = end if stop < 0 else stop
        if stop - begin > limit and cursor > begin:
            chunks.append((begin, cursor - 1))
            begin = cursor
        cursor = stop + 1
    chunks.append((begin, end))
    spans = [(a, b) for a, b in ((a, a + len(text[a:b].rstrip())) for a, b in chunks) if b > a]
    return [piece for a, b in spans for piece in cut_long(text, a, b, limit)]


def _split(sents: list[tuple[int, int]], max_chars: int) -> list[list[tuple[int, int]]]:
    """Consecutive sentence groups of roughly equal length, each under max_chars where possible."""
    total = sents[-1][1] - sents[0][0]
    if total <= max_chars:
        return [sents]
    n = math.ceil(total / max_chars)
    target = total / n
    groups: list[list[tuple[int, int]]] = [[]]
    for s in sents:
        group = groups[-1]
        if group and (s[1] - group[0][0] > max_chars or s[0] - group[0][0] >= target):
            if len(groups) < n or s[1] - group[0][0] > max_chars:
                groups.append([])
        groups[-1].append(s)
    return [g for g in groups if g]


def _attach_code(text: str, pieces, max_chars: int, breaks: list[int]):
    """Groups of pieces: each piece alone, except that a code block joins the text that
    introduces it (the piece just before, in the same section, ending with a colon: "For
    example:") when the code is no longer than two passages."""
    groups: list[list[tuple[Paragraph, list[tuple[int, int]]]]] = []
    for para, sents in pieces:
        prev = groups[-1][-1] if groups else None
        if (para.kind == "code" and prev is not None and prev[0].kind == "body"
                and (prev[0].section, prev[0].question) == (para.section, para.question)
                and text[prev[1][0][0]:prev[1][-1][1]].rstrip().endswith(":")
                and bisect.bisect(breaks, prev[0].end) == bisect.bisect(breaks, para.start)
                and para.end - para.start <= 2 * max_chars):
            groups[-1].append((para, sents))
        else:
            groups.append([(para, sents)])
    return groups


def _merge_short(groups, min_chars: int, max_chars: int, breaks: list[int] = ()):
    """Merge a group shorter than min_chars into its neighbour in the same section, same FAQ
    question and same kind (comments are never merged: each is a different voice; nor is code
    but where it joined the text introducing it)."""
    groups = [list(g) for g in groups]

    def length(g):
        return g[-1][1][-1][1] - g[0][1][0][0]

    def mergeable(a, b):
        pa, pb = a[-1][0], b[0][0]
        return (
            pa.kind == pb.kind == "body"
            and (pa.section, pa.question) == (pb.section, pb.question)
            and bisect.bisect(breaks, pa.end) == bisect.bisect(breaks, pb.start)
            and length(a) + length(b) <= max_chars * 1.25
        )

    # The first short group that can merge does, and the scan goes on from just before it:
    # the groups further back cannot have changed (a merge only makes a neighbour longer, so
    # less mergeable), so this is the same as starting over after each merge, in linear time
    # (starting over took hours on a document of 100,000 short paragraphs).
    out: list = []  # done: groups before the one looked at
    i = 0
    while i < len(groups):
        g = groups[i]
        if length(g) >= min_chars:
            out.append(g)
            i += 1
            continue
        left = out[-1] if out and mergeable(out[-1], g) else None
        right = groups[i + 1] if i + 1 < len(groups) and mergeable(g, groups[i + 1]) else None
        if left is None and right is None:
            out.append(g)
            i += 1
        elif right is None or (left is not None and length(left) <= length(right)):
            groups[i] = out.pop() + g  # look at the merged group again, as a restart would
        else:
            groups[i + 1] = g + right
            i += 1
    return out


def _passage(text, structure: Structure, source: str, group) -> Passage:
    first_para, last_para = group[0][0], group[-1][0]
    sentences = tuple(s for _, sents in group for s in sents)
    start, end = sentences[0][0], sentences[-1][1]
    body = text[start:end]
    digest = hashlib.sha256(f"{source}\0{body}".encode()).hexdigest()[:16]
    return Passage(
        id=digest,
        source=source,
        title=structure.title,
        section=first_para.section,
        question=first_para.question,
        kind=first_para.kind,
        paragraph=first_para.number,
        paragraph_end=last_para.number,
        start=start,
        end=end,
        text=body,
        sentences=sentences,
    )

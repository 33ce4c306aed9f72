"""Paragraphs to passages: split long paragraphs at sentence boundaries, merge short ones.

A passage is always a contiguous span of the document text: `text == doc[start:end]`. A code
block is one passage of kind "code" (or joins the sentence introducing it), never cut line by
line: only a block longer than two passages is cut, into runs of whole lines.
"""
from __future__ import annotations

import bisect
import hashlib
import math
import re
from dataclasses import replace

from core.passage import Passage

from .structure import Paragraph, Structure

# A sentence ends at . ! ? or … (plus closing quotes/brackets) followed by space and a capital,
# digit, quote or bracket. A line break inside a paragraph is not a sentence end: the lines of
# a paragraph were joined because the line before did not end a sentence (hard wrapping).
_SENTENCE_END = re.compile(r"[.!?…]+[\"”’')\]]*(?=\s+[\"“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|etc|e\.g|i\.e|cf|No|Fig)\.$")


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Absolute (start, end) of each sentence in text[start:end], whitespace trimmed."""
    spans = []
    cursor = start
    chunk = text[start:end]
    for m in _SENTENCE_END.finditer(chunk):
        stop = start + m.end()
        if _ABBREVIATIONS.search(text[cursor:stop]):
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
    text: str, structure: Structure, source: str, max_chars: int, min_chars: int
) -> list[Passage]:
    pieces: list[tuple[Paragraph, list[tuple[int, int]]]] = []
    for para in structure.paragraphs:
        if para.kind == "code":  # kept whole (a huge block in runs of whole lines): one "sentence"
            pieces.extend((para, [span]) for span in code_chunks(text, para.start, para.end, 2 * max_chars))
            continue
        sents = sentence_spans(text, para.start, para.end)
        for group in _split(sents, max_chars):
            pieces.append((para, group))
    # Where headings, FAQ questions and dropped boilerplate stand: a merge never crosses one
    # (a passage is a contiguous span, so it would carry the line in its text).
    breaks = sorted(
        [span.start for span in structure.headings + structure.questions]
        + [span.start for span, _ in structure.dropped]
    )
    merged = _merge_short(_attach_code(text, pieces, max_chars, breaks), min_chars, max_chars, breaks)
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


def code_chunks(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """A code block as one span, or, when it is longer than `limit`, as consecutive runs of
    whole lines of at most `limit` characters each (a longer line stays whole)."""
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
    return [(a, b) for a, b in ((a, a + len(text[a:b].rstrip())) for a, b in chunks) if b > a]


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

    changed = True
    while changed:
        changed = False
        for i, g in enumerate(groups):
            if length(g) >= min_chars:
                continue
            left = groups[i - 1] if i > 0 and mergeable(groups[i - 1], g) else None
            right = groups[i + 1] if i + 1 < len(groups) and mergeable(g, groups[i + 1]) else None
            if left is None and right is None:
                continue
            if right is None or (left is not None and length(left) <= length(right)):
                groups[i - 1] = left + g
                del groups[i]
            else:
                groups[i] = g + right
                del groups[i + 1]
            changed = True
            break
    return groups


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

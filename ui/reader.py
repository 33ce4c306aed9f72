"""The reader: a document as escaped HTML, its paragraphs numbered, one passage highlighted
(its quote in <mark>) and the text between passages (headings, page furniture) shown dimmed
so that nothing is hidden. The text is the one the index's offsets refer to (the file's, or for
web pages, PDFs and Word files the text extracted at ingest, while the file is unchanged: see
workshop.verify); when it no longer holds the indexed passages, the indexed passages alone are
shown. Every piece of document text goes through `render.esc` before it becomes HTML.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from core.passage import Passage
from workshop import cite
from workshop.verify import Verifier

from . import render

CURRENT_ID = "reader-current"

# Shows the reader from its heading and scrolls the highlighted passage to the middle of the
# reader's scrolling box (the container with key "reader-document"), once both are on screen:
# st.html runs the script in the page, and the elements arrive a moment after it (scrolled
# again as fonts and layout settle).
SCROLL_BOX = "reader-document"
SCROLL_SCRIPT = f"""
<script>
(function () {{
  var tries = 0;
  function scroller(el) {{
    var frame = el.closest(".st-key-{SCROLL_BOX}");
    for (var box = el.parentElement; frame && box; box = box.parentElement) {{
      var overflow = getComputedStyle(box).overflowY;
      if (overflow === "auto" || overflow === "scroll") return box;
      if (box === frame) break;
    }}
    return null;
  }}
  function go(again) {{
    var el = document.getElementById("{CURRENT_ID}");
    var box = el && scroller(el);
    if (!box) {{
      if (tries++ < 50) setTimeout(function () {{ go(again); }}, 100);
      else if (el) el.scrollIntoView({{block: "center"}});
      return;
    }}
    var r = el.getBoundingClientRect(), b = box.getBoundingClientRect();
    box.scrollTop += (r.top - b.top) - Math.max(0, (b.height - r.height) / 2);
    if (again > 0) setTimeout(function () {{ go(again - 1); }}, 400);
  }}
  var main = document.querySelector('[data-testid="stMain"]');  // the reader's heading in view
  if (main) main.scrollTop = 0;
  setTimeout(function () {{ go(2); }}, 50);
}})();
</script>
"""


@dataclass(frozen=True)
class Block:
    """A stretch of a document: a passage of the index, or the text between two passages."""
    text: str
    start: int
    passage: Passage | None = None  # None: headings, furniture and other text between passages


@dataclass(frozen=True)
class Reading:
    """One document, ready for the reader."""
    source: str
    title: str
    blocks: list[Block]
    complete: bool  # True: the file's whole text; False: only the indexed passages
    problem: str  # why the file's text is not shown ('' when it is)


def matches(text: str, passages: Sequence[Passage]) -> bool:
    """Does the text still hold every passage, verbatim, at its offsets?"""
    return all(text[p.start:p.end] == p.text for p in passages)


def document_blocks(text: str | None, passages: Sequence[Passage]) -> list[Block]:
    """The document in order: its passages and, when `text` is given, the text between them
    (blank stretches left out)."""
    ordered = sorted(passages, key=lambda p: (p.start, p.end))
    if text is None:
        return [Block(p.text, p.start, p) for p in ordered]
    blocks: list[Block] = []
    cursor = 0
    for p in ordered:
        if p.start > cursor and text[cursor:p.start].strip():
            gap = text[cursor:p.start]
            blocks.append(Block(gap.strip(), cursor + len(gap) - len(gap.lstrip())))
        blocks.append(Block(p.text, p.start, p))
        cursor = max(cursor, p.end)
    if text[cursor:].strip():
        gap = text[cursor:]
        blocks.append(Block(gap.strip(), cursor + len(gap) - len(gap.lstrip())))
    return blocks


def open_document(verifier: Verifier, passages: Sequence[Passage], source: str) -> Reading:
    """The document of `source`: the file's text split at the index's passages, or, when the
    file cannot be read or has changed since indexing, the indexed passages alone."""
    own = [p for p in passages if p.source == source]
    title = own[0].title if own else source
    found, problem = verifier.document_text(source)
    text = None if problem else found
    if text is not None and not matches(text, own):
        text, problem = None, "the file has changed since it was indexed"
    return Reading(source, title, document_blocks(text, own), text is not None, problem)


def reader_html(blocks: Sequence[Block], selected: str, quote_start: int | None = None,
                quote_end: int | None = None) -> str:
    """The document as HTML: numbered paragraphs (a paragraph split into several passages is
    numbered once), the selected passage highlighted with id "reader-current" and its quote
    in <mark> (the whole passage when no quote lies inside it). Everything escaped."""
    parts = ['<div class="essay-reader">']
    numbered = 0
    for b in blocks:
        p = b.passage
        if p is None:
            parts.append(between_html(b.text))
            continue
        number = cite.paragraph_range(p) if p.paragraph_end > numbered else ""
        numbered = max(numbered, p.paragraph_end)
        tag = '<span class="tag">Reader comment</span>' if p.kind == "comment" else ""
        if p.id == selected:
            inside = (quote_start is not None and quote_end is not None
                      and p.start <= quote_start < quote_end <= p.end)
            body = (render.marked(b.text, p.start, quote_start, quote_end) if inside
                    else f"<mark>{render.esc(b.text)}</mark>")
            opening = f'<div class="para current" id="{CURRENT_ID}" data-passage="{render.esc(p.id)}">'
        else:
            body = render.esc(b.text)
            opening = f'<div class="para" data-passage="{render.esc(p.id)}">'
        title = f' title="Paragraph {render.esc(cite.paragraph_range(p))}"' if number else ""
        parts.append(f'{opening}<span class="num"{title}>{render.esc(number)}</span>'
                     f'<p class="text{" code" if p.kind == "code" else ""}">{tag}{body}</p></div>')
    parts.append("</div>")
    return "".join(parts)


HEADING = re.compile(r"(#{1,6})[ \t]+(\S.*?)[ \t#]*")  # a heading line as ingest writes it ("## Sockets")


def between_html(text: str) -> str:
    """Text between passages (headings, page furniture), dimmed; a heading line shown as a
    heading, without the "#" marks that stand for its level in the extracted text."""
    lines = []
    for line in text.split("\n"):
        m = HEADING.fullmatch(line.strip())
        if m:
            level = min(len(m.group(1)), 4)
            lines.append(f'<span class="heading h{level}">{render.esc(m.group(2))}</span>')
        else:
            lines.append(render.esc(line))
    return f'<div class="between">{"<br>".join(lines)}</div>'


def reader_head_html(reading: Reading, passage: Passage, author: str = "") -> str:
    """The reader's heading: the document's title, then who wrote it and where the passage is."""
    meta = " · ".join(x for x in (author, cite.located(passage), reading.source) if x)
    return ('<div class="essay-reader-head">'
            f'<div class="title">{render.esc(reading.title)}</div>'
            f'<div class="meta">{render.esc(meta)}</div></div>')


def quote_span(passage_id: str, results: Iterable = (), items: Iterable = ()) -> tuple[int, int] | None:
    """The quote to highlight in an opened passage: the current search's (a Result of that
    passage with a non-empty quote), else the basket's, else None (the whole passage)."""
    for r in results:
        if r.passage.id == passage_id and r.quote_end > r.quote_start:
            return r.quote_start, r.quote_end
    for i in items:
        if i.passage_id == passage_id and i.quote_end > i.quote_start:
            return i.quote_start, i.quote_end
    return None

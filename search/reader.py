"""What the question page shows, as pure functions (no Streamlit): the address, the reader
view of a whole document, citations and the basket's changes.

- The address: a `View` (question, number of results, citation style, documents searched,
  opened passage) is read from the query string and written back to it, so that a link
  reproduces the page: ?q=QUESTION&k=N&style=apa&src=FILE&src=FILE&p=PASSAGE_ID. Passage ids
  are hashes of the passage's content, so a link keeps working after the index is rebuilt as
  long as the passage's text is unchanged.
- The reader: a document as escaped HTML, its paragraphs numbered, one passage highlighted
  (its quote in <mark>) and the text between passages (headings, page furniture) shown dimmed
  so that nothing is hidden. The text comes from the file; when the file no longer holds the
  indexed passages at their offsets, the indexed passages alone are shown. (Web pages, PDFs
  and Word files: the text extracted at ingest, while the file is unchanged.)
- The basket: the page keeps `Basket.to_list()` in session state; `basket_*` apply one change.

Every piece of document text goes through `render.esc` before it becomes HTML.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

from ingest.passages import Passage
from ingest.read import SkipFile, is_plain, read_text

from . import cite, render
from .basket import Basket, BasketItem
from .catalog import document_info
from .verify import Verification, extracted_text

DEFAULT_STYLE = "plain"
STYLE_NAMES = {"plain": "Plain text", "markdown": "Markdown", "apa": "APA"}
MAX_ID_CHARS = 128  # a passage id in the address longer than this is not one of ours
CURRENT_ID = "reader-current"

# The reader's look; colours explicit so they read on light and dark themes.
CSS = """
<style>
.essay-reader { font-size: 1rem; line-height: 1.65; }
.essay-reader .para { display: grid; grid-template-columns: 2.4rem 1fr; gap: .4rem;
  margin: 0 0 .8rem 0; padding: .15rem .3rem .15rem 0; border-radius: .3rem; }
.essay-reader .num { text-align: right; font-size: .78rem; font-weight: 600; opacity: .5;
  padding-top: .2rem; font-variant-numeric: tabular-nums; user-select: none; }
.essay-reader .text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
.essay-reader .between { white-space: pre-wrap; overflow-wrap: anywhere; margin: .6rem 0 .6rem 2.8rem;
  font-size: .9rem; font-weight: 600; opacity: .6; }
.essay-reader .para.current { background: rgba(255, 224, 102, .16); box-shadow: inset 3px 0 0 #e0b400;
  scroll-margin-top: 6rem; }
.essay-reader .para.current .num { opacity: .9; }
.essay-reader mark { background: #ffe066; color: #1a1a1a; padding: .05em .15em; border-radius: .2em;
  box-decoration-break: clone; -webkit-box-decoration-break: clone; }
.essay-reader .tag { font-size: .72rem; font-weight: 600; opacity: .6; margin-right: .4rem;
  text-transform: uppercase; letter-spacing: .04em; }
.essay-reader-head .title { font-size: 1.35rem; font-weight: 700; line-height: 1.3; margin: 0 0 .2rem 0; }
.essay-reader-head .meta { font-size: .85rem; opacity: .7; overflow-wrap: anywhere; }
.essay-basket-item { font-size: .85rem; line-height: 1.45; }
.essay-basket-item .n { font-weight: 700; opacity: .55; margin-right: .3rem; }
.essay-basket-item .quote { overflow-wrap: anywhere; }
.essay-basket-item .where { font-size: .75rem; opacity: .65; margin-top: .2rem; overflow-wrap: anywhere; }
</style>
"""

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


# --- the address ---------------------------------------------------------------------------

@dataclass(frozen=True)
class View:
    """What the page shows, as far as an address can say it."""
    q: str = ""
    k: int = 5
    style: str = DEFAULT_STYLE
    sources: tuple[str, ...] = ()  # documents searched; () = all
    p: str = ""  # the passage open in the reader; "" = none


def _values(params: Mapping, key: str) -> list[str]:
    value = params.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _last(params: Mapping, key: str) -> str:
    values = _values(params, key)
    return values[-1] if values else ""


def parse_style(raw) -> str:
    style = str(raw or "").strip().lower()
    return style if style in cite.STYLES else DEFAULT_STYLE


def view_from_params(params: Mapping, default_k: int, known_sources: Iterable[str]) -> View:
    """The view an address asks for. `params`: key -> value or list of values (repeated keys).
    Unreadable values fall back to defaults; documents not in the index are left out."""
    known = set(known_sources)
    sources: list[str] = []
    for source in _values(params, "src"):
        if source in known and source not in sources:
            sources.append(source)
    p = _last(params, "p").strip()
    return View(
        q=_last(params, "q"),
        k=render.parse_k(_last(params, "k") or None, default_k),
        style=parse_style(_last(params, "style")),
        sources=tuple(sources),
        p=p if len(p) <= MAX_ID_CHARS else "",
    )


def view_to_params(view: View) -> dict[str, str | list[str]]:
    """The query string of a view: only what differs from a fresh page."""
    out: dict[str, str | list[str]] = {}
    if view.q.strip():
        out["q"] = view.q.strip()
        out["k"] = str(view.k)
    if view.style != DEFAULT_STYLE:
        out["style"] = view.style
    if view.sources:
        out["src"] = list(view.sources)
    if view.p:
        out["p"] = view.p
    return out


def same_params(current: Mapping, wanted: Mapping) -> bool:
    """Do two query strings say the same (values or lists of values)?"""
    keys = set(current) | set(wanted)
    return all(_values(current, k) == _values(wanted, k) for k in keys)


def page_url(configured: str = "", context_url: str | None = None) -> str:
    """The address permalinks start from: ESSAYS_BASE_URL when set, else the address the page
    was opened at (without its query), else cite's default."""
    if configured.strip():
        return configured.strip()
    parts = urlsplit(context_url or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return urlunsplit(parts._replace(query="", fragment=""))
    return cite.DEFAULT_BASE_URL


# --- citations -----------------------------------------------------------------------------

def citation(passage, quote: str, style: str, corpus_root: Path, base_url: str,
             check: Verification | None = None) -> str:
    """The copy-ready citation of a quote in a style; a quote that could not be checked
    against its file says so first."""
    info = document_info(corpus_root, passage.source, passage.title)
    text = cite.format_citation(passage, quote or None, info, parse_style(style), base_url)
    return f"{check.flag()}\n{text}" if check is not None and not check.ok else text


def unverified_message(check: Verification) -> str:
    """The warning shown instead of vouching for a quote (plain text: escape before Markdown)."""
    return (f"Not verified: {check.reason}. This is the text as it was indexed; "
            "check the document before quoting it.")


# --- the reader ----------------------------------------------------------------------------

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


def source_file(corpus_root: Path, source: str) -> Path | None:
    """The file of a source; None when it would lie outside the corpus folder."""
    root = Path(corpus_root).resolve()
    path = (root / source).resolve()
    return path if path.is_relative_to(root) else None


def document_text(corpus_root: Path, source: str) -> tuple[str | None, str]:
    """(the file's text, '') or (None, why it cannot be read); read once per version of the file.
    A web page, PDF or Word file: the text extracted at ingest, which the index's offsets refer
    to, as long as the file is unchanged (see search.verify)."""
    path = source_file(corpus_root, source)
    if path is None:
        return None, "the file is not in the document folder"
    if not is_plain(source):
        text, problem = extracted_text(corpus_root, source, path)
        return (None, problem) if problem else (text, "")
    try:
        st = path.stat()
    except FileNotFoundError:
        return None, "the file no longer exists"
    except OSError as err:
        return None, f"the file cannot be read ({err.strerror or err.__class__.__name__})"
    return _read(str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=16)
def _read(path: str, mtime_ns: int, size: int) -> tuple[str | None, str]:
    try:
        return read_text(Path(path)), ""
    except FileNotFoundError:
        return None, "the file no longer exists"
    except SkipFile as err:
        return None, f"the file can no longer be read: {err}"


def file_stamps(corpus_root: Path, sources: Iterable[str]) -> tuple:
    """(source, modification time, size) of each file, None for one that cannot be found:
    what changes when a file is edited, for caching work that reads the files."""
    stamps = []
    for source in dict.fromkeys(sources):
        path = source_file(corpus_root, source)
        try:
            st = path.stat() if path is not None else None
        except OSError:
            st = None
        stamps.append((source, st.st_mtime_ns, st.st_size) if st else (source, None, None))
    return tuple(stamps)


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


def open_document(corpus_root: Path, passages: Sequence[Passage], source: str) -> Reading:
    """The document of `source`: the file's text split at the index's passages, or, when the
    file cannot be read or has changed since indexing, the indexed passages alone."""
    own = [p for p in passages if p.source == source]
    title = own[0].title if own else source
    text, problem = document_text(corpus_root, source)
    if text is not None and not matches(text, own):
        text, problem = None, "the file has changed since it was indexed"
    return Reading(source, title, document_blocks(text, own), text is not None, problem)


def paragraph_label(p: Passage) -> str:
    return str(p.paragraph) if p.paragraph_end == p.paragraph else f"{p.paragraph}–{p.paragraph_end}"


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
            parts.append(f'<div class="between">{render.esc(b.text)}</div>')
            continue
        number = paragraph_label(p) if p.paragraph_end > numbered else ""
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
        title = f' title="Paragraph {render.esc(paragraph_label(p))}"' if number else ""
        parts.append(f'{opening}<span class="num"{title}>{render.esc(number)}</span>'
                     f'<p class="text">{tag}{body}</p></div>')
    parts.append("</div>")
    return "".join(parts)


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


def passage_card_html(passage: Passage, quote_start: int | None, quote_end: int | None) -> str:
    """A passage without rank or confidence (e.g. one "like this"): heading, the passage with
    its quote marked, the citation line."""
    return ('<div class="essay-card">'
            f'<div class="head"><span class="title">{render.esc(render.heading(passage))}</span></div>'
            f'<p class="essay-passage">{render.marked(passage.text, passage.start, quote_start, quote_end)}</p>'
            f'<div class="essay-where">{render.esc(cite.where(passage))}</div></div>')


# --- the basket ----------------------------------------------------------------------------

def _changed(data, change) -> list[dict]:
    basket = Basket.from_list(data or [])
    change(basket)
    return basket.to_list()


def basket_add(data, item: BasketItem) -> list[dict]:
    return _changed(data, lambda b: b.add(item))


def basket_remove(data, passage_id: str) -> list[dict]:
    return _changed(data, lambda b: b.remove(passage_id))


def basket_move(data, passage_id: str, by: int) -> list[dict]:
    def move(b: Basket) -> None:
        if passage_id in b:
            b.move(passage_id, by)
    return _changed(data, move)


def basket_note(data, passage_id: str, note: str) -> list[dict]:
    def set_note(b: Basket) -> None:
        if passage_id in b:
            b.set_note(passage_id, note or "")
    return _changed(data, set_note)


def short(text: str, limit: int = 160) -> str:
    """One line of at most `limit` characters, cut at a word with an ellipsis."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(",;:.—– ") + "…"


def basket_item_html(number: int, item: BasketItem) -> str:
    """A basket entry in the sidebar: its number, the quote (shortened) and where it comes from."""
    where = f"{item.title}, paragraph {paragraph_label(item)}"
    return ('<div class="essay-basket-item">'
            f'<span class="n">{number}.</span><span class="quote">“{render.esc(short(item.quote))}”</span>'
            f'<div class="where">{render.esc(where)}</div></div>')

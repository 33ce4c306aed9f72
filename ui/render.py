"""What the pages show, as HTML strings and plain text: pure functions, no Streamlit.

Every piece of document text goes through `esc` (html.escape) before it becomes HTML, so a
document containing `<script>` or Markdown (`**bold**`, `# x`, `[link](x)`) shows literally.
The pages put the HTML from here into `st.html`, which does not apply Markdown; plain strings
meant for Markdown elements go through `md_escape` (workshop.cite's strict escaper) first.
One card (`card_html`) serves results, theme passages and "more like this" alike.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Iterable, Sequence

from core.passage import Passage
from workshop import cite
from workshop.basket import BasketItem
from workshop.catalog import document_info
from workshop.cite import md_escape
from workshop.verify import Verification, Verifier

__all__ = ["md_escape"]  # re-exported: the pages escape Markdown through this module

MIN_RESULTS = 1
MAX_RESULTS = 20

CONFIDENCE = {
    "strong": ("Strong match", "strong"),
    "partial": ("Partial match", "partial"),
    "weak": ("Weak match", "weak"),
}

# One stylesheet for both pages; colours are explicit so they read on light and dark themes.
CSS = """
<style>
.essay-card { font-size: 1rem; line-height: 1.6; }
.essay-card .head { display: flex; align-items: baseline; gap: .6rem; flex-wrap: wrap;
  margin-bottom: .45rem; }
.essay-card .rank { font-weight: 700; opacity: .55; font-variant-numeric: tabular-nums; }
.essay-card .title { font-weight: 600; }
.essay-badge { display: inline-block; padding: .05rem .55rem; border-radius: 999px;
  font-size: .78rem; font-weight: 600; letter-spacing: .01em; white-space: nowrap; }
.essay-badge.strong { background: #d3f4dc; color: #0f5323; }
.essay-badge.partial { background: #fdefc8; color: #6b4a00; }
.essay-badge.weak { background: #e6e8eb; color: #3d4148; }
.essay-passage { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
.essay-passage.code, .essay-reader .text.code { font-family: ui-monospace, "DejaVu Sans Mono", monospace;
  font-size: .85rem; line-height: 1.45; }
.essay-passage mark { background: #ffe066; color: #1a1a1a; padding: .05em .15em;
  border-radius: .2em; box-decoration-break: clone; -webkit-box-decoration-break: clone; }
.essay-where { font-size: .85rem; opacity: .7; margin-top: .5rem; overflow-wrap: anywhere; }
[data-testid="stCode"] pre, [data-testid="stCode"] code { font-family: inherit !important;
  font-size: .85rem !important; line-height: 1.5 !important; }
.essay-context .neighbour { white-space: pre-wrap; overflow-wrap: anywhere; opacity: .65;
  margin: 0 0 .75rem 0; }
.essay-context .current { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0 0 .75rem 0;
  border-left: 3px solid #ffe066; padding-left: .6rem; }
.essay-context .section { font-size: .8rem; font-weight: 600; opacity: .6; margin: .25rem 0; }
.essay-context .none { font-size: .85rem; opacity: .6; margin: 0 0 .75rem 0; }

.essay-reader { font-size: 1rem; line-height: 1.65; }
.essay-reader .para { display: grid; grid-template-columns: 2.4rem 1fr; gap: .4rem;
  margin: 0 0 .8rem 0; padding: .15rem .3rem .15rem 0; border-radius: .3rem; }
.essay-reader .num { text-align: right; font-size: .78rem; font-weight: 600; opacity: .5;
  padding-top: .2rem; font-variant-numeric: tabular-nums; user-select: none; }
.essay-reader .text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
.essay-reader .between { white-space: pre-wrap; overflow-wrap: anywhere; margin: .6rem 0 .6rem 2.8rem;
  font-size: .9rem; font-weight: 600; opacity: .6; }
.essay-reader .between .heading { display: inline-block; font-weight: 650; opacity: 1;
  margin: .3rem 0 .1rem 0; }
.essay-reader .between .heading.h1 { font-size: 1.3rem; }
.essay-reader .between .heading.h2 { font-size: 1.15rem; }
.essay-reader .between .heading.h3, .essay-reader .between .heading.h4 { font-size: 1.02rem; }
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


def esc(text: str) -> str:
    """Document text as HTML text: every <, >, &, and quote escaped."""
    return html.escape(text or "", quote=True)


def marked(text: str, start: int, quote_start: int | None, quote_end: int | None) -> str:
    """`text` (which begins at absolute offset `start`) escaped, the quote span in <mark>."""
    if quote_start is None or quote_end is None:
        return esc(text)
    a = min(max(quote_start - start, 0), len(text))
    b = min(max(quote_end - start, a), len(text))
    if a == b:
        return esc(text)
    return f"{esc(text[:a])}<mark>{esc(text[a:b])}</mark>{esc(text[b:])}"


def confidence_label(confidence: str) -> str:
    return CONFIDENCE.get(confidence, (confidence.capitalize() + " match", "weak"))[0]


def badge_html(confidence: str) -> str:
    label, css = CONFIDENCE.get(confidence, (confidence_label(confidence), "weak"))
    return f'<span class="essay-badge {css}">{esc(label)}</span>'


def heading(p: Passage) -> str:
    """The most specific heading of a passage: FAQ question, else section, else title."""
    return p.question or p.section or p.title


def card_html(passage: Passage, quote_start: int | None = None, quote_end: int | None = None,
              rank: int | None = None, confidence: str | None = None) -> str:
    """A passage card: [rank, confidence,] heading, the passage with its quote marked, the
    citation line."""
    head = (f'<span class="rank">{rank}</span>' if rank is not None else "") + \
           (badge_html(confidence) if confidence else "")
    return (
        '<div class="essay-card">'
        f'<div class="head">{head}<span class="title">{esc(heading(passage))}</span></div>'
        f'<p class="essay-passage{" code" if passage.kind == "code" else ""}">'
        f'{marked(passage.text, passage.start, quote_start, quote_end)}</p>'
        f'<div class="essay-where">{esc(cite.where(passage))}</div>'
        "</div>"
    )


def result_card_html(result) -> str:
    """The card of a search Result: rank, confidence, the answering sentence marked."""
    return card_html(result.passage, result.quote_start, result.quote_end, result.rank, result.confidence)


def context_html(before: Sequence[Passage], result, after: Sequence[Passage]) -> str:
    """The passages around a result, in document order, the result itself (quote marked) in between."""
    p = result.passage
    parts = ['<div class="essay-context">']
    if not before:
        parts.append('<p class="none">(start of the document)</p>')
    section = None
    for n in before:
        section = section_break(parts, n, section)
        parts.append(f'<p class="neighbour">{esc(n.text)}</p>')
    section = section_break(parts, p, section)
    parts.append(f'<p class="current">{marked(p.text, p.start, result.quote_start, result.quote_end)}</p>')
    for n in after:
        section = section_break(parts, n, section)
        parts.append(f'<p class="neighbour">{esc(n.text)}</p>')
    if not after:
        parts.append('<p class="none">(end of the document)</p>')
    parts.append("</div>")
    return "".join(parts)


def section_break(parts: list[str], p: Passage, current: str | None) -> str:
    label = " — ".join(x for x in (p.section, p.question) if x)
    if current is not None and label != current and label:
        parts.append(f'<div class="section">{esc(label)}</div>')
    return label


def short(text: str, limit: int = 160) -> str:
    """One line of at most `limit` characters, cut at a word with an ellipsis."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(",;:.—– ") + "…"


def basket_item_html(number: int, item: BasketItem) -> str:
    """A basket entry in the sidebar: its number, the quote (shortened, its own double quotation
    marks made single inside “…”) and the paragraphs it comes from."""
    quoted = cite.for_quote(item.passage, item.quote, item.quote_start)
    where = f"{item.title}, {cite.paragraphs_label(quoted)}"
    return ('<div class="essay-basket-item">'
            f'<span class="n">{number}.</span><span class="quote">“{esc(cite.nested(short(item.quote)))}”</span>'
            f'<div class="where">{esc(where)}</div></div>')


# --- citations -----------------------------------------------------------------------------

def citation(verifier: Verifier, passage: Passage, quote: str, style: str, base_url: str,
             check: Verification | None = None, quote_start: int | None = None) -> str:
    """The copy-ready citation of a quote in a style, from what the catalogue knows of its
    document, naming the quote's paragraphs (`quote_start`: its absolute offset, else found in
    the passage); a quote that could not be checked against its file says so first."""
    info = document_info(verifier.corpus_root, passage.source, passage.title, verifier)
    style = style if style in cite.STYLES else cite.DEFAULT_STYLE
    text = cite.format_citation(passage, quote or None, info, style, base_url, quote_start=quote_start,
                                page=verifier.page_at(passage.source, quote_start))
    return f"{check.flag()}\n{text}" if check is not None and not check.ok else text


def unverified_message(check: Verification) -> str:
    """The warning shown instead of vouching for a quote (plain text: escape before Markdown)."""
    return (f"Not verified: {check.reason}. This is the text as it was indexed; "
            "check the document before quoting it.")


# --- what the page searches ------------------------------------------------------------------

def model_label(model: str) -> str:
    """A short name for the embedding model an index was built with."""
    if model == "bundled":
        return "all-MiniLM-L6-v2"
    return Path(model.rstrip("/\\")).name or model or "unknown model"


def summary(model: str, documents: Sequence[tuple[str, str]], n_passages: int) -> str:
    """One plain sentence saying what the page searches."""
    n_docs = len(documents)
    docs = f"{n_docs} essay" + ("" if n_docs == 1 else "s")
    passages = f"{n_passages} passage" + ("" if n_passages == 1 else "s")
    return (f"Searches {docs} ({passages}) by meaning and by keyword, "
            f"with the {model_label(model)} embedding model.")


def parse_k(raw, default: int, lo: int = MIN_RESULTS, hi: int = MAX_RESULTS) -> int:
    """A number of results from a URL parameter: clamped to lo..hi, `default` when unreadable."""
    try:
        k = int(str(raw).strip())
    except (TypeError, ValueError):
        k = default
    return min(max(k, lo), hi)


def example_questions(passages: Iterable[Passage], limit: int = 3) -> list[str]:
    """Questions the corpus itself asks (FAQ headings), taken from as many documents as possible."""
    by_source: dict[str, list[str]] = {}
    seen: set[str] = set()
    for p in passages:
        q = " ".join((p.question or "").split())
        if q and q.endswith("?") and q.lower() not in seen:
            seen.add(q.lower())
            by_source.setdefault(p.source, []).append(q)
    picked: list[str] = []
    queues = list(by_source.values())
    while queues and len(picked) < limit:
        for queue in list(queues):
            if len(picked) >= limit:
                break
            picked.append(queue.pop(0))
            if not queue:
                queues.remove(queue)
    return picked

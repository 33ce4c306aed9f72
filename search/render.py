"""Display strings for the search page: pure functions, no Streamlit.

Every piece of document text goes through `html.escape` before it becomes HTML, so a
document containing `<script>` or Markdown (`**bold**`, `# x`, `[link](x)`) shows literally.
The page puts the HTML from here into `st.html`, which does not apply Markdown; plain strings
meant for Markdown elements go through `md_escape` first.
"""
from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Iterable, Sequence

from ingest.passages import Passage

from . import cite

MIN_RESULTS = 1
MAX_RESULTS = 20

CONFIDENCE = {
    "strong": ("Strong match", "strong"),
    "partial": ("Partial match", "partial"),
    "weak": ("Weak match", "weak"),
}

# One stylesheet for the cards; colours are explicit so they read on light and dark themes.
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
</style>
"""


def esc(text: str) -> str:
    """Document text as HTML text: every <, >, &, and quote escaped."""
    return html.escape(text or "", quote=True)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def md_escape(text: str) -> str:
    """A plain string safe inside st.markdown/st.caption: Markdown and HTML characters shown as is."""
    return _MD_SPECIAL.sub(r"\\\1", text or "")


def marked(text: str, start: int, quote_start: int | None, quote_end: int | None) -> str:
    """`text` (which begins at absolute offset `start`) escaped, the quote span in <mark>."""
    if quote_start is None or quote_end is None:
        return esc(text)
    a = min(max(quote_start - start, 0), len(text))
    b = min(max(quote_end - start, a), len(text))
    if a == b:
        return esc(text)
    return f"{esc(text[:a])}<mark>{esc(text[a:b])}</mark>{esc(text[b:])}"


def highlight_html(result) -> str:
    """The passage of a Result, escaped, with the answering sentence wrapped in <mark>."""
    return marked(result.text, result.passage.start, result.quote_start, result.quote_end)


def confidence_label(confidence: str) -> str:
    return CONFIDENCE.get(confidence, (confidence.capitalize() + " match", "weak"))[0]


def badge_html(confidence: str) -> str:
    label, css = CONFIDENCE.get(confidence, (confidence_label(confidence), "weak"))
    return f'<span class="essay-badge {css}">{esc(label)}</span>'


def card_html(result) -> str:
    """A result card: rank, confidence, title, the passage with its quote marked, the citation line."""
    p = result.passage
    return (
        '<div class="essay-card">'
        f'<div class="head"><span class="rank">{result.rank}</span>{badge_html(result.confidence)}'
        f'<span class="title">{esc(heading(p))}</span></div>'
        f'<p class="essay-passage">{highlight_html(result)}</p>'
        f'<div class="essay-where">{esc(cite.where(p))}</div>'
        "</div>"
    )


def heading(p: Passage) -> str:
    """The most specific heading of a passage: FAQ question, else section, else title."""
    return p.question or p.section or p.title


def context_html(before: Sequence[Passage], result, after: Sequence[Passage]) -> str:
    """The passages around a result, in document order, the result itself (quote marked) in between."""
    p = result.passage
    parts = ['<div class="essay-context">']
    if not before:
        parts.append('<p class="none">(start of the document)</p>')
    section = None
    for n in before:
        section = _section_break(parts, n, section)
        parts.append(f'<p class="neighbour">{esc(n.text)}</p>')
    section = _section_break(parts, p, section)
    parts.append(f'<p class="current">{highlight_html(result)}</p>')
    for n in after:
        section = _section_break(parts, n, section)
        parts.append(f'<p class="neighbour">{esc(n.text)}</p>')
    if not after:
        parts.append('<p class="none">(end of the document)</p>')
    parts.append("</div>")
    return "".join(parts)


def _section_break(parts: list[str], p: Passage, current: str | None) -> str:
    label = " — ".join(x for x in (p.section, p.question) if x)
    if current is not None and label != current and label:
        parts.append(f'<div class="section">{esc(label)}</div>')
    return label


def model_label(manifest: dict) -> str:
    """A short name for the embedding model an index was built with."""
    model = str(manifest.get("model") or "")
    if model == "bundled":
        return "all-MiniLM-L6-v2"
    return Path(model.rstrip("/\\")).name or model or "unknown model"


def summary(manifest: dict, documents: Sequence[tuple[str, str]], n_passages: int) -> str:
    """One plain sentence saying what the page searches."""
    n_docs = len(documents)
    docs = f"{n_docs} essay" + ("" if n_docs == 1 else "s")
    passages = f"{n_passages} passage" + ("" if n_passages == 1 else "s")
    return (f"Searches {docs} ({passages}) by meaning and by keyword, "
            f"with the {model_label(manifest)} embedding model.")


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

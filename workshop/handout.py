"""Exporting the basket as a workshop handout: Markdown, Word (.docx), CSV or printable HTML.

Every handout has a title and a date, then the quotes in the basket's order, each with its
note and its citation in the chosen style. Each quote is checked against its file first;
one that no longer matches is printed with "[quote not verified: …]" beside it.
Quotes are written verbatim (Markdown escapes and HTML entities decode back to the exact text;
in CSV, any cell that begins like a formula, = + - @, has a single quote put before it).
"""
from __future__ import annotations

import csv
import datetime as _dt
import html
import io
import re
from dataclasses import dataclass

from .basket import Basket, BasketItem
from .catalog import DocumentInfo, document_info
from .cite import for_quote, format_citation, md_text, paragraph_range, permalink, safe_url
from .verify import Verification, Verifier

FORMATS = {  # format -> (file extension, media type), for download buttons
    "markdown": ("md", "text/markdown"),
    "docx": ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "csv": ("csv", "text/csv"),
    "html": ("html", "text/html"),
}
DEFAULT_TITLE = "Handout"


@dataclass(frozen=True)
class Entry:
    """One basket item, ready to print."""
    number: int
    item: BasketItem
    info: DocumentInfo
    verification: Verification
    citation: str  # in the chosen style, without the quote (printed above it)
    link: str  # the app's permalink to the passage
    paragraphs: str  # the quote's paragraphs: "7", or "7–8"


def entries(basket: Basket, style: str, verifier: Verifier, base_url: str | None = None) -> list[Entry]:
    """The basket's items ready to print: each checked, cited by the paragraphs of its quote."""
    out = []
    for n, item in enumerate(basket, start=1):
        p = item.passage
        info = document_info(verifier.corpus_root, p.source, p.title, verifier)
        check = verifier.verify(p, item.quote_start, item.quote_end, quote=item.quote)
        cited = format_citation(p, item.quote, info, style, base_url, include_quote=False,
                                quote_start=item.quote_start, page=verifier.page_at(p.source, item.quote_start))
        paragraphs = paragraph_range(for_quote(p, item.quote, item.quote_start))
        out.append(Entry(n, item, info, check, cited, permalink(p.id, base_url), paragraphs))
    return out


def export(basket: Basket, fmt: str, verifier: Verifier, style: str = "plain",
           title: str = DEFAULT_TITLE, date: _dt.date | str | None = None,
           base_url: str | None = None) -> bytes:
    """The handout as a file's bytes (fmt: one of FORMATS; style: one of cite.STYLES), every
    quote checked by `verifier` (the loaded index's, `workshop.verify.verifier(index)`).
    `date`: a date, a text, or None for today; `base_url`: the app's address."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown handout format {fmt!r}: choose one of {', '.join(FORMATS)}")
    title = " ".join((title or "").split()) or DEFAULT_TITLE
    rows = entries(basket, style, verifier, base_url)
    writer = {"markdown": _markdown, "docx": _docx, "csv": _csv, "html": _html}[fmt]
    return writer(rows, title, date_label(date), style)


def filename(title: str, fmt: str) -> str:
    """A safe file name for the download: 'workshop-on-trust.md'."""
    stem = re.sub(r"[^a-z0-9]+", "-", (title or DEFAULT_TITLE).lower()).strip("-")[:60] or "handout"
    return f"{stem}.{FORMATS[fmt][0]}"


def date_label(date: _dt.date | str | None) -> str:
    date = _dt.date.today() if date is None else date
    if isinstance(date, _dt.date):
        return f"{date.day} {date:%B} {date.year}"
    return " ".join(str(date).split())


# --- Markdown --------------------------------------------------------------------------------

def _markdown(rows: list[Entry], title: str, date: str, style: str) -> bytes:
    """Markdown that reads as plain text: document text is escaped only where Markdown would
    read markup (`cite.md_text`), so "Walls & closeness" stays as written."""
    out = [f"# {md_text(title)}", "", md_text(date), ""]
    for e in rows:
        out += [f"## {e.number}. {md_text(' '.join(e.info.title.split()))}", ""]
        out += [f"> {md_text(line)}" if line else ">" for line in e.item.quote.split("\n")]
        out.append("")
        if not e.verification.ok:
            out += [f"**{md_text(e.verification.flag())}**", ""]
        if e.item.note.strip():
            out += ["*Note:* " + "  \n".join(md_text(line) for line in e.item.note.strip().splitlines()), ""]
        out += [e.citation if style == "markdown" else md_text(e.citation), ""]
    return "\n".join(out).encode("utf-8")


# --- CSV -------------------------------------------------------------------------------------

CSV_COLUMNS = ("handout", "date", "number", "quote", "verified", "note", "title", "section",
               "paragraph", "author", "url", "source", "quote_start", "quote_end", "citation", "link")


def _csv(rows: list[Entry], title: str, date: str, style: str) -> bytes:
    """One row per quote under a header row. Every cell that a spreadsheet would run as a
    formula is neutralised (`_cell`), the quote included: a quote that begins with "-" or "="
    is written with a single quote before it; every other cell is written as it is."""
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(CSV_COLUMNS)
    for e in rows:
        i, p = e.item, e.item.passage
        out.writerow([_cell(str(value)) for value in (
            title, date, e.number, i.quote,
            "yes" if e.verification.ok else e.verification.flag(), i.note,
            e.info.title, p.section, e.paragraphs, e.info.author,
            e.info.url, p.source, i.quote_start, i.quote_end, e.citation, e.link,
        )])
    return buffer.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet read a cell as a formula


def _cell(text: str) -> str:
    """A cell that a spreadsheet will not run as a formula: text that begins with = + - @, a
    tab or a carriage return gets a single quote before it (OWASP's advice); other text is
    kept as it is."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# --- HTML ------------------------------------------------------------------------------------

_CSS = """
body { font: 12pt/1.5 Georgia, "Times New Roman", serif; color: #111; max-width: 46em; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.7em; margin: 0 0 .2em; }
.date { color: #555; margin: 0 0 2em; }
ol.items { padding-left: 1.4em; }
li.item { margin: 0 0 1.8em; break-inside: avoid; page-break-inside: avoid; }
.doc { font-weight: bold; margin: 0 0 .3em; }
blockquote.quote { margin: 0 0 .5em; padding: .2em 0 .2em 1em; border-left: 3px solid #999; white-space: pre-wrap; }
.flag { color: #a00; font-weight: bold; margin: 0 0 .4em; }
.note { margin: 0 0 .4em; white-space: pre-wrap; }
.note .label { font-style: italic; }
.citation { font-size: .9em; color: #333; margin: 0 0 .2em; }
.links { font-size: .85em; margin: 0; }
a { color: #114; }
footer { margin-top: 3em; font-size: .8em; color: #666; }
@page { margin: 2cm; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  .links a::after { content: " (" attr(href) ")"; }
  a { color: inherit; text-decoration: none; }
}
"""


def _html(rows: list[Entry], title: str, date: str, style: str) -> bytes:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        # Self-contained and inert: no scripts, no requests, only the inline style sheet.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
        f"<header><h1>{esc(title)}</h1><p class=\"date\">{esc(date)}</p></header>",
        '<ol class="items">',
    ]
    for e in rows:
        links = [f'<a href="{esc(e.link)}">passage in the app</a>']
        if safe_url(e.info.url):
            links.append(f'<a href="{esc(safe_url(e.info.url))}">original source</a>')
        parts += [
            f'<li class="item" id="q{e.number}">',
            f'<p class="doc">{esc(e.info.title)}</p>',
            f'<blockquote class="quote">{esc(e.item.quote)}</blockquote>',
            f'<p class="flag">{esc(e.verification.flag())}</p>' if not e.verification.ok else "",
            f'<p class="note"><span class="label">Note:</span> {esc(e.item.note.strip())}</p>'
            if e.item.note.strip() else "",
            f'<p class="citation">{esc(e.citation)}</p>',
            f'<p class="links">{" · ".join(links)}</p>',
            "</li>",
        ]
    parts += ["</ol>", f"<footer>{len(rows)} quote{'s' if len(rows) != 1 else ''}, "
              f"each checked against its document when this handout was made.</footer>",
              "</body>", "</html>", ""]
    return "\n".join(p for p in parts if p).encode("utf-8")


# --- Word ------------------------------------------------------------------------------------

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _docx_text(text: str) -> str:
    """Text Word can hold: line ends as line breaks, characters XML forbids replaced."""
    return _XML_INVALID.sub("\ufffd", text.replace("\r\n", "\n"))


def _docx(rows: list[Entry], title: str, date: str, style: str) -> bytes:
    from docx import Document
    from docx.shared import Pt, RGBColor

    doc = Document()
    doc.core_properties.title = _docx_text(title)
    doc.add_heading(_docx_text(title), level=0)
    doc.add_paragraph(_docx_text(date), style="Subtitle")
    for e in rows:
        doc.add_heading(f"{e.number}. {_docx_text(' '.join(e.info.title.split()))}", level=2)
        doc.add_paragraph(_docx_text(e.item.quote), style="Quote")
        if not e.verification.ok:
            run = doc.add_paragraph().add_run(e.verification.flag())
            run.bold = True
            run.font.color.rgb = RGBColor(0xAA, 0, 0)
        if e.item.note.strip():
            para = doc.add_paragraph()
            para.add_run("Note: ").italic = True
            para.add_run(_docx_text(e.item.note.strip()))
        cited = doc.add_paragraph()
        cited.add_run(_docx_text(e.citation)).font.size = Pt(9)
        link = doc.add_paragraph()
        _hyperlink(link, e.link, "Passage in the app")
        if safe_url(e.info.url):
            link.add_run(" · ")
            _hyperlink(link, safe_url(e.info.url), "original source")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _hyperlink(paragraph, url: str, label: str) -> None:
    """A clickable link in a Word paragraph (python-docx has no public call for one)."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rel = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    color = OxmlElement("w:color")
    color.set(qn("w:val"), "1F3A93")
    props.extend([color, underline])
    text = OxmlElement("w:t")
    text.text = label
    run.extend([props, text])
    link.append(run)
    paragraph._p.append(link)

"""Citation lines and copy-ready citations for a passage.

`where` is the citation line used on result cards and by the CLI.
`format_citation(passage, quote, info, style, base_url)` gives a full citation in one of
`STYLES`: "plain" text, "markdown" (linking to the passage in the app) or "apa" (an APA-like
in-text citation with paragraph number, and the reference entry). `passage` is a Passage;
`info` is the document's `catalog.DocumentInfo` (author, site, URL, date), or None when
nothing is known. A citation names the paragraphs of the quote itself (`for_quote`), which may
be fewer than the passage's, and a PDF's page where the quote stands when the caller knows it
(`page`: a Passage records only the page it starts on; `Verifier.page_at` knows the rest).

Two Markdown escapers: `md_escape` (strict, for the page's Streamlit Markdown) and `md_text`
(minimal, for Markdown handouts and citations that must also read as plain text).
"""
from __future__ import annotations

import os
import re
from dataclasses import replace
from urllib.parse import parse_qsl, quote as url_quote, urlencode, urlsplit, urlunsplit

from core.passage import Passage

from .catalog import DocumentInfo

DEFAULT_BASE_URL = "http://localhost:8501/"
_DOUBLE_TO_SINGLE = str.maketrans({"“": "‘", "”": "’", '"': "'"})
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def paragraph_range(p: Passage) -> str:
    """'7', or '7–8' for a passage over two paragraphs."""
    return str(p.paragraph) if p.paragraph_end == p.paragraph else f"{p.paragraph}–{p.paragraph_end}"


def paragraphs_label(p: Passage) -> str:
    """'paragraph 7', or 'paragraphs 7–8'."""
    return f"paragraph{'s' if p.paragraph_end != p.paragraph else ''} {paragraph_range(p)}"


def page_label(p: Passage) -> str:
    """'page N' for a passage of a PDF; '' for other formats."""
    return f"page {p.page}" if p.page else ""


def for_quote(p: Passage, quote: str | None = None, quote_start: int | None = None) -> Passage:
    """The passage as a citation of `quote` sees it: `paragraph` and `paragraph_end` those of
    the quote (at absolute offset `quote_start`, else where it first occurs in the passage).
    The passage unchanged when the quote is empty or not found in it."""
    if not quote:
        return p
    if quote_start is None:
        at = p.text.find(quote)
        if at < 0:
            return p
        quote_start = p.start + at
    first, last = quote_paragraphs(p, quote_start, quote_start + len(quote))
    return replace(p, paragraph=first, paragraph_end=last)


def quote_paragraphs(p: Passage, quote_start: int, quote_end: int) -> tuple[int, int]:
    """The first and last paragraph numbers covered by [quote_start, quote_end) (absolute).

    A sentence never crosses a paragraph, and a paragraph always begins on a new line while the
    lines inside one are joined only where no sentence ends: so within a passage, a paragraph
    break is a gap between two consecutive sentences that holds a line break (a blank line, or a
    single newline after a line that ends a sentence, or before a list item). When the gaps do
    not account for the passage's paragraphs, or the quote is not inside it, the passage's range."""
    breaks = [(b, a) for (_, b), (a, _) in zip(p.sentences, p.sentences[1:])
              if "\n" in p.text[b - p.start:a - p.start]]
    if len(breaks) != p.paragraph_end - p.paragraph or not p.start <= quote_start < quote_end <= p.end:
        return p.paragraph, p.paragraph_end
    first = p.paragraph + sum(quote_start >= b for b, _ in breaks)
    last = p.paragraph + sum(quote_end > a for _, a in breaks)
    return first, max(first, last)


def nested(quote: str) -> str:
    """The quote's own double quotation marks made single (“ ” " → ‘ ’ '), for printing it
    inside “…”: “He said ‘come back’ and left”."""
    return quote.translate(_DOUBLE_TO_SINGLE)


def where(p: Passage) -> str:
    """Title — section (and FAQ question), [page N,] paragraph N, file: the citation line of a card."""
    head = " — ".join(x for x in (p.title, p.section, p.question) if x)
    kind = " (reader comment)" if p.kind == "comment" else ""
    page = f"{page_label(p)}, " if page_label(p) else ""
    return f"{head}{kind}, {page}{paragraphs_label(p)}, {p.source}"


# --- links ---------------------------------------------------------------------------------

def default_base_url() -> str:
    """The app's address for permalinks: $ESSAYS_BASE_URL, else http://localhost:8501/."""
    return os.environ.get("ESSAYS_BASE_URL", "").strip() or DEFAULT_BASE_URL


def permalink(passage_id: str, base_url: str | None = None) -> str:
    """The app's link to one passage: base URL with ?p=<passage id> (other parameters kept)."""
    parts = urlsplit(base_url or default_base_url())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "p"]
    return urlunsplit(parts._replace(query=urlencode(query + [("p", passage_id)]), fragment=""))


def safe_url(url: str) -> str:
    """The URL when it is an http(s) address that may be linked to; '' otherwise."""
    url = (url or "").strip()
    if urlsplit(url).scheme.lower() in ("http", "https") and not re.search(r"[\s<>\"]", url):
        return url
    return ""


# --- Markdown --------------------------------------------------------------------------------

_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~$])"  # emphasis, code, links, HTML, tables, math
                        r"|&(?=#?\w+;)"  # an HTML entity
                        r"|:(?=[\w/-]+[:\[])"  # Streamlit's :emoji:, :material/icon:, :red[text]
                        r"|(?<=[wW]{3})\.|(?<=:)/|(?<=:/)/|@")  # autolinks: www., http://, e-mail
_MD_LINE_START = re.compile(r"^(\s*)([-+=#]|\d+[.)])", re.MULTILINE)  # lists, headings
_MD_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_URL_SAFE = ":/?#[]@!$&'*+,;=%~"


def md_escape(text: str) -> str:
    """Text that Markdown (CommonMark, and Streamlit's additions) shows literally: no emphasis,
    links (autolinks too), HTML, entities, headings, lists, tables, math, emoji or colours. Strict (every such
    character escaped, wherever it stands): the page's Markdown elements use it. Handouts use
    `md_text`, which escapes only where Markdown would read markup."""
    text = _MD_INLINE.sub(lambda m: "\\" + m.group(0), text or "")
    return _MD_LINE_START.sub(lambda m: f"{m.group(1)}{m.group(2)[:-1]}\\{m.group(2)[-1]}", text)


def md_unescape(text: str) -> str:
    """The inverse of md_escape and md_text (and of any backslash escape of punctuation)."""
    return _MD_ESCAPED.sub(r"\1", text)


# Where CommonMark (and GitHub's tables, strikethrough) would read markup in a line of text:
# a backslash before punctuation or at the line's end, a backtick, a run of * _ ~ that could
# open or close emphasis, a < that could open a tag or autolink, an & that would make an
# entity, #s that would close a heading, and a ] that would close a link, an image or a
# reference definition.
_MD_TEXT = r"\\(?=[!-/:-@\[-`{-~]|$)|`|\*+|_+|~+|<(?=[A-Za-z/!?])|&(?=#?\w+;)|(?<=\s)#+(?=\s*$)"
_MD_TEXT_INLINE = re.compile(_MD_TEXT + r"|\](?=[(\[:])")
_MD_TEXT_LABEL = re.compile(_MD_TEXT + r"|[\[\]]")  # in a link's label: every bracket
# At a line's start (after up to three spaces): a heading, a quote, a list item, a thematic
# break or setext underline, a code fence.
_MD_TEXT_START = re.compile(r"^( {0,3})(#|>|[-+*](?=\s|$)|[-=_*](?=[-=_*\s]*$)|~(?=~~)"
                            r"|\d{1,9}(?=[.)](?:\s|$)))")
_MD_TABLE_RULE = re.compile(r"^[\s|:-]*-[\s|:-]*$")  # could be a table's delimiter row


def md_text(text: str, label: bool = False) -> str:
    """Text for a Markdown handout: it reads as plain text in an editor and renders literally,
    escaped only where Markdown would read markup at that position (see `_MD_TEXT`): "# Walls &
    closeness" mid-line stays as it is, a "#" that starts a line becomes "\\#". `label`: the
    text of a link in *emphasis*, where every bracket, and a * _ ~ at either end, is escaped."""
    inline = _MD_TEXT_LABEL if label else _MD_TEXT_INLINE
    edge = "*" if label else " "
    lines = []
    for line in (text or "").split("\n"):
        line = inline.sub(lambda m: _md_text_escape(m, edge), line)
        if _MD_TABLE_RULE.match(line):  # its pipes and colons escaped, it is none
            line = re.sub(r"[|:]", r"\\\g<0>", line)
        lines.append(_MD_TEXT_START.sub(_md_text_start, line))
    return "\n".join(lines)


def _md_text_escape(m: re.Match, edge: str = " ") -> str:
    """One match of _MD_TEXT escaped, unless it is a run of * _ ~ that cannot be emphasis:
    between spaces, or an underscore inside a word (snake_case). `edge`: what stands beyond
    the line's ends."""
    run, line = m.group(0), m.string
    if run[0] in "*_~":
        before = line[m.start() - 1] if m.start() else edge
        after = line[m.end()] if m.end() < len(line) else edge
        if (before.isspace() and after.isspace()) or (run[0] == "_" and before.isalnum() and after.isalnum()):
            return run
    return "".join("\\" + c for c in run)


def _md_text_start(m: re.Match) -> str:
    """A line's opening markup escaped: "\\# ", "\\- ", "1984\\. "."""
    lead, mark = m.group(1), m.group(2)
    return f"{lead}{mark}\\" if mark[0].isdigit() else f"{lead}\\{mark}"


def _md_link(label: str, url: str) -> str:
    return f"[{label}]({url_quote(url, safe=_URL_SAFE)})"


# --- the styles ------------------------------------------------------------------------------

def _one_line(text: str) -> str:
    return " ".join(text.split())


def located(p) -> str:
    """Section — FAQ question (reader comment), [page N,] paragraph N: where in the document."""
    head = " — ".join(x for x in (p.section, p.question) if x)
    kind = " (reader comment)" if p.kind == "comment" else ""
    return ", ".join(x for x in (head + kind, page_label(p), paragraphs_label(p)) if x)


def plain(p, quote: str, info: DocumentInfo, base_url: str, include_quote: bool = True) -> str:
    """“Quote” — Author, Title — Section, paragraph N, Site, Date. URL (or the file name)."""
    ref = ", ".join(x for x in (info.author_label, _one_line(info.title), located(p), info.site, info.date) if x)
    ref += f". {info.url}" if info.url else f", {p.source}"
    return f"“{nested(_one_line(quote))}” — {ref}" if include_quote else ref


def markdown(p, quote: str, info: DocumentInfo, base_url: str, include_quote: bool = True) -> str:
    """> Quote  /  — Author, [*Title*](permalink), Section, paragraph N, Site, Date, [source](URL)."""
    title = _md_link(f"*{md_text(_one_line(info.title), label=True)}*", permalink(p.id, base_url))
    parts = [md_text(info.author_label), title, md_text(located(p))]
    parts += [md_text(x) for x in (info.site, info.date) if x]
    if safe_url(info.url):
        parts.append(_md_link("source", safe_url(info.url)))
    elif info.url:
        parts.append(md_text(info.url))
    line = ", ".join(parts)
    return f"> {md_text(_one_line(quote))}\n>\n> — {line}" if include_quote else line


def apa(p, quote: str, info: DocumentInfo, base_url: str, include_quote: bool = True) -> str:
    """“Quote” (Author, Year, Section section, para. N).  Reference: Author. (Date). Title. Site. URL"""
    year = apa_year(info.date)
    who = info.author or f"“{nested(_short_title(info.title))}”"
    paras = f"para{'s' if p.paragraph_end != p.paragraph else ''}. {paragraph_range(p)}"
    section = f"{_one_line(p.section)} section" if p.section else ""
    comment = "reader comment" if p.kind == "comment" else ""
    page = f"p. {p.page}" if p.page else ""
    in_text = ", ".join(x for x in (who, year, page, section, comment, paras) if x)
    title = _end(_one_line(info.title))
    date = f"({apa_date(info.date)})."
    head = f"{_end(info.author)} {date} {title}" if info.author else f"{title} {date}"
    reference = " ".join(x for x in (head, _end(info.site) if info.site != info.author else "", info.url) if x)
    if include_quote:
        return f"“{nested(_one_line(quote))}” ({in_text}).\n\n{reference}"
    return f"In text: ({in_text}). Reference: {reference}"


STYLES = {"plain": plain, "markdown": markdown, "apa": apa}
STYLE_NAMES = {"plain": "Plain text", "markdown": "Markdown", "apa": "APA"}
DEFAULT_STYLE = "plain"


def format_citation(passage, quote: str | None = None, info: DocumentInfo | None = None,
                    style: str = "plain", base_url: str | None = None,
                    include_quote: bool = True, quote_start: int | None = None,
                    page: int | None = None) -> str:
    """The citation of a quote from the passage in one of STYLES (the whole passage when the
    quote is empty), naming the quote's paragraphs (`for_quote`; `quote_start`: its absolute
    offset, when known) and, for a PDF, `page` when given (the quote's page; else the passage's).
    `include_quote=False` leaves the quote out (for handouts that print it)."""
    if style not in STYLES:
        raise ValueError(f"Unknown citation style {style!r}: choose one of {', '.join(STYLES)}")
    info = info or DocumentInfo(passage.source, title=_one_line(passage.title) or passage.source)
    if not info.title:
        info = replace(info, title=_one_line(passage.title) or passage.source)
    cited = for_quote(passage, quote, quote_start)
    if page and passage.page:
        cited = replace(cited, page=page)
    return STYLES[style](cited, quote or passage.text, info, base_url or default_base_url(), include_quote)


def _end(text: str) -> str:
    """Text ending with a full stop (not doubled after . ? !)."""
    text = _one_line(text)
    return text if not text or text[-1] in ".?!" else text + "."


def _short_title(title: str) -> str:
    """The title up to its colon (APA cites a long title by its first words)."""
    return re.split(r"[:?!]", _one_line(title))[0].strip() or _one_line(title)


def apa_year(date: str) -> str:
    m = re.search(r"\b(1[5-9]\d\d|2\d\d\d)\b", date or "")
    return m.group(1) if m else "n.d."


def apa_date(date: str) -> str:
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", (date or "").strip())
    if not m:
        return _one_line(date) if date else "n.d."
    year, month, day = m.groups()
    if not month or not 1 <= int(month) <= 12:
        return year
    return f"{year}, {_MONTHS[int(month) - 1]}" + (f" {int(day)}" if day else "")

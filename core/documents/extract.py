"""Text out of documents that are not plain text: web pages, PDFs and Word files.

`extract(path)` returns an `Extracted`: the text that every offset of the document's passages
refers to, its kind, and for a PDF where each page starts in that text. The text is built so
that `ingest/structure.py` reads it like a Markdown file: headings become '# Heading' lines
(one '#' per level), list items '- item' lines, and paragraphs are separated by blank lines.

- HTML (.html, .htm): the main text, found by trafilatura (navigation, menus, sidebars,
  footers and other page furniture are dropped); a blog's comments follow under a 'Comments'
  line, which structure.py marks as reader comments.
- PDF (.pdf): the text layer, page by page (pypdf); a lone page number at the top or bottom
  of a page is dropped. `pages[i]` is the offset at which page i + 1 starts.
- Word (.docx): body paragraphs and tables in order (python-docx); 'Heading N' and 'Title'
  styles become headings, list styles list items.

Table rows (HTML and Word) become list items, 'cell | cell', so a short row is never taken
for a heading.

Since the text is not the file's bytes, ingest stores it with the index (see store.py) so a
quote can still be checked against exactly what was indexed. A file that yields no text
(corrupt, encrypted, empty, a scanned PDF without a text layer) raises SkipFile with a reason.

Bounded work (`Limits`, from the settings max_document_chars and max_document_paragraphs): a
document with more characters or more paragraphs (non-blank lines of its text) than allowed is
skipped whole, and the untrusted formats are measured *before* the expensive step: a Word
file's main part is streamed and counted (a 1 MB file can expand to millions of paragraphs), a
web page's parsed tree is counted before trafilatura reads it, a PDF's pages are counted as
they are extracted. A page nested deeper than the HTML parser reads is skipped as such. The
time and memory limits are applied by `read.py`, which runs this module in a worker process.
"""
from __future__ import annotations

import io
import itertools
import logging
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .boilerplate import opens_comments
from .decode import looks_binary
from .formats import KINDS, Extracted, SkipFile, kind_of


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
_SPACES = re.compile(r"[^\S\n]+")  # runs of whitespace other than line breaks
_PAGE_NUMBER = re.compile(
    r"^(?:[-–—]\s*)?(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?(?:\s*[-–—])?$", re.IGNORECASE
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Office compound file: an encrypted .docx, or a .doc


@dataclass(frozen=True)
class Limits:
    """How much work one document may take: the settings max_document_chars,
    max_document_paragraphs, extract_seconds and extract_memory_mb (the last two are applied
    by the worker process in read.py)."""
    chars: int
    paragraphs: int
    seconds: float
    memory_mb: int

    @classmethod
    def of(cls, settings=None) -> "Limits":
        """The limits of `settings` (a Settings, or Limits as they are); None: the settings of
        the environment (ESSAYS_...), or the defaults where those cannot be used."""
        if isinstance(settings, Limits):
            return settings
        if settings is None:
            from core.errors import SettingsError
            from core.settings import Settings

            try:
                settings = Settings.from_env()
            except SettingsError:  # reported where the settings are read; here: the defaults
                settings = Settings()
        return cls(settings.max_document_chars, settings.max_document_paragraphs,
                   settings.extract_seconds, settings.extract_memory_mb)


def too_many_chars(limit: int, found: int | None = None) -> SkipFile:
    """The skip for a document over max_document_chars (`found`: its count, when known)."""
    count = (f"{found:,} characters of text; the limit is {limit:,}" if found is not None
             else f"more than {limit:,} characters of text, the limit")
    return SkipFile(f"too long: {count} per document (setting max_document_chars): split it into "
                    "smaller files, or raise the limit (ESSAYS_MAX_DOCUMENT_CHARS)")


def too_many_paragraphs(limit: int) -> SkipFile:
    return SkipFile(f"too long: more than {limit:,} paragraphs (lines of text), the limit per "
                    "document (setting max_document_paragraphs): split it into smaller files, or "
                    "raise the limit (ESSAYS_MAX_DOCUMENT_PARAGRAPHS)")


_TEXT_LINE = re.compile(r"^[^\S\n]*\S", re.MULTILINE)  # the start of a line that is not blank


def check_size(text: str, limits: Limits) -> None:
    """SkipFile when `text` has more characters or more paragraphs (non-blank lines: the
    structure parser reads a document line by line) than `limits` allow."""
    if len(text) > limits.chars:
        raise too_many_chars(limits.chars, len(text))
    if text.count("\n") >= limits.paragraphs:  # only then can there be too many lines: count them
        if sum(1 for _ in itertools.islice(_TEXT_LINE.finditer(text), limits.paragraphs + 1)) > limits.paragraphs:
            raise too_many_paragraphs(limits.paragraphs)


def out_of_memory(err: BaseException) -> bool:
    """An error that means memory ran out: MemoryError, or lxml's parser failing for want of
    memory (it reports that as a syntax error, which would read as a corrupt file)."""
    return isinstance(err, MemoryError) or "NO_MEMORY" in str(getattr(err, "error_log", "") or "")


def extract(path: Path, data: bytes | None = None, limits: Limits | None = None) -> Extracted:
    """The text of an HTML, PDF or DOCX file (`data`: its bytes, when already read). Raises
    SkipFile with the reason, and MemoryError when memory ran out (see read.py)."""
    limits = Limits.of(limits)
    path = Path(path)
    kind = kind_of(path)
    if kind == "text":
        raise SkipFile(f"not a document extract() reads ({', '.join(sorted(KINDS))})")
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as err:
            raise SkipFile(f"cannot be read ({err.strerror or err.__class__.__name__})") from None
    if not data.strip():
        raise SkipFile("empty: the file has no text")
    text, pages, code = {"html": _html, "pdf": _pdf, "docx": _docx}[kind](data, limits)
    if not text.strip():
        raise SkipFile("empty: no text was found in it")
    check_size(text, limits)
    return Extracted(text, kind, pages, tuple(code))


def clean(text: str) -> str:
    """One block's text: control characters and ligatures replaced, spaces collapsed,
    lines stripped, blank lines removed (a block never contains a paragraph break)."""
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n")).translate(_LIGATURES)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _join(blocks: list) -> tuple[str, list[tuple[int, int]]]:
    """Blocks as paragraphs: separated by one blank line, ending with a line break; and where
    the code blocks (`Code`, see `code_block`) stand in the text: they keep their lines,
    indentation and blank lines."""
    parts, code, at = [], [], 0
    for b in blocks:
        text = b if isinstance(b, Code) else clean(b)
        if not text.strip():
            continue
        if isinstance(b, Code):
            code.append((at, at + len(text)))
        parts.append(text + "\n\n")
        at += len(text) + 2
    return "".join(parts), code


class Code(str):
    """A block of code in the extracted text."""


_PERMALINK = re.compile(r"\s*[¶§🔗⚓]+\s*$")  # the anchor mark site generators put after headings


def heading_text(text: str) -> str:
    """A heading on one line, without the permalink mark after it ("Sorting HOW TO¶")."""
    return _PERMALINK.sub("", " ".join(clean(text).split()))


def _heading(text: str, level: int) -> str:
    text = heading_text(text)
    return f"{'#' * min(max(level, 1), 6)} {text}" if text else ""


def code_block(text: str) -> Code:
    """Code kept whole: lines, indentation and blank lines as written (control characters
    replaced, trailing spaces and blank edges trimmed)."""
    lines = [_CONTROL.sub(" ", line).rstrip()
             for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return Code("\n".join(lines))


# --- HTML --------------------------------------------------------------------------------

HTML_MAX_DEPTH = 255  # libxml2's HTML parser stops nesting at 256 levels and drops what is deeper
_PAGE_BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "dt", "dd", "pre", "blockquote"}
_INVISIBLE = {"script", "style", "noscript", "template"}


def check_page(tree, limits: Limits) -> None:
    """SkipFile for a parsed page nested deeper than the parser reads (what is deeper was
    dropped: the page would come out empty or in part), or whose text or paragraphs are over
    `limits` (the text of the whole page, scripts and styles left out, before trafilatura
    picks the main text out of it: that takes minutes on a page of millions of characters)."""
    from lxml import etree

    depth = chars = blocks = 0
    hidden = 0  # inside a script or style: its text is not text of the page
    for event, el in etree.iterwalk(tree, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if event == "start":
            depth += 1
            if depth > HTML_MAX_DEPTH:
                raise SkipFile(f"nested too deeply: its HTML elements are nested more than "
                               f"{HTML_MAX_DEPTH} levels deep, deeper than the HTML parser reads, so "
                               "its text would be lost (a generated or damaged page); save the "
                               "text of the page as .txt, or the page without that nesting")
            if tag in _INVISIBLE:
                hidden += 1
            elif not hidden and tag:
                chars += len((el.text or "").strip())  # indentation between tags is not text
                blocks += tag in _PAGE_BLOCKS
        else:
            depth -= 1
            hidden -= tag in _INVISIBLE
            if not hidden:
                chars += len((el.tail or "").strip())
        if chars > limits.chars:
            raise too_many_chars(limits.chars)
        if blocks > limits.paragraphs:
            raise too_many_paragraphs(limits.paragraphs)


def _html(data: bytes, limits: Limits) -> tuple[str, None, list[tuple[int, int]]]:
    if looks_binary(data):
        raise SkipFile("binary: it does not look like an HTML page")
    import trafilatura
    from lxml import etree
    from trafilatura.settings import use_config
    from trafilatura.utils import load_html

    config = use_config()
    # Short pages are pages too: trafilatura's defaults give up below 250 characters.
    for key in ("MIN_EXTRACTED_SIZE", "MIN_OUTPUT_SIZE", "MIN_EXTRACTED_COMM_SIZE", "MIN_OUTPUT_COMM_SIZE"):
        config["DEFAULT"][key] = "1"
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)

    def run(content):
        try:
            return trafilatura.extract(
                content, output_format="xml", config=config, include_comments=True,
                include_tables=True, include_formatting=False, include_images=False,
                include_links=False, with_metadata=True, favor_recall=True, deduplicate=False,
            )
        except Exception as err:  # noqa: BLE001 - a parser failure on a malformed page is "no text"
            if out_of_memory(err):
                raise MemoryError from None
            return None

    tree = load_html(data)  # parsed once: measured here, then read by trafilatura
    if tree is not None:
        check_page(tree, limits)
    xml = run(without_blockquotes(data, tree))
    if xml is None and b"<body" not in data.lower():  # a fragment without <html><body>
        xml = run(without_blockquotes(b"<html><body>" + data + b"</body></html>"))
    if xml is None:
        raise SkipFile("no text: no main text was found in the page (only navigation or scripts?)")
    try:
        doc = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError as err:  # pragma: no cover - trafilatura writes valid XML
        raise SkipFile(f"no text: the page could not be parsed ({err})") from None

    main = doc.find("main")
    blocks: list[str] = []
    for el in (main if main is not None else []):
        blocks.extend(_xml_blocks(el))
    title = heading_text(doc.get("title") or "")
    if blocks and title and not clean(blocks[0]).startswith("#"):
        blocks.insert(0, _heading(title, 1))
    comments = doc.find("comments")
    if comments is not None and len(comments):
        said = [b for el in comments for b in _xml_blocks(el, headings=False)]
        said = [b for b in said if not opens_comments(clean(b))]
        if said:
            blocks.append("Comments")
            blocks.extend(said)
    text, code = _join(blocks)
    return text, None, code


BLOCKS = {"p", "head", "list", "table", "code", "quote", "div"}


def without_blockquotes(data: bytes, tree=None):
    """The page parsed as trafilatura parses it (`tree`, when already parsed), with each
    <blockquote> replaced by what it holds. Sphinx and docutils indent whole passages with it;
    trafilatura reads one as a single quotation, gluing its paragraphs and flattening the code
    in it onto one line."""
    from trafilatura.utils import load_html

    if b"<blockquote" not in data.lower():
        return data if tree is None else tree
    tree = load_html(data) if tree is None else tree
    if tree is None:
        return data
    for quote in list(tree.iter("blockquote")):
        quote.drop_tag()
    return tree


def _xml_blocks(el, headings: bool = True) -> list[str]:
    """One element of trafilatura's XML as text blocks."""
    tag = el.tag
    if tag == "head":
        level = int(m.group(1)) if (m := re.match(r"h(\d)", el.get("rend") or "")) else 2
        text = _inline(el)
        return [_heading(text, level) if headings else text]
    if tag == "list":
        out = []
        for item in el:
            if item.tag != "item":
                continue
            nested = [c for c in item if c.tag == "list"]
            for c in nested:
                item.remove(c)
            line = " ".join(clean(_inline(item)).split())
            if line:
                out.append(f"- {line}")
            for c in nested:
                out.extend(_xml_blocks(c, headings))
        return ["\n".join(out)] if out else []
    if tag == "table":
        rows = []
        for row in el.iter("row"):
            cells = [" ".join(clean(_inline(c)).split()) for c in row if c.tag == "cell"]
            cells = [c for c in cells if c]
            if cells:
                rows.append("- " + " | ".join(cells))
        return ["\n".join(rows)] if rows else []  # rows as list items: never taken for headings
    if tag in ("graphic", "ref") and not (el.text or "").strip():
        return []
    if tag == "div" or (tag == "quote" and any(c.tag in BLOCKS for c in el)):
        return [b for c in el for b in _xml_blocks(c, headings)]
    if tag == "code":  # a <pre> block: kept whole as code, never cut line by line
        return [code_block(_inline(el))]
    return [_inline(el)]  # p, quote and anything else: one paragraph


def _inline(el) -> str:
    """The text of an element, with <lb/> as a line break."""
    parts = [el.text or ""]
    for child in el:
        parts.append("\n" if child.tag == "lb" else _inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


# --- PDF ---------------------------------------------------------------------------------

def _pdf(data: bytes, limits: Limits) -> tuple[str, list[int], list]:
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    if not data.lstrip()[:1024].startswith(b"%PDF") and b"%PDF-" not in data[:1024]:
        raise SkipFile("corrupt: not a PDF file (it does not start with %PDF); "
                       "if it is plain text, rename it to .txt or .md")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # many PDFs are encrypted with an empty user password
            except (DependencyError, NotImplementedError):
                opened = 0
            if not opened:
                raise SkipFile("encrypted: the PDF needs a password; save an unprotected copy")
        count = len(reader.pages)
    except SkipFile:
        raise
    except FileNotDecryptedError:
        raise SkipFile("encrypted: the PDF needs a password; save an unprotected copy") from None
    except (PdfReadError, Exception) as err:  # noqa: BLE001 - pypdf raises many kinds on damage
        if out_of_memory(err):
            raise MemoryError from None
        raise SkipFile(f"corrupt: the PDF cannot be read ({err.__class__.__name__}: {str(err)[:120]})") from None
    if count == 0:
        raise SkipFile("empty: the PDF has no pages")

    pages: list[str] = []
    chars = 0
    for number in range(count):
        try:
            raw = reader.pages[number].extract_text() or ""
        except FileNotDecryptedError:
            raise SkipFile("encrypted: the PDF needs a password; save an unprotected copy") from None
        except Exception as err:  # noqa: BLE001 - one damaged page: keep the others, as a blank page
            if out_of_memory(err):
                raise MemoryError from None
            raw = ""
        pages.append(_page_text(raw))
        chars += len(pages[-1]) + 1
        if chars > limits.chars:  # stop reading pages: the document is skipped anyway
            raise too_many_chars(limits.chars)
    if not any(p.strip() for p in pages):
        raise SkipFile(
            f"no text: none of its {count} page{'s' if count > 1 else ''} has a text layer "
            "(a scan?); run OCR on it first (e.g. ocrmypdf) and ingest the result"
        )
    text, offsets = "", []
    for page in pages:
        offsets.append(len(text))
        if page:
            text += page + "\n"
    return text, offsets, []


def _page_text(raw: str) -> str:
    """One page's text: lines cleaned, a lone page number at the top or bottom dropped.

    Lines are kept as lines (not joined): structure.py joins the hard-wrapped lines of a
    paragraph. A blank line stays a paragraph break."""
    raw = _CONTROL.sub(" ", raw.replace("\r\n", "\n").replace("\r", "\n")).translate(_LIGATURES)
    lines = [_SPACES.sub(" ", line).strip() for line in raw.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    for at in (0, -1):
        if lines and _PAGE_NUMBER.match(lines[at]):
            lines.pop(at)
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):  # at most one blank line in a row
            out.append(line)
    return "\n".join(out).strip("\n")


# --- DOCX --------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MAIN_PART = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"


def _docx_main_part(package: zipfile.ZipFile) -> str:
    """The name of a Word package's main part (its relationships say; word/document.xml
    by convention)."""
    from lxml import etree

    try:
        rels = etree.fromstring(package.read("_rels/.rels"), etree.XMLParser(resolve_entities=False))
        for rel in rels:
            if rel.get("Type") == _MAIN_PART and rel.get("Target"):
                return rel.get("Target").lstrip("/")
    except (KeyError, etree.XMLSyntaxError, zipfile.BadZipFile, OSError):
        pass
    return "word/document.xml"


def check_docx(data: bytes, limits: Limits) -> None:
    """SkipFile when a Word file's text has more characters or paragraphs than `limits`
    allow, found by streaming its main part and stopping at the first limit passed: a file of
    a megabyte can hold millions of tiny paragraphs, which python-docx would build in memory
    (gigabytes) before a single one could be counted. Paragraphs are counted as extraction
    makes them: a body paragraph with text is one, a table row with text is one. A package
    that cannot be read is left for python-docx to report."""
    from lxml import etree

    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        part = package.open(_docx_main_part(package))
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError):
        return
    chars = paragraphs = tables = 0
    text_in_block = False
    tags = (_W + "p", _W + "t", _W + "tbl", _W + "tr")
    try:
        with part:
            for event, el in etree.iterparse(part, events=("start", "end"), tag=tags,
                                             resolve_entities=False, no_network=True, huge_tree=True):
                tag = el.tag[len(_W):]
                if event == "start":
                    tables += tag == "tbl"
                    continue
                if tag == "t":
                    chars += len(el.text or "")
                    text_in_block = text_in_block or bool(el.text)
                    if chars > limits.chars:
                        raise too_many_chars(limits.chars)
                    continue
                if tag == "tbl":
                    tables -= 1
                elif (tag == "p" and not tables) or tag == "tr":
                    paragraphs += text_in_block
                    text_in_block = False
                    if paragraphs > limits.paragraphs:
                        raise too_many_paragraphs(limits.paragraphs)
                el.clear()  # counted: free it, and what came before it in its parent
                parent = el.getparent()
                while parent is not None and el.getprevious() is not None:
                    del parent[0]
    except SkipFile:
        raise
    except Exception as err:  # noqa: BLE001 - damaged: python-docx says so in its own words
        if out_of_memory(err):
            raise MemoryError from None


def _docx(data: bytes, limits: Limits) -> tuple[str, None, list]:
    if data.startswith(_OLE2):
        raise SkipFile("encrypted or not a .docx: it is an Office compound file (a password-"
                       "protected document, or an old .doc renamed); save it as an unprotected .docx")
    if not data.startswith(b"PK"):
        raise SkipFile("corrupt: not a .docx file (not a ZIP package)")
    check_docx(data, limits)
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(data))
        body = document.element.body
        blocks: list[str] = []
        for child in body.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                blocks.append(_docx_paragraph(Paragraph(child, document)))
            elif tag == "tbl":
                blocks.extend(_docx_table(Table(child, document)))
        title = " ".join((document.core_properties.title or "").split())
    except SkipFile:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, Exception) as err:  # noqa: BLE001
        if out_of_memory(err):
            raise MemoryError from None
        raise SkipFile(f"corrupt: the Word file cannot be read ({err.__class__.__name__}: {str(err)[:120]})") from None
    blocks = [b for b in blocks if clean(b)]
    if blocks and title and not clean(blocks[0]).startswith("#"):
        blocks.insert(0, _heading(title, 1))
    return _join(blocks)[0], None, []


def _docx_paragraph(p) -> str:
    text = p.text or ""
    try:
        style = (p.style.name or "") if p.style is not None else ""
    except Exception:  # noqa: BLE001 - a broken style reference: treat as body text
        style = ""
    if m := re.fullmatch(r"Heading (\d)", style):
        return _heading(text, int(m.group(1)))
    if style == "Title":
        return _heading(text, 1)
    numbered = p._p.pPr is not None and p._p.pPr.numPr is not None
    if style.startswith("List") or numbered:
        line = " ".join(clean(text).split())
        return f"- {line}" if line else ""
    return text


def _docx_table(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(clean(cell.text).split())
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        if cells:
            rows.append("- " + " | ".join(cells))
    return ["\n".join(rows)] if rows else []  # rows as list items: never taken for headings

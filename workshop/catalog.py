"""What is known about each document: title, author, site, URL, date.

Two optional sources, the first that names a field wins:
1. a sidecar catalogue `catalog.toml` in the corpus folder, one table per file (its path
   relative to the corpus folder), e.g.

       ["my-essay.txt"]
       title = "On Trust"
       author = "A. Writer"          # or a list of names
       site = "The Essay Site"       # "publisher" is read too
       url = "https://example.org/on-trust"
       date = 2024-03-05             # a TOML date or a string: "2024", "2024-03", "5 March 2024"

2. front matter at the top of a document (`---`, `key: value` lines, `---`), read with the
   same rule ingest uses to skip it; for a web page, what it states about itself (`<meta>`
   tags, Sphinx's "Author" field list, the site named in its `<title>`:
   `core.documents.metadata`).

Fields nobody states stay empty: no author is invented ("Unknown author" is only a label),
no URL, no date; the title falls back to the one ingest found (heading line or file name).
"""
from __future__ import annotations

import datetime as _dt
import tomllib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from core.documents import is_plain, kind_of
from core.documents.metadata import HEAD_BYTES, web_page_info
from core.errors import EssaysError

from .verify import Verifier, source_path

CATALOG_FILE = "catalog.toml"
UNKNOWN_AUTHOR = "Unknown author"
FIELDS = ("title", "author", "site", "url", "date")
_ALIASES = {"publisher": "site", "website": "site", "link": "url", "source_url": "url",
            "authors": "author", "published": "date"}


@dataclass(frozen=True)
class DocumentInfo:
    source: str
    title: str = ""
    author: str = ""  # "" = not known
    site: str = ""  # publisher or website
    url: str = ""
    date: str = ""  # as given: "2024-03-05", "2024", "March 2024"...

    @property
    def author_label(self) -> str:
        return self.author or UNKNOWN_AUTHOR

    def merged(self, other: "DocumentInfo") -> "DocumentInfo":
        """These fields, with the gaps filled from `other`."""
        return replace(self, **{f: getattr(self, f) or getattr(other, f) for f in FIELDS})


class CatalogError(EssaysError, ValueError):
    """catalog.toml exists but cannot be read; the message says where."""


def load_catalog(corpus_root: Path) -> dict[str, DocumentInfo]:
    """source -> DocumentInfo from `catalog.toml` in the corpus folder ({} when there is none).
    Raises CatalogError for a file that is not valid TOML."""
    stamp = version(Path(corpus_root) / CATALOG_FILE)
    return dict(_load(*stamp)) if stamp else {}


def version(path: Path) -> tuple[str, int, int] | None:
    """(path, modification time, size): what the readers cached per version of a file are
    keyed by; None when the file cannot be found."""
    try:
        st = path.stat()
    except OSError:
        return None
    return str(path), st.st_mtime_ns, st.st_size


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, size: int) -> tuple[tuple[str, DocumentInfo], ...]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise CatalogError(f"The document catalogue {path} cannot be read: {err}") from err
    return tuple(
        (source, _info(source, entry)) for source, entry in data.items() if isinstance(entry, dict)
    )


def _info(source: str, entry: dict) -> DocumentInfo:
    values: dict[str, str] = {}
    for key, value in entry.items():
        field = _ALIASES.get(key.strip().lower(), key.strip().lower())
        if field in FIELDS and field not in values:
            text = text_value(value)
            if text:
                values[field] = text
    return DocumentInfo(source=source, **values)


def text_value(value) -> str:
    if isinstance(value, (list, tuple)):
        names = [n for n in map(text_value, value) if n]
        if len(names) < 2:
            return "".join(names)
        return ", ".join(names[:-1]) + " & " + names[-1]
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()[:10]
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return " ".join(str(value).split())
    return ""


def front_matter(text: str) -> dict[str, str]:
    """`key: value` pairs of a `---` block at the very top (lower-case keys, quotes stripped)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    out: dict[str, str] = {}
    for line in lines[1:40]:  # the same window ingest skips as front matter
        if line.strip() == "---":
            return out
        key, sep, value = line.partition(":")
        value = value.strip()
        if sep and key.strip() and not line[:1].isspace() and value:
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            out.setdefault(key.strip().lower(), value)
    return {}  # no closing line: not front matter


def page_info(path: Path) -> dict:
    """What a web page states about itself ({} when it cannot be read), read once per version
    of the file."""
    stamp = version(path)
    return dict(_page_info(*stamp)) if stamp else {}


@lru_cache(maxsize=256)
def _page_info(path: str, mtime_ns: int, size: int) -> tuple[tuple[str, object], ...]:
    try:
        with open(path, "rb") as handle:
            data = handle.read(HEAD_BYTES)
    except OSError:
        return ()
    return tuple(web_page_info(data).items())


def document_info(corpus_root: Path, source: str, fallback_title: str = "",
                  verifier: Verifier | None = None) -> DocumentInfo:
    """Everything known about one document: catalogue, then front matter (of a .txt or .md
    file, read through `verifier` when given, so it is read once) or what a web page states,
    then fallbacks."""
    try:
        info = load_catalog(corpus_root).get(source) or DocumentInfo(source)
    except CatalogError:
        info = DocumentInfo(source)
    path = source_path(corpus_root, source)
    if path is not None and is_plain(source):
        text, problem = (verifier or Verifier(corpus_root)).file_text(path)
        if not problem:
            info = info.merged(_info(source, front_matter(text)))
    elif path is not None and kind_of(source) == "html":
        info = info.merged(_info(source, page_info(path)))
    title = " ".join(fallback_title.split()) or Path(source).stem.replace("-", " ").replace("_", " ")
    return info.merged(DocumentInfo(source, title=title))

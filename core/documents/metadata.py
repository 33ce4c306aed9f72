"""What a web page says about itself, for its citation: author, site, URL and date.

Read from what the page states, never guessed:
- `<meta>` tags: author (`author`, `article:author`, `dc.creator`), site (`og:site_name`,
  `application-name`, `dc.publisher`), URL (`og:url`, else `<link rel="canonical">`) and date
  (`article:published_time`, `dc.date`, `date`), in that order of preference;
- the "Author" entries of a field list at the top of the text, as Sphinx writes them
  (`<dl class="field-list"><dt>Author:</dt><dd>A.M. Kuchling <amk@…></dd>`), without e-mail;
- the site from the page's `<title>` when it names the page's heading and then the site
  ("Sorting HOW TO — Python 3.11.2 documentation", "My post | My blog").

Only the first `HEAD_BYTES` of the file are read: that is where these stand, and a citation
must not parse a page of many megabytes.
"""
from __future__ import annotations

import re

HEAD_BYTES = 512 * 1024
META = {
    "author": ("author", "article:author", "dc.creator", "dcterms.creator"),
    "site": ("og:site_name", "application-name", "dc.publisher", "dcterms.publisher"),
    "url": ("og:url",),
    "date": ("article:published_time", "dc.date", "dcterms.date", "date"),
}
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}(T|\s|$)")  # "2023-04-05T08:00:00+00:00": the day is cited
TITLE_SEPARATORS = (" — ", " – ", " | ", " - ", " :: ")
EMAIL = re.compile(r"\s*(<[^>]*@[^>]*>|\([^)]*@[^)]*\)|\S+@\S+|<[^>]* at [^>]* dot [^>]*>)")


def web_page_info(data: bytes) -> dict[str, str | tuple[str, ...]]:
    """The author, site, URL and date a page states (only those it states), from its bytes; the
    authors of a field list as a tuple of names."""
    import lxml.html

    head = data[:HEAD_BYTES]
    if not head.strip():
        return {}
    try:
        tree = lxml.html.fromstring(head)
    except (ValueError, lxml.etree.LxmlError):  # not a page lxml can read: nothing stated
        return {}
    found: dict[str, str | tuple[str, ...]] = {}
    named: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("name") or meta.get("property") or "").strip().lower()
        value = " ".join((meta.get("content") or "").split())
        if key and value:
            named.setdefault(key, value)
    for field, keys in META.items():
        value = next((named[k] for k in keys if k in named and (field == "url" or not is_link(named[k]))), "")
        if value:
            found[field] = value[:10] if field == "date" and ISO_DAY.match(value) else value
    if "url" not in found:
        canonical = next((link.get("href") for link in tree.iter("link")
                          if "canonical" in (link.get("rel") or "").lower().split() and link.get("href")), "")
        if canonical.startswith(("http://", "https://")):
            found["url"] = canonical.strip()
    if "author" not in found:
        authors = field_list_authors(tree)
        if authors:
            found["author"] = tuple(authors)
    if "site" not in found:
        site = site_from_title(tree)
        if site:
            found["site"] = site
    return found


def is_link(value: str) -> bool:
    """An address where a name was expected (news sites put a profile page in article:author)."""
    return value.startswith(("http://", "https://", "www."))


def field_list_authors(tree) -> list[str]:
    """The names under "Author" in the field lists of a page (Sphinx's docinfo), e-mail left out."""
    names = []
    for dl in tree.iter("dl"):
        if "field-list" not in (dl.get("class") or ""):
            continue
        for dt in dl.iter("dt"):
            label = " ".join(dt.text_content().split()).rstrip(":").strip().lower()
            dd = dt.getnext()
            if label in ("author", "authors") and dd is not None and dd.tag == "dd":
                name = " ".join(EMAIL.sub("", dd.text_content()).split()).strip(" ,;")
                if name:
                    names.append(name)
    return names


def site_from_title(tree) -> str:
    """The site a `<title>` names after the page's own heading, else ""."""
    title = tree.find(".//title")
    heading = tree.find(".//h1")
    if title is None or heading is None:
        return ""
    text = " ".join(title.text_content().split())
    own = " ".join(heading.text_content().replace("¶", "").split())
    for separator in TITLE_SEPARATORS:
        first, sep, rest = text.partition(separator)
        if sep and own and first.strip().lower() == own.lower() and rest.strip():
            return rest.strip()
    return ""

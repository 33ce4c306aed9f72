"""The address: a `View` (question, number of results, citation style, documents searched,
opened passage, basket) read from the query string and written back to it, so that a link
reproduces the page: ?q=QUESTION&k=N&style=apa&src=FILE&src=FILE&p=PASSAGE_ID&b=BASKET (and
exact=1 when the question is searched as typed, without typo repair). Passage ids are hashes of
the passage's content, so a link keeps working after the index is rebuilt as long as the
passage's text is unchanged; a basket id is the saved basket's (workshop.saved)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

from workshop import cite

from .render import parse_k

MAX_ID_CHARS = 128  # a passage id in the address longer than this is not one of ours
BASKET_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")  # the shape of a saved basket's id


@dataclass(frozen=True)
class View:
    """What the page shows, as far as an address can say it."""
    q: str = ""
    k: int = 5
    style: str = cite.DEFAULT_STYLE
    sources: tuple[str, ...] = ()  # documents searched; () = all
    p: str = ""  # the passage open in the reader; "" = none
    b: str = ""  # the saved basket; "" = none yet
    exact: bool = False  # search the question as typed (no typo repair)


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
    return style if style in cite.STYLES else cite.DEFAULT_STYLE


def view_from_params(params: Mapping, default_k: int, known_sources: Iterable[str]) -> View:
    """The view an address asks for. `params`: key -> value or list of values (repeated keys).
    Unreadable values fall back to defaults; documents not in the index are left out."""
    known = set(known_sources)
    sources: list[str] = []
    for source in _values(params, "src"):
        if source in known and source not in sources:
            sources.append(source)
    p = _last(params, "p").strip()
    b = _last(params, "b").strip()
    return View(
        q=_last(params, "q"),
        k=parse_k(_last(params, "k") or None, default_k),
        style=parse_style(_last(params, "style")),
        sources=tuple(sources),
        p=p if len(p) <= MAX_ID_CHARS else "",
        b=b if BASKET_ID.fullmatch(b) else "",
        exact=_last(params, "exact") == "1",
    )


def view_to_params(view: View) -> dict[str, str | list[str]]:
    """The query string of a view: only what differs from a fresh page."""
    out: dict[str, str | list[str]] = {}
    if view.q.strip():
        out["q"] = view.q.strip()
        out["k"] = str(view.k)
    if view.style != cite.DEFAULT_STYLE:
        out["style"] = view.style
    if view.sources:
        out["src"] = list(view.sources)
    if view.p:
        out["p"] = view.p
    if view.b:
        out["b"] = view.b
    if view.exact and view.q.strip():
        out["exact"] = "1"
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


def basket_link(base_url: str, basket_id: str) -> str:
    """The address that opens a saved basket (read-only when `basket_id` is its share id)."""
    parts = urlsplit(base_url)
    page = urlunsplit(parts._replace(path=parts.path or "/", query="", fragment=""))
    return f"{page}?{urlencode({'b': basket_id})}"

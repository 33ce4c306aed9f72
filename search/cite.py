"""Citation lines and copy-ready citations for a passage."""
from __future__ import annotations

from ingest.passages import Passage


def paragraphs_label(p: Passage) -> str:
    if p.paragraph_end != p.paragraph:
        return f"paragraphs {p.paragraph}–{p.paragraph_end}"
    return f"paragraph {p.paragraph}"


def where(p: Passage) -> str:
    """Title — section (and FAQ question), paragraph N, file: the citation line of a card."""
    head = " — ".join(x for x in (p.title, p.section, p.question) if x)
    kind = " (reader comment)" if p.kind == "comment" else ""
    return f"{head}{kind}, {paragraphs_label(p)}, {p.source}"


def citation(p: Passage, quote: str | None = None) -> str:
    """A plain-text citation to paste into a handout: the quote, then where it comes from."""
    q = " ".join((quote or p.text).split())
    return f"“{q}” — {where(p)}"

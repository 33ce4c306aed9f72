"""A small document read by the real ingest: one passage over five paragraphs (parted by a
blank line, by a single newline after a sentence, and as list items), with quotation marks,
an ampersand and a list inside."""
from __future__ import annotations

import pytest

from ingest.steps import read_passages

WALLS = (
    "Walls & closeness\n\n"
    "We build walls slowly. Nobody notices at first.\n\n"
    'Then one day a friend says "come back" and we cannot.\n'
    "She asked, “Do you love me?” He said nothing.\n\n"
    "- Listening helps.\n"
    "- Patience helps too.\n"
)


@pytest.fixture
def walls(tmp_path, settings):
    """(corpus folder, the one passage of walls.txt: paragraphs 1–5)."""
    corpus = tmp_path / "walls"
    corpus.mkdir()
    (corpus / "walls.txt").write_text(WALLS, encoding="utf-8")
    passages = read_passages(corpus / "walls.txt", "walls.txt", settings)[0]
    assert len(passages) == 1 and (passages[0].paragraph, passages[0].paragraph_end) == (1, 5)
    return corpus, passages[0]


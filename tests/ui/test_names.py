"""A document's file name is shown as text on the page, whatever it holds: a name with blank
lines and Markdown (a link, an image, a Streamlit colour, backticks) renders as none of them
in the "Which essays?" list, and stays on one line."""
from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from ingest import build_index
from workshop.cite import md_unescape
from helpers import ROOT, TINY, quiet, write_files

NAME = "notes\n\n[click me](http:x) ![p](x.png) :red[text] `code` www.evil.example a@b.example.txt"
ESSAY = ("The trouble with names\n\nTrust grows slowly between two people who listen to each other "
         "and keep the small promises they make, day after day, without being asked twice.\n")
UNESCAPED = re.compile(r"(?<!\\)(?:!\[|\]\(|\[|:red\[|`)")


@pytest.fixture(scope="module")
def named_index(tmp_path_factory, settings):
    base = tmp_path_factory.mktemp("names")
    corpus = write_files(base / "corpus", TINY)
    (corpus / NAME).write_text(ESSAY, encoding="utf-8")
    # no heading-like first line: the file name is the title too
    (corpus / "untitled [x](y) `z`\n\n:blue[w].md").write_text(ESSAY.split("\n\n", 1)[1], encoding="utf-8")
    build_index([corpus], base / "index", settings, **quiet())
    return base / "index"


def test_file_names_show_as_plain_text_on_one_line(named_index, monkeypatch):
    monkeypatch.setenv("ESSAYS_INDEX_DIR", str(named_index))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    texts = [str(m.value) for m in at.markdown]
    listed = [t for t in texts if t.startswith("- ")]
    assert len(listed) == len(TINY) + 2
    for text in texts:
        assert not UNESCAPED.search(text), text
    for text in listed:
        assert "\n" not in text and "\r" not in text, text
    names = [md_unescape(t) for t in listed]
    assert any(n.endswith(" · notes␤␤[click me](http:x) ![p](x.png) :red[text] `code` www.evil.example "
                          "a@b.example.txt") for n in names), names
    assert not any(re.search(r"(?<!\\)(www\.|@|://)", t) for t in listed)  # no autolinks either

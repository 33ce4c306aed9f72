"""Web pages and Markdown as their authors structured them: headings from the markup without
permalink marks, code kept whole as code, comment sections only where a page has one. Made-up
pages in the manner of four site generators (Sphinx, WordPress, a Markdown blog, a news site)."""
from __future__ import annotations

import re

import pytest

from core.settings import Settings
from ingest.steps import read_passages

SPHINX = """<!DOCTYPE html><html><head><title>Fetching Pages HOWTO &#8212; Docs</title></head><body>
<div class="related"><ul><li><a href="index.html">Docs</a> &raquo;</li></ul></div>
<div class="body" role="main"><section id="fetching">
<h1>Fetching Pages HOWTO<a class="headerlink" href="#fetching" title="Permalink">¶</a></h1>
<p>This page explains how a program can fetch a web page and read the answer the server sends.</p>
<section id="basics"><h2>The Basics<a class="headerlink" href="#basics">¶</a></h2>
<p>Open the address and keep the object the call returns, the response:</p>
<div class="highlight"><pre>&gt;&gt;&gt; import client
&gt;&gt;&gt; response = client.open('http://example.org/')

&gt;&gt;&gt; response.status
200
False
</pre></div>
<p>The status tells whether the server found the page; a value of 200 means it did.</p>
</section>
<section id="errors"><h2>Handling Errors<a class="headerlink" href="#errors">¶</a></h2>
<p>When the server cannot answer, the call raises an error that carries the status code and a
short reason, so that the program can decide whether to try again later.</p>
<pre>try:
    client.open(address)
except client.HTTPError as err:
    print(err.code)
</pre>
<h3>HTTPError<a class="headerlink" href="#httperror">¶</a></h3>
<p>Every HTTPError is also a response, so its body can be read like a page.</p>
</section></section></div>
<div class="footer">&copy; Copyright 2024.</div></body></html>"""

WORDPRESS = """<html><head><title>Small Rituals of Trust | A Blog</title></head><body>
<header class="site-header"><a href="/">A Blog</a><nav><a href="/about">About</a></nav></header>
<article class="post"><h1 class="entry-title">Small Rituals of Trust</h1>
<p>Trust between two people is built from small rituals: a call when one is late, a promise kept
on an ordinary Tuesday, a secret that stays a secret.</p>
<h2>Why rituals matter</h2>
<p>A ritual repeats, and repetition is what lets a person predict the other; prediction is the
ground on which trust can grow over the years of a friendship.</p>
</article>
<div id="comments" class="comments-area"><h2 class="comments-title">2 thoughts on “Small Rituals of Trust”</h2>
<ol class="comment-list">
<li class="comment"><article class="comment-body"><div class="comment-content"><p>My partner and I
text each other at noon every day. It sounds silly but it keeps us close.</p></div></article></li>
<li class="comment"><article class="comment-body"><div class="comment-content"><p>Rituals helped me
trust again after a hard year, thank you for writing this.</p></div></article></li>
</ol></div>
<footer><p>Proudly powered by a blog engine.</p></footer></body></html>"""

NEWS = """<html><head><title>City Opens New Library - The Daily</title></head><body>
<nav><a href="/">Home</a> <a href="/city">City</a></nav>
<main><article><h1>City Opens New Library</h1>
<p class="byline">By A. Reporter</p>
<p>The city opened its new central library on Monday, with reading rooms on five floors and a
garden on the roof that is open to everyone until late in the evening.</p>
<p>Update</p>
<p>Visitors queued for an hour before the doors opened, and the first thousand received a free
library card with the new city crest printed on it.</p>
</article></main>
<aside><h3>Related</h3><ul><li><a href="/x">Mayor visits school</a></li></ul></aside></body></html>"""

MARKDOWN = """---
title: Notes on Sorting
---
# Notes on Sorting

Sorting a list puts its items in order; Python offers two ways, and this note shows both of
them with a short example each.

## The sorted function

A new list comes back, and the old one is left as it was:

```python
>>> sorted([3, 1, 2])
[1, 2, 3]

>>> sorted("bca")
['a', 'b', 'c']
```

## Sorting in place

The method changes the list itself and returns nothing:

    >>> a = [3, 1, 2]
    >>> a.sort()
    >>> a
    [1, 2, 3]

- A list item whose text goes on
    on an indented line is still a list item, not code.
"""


def passages(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return read_passages(path, name, Settings())[0]


def test_sphinx_headings_lose_their_permalink_marks_and_code_stays_whole(tmp_path):
    found = passages(tmp_path, "fetching.html", SPHINX)
    assert {p.title for p in found} == {"Fetching Pages HOWTO"}
    assert not [p for p in found if re.search(r"[¶§]\s*$", p.section)]
    assert {p.section for p in found} >= {"The Basics", "Handling Errors", "HTTPError"}
    # code kept whole: the example joins the sentence that introduces it ("…, the response:"),
    # the other stands alone as a passage of kind "code"
    intro = next(p for p in found if p.text.startswith("Open the address"))
    assert intro.kind == "body" and intro.text.endswith(">>> response.status\n200\nFalse")
    assert "\n\n>>> response.status" in intro.text  # the blank line inside the code is kept
    assert intro.sentences[-1] == (intro.text.index(">>> import") + intro.start, intro.end)
    code = [p for p in found if p.kind == "code"]
    assert len(code) == 1 and code[0].text.startswith("try:") and code[0].section == "Handling Errors"
    assert "    client.open(address)" in code[0].text  # the indentation too
    # no code line became a heading or a passage of its own, and "response:" opened nothing
    assert not [p for p in found if p.section in ("False", "200") or p.section.startswith(">>>")]
    assert not [p for p in found if p.kind == "comment"]
    assert any(p.text.startswith("Every HTTPError is also a response") and p.section == "HTTPError"
               for p in found)
    assert not [p for p in found if p.text.lstrip().startswith("#")]  # no bare heading


SPHINX_INDENTED = """<!DOCTYPE html><html><head><title>Annotations HOWTO</title></head><body>
<div class="body" role="main"><section id="older"><h1>Older Versions<a class="headerlink" href="#older">¶</a></h1>
<blockquote><div><p>In older versions, reading the annotations of a class is complicated by a
design flaw that has to do with inheritance between classes.</p>
<p>Best practice for functions and modules is the same as for newer versions, as the table of
contents of the guide explains in more detail.</p>
<p>Unfortunately it is not best practice for classes, as this example shows:</p>
<div class="highlight"><pre>class Base:
    a: int = 3

print(Derived.__annotations__)
</pre></div>
<p>This prints the annotations of the base class, which surprises most readers.</p>
</div></blockquote></section></div></body></html>"""


def test_an_indented_sphinx_block_keeps_its_paragraphs_and_its_code(tmp_path):
    # Sphinx indents whole passages with <blockquote>: each paragraph stays a paragraph and the
    # code in it keeps its lines (read as one quotation, they were glued onto one line)
    found = passages(tmp_path, "annotations.html", SPHINX_INDENTED)
    text = "\n\n".join(p.text for p in found)
    assert "inheritance between classes.\n\nBest practice" in text
    assert "this example shows:\n\nclass Base:\n    a: int = 3\n\nprint(Derived.__annotations__)" in text
    assert "\n\nThis prints the annotations" in text


def test_wordpress_comments_are_marked_and_the_post_is_not(tmp_path):
    found = passages(tmp_path, "rituals.html", WORDPRESS)
    body = [p for p in found if p.kind == "body"]
    comments = [p for p in found if p.kind == "comment"]
    assert any("small rituals" in p.text for p in body) and any("repetition" in p.text for p in body)
    assert len(comments) == 2 and all(p.section == "Comments" for p in comments)
    assert any("text each other at noon" in p.text for p in comments)
    assert not any("powered by" in p.text for p in found)


def test_news_page_short_lines_are_body_text_not_headings(tmp_path):
    found = passages(tmp_path, "library.html", NEWS)
    assert {p.title for p in found} == {"City Opens New Library"}
    assert all(p.section == "" for p in found)  # "Update" and the byline are no headings
    assert any("garden on the roof" in p.text for p in found)
    assert not any("Mayor visits school" in p.text for p in found)


def test_markdown_fenced_and_indented_code_blocks(tmp_path):
    found = passages(tmp_path, "sorting.md", MARKDOWN)
    sorted_, in_place = (next(p for p in found if p.section == s and ">>>" in p.text)
                         for s in ("The sorted function", "Sorting in place"))
    # each example joins the sentence that introduces it (ending in a colon)
    assert sorted_.text.startswith("A new list comes back") and '\n\n>>> sorted("bca")' in sorted_.text
    assert in_place.text.startswith("The method changes") and in_place.text.endswith("[1, 2, 3]")
    assert in_place.sentences[-1][0] == in_place.start + in_place.text.index(">>> a = [3, 1, 2]")
    assert not [p for p in found if p.section.startswith(">>>") or p.section == "[1, 2, 3]"]
    item = [p for p in found if "A list item" in p.text]
    assert item and item[0].kind == "body" and "still a list item" in item[0].text


@pytest.mark.parametrize("fence", ["```", "~~~~"])
def test_a_fence_closes_only_with_a_bare_fence_of_its_kind_or_at_the_end(tmp_path, fence):
    text = (f"# T\n\nIntro line that is long enough to stand as a paragraph of its own here.\n\n"
            f"{fence}\na = 1\n```x\n~~~\nb = 2\n")
    code = [p for p in passages(tmp_path, "open.md", text) if p.kind == "code"]  # no colon: alone
    if fence == "```":  # "```x" has an info string: no closing fence; "~~~" is another kind
        assert [p.text for p in code] == ["a = 1\n```x\n~~~\nb = 2"]
    else:  # "~~~" is shorter than the opening "~~~~"
        assert [p.text for p in code] == ["a = 1\n```x\n~~~\nb = 2"]


def test_a_huge_code_block_is_cut_into_runs_of_whole_lines(tmp_path):
    lines = [f"value_{n} = compute({n})  # step {n}" for n in range(400)]
    page = (f"<html><body><h1>Long Listing</h1><p>A listing follows.</p>"
            f"<div class=\"highlight\"><pre>{chr(10).join(lines)}</pre></div><p>That was all of it.</p></body></html>")
    code = [p for p in passages(tmp_path, "listing.html", page) if p.kind == "code"]
    limit = 2 * Settings().max_chars
    assert len(code) > 1 and all(len(p.text) <= limit for p in code)
    assert "\n".join(p.text for p in code) == "\n".join(lines)  # whole lines, none lost or cut

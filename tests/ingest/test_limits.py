"""Bounded work per document (core/documents/read.py and extract.py, ingest/passages.py):
hostile files made here (a small Word file of millions of paragraphs, a 19.9 MB one-line
text, a 19 MB web page, a page nested a thousand levels deep) stop at a limit in seconds, with
bounded memory and a message that names the limit and the setting, while the other documents
of the folder are indexed; web pages, PDFs and Word files are extracted in a worker process
held to a time and a memory limit; no passage is longer than max_chars."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from core.documents import SkipFile, read_document
from core.documents import extract as extractor
from core.documents import read as reader
from core.errors import SettingsError
from core.settings import Settings, describe
from helpers import CHILD_ENV_PATH, HTML_PAGE, ROOT, make_docx
from ingest import passages as passages_module
from ingest.passages import cut_long, make_passages
from ingest.structure import parse

HOWTO = ROOT.parent / "shared" / "corpora" / "python-howto"
MB = 1_000_000

GOOD = {
    "trust.txt": "A Small Essay On Trust\n\nTrust grows slowly between two people who listen to "
                 "each other. It needs time, patience and many small promises kept.\n",
    "lighthouse.html": HTML_PAGE,
}


# --- hostile documents ------------------------------------------------------------------------

def hostile_docx(paragraphs: int) -> bytes:
    """A small Word file that expands to `paragraphs` one-letter paragraphs: python-docx's own
    package with the body of its main part replaced, written as a stream (a .docx is a ZIP;
    4 million paragraphs make a file of about 0.4 MB in a fraction of a second)."""
    import docx

    made = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("x")
    document.save(made)
    source = zipfile.ZipFile(io.BytesIO(made.getvalue()))
    xml = source.read("word/document.xml").decode("utf-8")
    head, rest = xml.split("<w:body>", 1)
    tail = "<w:sectPr" + rest.split("<w:sectPr", 1)[1]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                package.writestr(item, source.read(item.filename))
        with package.open("word/document.xml", "w") as part:
            part.write((head + "<w:body>").encode("utf-8"))
            block = "<w:p><w:r><w:t>a</w:t></w:r></w:p>".encode("utf-8") * 10_000
            for _ in range(paragraphs // 10_000):
                part.write(block)
            part.write(b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * (paragraphs % 10_000))
            part.write(tail.encode("utf-8"))
    return out.getvalue()


def one_line_text(size: int = 19_900_000) -> bytes:
    """Sentences on a single line, `size` bytes (the tester's file: 36,834 passages and about
    440,000 sentences)."""
    sentence = b"The tide came in over the rocks while the keeper wrote his log. "
    return (sentence * (size // len(sentence) + 1))[:size]


def page_of_paragraphs(paragraphs: int = 200_000) -> bytes:
    """A web page of `paragraphs` short paragraphs (200,000: about 19 MB)."""
    rows = (f"<p>Paragraph {n:06d} of a very long page says one more short thing about the "
            f"weather at sea.</p>\n" for n in range(paragraphs))
    return ("<html><head><title>A long page</title></head><body>" + "".join(rows)
            + "</body></html>").encode("utf-8")


def deep_page(levels: int) -> bytes:
    return ("<html><body>" + "<div>" * levels + "<p>The one paragraph of this page is its main "
            "text, and it says something about lighthouses and their keepers.</p>"
            + "</div>" * levels + "</body></html>").encode("utf-8")


def corpus(tmp_path: Path, hostile: dict[str, bytes]) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir(parents=True)
    for name, data in {**GOOD, **hostile}.items():
        (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    (folder / "notes.docx").write_bytes(make_docx([("h1", "Harbour notes"), ("p", "The harbour "
                                                   "master keeps a list of every boat that comes in.")]))
    return folder


MEASURE = r"""
import json, sys, time
from pathlib import Path
from helpers import HashEmbedder
from core.documents import read
from core.settings import Settings
from ingest import build_index



class Bounded(HashEmbedder):  # stops an ingest that was not bounded before it takes gigabytes
    texts = 0

    def encode(self, texts, **kw):
        Bounded.texts += len(texts)
        if Bounded.texts > 20_000:
            raise SystemExit("more than 20,000 passages and sentences embedded: not bounded")
        return super().encode(texts, **kw)


started = time.perf_counter()
report = build_index([Path(sys.argv[1])], Path(sys.argv[2]), Settings.from_env(),
                     on_event=lambda e: None, progress=False, embedder=Bounded())
seconds = time.perf_counter() - started
read.close_workers()
print(json.dumps({"seconds": round(seconds, 2), "documents": report.documents,
                  "passages": report.passages,
                  # VmHWM, not ru_maxrss: that counts the parent's memory the process was forked from
                  "ingest_mb": round(read.status_kb("VmHWM") / 1024),
                  "worker_mb": round(read.WORKERS.stats["peak_mb"]),
                  "skipped": {s.source: s.reason for s in report.skipped}}))
"""


def ingest_measured(folder: Path, tmp_path: Path, **settings) -> dict:
    """Ingest `folder` in a fresh process (stand-in embedder), with these ESSAYS_ settings and
    no others: its seconds, the peak memory of the ingest process and of its extraction
    worker, the documents indexed and those skipped (source: reason)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESSAYS_")}
    env.update({f"ESSAYS_{k.upper()}": str(v) for k, v in settings.items()}, PYTHONPATH=CHILD_ENV_PATH)
    done = subprocess.run([sys.executable, "-c", MEASURE, str(folder), str(tmp_path / "index")],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\n{', '.join(got['skipped'])}: {got['seconds']} s, ingest process peak "
          f"{got['ingest_mb']} MB, extraction worker peak {got['worker_mb']} MB; "
          f"{got['documents']} documents indexed; skipped: {got['skipped']}")
    return got


def assert_bounded(got: dict) -> None:
    assert got["seconds"] < 60
    assert got["ingest_mb"] < 1024 and got["worker_mb"] < 1024
    assert got["documents"] == 3  # trust.txt, lighthouse.html, notes.docx


# --- the tester's files, in a folder with good ones --------------------------------------------

def test_a_small_word_file_of_millions_of_paragraphs_stops_at_the_paragraph_limit(tmp_path):
    data = hostile_docx(4_000_000)
    assert len(data) < 1_000_000  # 0.4 MB that python-docx would build as gigabytes
    got = ingest_measured(corpus(tmp_path, {"hostile.docx": data}), tmp_path)
    assert_bounded(got)
    assert list(got["skipped"]) == ["hostile.docx"]
    assert got["skipped"]["hostile.docx"].startswith("too long: more than 200,000 paragraphs")
    assert "setting max_document_paragraphs" in got["skipped"]["hostile.docx"]
    assert "split it into smaller files" in got["skipped"]["hostile.docx"]


def test_a_one_line_text_of_twenty_megabytes_stops_at_the_character_limit(tmp_path):
    got = ingest_measured(corpus(tmp_path, {"hostile.txt": one_line_text()}), tmp_path)
    assert_bounded(got)
    assert got["skipped"] == {"hostile.txt": (
        "too long: 19,900,000 characters of text; the limit is 5,000,000 per document (setting "
        "max_document_chars): split it into smaller files, or raise the limit "
        "(ESSAYS_MAX_DOCUMENT_CHARS)")}


def test_the_same_text_with_a_higher_character_limit_stops_at_the_passage_limit(tmp_path):
    got = ingest_measured(corpus(tmp_path, {"hostile.txt": one_line_text()}), tmp_path,
                          max_document_chars=20_000_000)
    assert_bounded(got)
    reason = got["skipped"]["hostile.txt"]
    assert re.match(r"too long: 3\d,\d{3} passages; the limit is 20,000 per document \(setting "
                    r"max_document_passages\)", reason), reason


def test_a_web_page_of_200000_paragraphs_stops_before_trafilatura_reads_it(tmp_path):
    page = page_of_paragraphs()
    assert 18 * MB < len(page) < 20 * MB
    got = ingest_measured(corpus(tmp_path, {"hostile.html": page}), tmp_path)
    assert_bounded(got)
    assert got["skipped"]["hostile.html"].startswith("too long: more than 5,000,000 characters of text")
    assert "setting max_document_chars" in got["skipped"]["hostile.html"]
    # with the character limit raised, the paragraph limit stops it, as soon as it is passed
    got = ingest_measured(corpus(tmp_path / "again", {"hostile.html": page}), tmp_path / "again",
                          max_document_chars=30_000_000, max_document_paragraphs=150_000)
    assert_bounded(got)
    assert got["skipped"]["hostile.html"].startswith("too long: more than 150,000 paragraphs")


def test_a_page_nested_a_thousand_levels_deep_is_skipped_saying_so(tmp_path):
    deep, fine = tmp_path / "deep.html", tmp_path / "fine.html"
    deep.write_bytes(deep_page(1000))
    fine.write_bytes(deep_page(200))
    with pytest.raises(SkipFile) as why:
        read_document(deep, Settings())
    assert str(why.value).startswith("nested too deeply: its HTML elements are nested more than 255 levels")
    assert "navigation" not in str(why.value)
    assert "lighthouses and their keepers" in read_document(fine, Settings()).text


# --- the worker process: time and memory limits ------------------------------------------------

def test_extraction_runs_in_a_worker_process(tmp_path, monkeypatch):
    doc = tmp_path / "notes.docx"
    doc.write_bytes(make_docx([("p", "The harbour master keeps a list of every boat.")]))

    def here(*args):
        raise AssertionError("a Word file was extracted in the calling process")

    monkeypatch.setattr(extractor, "_docx", here)
    assert "harbour master" in read_document(doc, Settings()).text


def test_a_worker_is_reused_for_many_small_files():
    pages = sorted(HOWTO.glob("*.html"))
    assert len(pages) == 15
    reader.close_workers()
    before = reader.WORKERS.stats["workers_started"]
    started = time.perf_counter()
    texts = [read_document(p, Settings()).text for p in pages]
    seconds = time.perf_counter() - started
    print(f"\n15 HTML pages read in {seconds:.2f} s, "
          f"{reader.WORKERS.stats['workers_started'] - before} worker started")
    assert reader.WORKERS.stats["workers_started"] - before == 1
    assert texts[0] == extractor.extract(pages[0]).text  # the same text as extracted here


def test_a_dead_worker_is_replaced(tmp_path):
    page = tmp_path / "lighthouse.html"
    page.write_text(HTML_PAGE, encoding="utf-8")
    read_document(page, Settings())
    for worker in list(reader.WORKERS.idle):
        worker.proc.kill()
        worker.proc.wait()
    assert "keeper" in read_document(page, Settings()).text.lower()


def test_extraction_past_the_time_limit_is_stopped_and_the_next_document_is_read(tmp_path):
    slow, good = tmp_path / "slow.html", tmp_path / "lighthouse.html"
    slow.write_bytes(page_of_paragraphs(100_000))
    good.write_text(HTML_PAGE, encoding="utf-8")
    settings = Settings(extract_seconds=1, max_document_chars=50_000_000)
    started = time.perf_counter()
    with pytest.raises(SkipFile) as why:
        read_document(slow, settings)
    assert time.perf_counter() - started < 15
    assert str(why.value).startswith("too slow to extract: stopped after 1 s, the limit per "
                                     "document (setting extract_seconds)")
    assert "keeper" in read_document(good, settings).text.lower()


def test_extraction_past_the_memory_limit_is_stopped(tmp_path):
    big, good = tmp_path / "big.docx", tmp_path / "notes.docx"
    big.write_bytes(hostile_docx(150_000))  # under the paragraph limit: python-docx builds it
    good.write_bytes(make_docx([("p", "The harbour master keeps a list of every boat.")]))
    settings = Settings(extract_memory_mb=32)
    with pytest.raises(SkipFile, match=r"setting extract_memory_mb") as why:
        read_document(big, settings)
    assert "corrupt" not in str(why.value)
    print(f"\n{why.value}")
    assert "harbour master" in read_document(good, settings).text


def test_without_a_worker_extraction_runs_here_with_the_size_limits(tmp_path, monkeypatch):
    doc = tmp_path / "notes.docx"
    doc.write_bytes(make_docx([("p", "The harbour master keeps a list of every boat.")]))
    big = tmp_path / "big.docx"
    big.write_bytes(hostile_docx(300_000))
    reader.close_workers()
    monkeypatch.setattr(reader.WORKERS, "no_worker_until", 0.0)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    assert "harbour master" in read_document(doc, Settings()).text
    with pytest.raises(SkipFile, match="max_document_paragraphs"):
        read_document(big, Settings())


# --- plain text: in this process, bounded ------------------------------------------------------

def test_plain_text_over_the_character_or_paragraph_limit_is_skipped(tmp_path):
    long = tmp_path / "long.txt"
    long.write_text("word " * 400, encoding="utf-8")
    with pytest.raises(SkipFile, match=r"too long: 2,000 characters of text; the limit is 1,000"):
        read_document(long, Settings(max_document_chars=1000))
    assert read_document(long, Settings(max_document_chars=2000)).text.startswith("word")

    lines = tmp_path / "lines.txt"
    lines.write_text("".join(f"line {n}\n\n\n" for n in range(100)), encoding="utf-8")
    assert read_document(lines, Settings(max_document_paragraphs=100)).text  # blank lines do not count
    lines.write_text("".join(f"line {n}\n" for n in range(101)), encoding="utf-8")
    with pytest.raises(SkipFile, match=r"more than 100 paragraphs \(lines of text\).*max_document_paragraphs"):
        read_document(lines, Settings(max_document_paragraphs=100))


def test_limits_are_settings_with_defaults_help_and_validation(monkeypatch):
    s = Settings()
    assert (s.max_document_chars, s.max_document_paragraphs, s.max_document_passages,
            s.extract_seconds, s.extract_memory_mb) == (5_000_000, 200_000, 20_000, 60, 1024)
    names = [name for name, _, _ in describe()]
    assert names.index("max_upload_mb") + 1 == names.index("max_document_chars")
    for name in ("max_document_chars", "max_document_paragraphs", "max_document_passages",
                 "extract_seconds", "extract_memory_mb"):
        assert name in names and name not in s.index_settings()  # skipped files are read again
        with pytest.raises(SettingsError, match=name):
            Settings(**{name: 0})
    monkeypatch.setenv("ESSAYS_EXTRACT_SECONDS", "soon")
    with pytest.raises(SettingsError, match="ESSAYS_EXTRACT_SECONDS"):
        Settings.from_env()
    monkeypatch.setenv("ESSAYS_EXTRACT_SECONDS", "5")
    assert extractor.Limits.of(None).seconds == 5  # read_document without settings: the environment


# --- passages: none longer than max_chars; linear time -----------------------------------------

def passages_of(text: str, name: str = "a.txt", max_chars: int = 550, min_chars: int = 160, **kw):
    found = make_passages(text, parse(text, name), name, max_chars, min_chars, **kw)
    for p in found:
        assert p.text == text[p.start:p.end]
        assert all(p.start <= a < b <= p.end for a, b in p.sentences)
    return found


def test_a_text_without_spaces_is_cut_into_passages_of_at_most_max_chars():
    text = "x" * 5000 + "\n"
    found = passages_of(text, max_passages=100)
    assert len(found) == 10 and all(len(p.text) <= 550 for p in found)
    assert "".join(p.text for p in found) == text.strip()


def test_a_sentence_longer_than_max_chars_is_cut_at_spaces():
    words = [f"word{n}" for n in range(400)]  # 2,689 characters and no sentence end
    text = " ".join(words) + "\n"
    found = passages_of(text, max_passages=100)
    sentences = [text[a:b] for p in found for a, b in p.sentences]
    assert all(len(s) <= 550 for s in sentences) and len(sentences) in (5, 6)
    assert " ".join(sentences).split() == words  # cut between words, none lost
    assert min(map(len, sentences)) > 250  # about equal pieces, no stub at the end


def test_cut_long_prefers_spaces_then_cjk_punctuation_then_the_limit():
    text = "一二三四五六七八九十。" * 30
    pieces = cut_long(text, 0, len(text), 100)
    assert all(b - a <= 100 and text[b - 1] == "。" for a, b in pieces)
    assert cut_long("abc", 0, 3, 10) == [(0, 3)]
    assert cut_long("aaaa bbbb", 0, 9, 5) == [(0, 4), (5, 9)]


def test_a_line_of_code_longer_than_a_code_passage_is_cut():
    text = "# Code\n\nThe snippet below is long.\n\n```\n" + "x = 1; " * 500 + "\n```\n"
    found = passages_of(text, "a.md", max_passages=100)
    code = [p for p in found if p.kind == "code"]
    assert len(code) >= 3 and all(len(p.text) <= 1100 for p in code)


def test_too_many_passages_skips_the_document():
    text = "".join(f"Paragraph {n} says something long enough to stand as a passage on its own, "
                   f"with a second clause so that it is not merged with its neighbours at all, "
                   f"and then a third one that makes it longer than the shortest passage.\n\n"
                   for n in range(30))
    assert len(passages_of(text, max_passages=30)) == 30
    with pytest.raises(SkipFile, match=r"too long: 30 passages; the limit is 29 per document "
                                       r"\(setting max_document_passages\)"):
        passages_of(text, max_passages=29)


def _reference_merge_short(groups, min_chars, max_chars, breaks=()):
    """The merge as it was written before (start over after each merge): the new one must
    give the same groups."""
    import bisect

    groups = [list(g) for g in groups]

    def length(g):
        return g[-1][1][-1][1] - g[0][1][0][0]

    def mergeable(a, b):
        pa, pb = a[-1][0], b[0][0]
        return (pa.kind == pb.kind == "body" and (pa.section, pa.question) == (pb.section, pb.question)
                and bisect.bisect(breaks, pa.end) == bisect.bisect(breaks, pb.start)
                and length(a) + length(b) <= max_chars * 1.25)

    changed = True
    while changed:
        changed = False
        for i, g in enumerate(groups):
            if length(g) >= min_chars:
                continue
            left = groups[i - 1] if i > 0 and mergeable(groups[i - 1], g) else None
            right = groups[i + 1] if i + 1 < len(groups) and mergeable(g, groups[i + 1]) else None
            if left is None and right is None:
                continue
            if right is None or (left is not None and length(left) <= length(right)):
                groups[i - 1] = left + g
                del groups[i]
            else:
                groups[i] = g + right
                del groups[i + 1]
            changed = True
            break
    return groups


def test_merging_short_paragraphs_is_linear_and_unchanged(monkeypatch):
    import random

    rng = random.Random(7)
    blocks = []
    for n in range(600):
        kind = rng.random()
        if kind < 0.08:
            blocks.append(f"## Section {n}")
        elif kind < 0.12:
            blocks.append("```\nprint(%d)\n```" % n)
        else:
            blocks.append(" ".join(f"w{n}x{k}" for k in range(rng.choice([1, 2, 5, 10, 30, 60, 90]))) + ".")
    text = "# Mixed\n\n" + "\n\n".join(blocks) + "\n"
    new = passages_of(text, "a.md", max_passages=10_000)
    monkeypatch.setattr(passages_module, "_merge_short", _reference_merge_short)
    old = passages_of(text, "a.md", max_passages=10_000)
    assert [(p.start, p.end, p.sentences) for p in new] == [(p.start, p.end, p.sentences) for p in old]
    monkeypatch.undo()

    short = "".join(f"Line {n} is short.\n\n" for n in range(150_000))  # 150,000 paragraphs
    started = time.perf_counter()
    found = passages_of(short, max_passages=100_000)
    seconds = time.perf_counter() - started
    print(f"\n150,000 short paragraphs: {len(found):,} passages in {seconds:.1f} s")
    assert seconds < 30  # starting over after each merge: minutes


def test_abbreviations_do_not_make_sentence_splitting_quadratic():
    text = "Dr. " * 500_000 + "\n"  # 2 MB: every "Dr." ends no sentence
    started = time.perf_counter()
    found = passages_of(text, max_passages=100_000)
    assert time.perf_counter() - started < 30
    assert all(len(p.text) <= 550 for p in found)

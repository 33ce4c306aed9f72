"""A damaged index is refused, never served with other answers: one byte flipped at several
offsets of every file of a served build (the real model, the seed essays and a web page, so
that stored extracted texts are among the files)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core import index_format as fmt
from core.errors import IndexProblem
from core.model import load_embedder
from ingest import build_index
from search.loading import load_index
from search.searcher import Searcher
from helpers import HTML_PAGE

QUESTIONS = ["What does it mean to feel emotionally safe with someone?",
             "Why do people build walls?", "What is photosynthesis?"]


@pytest.fixture(scope="module")
def served(tmp_path_factory, seed_corpus, settings):
    corpus = tmp_path_factory.mktemp("flips") / "corpus"
    shutil.copytree(seed_corpus, corpus)
    (corpus / "page.html").write_text(HTML_PAGE, encoding="utf-8")
    index_dir = corpus.parent / "index"
    build_index([corpus], index_dir, settings, on_event=lambda e: None, progress=False)
    embedder = load_embedder(settings.model_path(), settings.encoder)
    return index_dir, embedder


def answers(index_dir: Path, settings, embedder) -> list:
    searcher = Searcher(load_index(index_dir, settings), embedder, settings)
    out = []
    for q in QUESTIONS:
        a = searcher.search(q, k=5)
        out.append((a.answered, [(r.id, r.quote, r.confidence) for r in a.results]))
    for r in searcher.search(QUESTIONS[0], k=5).results:  # the reader's text too
        searcher.document(r.source)
    return out


def build_files(index_dir: Path) -> list[Path]:
    build = fmt.current_build(index_dir)
    return sorted(p for p in build.rglob("*") if p.is_file()) + [index_dir / fmt.CURRENT]


def test_a_byte_flipped_anywhere_is_refused_or_changes_nothing(served, settings, tmp_path):
    index_dir, embedder = served
    expected = answers(index_dir, settings, embedder)
    files = build_files(index_dir)
    assert len(files) >= 10
    tried = refused = 0
    for n, original in enumerate(files):
        size = original.stat().st_size
        for offset in sorted({0, size // 3, size // 2, (2 * size) // 3, size - 1}):
            copy = tmp_path / f"trial-{n}-{offset}"
            shutil.copytree(index_dir, copy)
            target = copy / original.relative_to(index_dir)
            data = bytearray(target.read_bytes())
            data[offset] ^= 0x01
            target.write_bytes(bytes(data))
            tried += 1
            try:
                got = answers(copy, settings, embedder)
            except IndexProblem:
                refused += 1
            else:
                assert got == expected, f"{original.relative_to(index_dir)} byte {offset} changed the answers"
            finally:
                shutil.rmtree(copy)
    print(f"\n{tried} byte flips in {len(files)} files: {refused} refused, {tried - refused} served unchanged")
    assert refused >= tried // 2

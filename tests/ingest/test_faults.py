"""Faults: damaged index files (texts/ folder included), ingests killed at every step of the
incremental path, and two ingests at once in two real processes.

The damage cases of the plain-text index (truncated FAISS file, garbage manifest, lost passage
line, ...) are in test_store.py; these add the stored texts of extracted formats and more ways
for each file to break. Each is detected at load with a message that says how to rebuild,
and the next ingest repairs it.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from core import index_format as store
from core import segments
from ingest import build_index
from ingest.__main__ import main as ingest_main
from search import open_searcher
from core.errors import IndexCorrupt, IndexStale
from search.loading import load_index
from helpers import (CHILD_ENV_PATH, HTML_PAGE, PDF_PAGES, ROOT, TINY, assert_same_index, make_pdf,
                     segment_file)

ENV = {**os.environ, "PYTHONPATH": CHILD_ENV_PATH}


def _corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in TINY.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "bees.pdf").write_bytes(make_pdf(PDF_PAGES))
    (root / "page.html").write_text(HTML_PAGE, encoding="utf-8")
    return root


def _quiet(**kw):
    return dict(on_event=lambda e: None, progress=False, **kw)


@pytest.fixture(scope="module")
def mixed_index(tmp_path_factory, settings):
    """A real index of plain text, a PDF and a web page; tests copy it before damaging it."""
    base = tmp_path_factory.mktemp("mixed")
    corpus = _corpus(base / "corpus")
    build_index([corpus], base / "index", settings, **_quiet())
    return corpus, base / "index"


@pytest.fixture
def damaged(mixed_index, tmp_path):
    corpus, index_dir = mixed_index
    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy)
    return corpus, copy


# --- damage, detected at load -------------------------------------------------------------

def _manifest(build: Path) -> dict:
    return json.loads((build / store.MANIFEST).read_text(encoding="utf-8"))


def _edit_manifest(build: Path, edit) -> None:
    m = _manifest(build)
    edit(m)
    (build / store.MANIFEST).write_text(json.dumps(m), encoding="utf-8")


def _text_file(build: Path, source: str = "bees.pdf") -> Path:
    return build / _manifest(build)["texts"][source]["file"]


def _text_truncated(b):
    path = _text_file(b)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _text_missing(b):
    _text_file(b).unlink()


def _texts_folder_missing(b):
    shutil.rmtree(segment_file(b, segments.TEXTS))


def _text_altered_same_length(b):
    path = _text_file(b, "page.html")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _text_not_utf8(b):
    _text_file(b).write_bytes(b"\xff\xfe\x00 not text")


def _text_entry_missing(b):
    _edit_manifest(b, lambda m: m["texts"].pop("bees.pdf"))


def _texts_entry_malformed(b):
    _edit_manifest(b, lambda m: m.update(texts=["texts/x.txt"]))


def _text_entry_escapes_the_build(b):
    _edit_manifest(b, lambda m: m["texts"]["bees.pdf"].update(file="../../../etc/passwd"))


def _sentence_vectors_truncated(b):
    path = segment_file(b, segments.SENTENCE_VECTORS)
    path.write_bytes(path.read_bytes()[:-1000])


def _vectors_zeroed(b):
    path = segment_file(b, segments.PASSAGE_VECTORS)
    path.write_bytes(b"\x00" * path.stat().st_size)


def _vectors_empty(b):
    segment_file(b, segments.PASSAGE_VECTORS).write_bytes(b"")


def _vector_files_swapped(b):
    p, s = segment_file(b, segments.PASSAGE_VECTORS), segment_file(b, segments.SENTENCE_VECTORS)
    data = p.read_bytes()
    p.write_bytes(s.read_bytes())
    s.write_bytes(data)


def _vector_byte_flipped(b):
    path = segment_file(b, segments.PASSAGE_VECTORS)
    data = bytearray(path.read_bytes())
    data[-7] ^= 0x10
    path.write_bytes(bytes(data))


def _sql(b, statement: str) -> None:
    db = sqlite3.connect(segment_file(b, segments.DB))
    db.execute(statement)
    db.commit()
    db.close()


def _passage_sentences_not_json(b):
    _sql(b, "UPDATE passages SET sentences = '[[broken' WHERE row = 1")


def _passage_text_changed(b):
    _sql(b, "UPDATE passages SET text = 'something else' WHERE row = 0")


def _passage_offsets_shifted(b):
    """A PDF passage whose offsets no longer point at its text in the stored text."""
    _sql(b, "UPDATE passages SET start = start + 1, \"end\" = \"end\" + 1 WHERE row = "
            "(SELECT min(row) FROM passages WHERE source = 'bees.pdf')")


def _passages_empty(b):
    segment_file(b, segments.DB).write_bytes(b"")


def _manifest_truncated(b):
    path = b / store.MANIFEST
    path.write_bytes(path.read_bytes()[:200])


def _manifest_empty(b):
    (b / store.MANIFEST).write_bytes(b"")


def _manifest_counts_wrong(b):
    _edit_manifest(b, lambda m: m["counts"].update(passages=m["counts"]["passages"] + 1))


DAMAGE = [
    _text_truncated, _text_missing, _texts_folder_missing, _text_altered_same_length,
    _text_not_utf8, _text_entry_missing, _texts_entry_malformed, _text_entry_escapes_the_build,
    _sentence_vectors_truncated, _vectors_zeroed, _vectors_empty, _vector_files_swapped,
    _vector_byte_flipped, _passage_sentences_not_json, _passage_text_changed, _passage_offsets_shifted,
    _passages_empty,
    _manifest_truncated, _manifest_empty, _manifest_counts_wrong,
]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_damage_is_detected_at_load_and_the_next_ingest_repairs_it(damaged, settings, damage, hash_model):
    corpus, index_dir = damaged
    damage(store.current_build(index_dir))
    with pytest.raises(IndexCorrupt) as err:
        load_index(index_dir, settings)
    message = str(err.value)
    assert f"Rebuild it with: python -m ingest --index-dir {index_dir}" in message
    with pytest.raises(IndexCorrupt):  # never served, and not silently rebuilt over
        open_searcher(index_dir, settings, rebuild=True, on_event=lambda e: None)
    report = build_index([corpus], index_dir, settings, **_quiet())
    loaded = load_index(index_dir, settings)
    assert loaded.build == report.build
    assert {p.source for p in loaded.passages} == set(TINY) | {"bees.pdf", "page.html"}


def test_an_index_of_plain_text_without_a_texts_entry_still_loads(tiny_copy, settings):
    corpus, index_dir = tiny_copy
    _edit_manifest(store.current_build(index_dir), lambda m: m.pop("texts"))
    loaded = load_index(index_dir, settings)
    assert all(p.page is None for p in loaded.passages)


@pytest.fixture
def tiny_copy(tmp_path, settings, hash_model):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in TINY.items():
        (corpus / name).write_text(text, encoding="utf-8")
    build_index([corpus], tmp_path / "index", settings, **_quiet())
    return corpus, tmp_path / "index"


def test_disk_full_while_writing_is_an_error_message_not_a_traceback(tiny_copy, monkeypatch, capsys):
    corpus, index_dir = tiny_copy
    before = store.current_build(index_dir)
    (corpus / "d.txt").write_text("Night Sky\n\nThe stars were sharp and cold.\n", encoding="utf-8")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "fsync_dir", full_disk)
    assert ingest_main([str(corpus), "--index-dir", str(index_dir), "--quiet"]) == 1
    assert "error: [Errno 28] No space left on device" in capsys.readouterr().err
    assert store.current_build(index_dir) == before
    assert not [d for d in (index_dir / store.BUILDS).iterdir() if d.name.startswith(".tmp-")]


# --- an incremental ingest killed at any step ------------------------------------------------

KILL_SCRIPT = r"""
import json, os, sys
from pathlib import Path
from core import index_format as store
from core import segments
from ingest import build, steps
from core.settings import Settings
from helpers import HashEmbedder

corpus, index_dir, where = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
build.load_embedder = lambda *args: HashEmbedder()

def die(*args, **kwargs):
    os.kill(os.getpid(), 9)

if where == "reading":  # reading the first changed document
    steps.read_document = die
elif where == "embedding":
    HashEmbedder.encode = die
elif where == "passages":  # the passages database half written
    real_dumps, calls = json.dumps, []
    def dumps(*a, **k):
        calls.append(1)
        if len(calls) == 3:
            die()
        return real_dumps(*a, **k)
    segments.json.dumps = dumps
elif where == "texts":  # the stored texts of the PDF and the web page
    real_fsync = store.fsync_file
    store.fsync_file = lambda path: die() if path.parent.name == store.TEXTS else real_fsync(path)
elif where == "manifest":
    real_fsync = store.fsync_file
    store.fsync_file = lambda path: die() if path.name == store.MANIFEST else real_fsync(path)
elif where == "rename":  # the complete build folder is about to take its name
    os.rename = die
elif where == "current":  # the build is in place; CURRENT not yet replaced
    store.replace_text = die
elif where == "prune":  # CURRENT names the new build; older builds not yet removed
    store.prune = die
build.build_index([corpus], index_dir, Settings(), on_event=lambda e: None, progress=False)
print("not killed")
"""

KILL_POINTS = ["reading", "embedding", "passages", "texts", "manifest", "rename", "current", "prune"]


@pytest.mark.parametrize("where", KILL_POINTS)
def test_incremental_ingest_killed_at_any_step_leaves_a_servable_index(tmp_path, settings, where, hash_model):
    corpus = _corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    first = build_index([corpus], index_dir, settings, **_quiet())
    # a change for the incremental path: one added, one changed, one removed document
    (corpus / "d.txt").write_text("Night Sky\n\nThe stars were sharp and cold above the valley.\n", encoding="utf-8")
    (corpus / "a.txt").write_text(TINY["a.txt"] + "\nIt can also be rebuilt.\n", encoding="utf-8")
    (corpus / "c.txt").unlink()
    (corpus / "page2.html").write_text(HTML_PAGE.replace("Lighthouse", "Lightship"), encoding="utf-8")

    done = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(corpus), str(index_dir), where],
                          cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, (done.returncode, done.stdout, done.stderr[-2000:])

    loaded = load_index(index_dir, settings, check_corpus=False)  # complete, servable
    if where == "prune":
        assert loaded.build != first.build  # the new build was already current
        load_index(index_dir, settings)  # and up to date
    else:
        assert loaded.build == first.build
        with pytest.raises(IndexStale):  # out of date, which open_searcher rebuilds
            load_index(index_dir, settings)

    report = build_index([corpus], index_dir, settings, **_quiet())
    assert report.incremental
    assert not [d for d in (index_dir / store.BUILDS).iterdir() if d.name.startswith(".tmp-")]
    build_index([corpus], tmp_path / "full", settings, **_quiet(full=True))
    assert_same_index(index_dir, tmp_path / "full")


# --- two ingests at once, in two real processes ---------------------------------------------------

SLOW_INGEST = r"""
import sys, time
from pathlib import Path
from ingest import build, steps
from core.settings import Settings
from helpers import HashEmbedder

class Slow(HashEmbedder):
    def encode(self, texts, progress=False, batch_size=32, threads=0):
        time.sleep(float(sys.argv[3]))
        return super().encode(texts)

build.load_embedder = lambda *args: Slow()
def echo(event):
    if steps.is_note(event):
        print(event.message, flush=True)
report = build.build_index([Path(sys.argv[1])], Path(sys.argv[2]), Settings(), on_event=echo, progress=False)
print("done", report.build.name, flush=True)
"""


def test_second_ingest_while_one_runs_gets_a_clear_message(tmp_path, settings):
    corpus = _corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    first = subprocess.Popen([sys.executable, "-c", SLOW_INGEST, str(corpus), str(index_dir), "2"],
                             cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = first.stdout.readline()  # printed under the lock, before embedding
        assert line.startswith("embedding"), (line, first.stderr.read() if first.poll() is not None else "")
        second = subprocess.run([sys.executable, "-m", "ingest", str(corpus), "--index-dir", str(index_dir), "--quiet"],
                                cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
        assert first.poll() is None, "the first ingest ended before the second was refused"
    finally:
        out, err = first.communicate(timeout=120)
    assert second.returncode == 1
    assert second.stderr.startswith(f"error: Another ingest is already writing {index_dir}; wait for it")
    assert "Traceback" not in second.stderr
    assert first.returncode == 0, err[-2000:]
    (name,) = [l.split()[1] for l in out.splitlines() if l.startswith("done")]
    loaded = load_index(index_dir, settings)
    assert loaded.build.name == name


def test_ingests_started_together_never_corrupt_the_index(tmp_path, settings):
    corpus = _corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    outcomes = []
    for round_ in range(3):
        (corpus / "round.txt").write_text(f"Round {round_}\n\nThis is round number {round_} of the test.\n",
                                          encoding="utf-8")
        procs = [subprocess.Popen([sys.executable, "-c", SLOW_INGEST, str(corpus), str(index_dir), "0.5"],
                                  cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        for rc, out, err in results:
            assert rc == 0 or ("IngestBusy" in err and "Another ingest is already writing" in err), err[-2000:]
        assert any(rc == 0 for rc, _, _ in results)
        outcomes.append(sorted(rc for rc, _, _ in results))
        loaded = load_index(index_dir, settings)  # complete, current, up to date
        assert any(p.source == "round.txt" and f"round number {round_}" in p.text for p in loaded.passages)
    assert outcomes  # [0, 0] when one finished before the other took the lock, else [0, 1]

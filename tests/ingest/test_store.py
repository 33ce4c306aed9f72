"""The index folder: atomic writes, the ingest lock, and refusing stale, mismatched or damaged
indexes (with the rebuild that open_searcher does for the rebuildable ones)."""
from __future__ import annotations

import time

import dataclasses
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core import index_format as store
from core import segments
from ingest import build_index
from ingest.__main__ import main as ingest_main
from core.errors import IngestBusy
from search import open_searcher
from core.errors import IndexCorrupt, IndexMismatch, IndexMissing, IndexStale
from search.loading import load_index

from helpers import ROOT, segment_file, write_index  # noqa: E402

TINY = {
    "a.txt": (
        "A Small Essay On Trust\n\n"
        "Trust grows slowly between two people who listen to each other. It needs time, "
        "patience and many small promises kept.\n\n"
        "Sharing feelings openly makes partners feel safe and understood, even on hard days.\n"
    ),
    "notes/b.md": "# Garden Notes\n\nTomatoes need full sun and regular watering during the summer months.\n",
}
OTHER = {
    "c.txt": "Sailing Log\n\nThe boat left the harbour at dawn and the wind rose steadily from the west.\n",
}


def _corpus(root: Path, files: dict[str, str] = TINY) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _build(corpus: Path, index_dir: Path, settings):
    return build_index([corpus], index_dir, settings, on_event=lambda e: None, progress=False)


def _texts(loaded) -> list[str]:
    return sorted(p.text for p in loaded.passages)


def _manifest_path(index_dir: Path) -> Path:
    return store.current_build(index_dir) / store.MANIFEST


def _edit_manifest(index_dir: Path, edit) -> None:
    path = _manifest_path(index_dir)
    manifest = json.loads(path.read_text(encoding="utf-8"))
    edit(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def _builds(index_dir: Path) -> list[str]:
    return sorted(d.name for d in (index_dir / store.BUILDS).iterdir())


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory, settings):
    """A real index of the tiny corpus; tests copy the index folder before damaging it."""
    base = tmp_path_factory.mktemp("tiny")
    corpus = _corpus(base / "corpus")
    index_dir = base / "index"
    _build(corpus, index_dir, settings)
    return corpus, index_dir


@pytest.fixture
def index_copy(tiny_index, tmp_path):
    """A private copy of the tiny index (its manifest still names the unchanged tiny corpus)."""
    _, index_dir = tiny_index
    target = tmp_path / "index"
    shutil.copytree(index_dir, target)
    return target


@pytest.fixture
def built(tmp_path, settings):
    """A fresh corpus and its index, for tests that change the documents."""
    corpus = _corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    report = _build(corpus, index_dir, settings)
    return corpus, index_dir, report


# --- writing ----------------------------------------------------------------------------

def test_build_writes_a_complete_index(tiny_index, settings):
    corpus, index_dir = tiny_index
    build = store.current_build(index_dir)
    assert build.parent == index_dir / store.BUILDS
    assert (build / store.MANIFEST).is_file()
    for name in (segments.DB, segments.PASSAGE_VECTORS, segments.SENTENCE_VECTORS, segments.PASSAGE_INDEX,
                 segments.SENTENCE_INDEX, segments.POSTINGS_ROWS):
        assert segment_file(build, name).is_file()
    assert not [d for d in _builds(index_dir) if d.startswith(".tmp-")]
    loaded = load_index(index_dir, settings)
    assert loaded.build == build
    manifest = loaded.manifest
    assert manifest.format_version == store.FORMAT_VERSION
    assert manifest.model == settings.model
    assert manifest.settings == settings.index_settings()
    assert set(manifest.corpus.files) == {"a.txt", "notes/b.md"}
    assert manifest.counts == store.Counts(2, len(loaded.passages), sum(len(p.sentences) for p in loaded.passages))
    assert loaded.passage_vectors.shape == (len(loaded.passages), manifest.dimension)
    assert np.allclose(np.linalg.norm(loaded.passage_vectors, axis=1), 1.0, atol=1e-4)
    assert {p.source for p in loaded.passages} == {"a.txt", "notes/b.md"}
    assert any(p.title == "Garden Notes" for p in loaded.passages)


def test_old_builds_are_pruned_keeping_the_previous_one(built, settings, monkeypatch):
    corpus, index_dir, first = built
    monkeypatch.setattr(store, "PRUNE_AFTER_S", 0)  # no grace: what remains is what is kept
    previous = first
    for _ in range(6):  # several builds within one second: their names alone cannot order them
        latest = _build(corpus, index_dir, settings)
        assert store.current_build(index_dir) == latest.build
        assert _builds(index_dir) == sorted([previous.build.name, latest.build.name])
        assert store.KEEP_BUILDS == 2
        previous = latest


def test_a_build_replaced_recently_stays_for_the_readers_still_using_it(built, settings):
    corpus, index_dir, first = built
    second = _build(corpus, index_dir, settings)
    third = _build(corpus, index_dir, settings)
    # `first` was replaced by `second` moments ago: a page may still answer from it
    assert _builds(index_dir) == sorted([first.build.name, second.build.name, third.build.name])
    store.prune(index_dir / store.BUILDS, keep=third.build, now=time.time() + store.PRUNE_AFTER_S + 60)
    assert _builds(index_dir) == sorted([second.build.name, third.build.name])


def test_error_while_writing_vectors_keeps_the_previous_build(built, settings, monkeypatch, tmp_path):
    corpus, index_dir, first = built
    old = _texts(load_index(index_dir, settings))
    import faiss

    real = faiss.write_index

    def half_written(index, path):
        real(index, path)
        with open(path, "r+b") as handle:
            handle.truncate(10)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(faiss, "write_index", half_written)
    with pytest.raises(OSError, match="No space"):
        _build(_corpus(tmp_path / "other", OTHER), index_dir, settings)
    monkeypatch.undo()
    loaded = load_index(index_dir, settings)
    assert loaded.build == first.build
    assert _texts(loaded) == old
    assert _builds(index_dir) == [first.build.name]  # the temporary folder was removed


def test_error_before_current_is_replaced_keeps_the_previous_build(built, settings, monkeypatch, tmp_path):
    corpus, index_dir, first = built

    def fail(path, text):
        raise OSError("killed before CURRENT was replaced")

    monkeypatch.setattr(store, "replace_text", fail)
    with pytest.raises(OSError):
        _build(_corpus(tmp_path / "other", OTHER), index_dir, settings)
    monkeypatch.undo()
    assert (index_dir / store.CURRENT).read_text().strip() == first.build.name
    assert load_index(index_dir, settings).build == first.build


KILL_SCRIPT = r"""
import os, sys
from pathlib import Path
import numpy as np
from core import index_format as store
from ingest import build
from core.settings import Settings

class FakeEmbedder:  # the model is not what this test is about; it saves a model load
    dimension = 384
    def encode(self, texts, progress=False, batch_size=32, threads=0):
        v = np.random.default_rng(0).standard_normal((len(texts), 384)).astype("float32")
        return v / np.linalg.norm(v, axis=1, keepdims=True)

build.load_embedder = lambda *args: FakeEmbedder()
corpus, index_dir, where = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

def die(*args):
    os.kill(os.getpid(), 9)

if where == "vectors":  # killed after the passages, vectors and the first FAISS file are written
    import faiss
    real = faiss.write_index
    def write_then_die(index, path):
        real(index, path)
        die()
    faiss.write_index = write_then_die
elif where == "current":  # killed after the build folder is in place, before CURRENT names it
    store.replace_text = die
build.build_index([corpus], index_dir, Settings(), on_event=lambda e: None, progress=False)
print("not killed")
"""


@pytest.mark.parametrize("where", ["vectors", "current"])
def test_ingest_killed_midway_leaves_the_old_index_serving(built, settings, tmp_path, where):
    corpus, index_dir, first = built
    old = _texts(load_index(index_dir, settings))
    other = _corpus(tmp_path / "other", OTHER)
    done = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(other), str(index_dir), where],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == -9, (done.returncode, done.stdout, done.stderr)
    names = _builds(index_dir)
    if where == "vectors":
        (leftover,) = [n for n in names if n.startswith(".tmp-")]
        written = {f.name for f in (index_dir / store.BUILDS / leftover).rglob("*")}
        assert segments.DB in written and store.MANIFEST not in written
    else:
        assert len(names) == 2 and first.build.name in names

    loaded = load_index(index_dir, settings)  # the old build, complete and current
    assert loaded.build == first.build
    assert _texts(loaded) == old

    # the next ingest cleans up and serves the new documents
    report = _build(other, index_dir, settings)
    assert not [n for n in _builds(index_dir) if n.startswith(".tmp-")]
    assert store.current_build(index_dir) == report.build
    loaded = load_index(index_dir, settings)
    assert {p.source for p in loaded.passages} == {"c.txt"}


def test_next_ingest_removes_leftover_temporary_folders(built, settings):
    corpus, index_dir, first = built
    leftover = index_dir / store.BUILDS / ".tmp-dead01"
    leftover.mkdir()
    (leftover / segments.DB).write_text('half a database', encoding="utf-8")
    assert load_index(index_dir, settings).build == first.build  # ignored while serving
    _build(corpus, index_dir, settings)
    assert not leftover.exists()


# --- the lock ---------------------------------------------------------------------------

def test_concurrent_ingest_is_refused_while_the_lock_is_held(built, settings):
    corpus, index_dir, first = built
    with store.write_lock(index_dir):
        with pytest.raises(IngestBusy, match="Another ingest is already writing") as err:
            _build(corpus, index_dir, settings)
        assert str(index_dir) in str(err.value)
    assert store.current_build(index_dir) == first.build
    _build(corpus, index_dir, settings)  # free again once released


def test_concurrent_ingest_in_another_process_is_refused(built, settings):
    corpus, index_dir, _ = built
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from core import index_format as store\n"
         "with store.write_lock(Path(sys.argv[1])):\n"
         "    print('locked', flush=True); time.sleep(60)\n",
         str(index_dir)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(IngestBusy):
            _build(corpus, index_dir, settings)
    finally:
        holder.kill()
        holder.wait()
    _build(corpus, index_dir, settings)  # the lock died with its holder


def test_cli_reports_a_busy_index(built, capsys):
    corpus, index_dir, _ = built
    with store.write_lock(index_dir):
        assert ingest_main([str(corpus), "--index-dir", str(index_dir), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Another ingest is already writing")


# --- stale, mismatched, damaged ---------------------------------------------------------

def test_changed_file_makes_the_index_stale(built, settings):
    corpus, index_dir, _ = built
    load_index(index_dir, settings)
    (corpus / "a.txt").write_text(TINY["a.txt"] + "\nOne more sentence was added later.\n", encoding="utf-8")
    with pytest.raises(IndexStale, match=r"1 changed \(a\.txt\)") as err:
        load_index(index_dir, settings)
    assert "python -m ingest" in str(err.value)
    assert load_index(index_dir, settings, check_corpus=False).passages  # still readable


def test_added_and_removed_files_make_the_index_stale(built, settings):
    corpus, index_dir, _ = built
    _corpus(corpus, OTHER)
    with pytest.raises(IndexStale, match=r"1 added \(c\.txt\)"):
        load_index(index_dir, settings)
    (corpus / "c.txt").unlink()
    load_index(index_dir, settings)
    (corpus / "notes" / "b.md").unlink()
    with pytest.raises(IndexStale, match=r"1 removed \(notes/b\.md\)"):
        load_index(index_dir, settings)


def test_fixing_a_skipped_file_makes_the_index_stale(tmp_path, settings):
    corpus = _corpus(tmp_path / "corpus")
    (corpus / "broken.txt").write_bytes(b"")
    report = _build(corpus, tmp_path / "index", settings)
    assert [s.source for s in report.skipped] == ["broken.txt"]
    load_index(tmp_path / "index", settings)
    (corpus / "broken.txt").write_text("Now it has a real sentence in it.", encoding="utf-8")
    with pytest.raises(IndexStale, match="broken.txt"):
        load_index(tmp_path / "index", settings)


def test_missing_corpus_folder_makes_the_index_stale(built, settings):
    corpus, index_dir, _ = built
    shutil.rmtree(corpus)
    with pytest.raises(IndexStale, match="no longer exists"):
        load_index(index_dir, settings)


@pytest.mark.parametrize("change", [
    {"max_chars": 400}, {"min_chars": 100}, {"embed_context": False},
])
def test_other_chunk_settings_make_the_index_stale(index_copy, settings, change):
    (name, value), = change.items()
    with pytest.raises(IndexStale, match=name) as err:
        load_index(index_copy, replace(settings, **change))
    assert "python -m ingest" in str(err.value)


def test_query_time_settings_do_not_make_the_index_stale(index_copy, settings):
    load_index(index_copy, replace(settings, top_k=9, bm25_weight=0.1, abstain_margin=0.2))


def test_index_built_with_another_model_is_a_mismatch(index_copy, settings):
    _edit_manifest(index_copy, lambda m: m.update(model="some-other-model"))
    with pytest.raises(IndexMismatch, match="some-other-model") as err:
        load_index(index_copy, settings)
    assert "python -m ingest" in str(err.value)


def test_other_model_setting_is_a_mismatch(index_copy, settings):
    with pytest.raises(IndexMismatch, match="model"):
        load_index(index_copy, replace(settings, model="/models/another-one"))


def test_other_format_version_is_a_mismatch(index_copy, settings):
    _edit_manifest(index_copy, lambda m: m.update(format_version=store.FORMAT_VERSION + 1))
    with pytest.raises(IndexMismatch, match="format version"):
        load_index(index_copy, settings)


def test_other_format_with_another_layout_is_a_mismatch_not_damage(index_copy, settings):
    def newer(m):
        m["format_version"] = store.FORMAT_VERSION + 1
        del m["counts"]
        m["corpus"] = ["moved elsewhere"]

    _edit_manifest(index_copy, newer)
    with pytest.raises(IndexMismatch, match="format version"):
        load_index(index_copy, settings)


def test_manifest_dimension_that_disagrees_with_the_vectors_is_refused(index_copy, settings):
    _edit_manifest(index_copy, lambda m: m.update(dimension=768))
    with pytest.raises(IndexCorrupt, match="python -m ingest"):
        load_index(index_copy, settings)


def test_index_of_another_dimension_is_refused(index_copy, settings):
    """A complete, consistent index whose vectors do not fit the model."""
    loaded = load_index(index_copy, settings)
    manifest = dataclasses.replace(loaded.manifest, dimension=768)
    rng = np.random.default_rng(1)
    n_sentences = sum(len(p.sentences) for p in loaded.passages)
    write_index(index_copy, manifest, list(loaded.passages),
                rng.standard_normal((len(loaded.passages), 768)).astype("float32"),
                rng.standard_normal((n_sentences, 768)).astype("float32"))
    assert load_index(index_copy, settings).manifest.dimension == 768
    with pytest.raises(IndexMismatch, match="768") as err:
        open_searcher(index_copy, settings, rebuild=False)
    assert "384" in str(err.value) and "python -m ingest" in str(err.value)


def _truncate_vectors(build: Path) -> None:
    path = segment_file(build, segments.PASSAGE_VECTORS)
    path.write_bytes(path.read_bytes()[:100])


def _garbage_manifest(build: Path) -> None:
    (build / store.MANIFEST).write_bytes(b"\x00\x93garbage{ not json")


def _manifest_not_an_object(build: Path) -> None:
    (build / store.MANIFEST).write_text("[1, 2, 3]", encoding="utf-8")


def _manifest_with_wrong_types(build: Path) -> None:
    manifest = json.loads((build / store.MANIFEST).read_text(encoding="utf-8"))
    manifest["corpus"] = "somewhere"
    manifest["settings"] = ["max_chars", 550]
    (build / store.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def _manifest_missing(build: Path) -> None:
    (build / store.MANIFEST).unlink()


def _passages_missing(build: Path) -> None:
    segment_file(build, segments.DB).unlink()


def _passage_line_lost(build: Path) -> None:
    db = sqlite3.connect(segment_file(build, segments.DB))
    db.execute("DELETE FROM passages WHERE row = (SELECT max(row) FROM passages)")
    db.commit()
    db.close()


def _passages_truncated(build: Path) -> None:
    path = segment_file(build, segments.DB)
    path.write_bytes(path.read_bytes()[:-40])


def _sentence_vectors_missing(build: Path) -> None:
    segment_file(build, segments.SENTENCE_VECTORS).unlink()


@pytest.mark.parametrize("damage", [
    _truncate_vectors, _garbage_manifest, _manifest_not_an_object, _manifest_with_wrong_types,
    _manifest_missing, _passages_missing, _passage_line_lost, _passages_truncated,
    _sentence_vectors_missing,
], ids=lambda f: f.__name__.strip("_"))
def test_damaged_index_is_corrupt(index_copy, settings, damage):
    damage(store.current_build(index_copy))
    with pytest.raises(IndexCorrupt) as err:
        load_index(index_copy, settings)
    assert "python -m ingest" in str(err.value)
    assert str(index_copy) in str(err.value)


def test_current_naming_a_missing_build_is_corrupt(index_copy, settings):
    (index_copy / store.CURRENT).write_text("20990101-000000-gone00\n", encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="20990101-000000-gone00") as err:
        load_index(index_copy, settings)
    assert "python -m ingest" in str(err.value)


def test_garbage_in_current_is_corrupt(index_copy, settings):
    (index_copy / store.CURRENT).write_bytes(b"\xff\xfe\x00garbage\n")
    with pytest.raises(IndexCorrupt, match="python -m ingest"):
        load_index(index_copy, settings)


def test_no_index_yet_is_missing(tmp_path, settings):
    with pytest.raises(IndexMissing, match="python -m ingest"):
        load_index(tmp_path / "nothing-here", settings)
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexMissing):
        load_index(tmp_path / "empty", settings)


# --- open_searcher rebuilds what can be rebuilt ----------------------------------------

def test_open_searcher_rebuilds_a_stale_index_and_serves_the_new_content(built, settings):
    corpus, index_dir, first = built
    (corpus / "a.txt").write_text(
        TINY["a.txt"] + "\nZebras migrate across the Serengeti plains every year in search of grass.\n",
        encoding="utf-8",
    )
    with pytest.raises(IndexStale):
        open_searcher(index_dir, settings, rebuild=False)
    messages: list[str] = []
    searcher = open_searcher(index_dir, settings, rebuild=True, on_event=lambda e: messages.append(e.message))
    assert any("out of date" in m for m in messages)
    assert searcher.index.build != first.build
    assert any("Zebras migrate" in p.text for p in searcher.passages)
    answer = searcher.search("Where do zebras migrate every year?", k=1)
    assert "Zebras migrate" in answer.results[0].text
    assert load_index(index_dir, settings).build == searcher.index.build


def test_open_searcher_builds_a_missing_index(tiny_index, tmp_path, settings):
    corpus, _ = tiny_index
    index_dir = tmp_path / "fresh-index"
    messages: list[str] = []
    searcher = open_searcher(index_dir, settings, corpus=[corpus], on_event=lambda e: messages.append(e.message))
    assert (index_dir / store.CURRENT).is_file()
    assert {s for s, _ in searcher.documents()} == {"a.txt", "notes/b.md"}
    assert any("No index" in m for m in messages)


def test_seed_index_loads(seed_index, settings):
    loaded = load_index(seed_index, settings)
    assert loaded.manifest.counts.documents == 5
    assert len({p.source for p in loaded.passages}) == 5

"""Incremental ingest: only new and changed documents are embedded, deleted ones drop out, and
the result is the index a full rebuild writes (same passages, same vectors)."""
from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from core import index_format as store
from core import segments
from ingest import build, build_index
from ingest.__main__ import main as ingest_main
from core.documents import read_text
from search.loading import load_index
from helpers import (DOCX_BLOCKS, PDF_PAGES, TINY, assert_same_index, contents, make_docx, make_pdf, quiet,
                     segment_file, write_files, write_index)

NEW_ESSAY = (
    "Learning To Rest Together\n\n"
    "Couples who rest together, without screens and without plans, often find that the quiet "
    "itself becomes a kind of conversation. Resting side by side says: I do not need you to "
    "entertain me, I only want you near.\n\n"
    "A shared Sunday nap, a slow walk with no destination, an evening on the porch: these are "
    "small practices of intimacy that ask for nothing but time.\n"
)



@pytest.fixture
def seeds_copy(seed_corpus, seed_index, tmp_path):
    """A private copy of the seed corpus and of its (real, full) index."""
    corpus = tmp_path / "seeds"
    shutil.copytree(seed_corpus, corpus)
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index, index_dir)
    return corpus, index_dir


def test_adding_one_document_to_the_seeds_embeds_only_that_document(seeds_copy, settings):
    corpus, index_dir = seeds_copy
    before = load_index(index_dir, settings, check_corpus=False)
    (corpus / "learning-to-rest-together.txt").write_text(NEW_ESSAY, encoding="utf-8")
    report = build_index([corpus], index_dir, settings, **quiet())
    new = [p for p in load_index(index_dir, settings).passages if p.source == "learning-to-rest-together.txt"]
    assert report.incremental and report.full_reason == ""
    assert report.changes.counts() == {"added": 1, "changed": 0, "removed": 0, "unchanged": 5}
    assert report.passages_embedded == len(new) > 0
    assert report.sentences_embedded == sum(len(p.sentences) for p in new)
    assert report.passages == len(before.passages) + len(new)
    assert report.documents == 6


def test_incremental_build_equals_a_full_rebuild(seeds_copy, settings, tmp_path):
    """Add a document (and a PDF), change one, delete one: the incremental index is the one a
    full rebuild writes."""
    corpus, index_dir = seeds_copy
    names = sorted(p.name for p in corpus.glob("*.txt"))
    (corpus / "learning-to-rest-together.txt").write_text(NEW_ESSAY, encoding="utf-8")
    (corpus / "bees.pdf").write_bytes(make_pdf(PDF_PAGES))
    changed = corpus / names[0]
    changed.write_text(read_text(changed).replace("intimacy", "closeness", 3) + "\nOne more line was added.\n",
                       encoding="utf-8")
    (corpus / names[1]).unlink()

    report = build_index([corpus], index_dir, settings, **quiet())
    assert report.incremental
    assert report.changes.added == ["bees.pdf", "learning-to-rest-together.txt"]
    assert report.changes.changed == [names[0]]
    assert report.changes.removed == [names[1]]
    assert len(report.changes.unchanged) == 3
    loaded = load_index(index_dir, settings)
    fresh_sources = {"bees.pdf", "learning-to-rest-together.txt", names[0]}
    assert report.passages_embedded == sum(p.source in fresh_sources for p in loaded.passages)
    assert report.passages_embedded < report.passages
    assert names[1] not in {p.source for p in loaded.passages}

    full_dir = tmp_path / "full-index"
    full = build_index([corpus], full_dir, settings, **quiet())
    assert not full.incremental and full.passages_embedded == full.passages == report.passages
    assert_same_index(index_dir, full_dir)


def test_unchanged_corpus_embeds_nothing_and_loads_no_model(tmp_path, settings, monkeypatch, hash_model):
    corpus = write_files(tmp_path / "corpus", TINY)
    first = build_index([corpus], tmp_path / "index", settings, **quiet())
    assert not first.incremental and first.full_reason == "no previous index"

    def no_model(*args):
        raise AssertionError("the model was loaded although nothing changed")

    monkeypatch.setattr(build, "load_embedder", no_model)
    again = build_index([corpus], tmp_path / "index", settings, **quiet())
    assert again.incremental and again.passages_embedded == 0 and again.sentences_embedded == 0
    assert again.changes.counts() == {"added": 0, "changed": 0, "removed": 0, "unchanged": 3}
    assert again.build != first.build
    _, rows_before, pv_before, _ = contents(tmp_path / "index", first.build)  # kept: the build before
    _, rows_after, pv_after, _ = contents(tmp_path / "index")
    assert rows_before == rows_after and np.array_equal(pv_before, pv_after)
    assert load_index(tmp_path / "index", settings).manifest.ingest["mode"] == "incremental"


def test_full_flag_embeds_everything(tmp_path, settings, hash_model):
    corpus = write_files(tmp_path / "corpus", TINY)
    first = build_index([corpus], tmp_path / "index", settings, **quiet())
    again = build_index([corpus], tmp_path / "index", settings, **quiet(full=True))
    assert not again.incremental and again.full_reason == "--full"
    assert again.passages_embedded == again.passages == first.passages
    assert again.changes.counts()["unchanged"] == 3


def test_other_index_settings_mean_a_full_rebuild(tmp_path, settings, hash_model):
    corpus = write_files(tmp_path / "corpus", TINY)
    build_index([corpus], tmp_path / "index", settings, **quiet())
    messages: list[str] = []
    other = replace(settings, embed_context=False)
    report = build_index([corpus], tmp_path / "index", other, on_event=lambda e: messages.append(e.message), progress=False)
    assert not report.incremental and "settings" in report.full_reason
    assert report.passages_embedded == report.passages
    assert any("embedding every document" in m for m in messages)
    load_index(tmp_path / "index", other)


def test_another_model_name_means_a_full_rebuild(tmp_path, settings, hash_model):
    corpus = write_files(tmp_path / "corpus", TINY)
    build_index([corpus], tmp_path / "index", settings, **quiet())
    path = store.current_build(tmp_path / "index") / store.MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**manifest, "model": "some-other-model"}), encoding="utf-8")
    report = build_index([corpus], tmp_path / "index", settings, **quiet())
    assert not report.incremental and "some-other-model" in report.full_reason
    assert report.passages_embedded == report.passages


def test_vectors_of_another_dimension_are_not_reused(tmp_path, settings):
    corpus = write_files(tmp_path / "corpus", TINY)
    build_index([corpus], tmp_path / "index", settings, **quiet())
    manifest, rows, pv, sv = contents(tmp_path / "index")
    rng = np.random.default_rng(0)
    with store.write_lock(tmp_path / "index"):  # same model name, 768-dimensional vectors
        write_index(tmp_path / "index", dataclasses.replace(manifest, dimension=768), rows,
                    rng.standard_normal((len(pv), 768)).astype("float32"),
                    rng.standard_normal((len(sv), 768)).astype("float32"))
    (corpus / "d.txt").write_text("Night Sky\n\nThe stars were sharp and cold above the valley.\n", encoding="utf-8")
    report = build_index([corpus], tmp_path / "index", settings, **quiet())
    assert not report.incremental and "dimension" in report.full_reason
    assert report.passages_embedded == report.passages
    assert contents(tmp_path / "index")[2].shape[1] == 384


def test_unreadable_previous_build_means_a_full_rebuild(tmp_path, settings, hash_model):
    corpus = write_files(tmp_path / "corpus", TINY)
    build_index([corpus], tmp_path / "index", settings, **quiet())
    vectors = segment_file(store.current_build(tmp_path / "index"), segments.PASSAGE_VECTORS)
    vectors.write_bytes(vectors.read_bytes()[:64])
    messages: list[str] = []
    report = build_index([corpus], tmp_path / "index", settings, on_event=lambda e: messages.append(e.message), progress=False)
    assert not report.incremental and "unreadable" in report.full_reason
    assert any("cannot be reused" in m for m in messages)
    assert report.changes.counts()["unchanged"] == 3  # the manifest could still be read
    load_index(tmp_path / "index", settings)


def test_a_damaged_stored_text_re_embeds_only_its_document(tmp_path, settings, hash_model):
    corpus = write_files(tmp_path / "corpus", {**TINY, "bees.pdf": make_pdf(PDF_PAGES),
                                          "bread.docx": make_docx(DOCX_BLOCKS)})
    first = build_index([corpus], tmp_path / "index", settings, **quiet())
    manifest = json.loads((first.build / store.MANIFEST).read_text(encoding="utf-8"))
    (first.build / manifest["texts"]["bees.pdf"]["file"]).write_text("truncated", encoding="utf-8")
    report = build_index([corpus], tmp_path / "index", settings, **quiet())
    assert report.incremental
    loaded = load_index(tmp_path / "index", settings)
    assert report.passages_embedded == sum(p.source == "bees.pdf" for p in loaded.passages)
    assert {p.page for p in loaded.passages if p.source == "bees.pdf"} == {1, 2, 3}


def test_extracted_formats_are_reused_with_their_texts(tmp_path, settings):
    corpus = write_files(tmp_path / "corpus", {**TINY, "bees.pdf": make_pdf(PDF_PAGES),
                                          "bread.docx": make_docx(DOCX_BLOCKS)})
    build_index([corpus], tmp_path / "index", settings, **quiet())
    (corpus / "a.txt").write_text(TINY["a.txt"] + "\nA new closing line about listening.\n", encoding="utf-8")
    report = build_index([corpus], tmp_path / "index", settings, **quiet())
    assert report.incremental and report.changes.changed == ["a.txt"]
    full = build_index([corpus], tmp_path / "full", settings, **quiet())
    assert report.passages_embedded < full.passages_embedded
    assert_same_index(tmp_path / "index", tmp_path / "full")


def test_skipped_file_that_is_fixed_is_indexed(tmp_path, settings, hash_model):
    corpus = write_files(tmp_path / "corpus", {**TINY, "broken.pdf": b"%PDF-1.4 nothing else"})
    first = build_index([corpus], tmp_path / "index", settings, **quiet())
    assert [s.source for s in first.skipped] == ["broken.pdf"]
    again = build_index([corpus], tmp_path / "index", settings, **quiet())
    assert [s.source for s in again.skipped] == ["broken.pdf"] and again.passages_embedded == 0
    (corpus / "broken.pdf").write_bytes(make_pdf(PDF_PAGES))
    fixed = build_index([corpus], tmp_path / "index", settings, **quiet())
    assert fixed.changes.changed == ["broken.pdf"] and not fixed.skipped
    assert fixed.passages_embedded == fixed.passages - first.passages


def test_cli_json_reports_the_counts(tmp_path, capsys, hash_model):
    corpus = write_files(tmp_path / "corpus", TINY)
    args = [str(corpus), "--index-dir", str(tmp_path / "index"), "--quiet", "--json"]
    assert ingest_main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["mode"] == "full" and first["added"] == 3 and first["passages_embedded"] == first["passages"]
    (corpus / "c.txt").unlink()
    (corpus / "d.txt").write_text("Night Sky\n\nThe stars were sharp and cold above the valley.\n", encoding="utf-8")
    (corpus / "a.txt").write_text(TINY["a.txt"] + "\nAnd it can be rebuilt.\n", encoding="utf-8")
    assert ingest_main(args) == 0
    second = json.loads(capsys.readouterr().out)
    assert {k: second[k] for k in ("mode", "added", "changed", "removed", "unchanged")} == {
        "mode": "incremental", "added": 1, "changed": 1, "removed": 1, "unchanged": 1}
    assert 0 < second["passages_embedded"] < second["passages"]
    assert set(second) >= {"index_dir", "build", "documents", "passages", "sentences", "seconds",
                           "skipped", "sentences_embedded", "full_reason"}
    assert ingest_main(args + ["--full"]) == 0
    third = json.loads(capsys.readouterr().out)
    assert third["mode"] == "full" and third["full_reason"] == "--full" and third["unchanged"] == 3


def test_cli_text_summary(tmp_path, capsys, hash_model):
    corpus = write_files(tmp_path / "corpus", TINY)
    args = [str(corpus), "--index-dir", str(tmp_path / "index"), "--quiet"]
    assert ingest_main(args) == 0
    capsys.readouterr()
    (corpus / "b.md").unlink()
    assert ingest_main(args) == 0
    out = capsys.readouterr().out
    assert "indexed 2 documents" in out
    assert "0 added, 0 changed, 1 removed, 2 unchanged; passages: 0 embedded, the rest reused" in out


def test_a_change_writes_a_small_segment_and_links_the_rest(tmp_path, settings, hash_model):
    """Adding or changing a document writes only that document: the unchanged segment is the
    same file on disk (hard-linked), the replaced passages are marked deleted in theirs, and
    small segments are merged once there are too many; the result equals a full rebuild."""
    corpus = write_files(tmp_path / "corpus", TINY)
    index_dir = tmp_path / "index"
    first = build_index([corpus], index_dir, settings, **quiet())
    (corpus / "d.txt").write_text("Night Sky\n\nThe stars were sharp and cold above the valley.\n", encoding="utf-8")
    second = build_index([corpus], index_dir, settings, **quiet())
    m1, m2 = (store.read_manifest(b, index_dir) for b in (first.build, second.build))
    assert [e.name for e in m2.segments][:1] == [m1.segments[0].name] and len(m2.segments) == 2
    old = first.build / segments.SEGMENTS / m1.segments[0].name / segments.PASSAGE_VECTORS
    new = second.build / segments.SEGMENTS / m1.segments[0].name / segments.PASSAGE_VECTORS
    assert old.stat().st_ino == new.stat().st_ino  # linked, not rewritten
    assert second.passages_embedded == 1

    (corpus / "a.txt").write_text(TINY["a.txt"] + "\nIt can also be rebuilt.\n", encoding="utf-8")
    third = build_index([corpus], index_dir, settings, **quiet())
    m3 = store.read_manifest(third.build, index_dir)
    assert m3.segments[0].deleted == ("a.txt",) and third.passages_embedded == 1
    loaded = load_index(index_dir, settings)
    assert [p.source for p in loaded.passages].count("a.txt") == 1
    assert any("rebuilt" in p.text for p in loaded.passages if p.source == "a.txt")

    counts = []
    for n in range(build.MAX_SMALL_SEGMENTS + 1):
        (corpus / f"more-{n}.txt").write_text(f"Note {n}\n\nA short note number {n} about rivers.\n",
                                              encoding="utf-8")
        report = build_index([corpus], index_dir, settings, **quiet())
        counts.append(len(store.read_manifest(report.build, index_dir).segments))
    assert max(counts) <= build.MAX_SMALL_SEGMENTS and min(counts) == 1, counts  # merged
    merged = store.read_manifest(store.current_build(index_dir), index_dir)
    assert all(not e.deleted for e in merged.segments)
    build_index([corpus], tmp_path / "full", settings, **quiet(full=True))
    assert_same_index(index_dir, tmp_path / "full")

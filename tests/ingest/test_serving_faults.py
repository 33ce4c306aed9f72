"""Serving never waits for writing, and every failure is a message (the second round of faults):
an ingest of a changed corpus running while the CLI and the page answer, CURRENT lost, build
folders readable by others, --verify for what loading checks by size only, a full disk in
FAISS's writer, and index paths that are files or cannot be created."""
from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from core import index_format as fmt
from core import segments
from core.errors import IndexCorrupt
from ingest import build_index
from ingest.__main__ import main as ingest_main
from search import open_searcher
from search.cli import main as search_main
from helpers import TINY, segment_file

QUESTION = "How does trust grow?"


def corpus_of(root: Path) -> Path:
    root.mkdir(parents=True)
    for name, text in TINY.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def built(tmp_path, settings, hash_model):
    corpus = corpus_of(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    build_index([corpus], index_dir, settings, on_event=lambda e: None, progress=False)
    return corpus, index_dir


def the_page(index_dir: Path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from helpers import ROOT
    from ui import serving

    serving.clear()  # a freshly started page: no searcher cached yet
    monkeypatch.setenv("ESSAYS_INDEX_DIR", str(index_dir))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["q"] = QUESTION
    return at.run()


def test_while_an_ingest_writes_the_cli_and_a_new_page_answer_from_the_previous_build(built, settings, capsys,
                                                                                      monkeypatch):
    from ingest import build as ingest_build
    from helpers import HashEmbedder

    corpus, index_dir = built
    before = fmt.current_build(index_dir)
    (corpus / "new.txt").write_text("Fresh Notes\n\nTrust also grows from small kept promises.\n", encoding="utf-8")
    embedding, release = threading.Event(), threading.Event()

    class SlowEmbedder(HashEmbedder):  # a real ingest of the changed corpus that takes its time
        def encode(self, texts, *args, **kwargs):
            embedding.set()
            release.wait(60)
            return super().encode(texts)

    monkeypatch.setattr(ingest_build, "load_embedder", lambda *args: SlowEmbedder())
    reports = []
    writer = threading.Thread(target=lambda: reports.append(build_index(
        [corpus], index_dir, settings, on_event=lambda e: None, progress=False)))
    writer.start()
    try:
        assert embedding.wait(30) and fmt.ingest_running(index_dir)
        answers, errors = [], []

        def ask():
            try:
                s = open_searcher(index_dir, settings, on_event=lambda e: None)
                answers.append((s.index.build, s.index.updating, s.search(QUESTION).results[0].source))
            except Exception as err:  # noqa: BLE001 - any failure counts
                errors.append(err)

        askers = [threading.Thread(target=ask) for _ in range(4)]
        for t in askers:
            t.start()
        for t in askers:
            t.join(60)
        assert errors == [] and len(answers) == 4
        assert {a[0] for a in answers} == {before} and all(a[1] for a in answers)
        code = search_main([QUESTION, "--index-dir", str(index_dir), "--json"])
        out = capsys.readouterr()
        assert code == 0 and "Another ingest" not in out.err and '"results"' in out.out
        assert "answering from the previous build" in out.err
        page = the_page(index_dir, monkeypatch)  # a page started now, in this process
        assert not page.exception and not page.error
        assert any("essay-card" in h.value for h in page.html)
        assert any("the index is being updated" in i.value for i in page.info)
        assert fmt.current_build(index_dir) == before  # nothing committed meanwhile
    finally:
        release.set()
        writer.join(60)
    assert reports and fmt.current_build(index_dir) == reports[0].build != before
    fresh = open_searcher(index_dir, settings, rebuild=False)
    assert "new.txt" in {p.source for p in fresh.passages} and not fresh.index.updating


def test_with_current_lost_the_newest_complete_build_serves(built, settings, tmp_path):
    corpus, index_dir = built
    build = fmt.current_build(index_dir)
    (index_dir / fmt.CURRENT).unlink()
    (index_dir / fmt.BUILDS / ".tmp-halfway").mkdir()  # a killed ingest's leftover never counts
    searcher = open_searcher(index_dir, settings, rebuild=True, on_event=lambda e: None)
    assert searcher.index.build == build
    assert {p.source for p in searcher.passages} == set(TINY)  # not rebuilt from the default corpus
    assert build.is_dir()


def test_builds_are_as_readable_as_any_folder_made_here(tmp_path, settings, hash_model):
    old = os.umask(0o022)
    try:
        index_dir = tmp_path / "index"
        build_index([corpus_of(tmp_path / "corpus")], index_dir, settings, on_event=lambda e: None, progress=False)
    finally:
        os.umask(old)
    build = fmt.current_build(index_dir)
    assert stat.S_IMODE(build.stat().st_mode) == 0o755
    assert all(p.stat().st_mode & stat.S_IROTH for p in build.rglob("*"))


def test_verify_reads_every_file_in_full(built, settings, monkeypatch, capsys):
    corpus, index_dir = built
    assert ingest_main(["--verify", "--index-dir", str(index_dir)]) == 0
    assert "every file matches its checksum" in capsys.readouterr().out
    path = segment_file(fmt.current_build(index_dir), segments.POSTINGS_TF)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt):  # small segments are checked byte for byte at load
        open_searcher(index_dir, settings, rebuild=False)
    monkeypatch.setattr(segments, "VERIFY_BYTES", 0)  # as for a segment over 256 MB: size and shape only
    open_searcher(index_dir, settings, rebuild=False)
    assert ingest_main(["--verify", "--index-dir", str(index_dir)]) == 1
    err = capsys.readouterr().err
    assert f"{segments.POSTINGS_TF} does not match its sha256" in err and "python -m ingest" in err


def test_a_full_disk_in_faiss_is_a_message_and_the_previous_build_serves(built, monkeypatch, capsys):
    import faiss

    corpus, index_dir = built
    before = fmt.current_build(index_dir)
    (corpus / "more.txt").write_text("More\n\nAnother small essay about patience.\n", encoding="utf-8")

    def full(*args, **kwargs):
        raise RuntimeError("Error in faiss::FileIOWriter: fwrite failed: No space left on device")

    monkeypatch.setattr(faiss, "write_index", full)
    assert ingest_main([str(corpus), "--index-dir", str(index_dir), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "No space left on device while writing the index" in err and "Traceback" not in err
    assert fmt.current_build(index_dir) == before


def test_index_paths_that_are_files_or_cannot_be_created_are_messages(tmp_path, settings, capsys, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("not an index")
    assert search_main([QUESTION, "--index-dir", str(afile)]) == 1
    assert "is a file, not an index folder" in capsys.readouterr().err
    assert ingest_main([str(tmp_path), "--index-dir", str(afile), "--quiet"]) == 1
    assert "is a file, not an index folder" in capsys.readouterr().err
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):  # as for a user who may not write there (tests run as root)
        if locked in self.parents:
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    assert search_main([QUESTION, "--index-dir", str(locked / "index")]) == 1
    err = capsys.readouterr().err
    assert "cannot be created here (permission denied)" in err and "Traceback" not in err

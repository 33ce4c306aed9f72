"""Documents added by page visitors (search/uploads.py): hostile and odd file names, sizes,
duplicates, content that cannot be read, and an upload that ends up searchable."""
from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

from core import index_format as store
from core.documents import SUFFIXES
from core.settings import Settings
from search import open_searcher
from ingest.uploads import (MAX_NAME_BYTES, UPLOADS, IngestOutcome, UploadRejected,
                            ingest_uploads, safe_name, store_upload, upload_dir)

ESSAY = (
    "# Gardening with bees\n\n"
    "Pollinator gardens need flowers that bloom from early spring to late autumn. "
    "A beekeeper plants lavender, borage and clover so that the hives never go hungry. "
    "Leaving a corner of the garden wild gives solitary bees somewhere to nest.\n\n"
    "Pesticides sprayed on open flowers kill the foragers that visit them, so a careful "
    "gardener sprays in the evening, if at all, and never on plants in bloom.\n"
).encode("utf-8")
MB = 1_000_000


# --- names -----------------------------------------------------------------------------------

@pytest.mark.parametrize("hostile, expected", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\x.md", "x.md"),
    ("/abs/x.txt", "x.txt"),
    ("C:\\Users\\me\\Documents\\essay.docx", "essay.docx"),
    ("..／..／secret.txt", "secret.txt"),  # full-width solidus: NFKC makes it a separator
    ("a/b/../c.md", "c.md"),
])
def test_path_components_are_dropped(hostile, expected):
    assert safe_name(hostile) == expected


@pytest.mark.parametrize("name, why", [
    (".hidden.txt", "hidden"),
    ("../.bashrc.txt", "hidden"),
    ("a\x00b.txt", "control"),
    ("evil\u202etxt.exe.txt", "control"),  # right-to-left override: a spoofed name
    ("zero\u200bwidth.txt", "control"),
    ("line\nbreak.txt", "control"),
    ("notes.exe", "not a supported"),
    ("archive.tar.gz", "not a supported"),
    ("essay", "not a supported"),
    ("essay.txt.sh", "not a supported"),
    ("..", "folder"),
    ("docs/", "folder"),
    ("", "no name"),
    ("   ", "no name"),
    ("~$draft.docx", "lock file"),
    ("$$$.txt", "no letters"),
    ("-.txt", "no letters"),
])
def test_bad_names_are_refused_with_a_reason(name, why):
    with pytest.raises(UploadRejected, match=why):
        safe_name(name)


def test_suffixes_are_those_ingest_reads():
    for suffix in SUFFIXES:
        assert safe_name(f"Essay{suffix.upper()}") == f"Essay{suffix}"


@pytest.mark.parametrize("name, expected", [
    ("My essay (final) v2.txt", "My-essay-final_v2.txt"),
    ("Émotions et confiance.md", "Émotions-et-confiance.md"),
    ("日本語のエッセイ.txt", "日本語のエッセイ.txt"),
    ("Почему мы строим стены.html", "Почему-мы-строим-стены.html"),
    ("emoji 🙂 essay.txt", "emoji-essay.txt"),
    ("semi;colon&amp|pipe.txt", "semi_colon_amp_pipe.txt"),
    ("tab\tname.md", "tab-name.md"),
    ("many....dots.txt", "many.dots.txt"),
    ("e\u0301te\u0301.txt", "été.txt"),  # decomposed accents are composed (NFKC)
])
def test_odd_characters_are_replaced(name, expected):
    assert safe_name(name) == expected


def test_long_names_are_cut_to_the_limit_keeping_the_suffix():
    for name in ("a" * 500 + ".txt", "é" * 300 + ".pdf", "日" * 200 + ".docx"):
        safe = safe_name(name)
        assert len(safe.encode("utf-8")) <= MAX_NAME_BYTES
        assert Path(safe).suffix == Path(name).suffix and len(Path(safe).stem) > 10


# --- storing ---------------------------------------------------------------------------------

def test_store_writes_into_the_uploads_folder_only(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for hostile in ("../../etc/passwd.txt", "..\\..\\x.md", "/abs/x.txt"):
        path = store_upload(corpus, hostile, ESSAY, 5 * MB, subfolder=UPLOADS)
        assert path.parent == corpus / UPLOADS and path.read_bytes() == ESSAY
    assert not (tmp_path / "etc").exists() and not (tmp_path / "x.md").exists()
    assert sorted(p.name for p in (corpus / UPLOADS).iterdir()) == ["passwd.txt", "x.md", "x.txt"]


def test_oversize_is_refused_naming_the_limit(tmp_path):
    with pytest.raises(UploadRejected, match=r"big\.txt.*2\.5 MB; the limit is 2\.0 MB") as err:
        store_upload(tmp_path, "big.txt", b"word " * 500_000, 2 * MB)
    assert "max_upload_mb" in str(err.value)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file


@pytest.mark.parametrize("name, data, why", [
    ("empty.txt", b"", "empty"),
    ("blank.md", b" \n\t\n", "empty"),
    ("binary.txt", bytes(range(256)) * 40, "binary"),
    ("fake.pdf", b"this is not a PDF at all, only text saved with the wrong suffix", "corrupt|not a PDF|PDF"),
    ("fake.docx", b"PK\x03\x04 not really a zip", "corrupt|docx|Word"),
])
def test_unreadable_content_is_refused_and_nothing_is_left(tmp_path, name, data, why):
    with pytest.raises(UploadRejected, match=why):
        store_upload(tmp_path, name, data, 5 * MB, subfolder=UPLOADS)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_duplicate_names_never_overwrite(tmp_path):
    first = store_upload(tmp_path, "essay.txt", ESSAY, MB)
    again = store_upload(tmp_path, "essay.txt", ESSAY, MB)  # same bytes: one copy kept
    other = store_upload(tmp_path, "essay.txt", ESSAY + b"\nA second version.\n", MB)
    third = store_upload(tmp_path, "../essay.txt", ESSAY + b"\nA third version.\n", MB)
    assert first == again == tmp_path / "essay.txt"
    assert other == tmp_path / "essay-2.txt" and third == tmp_path / "essay-3.txt"
    assert first.read_bytes() == ESSAY
    assert other.read_bytes().endswith(b"second version.\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["essay-2.txt", "essay-3.txt", "essay.txt"]


def test_uploads_at_the_same_moment_all_get_their_own_file(tmp_path):
    versions = [ESSAY + f"\nVersion {n}.\n".encode() for n in range(12)]
    paths: list[Path] = []
    start = threading.Barrier(len(versions))

    def upload(data: bytes) -> None:
        start.wait()
        paths.append(store_upload(tmp_path, "same name.txt", data, MB))

    threads = [threading.Thread(target=upload, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(paths)) == len(versions)
    assert sorted(p.read_bytes() for p in paths) == sorted(versions)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_upload_dir_needs_a_folder(tmp_path):
    assert upload_dir([tmp_path / "one.txt", tmp_path]) == tmp_path / UPLOADS
    with pytest.raises(UploadRejected, match="folder"):
        upload_dir([tmp_path / "one.txt"])


def test_settings_keep_uploads_off_by_default(monkeypatch):
    assert Settings().allow_uploads is False and Settings().max_upload_mb == 20
    monkeypatch.setenv("ESSAYS_ALLOW_UPLOADS", "1")
    monkeypatch.setenv("ESSAYS_MAX_UPLOAD_MB", "3")
    assert Settings.from_env().allow_uploads is True and Settings.from_env().max_upload_mb == 3
    assert "allow_uploads" not in Settings().index_settings()  # not a reason to rebuild


# --- ingesting -------------------------------------------------------------------------------

@pytest.fixture
def copy_of_seed_index(seed_corpus, seed_index, tmp_path):
    """The seed corpus and its index copied, so the upload changes neither."""
    corpus = tmp_path / "seeds"
    index_dir = tmp_path / "index"
    shutil.copytree(seed_corpus, corpus)
    shutil.copytree(seed_index, index_dir)
    return corpus, index_dir


def test_a_stored_upload_becomes_searchable(copy_of_seed_index, seed_corpus, settings):
    corpus, index_dir = copy_of_seed_index
    # the page takes the corpus folders from the manifest of the index it serves
    loaded = open_searcher(index_dir, settings, rebuild=False).index
    assert loaded.corpus_paths == [seed_corpus.resolve()]
    paths = [corpus]  # here: the copy, so the shared seed corpus stays untouched
    stored = store_upload(upload_dir(paths), "Gardening with bees.txt", ESSAY, 20 * MB)
    assert stored == corpus / UPLOADS / "Gardening-with-bees.txt"

    seen: list[tuple[float, str]] = []
    outcome = ingest_uploads(paths, index_dir, settings, lambda f, text: seen.append((f, text)))
    assert outcome.ok, outcome.message
    assert (outcome.added, outcome.changed, outcome.removed, outcome.unchanged) == (1, 0, 0, 5)
    assert 0 < outcome.passages_embedded < outcome.passages
    assert "Indexed 1 new or changed document" in outcome.message
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and seen[-1][1] == outcome.message

    after = open_searcher(index_dir, settings, rebuild=False)
    best = after.search("Which flowers keep beehives fed?", k=3).results[0]
    assert best.source == "uploads/Gardening-with-bees.txt"
    assert best.title == "Gardening with bees"
    assert best.quote and best.quote in ESSAY.decode("utf-8")

    again = ingest_uploads(paths, index_dir, settings)  # nothing new: nothing embedded
    assert again.ok and again.added == 0 and again.passages_embedded == 0


def test_ingest_while_another_runs_says_so(copy_of_seed_index, settings):
    corpus, index_dir = copy_of_seed_index
    store_upload(upload_dir([corpus]), "bees.txt", ESSAY, MB)
    with store.write_lock(index_dir):
        outcome = ingest_uploads([corpus], index_dir, settings)
    assert isinstance(outcome, IngestOutcome) and not outcome.ok
    assert "Another ingest" in outcome.message and "saved" in outcome.message
    assert ingest_uploads([corpus], index_dir, settings).added == 1  # added by the next one


# --- bounded work: hostile uploads, work outside the page's process, killed uploads ----------

def test_a_hostile_word_file_is_refused_in_seconds_naming_the_limit(tmp_path):
    from test_limits import hostile_docx

    started = time.perf_counter()
    with pytest.raises(UploadRejected) as why:
        store_upload(tmp_path, "big.docx", hostile_docx(4_000_000), 20 * MB, subfolder=UPLOADS)
    seconds = time.perf_counter() - started
    print(f"\nhostile .docx upload refused in {seconds:.2f} s: {why.value}")
    assert seconds < 30
    assert str(why.value).startswith("“big.docx” cannot be added: it is too long: more than "
                                     "200,000 paragraphs")
    assert "max_document_paragraphs" in str(why.value)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_temporary_files_of_killed_uploads_are_removed_when_an_hour_old(tmp_path):
    folder = tmp_path / UPLOADS
    folder.mkdir()
    stale, fresh = folder / ".upload-k1ll3d.txt", folder / ".upload-wr1t1ng.txt"
    other = folder / ".keep-me.txt"  # hidden, but not an upload's
    for p in (stale, fresh, other):
        p.write_bytes(b"half an upload")
    _age(stale, 2 * 3600)
    _age(other, 2 * 3600)
    store_upload(tmp_path, "bees.txt", ESSAY, MB, subfolder=UPLOADS)
    assert not stale.exists() and fresh.exists() and other.exists()
    assert (folder / "bees.txt").read_bytes() == ESSAY


def test_ingest_runs_outside_the_page_process_and_skips_a_hostile_upload(copy_of_seed_index, settings,
                                                                         monkeypatch):
    from test_limits import hostile_docx

    import ingest.build
    import ingest.uploads

    corpus, index_dir = copy_of_seed_index
    store_upload(upload_dir([corpus]), "bees.txt", ESSAY, MB)
    (corpus / UPLOADS / "big.docx").write_bytes(hostile_docx(4_000_000))  # as if stored before
    stale = corpus / UPLOADS / ".upload-k1ll3d.docx"
    stale.write_bytes(b"PK half an upload")
    _age(stale, 2 * 3600)

    def here(*args, **kwargs):
        raise AssertionError("the ingest ran in the page's process")

    monkeypatch.setattr(ingest.uploads, "build_index", here)
    monkeypatch.setattr(ingest.build, "build_index", here)
    seen: list[tuple[float, str]] = []
    started = time.perf_counter()
    outcome = ingest_uploads([corpus], index_dir, settings, lambda f, text: seen.append((f, text)))
    seconds = time.perf_counter() - started
    print(f"\nupload ingest with a hostile .docx: {seconds:.1f} s: {outcome.message}")
    assert outcome.ok, outcome.message
    assert seconds < 60
    assert outcome.passages_embedded > 0 and outcome.documents == 6
    assert [s for s, _ in outcome.skipped] == ["uploads/big.docx"]
    assert "Skipped: uploads/big.docx (too long: more than 200,000 paragraphs" in outcome.message
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and len(seen) > 2 and seen[-1] == (1.0, outcome.message)
    assert not stale.exists()


def test_an_ingest_process_that_dies_says_so(copy_of_seed_index, settings, monkeypatch, tmp_path):
    corpus, index_dir = copy_of_seed_index
    store_upload(upload_dir([corpus]), "bees.txt", ESSAY, MB)
    dies = tmp_path / "dies"
    dies.write_text("#!/bin/sh\nkill -9 $$\n")
    dies.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(dies))
    outcome = ingest_uploads([corpus], index_dir, settings)
    assert not outcome.ok
    assert outcome.message.startswith("Indexing stopped before it finished (signal 9); the documents "
                                      "are saved and the previous index keeps serving")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    outcome = ingest_uploads([corpus], index_dir, settings)
    assert not outcome.ok and "could not be started" in outcome.message

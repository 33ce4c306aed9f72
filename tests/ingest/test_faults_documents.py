"""Faults in the documents an ingest is given (second round): a link that leads out of the
corpus folder is neither read nor served, one unreadable file does not stop the ingest, a
stray byte in a UTF-8 file is repaired with a warning, UTF-16 without a byte-order mark is read."""
from __future__ import annotations


import pytest

from core.documents.find import UNREADABLE
from ingest import build_index
from ingest.steps import Event, is_note
from search.loading import load_index
from workshop.verify import OUTSIDE, Verifier
from helpers import TINY, deny, quiet, write_files

SECRET = "The password of the staff room is swordfish, and nobody should ever read it here.\n"
DENIED = "permission denied — make it readable (chmod a+r) or move it out of the folder"


@pytest.fixture
def corpus(tmp_path):
    return write_files(tmp_path / "corpus", TINY)


def texts(index_dir, settings) -> str:
    return "\n".join(p.text for p in load_index(index_dir, settings, check_corpus=False).passages)


def sources(index_dir, settings) -> set[str]:
    return {p.source for p in load_index(index_dir, settings, check_corpus=False).passages}


# --- links out of the corpus folder -----------------------------------------------------------

@pytest.fixture
def leaky(corpus, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET, encoding="utf-8")
    (corpus / "secret.txt").symlink_to(outside / "secret.txt")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "copy.txt").symlink_to(corpus / "a.txt")  # inside the corpus: allowed
    return corpus


def test_a_link_out_of_the_corpus_is_not_indexed(leaky, tmp_path, settings, hash_model):
    build_index([leaky], tmp_path / "index", settings, **quiet())
    assert "swordfish" not in texts(tmp_path / "index", settings)
    assert "root:" not in texts(tmp_path / "index", settings)
    assert {"secret.txt", "passwd.txt"}.isdisjoint(sources(tmp_path / "index", settings))
    assert "copy.txt" in sources(tmp_path / "index", settings)
    load_index(tmp_path / "index", settings)  # and the check of the corpus at load agrees


def test_a_link_out_of_the_corpus_is_reported_as_skipped(leaky, tmp_path, settings, hash_model):
    events: list[Event] = []
    report = build_index([leaky], tmp_path / "index", settings, on_event=events.append, progress=False)
    why = "a link to a file outside the corpus folder; set ESSAYS_FOLLOW_LINKS=1 to allow it"
    assert {(s.source, s.reason) for s in report.skipped} >= {("secret.txt", why), ("passwd.txt", why)}
    assert f"skipped secret.txt: {why}" in [e.message for e in events if is_note(e)]


def test_the_reader_cannot_show_a_file_outside_the_corpus(leaky):
    text, problem = Verifier(leaky).document_text("secret.txt")
    assert (text, problem) == ("", OUTSIDE)
    text, problem = Verifier(leaky).document_text("copy.txt")
    assert problem == "" and text == TINY["a.txt"]


# --- a file that cannot be read ---------------------------------------------------------------

def readable(path) -> bool:
    try:
        path.read_bytes()
        return True
    except PermissionError:
        return False


def test_one_unreadable_file_is_skipped_and_the_rest_indexed(corpus, tmp_path, settings, hash_model,
                                                             monkeypatch):
    (corpus / "notes.txt").write_text(SECRET, encoding="utf-8")
    deny(monkeypatch, "notes.txt")
    events: list[Event] = []
    report = build_index([corpus], tmp_path / "index", settings, on_event=events.append, progress=False)
    assert [(s.source, s.reason) for s in report.skipped] == [("notes.txt", DENIED)]
    assert f"skipped notes.txt: {DENIED}" in [e.message for e in events if is_note(e)]
    assert sources(tmp_path / "index", settings) == set(TINY)
    load_index(tmp_path / "index", settings)  # still unreadable: nothing changed, served
    monkeypatch.undo()  # made readable (its modification time unchanged): the index is out of date
    report = build_index([corpus], tmp_path / "index", settings, **quiet())
    assert report.changes.changed == ["notes.txt"] and report.skipped == []
    assert "notes.txt" in sources(tmp_path / "index", settings)


def test_fingerprint_marks_the_unreadable_file(corpus, tmp_path, settings, hash_model, monkeypatch):
    (corpus / "notes.txt").write_text(SECRET, encoding="utf-8")
    deny(monkeypatch, "notes.txt")
    build_index([corpus], tmp_path / "index", settings, **quiet())
    manifest = load_index(tmp_path / "index", settings, check_corpus=False).manifest
    assert manifest.corpus.files["notes.txt"] == UNREADABLE


# --- encodings --------------------------------------------------------------------------------

FRENCH = ("Les émotions d'un couple\n\n"
          "Les émotions sont là, même quand on ne les voit pas, et elles comptent pour la confiance "
          "entre deux personnes qui s'écoutent vraiment, jour après jour, sans se presser.\n\n")


def test_a_stray_byte_keeps_the_file_utf8_with_a_warning(corpus, tmp_path, settings, hash_model):
    (corpus / "fr.txt").write_bytes(FRENCH.encode("utf-8") + b"Un caf\xe9 noir, le matin.\n")
    events: list[Event] = []
    report = build_index([corpus], tmp_path / "index", settings, on_event=events.append, progress=False)
    assert report.skipped == []
    text = texts(tmp_path / "index", settings)
    assert "Les émotions sont là" in text and "Ã©" not in text
    warnings = [e.message for e in events if e.stage == "warning"]
    assert len(warnings) == 1 and warnings[0].startswith("fr.txt: read as UTF-8 with 1 invalid byte")
    assert all(is_note(Event("warning", w)) for w in warnings)  # printed by the command line
    # and kept: in the report (`ingest --json`) and the manifest, through an incremental run
    # that does not read the file again, until the file is mended
    assert [(w.source, w.warning) for w in report.warnings] == [("fr.txt", warnings[0][len("fr.txt: "):])]
    assert load_index(tmp_path / "index", settings).manifest.warnings == ({"source": "fr.txt", "warning": report.warnings[0].warning},)
    (corpus / "new.txt").write_text(FRENCH, encoding="utf-8")
    again = build_index([corpus], tmp_path / "index", settings, **quiet())
    assert again.incremental and again.changes.counts()["unchanged"] >= 1
    assert again.summary()["warnings"] == [{"source": "fr.txt", "warning": report.warnings[0].warning}]
    (corpus / "fr.txt").write_text(FRENCH, encoding="utf-8")
    mended = build_index([corpus], tmp_path / "index", settings, **quiet())
    assert mended.warnings == [] and load_index(tmp_path / "index", settings).manifest.warnings == ()


def test_utf16_without_a_byte_order_mark_is_indexed(corpus, tmp_path, settings, hash_model):
    (corpus / "utf16.txt").write_bytes(FRENCH.encode("utf-16-le"))
    report = build_index([corpus], tmp_path / "index", settings, **quiet())
    assert report.skipped == []
    assert "Les émotions sont là" in texts(tmp_path / "index", settings)

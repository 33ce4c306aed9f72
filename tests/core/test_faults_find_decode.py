"""Faults in finding and decoding documents (second round): links that lead out of the corpus
folder, files that cannot be read, UTF-8 with a stray byte, UTF-16 without a byte-order mark."""
from __future__ import annotations

import os

import pytest

from core.documents import SkipFile, decode, discover
from core.documents.decode import Decoded
from core.documents.find import (FILE_DENIED, LINK_TO_FILE, LINK_TO_FOLDER, UNREADABLE, file_stats,
                                 find_documents, fingerprint)
from core.settings import Settings
from helpers import deny

ESSAY = "Trust grows slowly between two people who listen to each other.\n"


@pytest.fixture
def linked(tmp_path):
    """A corpus folder with an essay, links to a file and a folder outside it, links inside it,
    and the outside folder holding a secret."""
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "secret.txt").write_text("The password is swordfish.\n", encoding="utf-8")
    (outside / "deep" / "more.md").write_text("More secrets.\n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    (corpus / "part").mkdir(parents=True)
    (corpus / "essay.txt").write_text(ESSAY, encoding="utf-8")
    (corpus / "part" / "two.txt").write_text(ESSAY, encoding="utf-8")
    (corpus / "secret.txt").symlink_to(outside / "secret.txt")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "elsewhere").symlink_to(outside, target_is_directory=True)
    (corpus / "same.txt").symlink_to(corpus / "part" / "two.txt")  # inside: allowed
    (corpus / "again").symlink_to(corpus / "part", target_is_directory=True)  # inside: found as part/
    (corpus / "broken.txt").symlink_to(tmp_path / "nothing.txt")
    return corpus


def names(root, files) -> list[str]:
    return [f.relative_to(root).as_posix() for f in files]


def test_links_out_of_the_corpus_are_skipped_with_a_message(linked):
    found = find_documents([linked], follow_links=False)
    assert names(found.root, found.files) == ["essay.txt", "part/two.txt", "same.txt"]
    assert found.skipped == [("elsewhere", LINK_TO_FOLDER), ("passwd.txt", LINK_TO_FILE),
                             ("secret.txt", LINK_TO_FILE)]
    assert LINK_TO_FILE == ("a link to a file outside the corpus folder; set ESSAYS_FOLLOW_LINKS=1 "
                            "to allow it")
    assert discover([linked], follow_links=False) == (found.root, found.files)


def test_follow_links_reads_them(linked):
    found = find_documents([linked], follow_links=True)
    assert names(found.root, found.files) == ["elsewhere/deep/more.md", "elsewhere/secret.txt",
                                              "essay.txt", "part/two.txt", "passwd.txt",
                                              "same.txt", "secret.txt"]
    assert found.skipped == []


def test_the_environment_decides_when_the_caller_does_not(linked, monkeypatch):
    monkeypatch.delenv("ESSAYS_FOLLOW_LINKS", raising=False)
    assert "secret.txt" not in names(*discover([linked]))
    monkeypatch.setenv("ESSAYS_FOLLOW_LINKS", "1")
    assert "secret.txt" in names(*discover([linked]))
    assert Settings.from_env().follow_links is True


def test_a_link_into_another_named_folder_is_inside(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (b / "real.txt").write_text(ESSAY, encoding="utf-8")
    (a / "link.txt").symlink_to(b / "real.txt")
    (tmp_path / "other.txt").write_text(ESSAY, encoding="utf-8")  # under the root, but not named
    (a / "other.txt").symlink_to(tmp_path / "other.txt")
    found = find_documents([a, b], follow_links=False)
    assert names(found.root, found.files) == ["a/link.txt", "b/real.txt"]
    assert found.skipped == [("a/other.txt", LINK_TO_FILE)]


def test_a_loop_of_followed_links_ends(tmp_path):
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    corpus.mkdir()
    outside.mkdir()
    (outside / "x.txt").write_text(ESSAY, encoding="utf-8")
    (outside / "back").symlink_to(outside, target_is_directory=True)
    (corpus / "out").symlink_to(outside, target_is_directory=True)
    found = find_documents([corpus], follow_links=True)
    assert names(found.root, found.files) == ["out/x.txt"]


def test_hidden_files_and_word_lock_files_are_still_ignored(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_text(ESSAY, encoding="utf-8")
    (tmp_path / ".hidden.md").write_text(ESSAY, encoding="utf-8")
    (tmp_path / "~$draft.docx").write_bytes(b"lock")
    (tmp_path / "a.txt").write_text(ESSAY, encoding="utf-8")
    (tmp_path / "b.TXT").write_text(ESSAY, encoding="utf-8")
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # not a file: reading it would wait forever
    assert names(*discover([tmp_path])) == ["a.txt", "b.TXT"]


def test_a_folder_that_cannot_be_listed_is_skipped_with_a_message(tmp_path, monkeypatch):
    import core.documents.find as find

    (tmp_path / "a.txt").write_text(ESSAY, encoding="utf-8")
    private = tmp_path / "private"
    private.mkdir()
    (private / "b.txt").write_text(ESSAY, encoding="utf-8")
    real_scandir = os.scandir

    def scandir(path):  # what a folder of mode 000 answers (the tests run as root, who lists anything)
        if os.fspath(path) == str(private):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(find.os, "scandir", scandir)
    found = find_documents([tmp_path], follow_links=False)
    assert names(found.root, found.files) == ["a.txt"]
    assert found.skipped[0][0] == "private" and "chmod" in found.skipped[0][1]


# --- files that cannot be read ----------------------------------------------------------------

def test_fingerprint_goes_on_past_a_file_it_cannot_read(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text(ESSAY, encoding="utf-8")
    (tmp_path / "notes.txt").write_text(ESSAY, encoding="utf-8")
    root, files = discover([tmp_path])
    deny(monkeypatch, "notes.txt")
    hashes = fingerprint(root, files)
    assert hashes["notes.txt"] == UNREADABLE and len(hashes["a.txt"]) == 64
    known = file_stats(root, files, hashes)
    monkeypatch.undo()  # readable again (chmod a+r keeps the modification time): read again
    assert fingerprint(root, files, known)["notes.txt"] == hashes["a.txt"]


def test_the_permission_message_says_what_to_do():
    assert FILE_DENIED == "permission denied — make it readable (chmod a+r) or move it out of the folder"


# --- decoding ---------------------------------------------------------------------------------

FRENCH = "Les émotions sont là, même quand on ne les voit pas. " * 40


def test_one_stray_latin1_byte_keeps_utf8_text_utf8():
    data = FRENCH.encode("utf-8") + b"\nUn caf\xe9 noir.\n" + FRENCH.encode("utf-8")
    text = decode(data)
    assert "Les émotions" in text and "Ã" not in text
    assert "Un caf\ufffd noir." in text
    assert isinstance(text, Decoded) and len(text.warnings) == 1
    assert "1 invalid byte sequence" in text.warnings[0] and "line 2" in text.warnings[0]
    assert "save the file as UTF-8" in text.warnings[0]


def test_up_to_twenty_stray_bytes_in_a_short_file_stay_utf8():
    data = ("Émotions. " * 30).encode("utf-8") + b"".join(b" caf\xe9" for _ in range(20))
    text = decode(data)
    assert text.startswith("Émotions.") and text.count("\ufffd") == 20


def test_windows_1252_is_still_windows_1252():
    text = "Don’t say “naïve” — it’s a café, not a résumé.\n" * 5
    assert decode(text.encode("cp1252")) == text
    assert decode(text.encode("cp1252")).warnings == ()
    one = "Don’t stop now, it is plain English text otherwise.\n"
    assert decode(one.encode("cp1252")) == one  # no valid UTF-8 at all: not UTF-8 with a repair


def test_mostly_invalid_utf8_is_not_read_as_utf8():
    text = "Crème brûlée à la française, déjà vu, où est-il?\n" * 20
    data = text.encode("latin-1") + "une ligne en UTF-8: été\n".encode("utf-8")
    assert "\ufffd" not in decode(data)


def test_clean_utf8_has_no_warnings():
    assert decode(FRENCH.encode("utf-8")).warnings == ()
    assert decode(b"\xef\xbb\xbf" + FRENCH.encode("utf-8")) == FRENCH


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", ["Trust grows slowly between friends.\nNaïve café, “quoted”.\n",
                                  "Ελληνικά: η εμπιστοσύνη χτίζεται αργά, μέρα με τη μέρα.\n"])
def test_utf16_without_a_byte_order_mark_is_recognised(encoding, text):
    assert decode(text.encode(encoding)) == text


@pytest.mark.parametrize("data", [
    bytes(range(256)) * 8,
    b"\x00\x01\x02\x03" * 500,
    b"".join(bytes([i % 251, 0]) for i in range(2000)),  # zeros at every other byte, but controls
])
def test_binary_data_is_still_refused(data):
    with pytest.raises(SkipFile, match="binary|undecodable"):
        decode(data)


def test_follow_links_is_an_index_setting():
    assert Settings().follow_links is False
    assert Settings().index_settings()["follow_links"] is False
    assert Settings(follow_links=True).index_settings() != Settings().index_settings()

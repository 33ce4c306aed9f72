"""Reading files: encodings, bad files (each skipped with a reason, never stopping the run),
discovery, and the `python -m ingest` command line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.documents import read
from core.errors import IngestError
from ingest import build_index
from helpers import HashEmbedder
from core.documents import SkipFile, decode, discover, read_text
from ingest.structure import parse

from helpers import ROOT  # noqa: E402

GOOD = (
    "A Good Essay\n\n"
    "Trust grows slowly between two people who listen to each other. It needs time, "
    "patience and a willingness to be seen as we are.\n\n"
    "Sharing feelings openly makes partners feel safe and understood, even on hard days.\n"
)

# name -> (bytes, word the skip reason must contain)
BAD_FILES = {
    "empty.txt": (b"", "empty"),
    "blank.md": (b"   \n\t\r\n  \n\n", "empty"),
    "random.txt": (bytes(range(256)) * 4 + b"\x00\x01\x02", "binary"),  # every byte value, NULs
    "picture.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06"
                    + b"\x00" * 64, "binary"),
    "undecodable.txt": (bytes(range(0x80, 0x100)) * 4, "undecodable"),
    # starts with a UTF-16 byte-order mark but holds a lone surrogate: not valid UTF-16
    "broken-utf16.txt": (b"\xff\xfe" + "Hello there".encode("utf-16-le") + b"\x00\xd8A\x00", "undecodable"),
}


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _mixed_corpus(root: Path) -> Path:
    """One good essay among every kind of bad file."""
    _write(root / "good.txt", GOOD)
    for name, (data, _) in BAD_FILES.items():
        _write(root / name, data)
    return root


# --- decoding ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_refused_with_its_reason(tmp_path, name):
    data, why = BAD_FILES[name]
    path = _write(tmp_path / name, data)
    with pytest.raises(SkipFile, match=why):
        read_text(path)


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
@pytest.mark.parametrize("text", [
    "café résumé naïve",
    "Un café, un résumé et une idée naïve.\n",
    "Ça va? Où est la crème brûlée? Señor niño, año.\n",
    "Über die Größe: schöne Grüße aus Köln.\n",
    "Le café était très agréable. Notre résumé était naïf, mais honnête.\n" * 3,
])
def test_legacy_western_encoding_is_detected(tmp_path, encoding, text):
    path = _write(tmp_path / "legacy.txt", text.encode(encoding))
    assert read_text(path) == text


def test_cp1252_typographic_punctuation_is_detected(tmp_path):
    text = "“Smart” quotes – and a café résumé naïve… déjà vu.\n"
    path = _write(tmp_path / "smart.txt", text.encode("cp1252"))
    assert read_text(path) == text


@pytest.mark.parametrize("text, encoding", [
    ("Привет, как дела? Это тест кодировки.", "cp1251"),
    ("Příliš žluťoučký kůň úpěl ďábelské ódy.", "cp1250"),
])
def test_other_legacy_encodings_are_not_forced_into_cp1252(text, encoding):
    assert decode(text.encode(encoding)) == text


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom(tmp_path, encoding):
    text = "Intimacy Notes\n\nA café conversation can open the heart. It often does.\n"
    data = text.encode(encoding)
    if encoding != "utf-16":  # the plain codec writes its own BOM
        data = "\ufeff".encode(encoding) + data
    path = _write(tmp_path / "wide.txt", data)
    assert read_text(path) == text


def test_utf8_bom_is_removed_and_offsets_refer_to_the_decoded_text(tmp_path):
    text = "Title Of The Essay\n\nThe first paragraph is here, with a café in it.\n"
    path = _write(tmp_path / "bom.txt", "\ufeff".encode() + text.encode())
    decoded = read_text(path)
    assert decoded == text
    structure = parse(decoded, path.name)
    assert structure.title == "Title Of The Essay"
    (para,) = structure.paragraphs
    assert decoded[para.start:para.end] == "The first paragraph is here, with a café in it."


def test_huge_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(read, "MAX_BYTES", 1000)
    path = _write(tmp_path / "huge.txt", "Long text goes on and on. " * 100)
    with pytest.raises(SkipFile, match="too large"):
        read_text(path)
    small = _write(tmp_path / "small.txt", "Short text. " * 10)
    assert read_text(small).startswith("Short text.")


def test_file_just_over_the_real_limit_says_by_how_much(tmp_path):
    path = tmp_path / "dump.txt"
    with open(path, "wb") as handle:  # sparse: no 20 MB are written
        handle.truncate(read.MAX_BYTES + 400_000)
    with pytest.raises(SkipFile) as err:
        read_text(path)
    assert "too large (20.4 MB; the limit is 20 MB)" in str(err.value)


def test_unsupported_suffix_is_refused(tmp_path):
    with pytest.raises(SkipFile, match=r"\.txt or \.md"):
        read_text(_write(tmp_path / "essay.pdf", "A real sentence in a pdf-named file."))


# --- discovery --------------------------------------------------------------------------

def test_discover_finds_documents_only_skipping_hidden(tmp_path):
    # .html, .pdf and .docx are documents too: tests/test_formats.py
    for name in ["a.txt", "b.MD", "sub/c.md", "sub/deeper/d.TXT", "notes.rtf", "e.csv",
                 ".hidden.txt", ".git/f.txt", "sub/.cache/g.md"]:
        _write(tmp_path / name, "Some text here.")
    root, files = discover([tmp_path])
    assert root == tmp_path.resolve()
    assert [f.relative_to(root).as_posix() for f in files] == [
        "a.txt", "b.MD", "sub/c.md", "sub/deeper/d.TXT"
    ]


def test_discover_missing_path_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        discover([tmp_path / "nowhere"])


# --- a run over bad files ---------------------------------------------------------------

def test_each_bad_file_is_skipped_with_a_message_and_the_run_goes_on(tmp_path, settings, monkeypatch):
    corpus = _mixed_corpus(tmp_path / "docs")
    monkeypatch.setattr(read, "MAX_BYTES", 5000)
    _write(corpus / "huge.md", "Page after page of text. " * 400)
    messages: list[str] = []
    report = build_index([corpus], tmp_path / "index", settings, on_event=lambda e: messages.append(e.message),
                         progress=False, embedder=HashEmbedder())
    reasons = {s.source: s.reason for s in report.skipped}
    expected = {name: why for name, (_, why) in BAD_FILES.items()} | {"huge.md": "too large"}
    assert set(reasons) == set(expected)
    for name, why in expected.items():
        assert why in reasons[name]
        assert any(name in m and why in m for m in messages), (name, messages)
    assert report.documents == 1 and len(report.changes.added) == len(expected) + 1  # every file found


def test_file_with_only_boilerplate_is_skipped(tmp_path, settings):
    _write(tmp_path / "good.txt", GOOD)
    _write(tmp_path / "furniture.txt", "Skip to content\n\nShare this:\n\nLike this:\n\nBack to top button\n")
    report = build_index([tmp_path], tmp_path / ".index", settings, on_event=lambda e: None,
                         progress=False, embedder=HashEmbedder())
    assert [(s.source, "no passages" in s.reason) for s in report.skipped] == [("furniture.txt", True)]
    assert report.passages


def test_directory_without_documents_is_a_clear_error(tmp_path, settings):
    empty = tmp_path / "empty"
    empty.mkdir()
    _write(empty / "readme.rtf", "{\\rtf1 not a document}")
    with pytest.raises(IngestError, match=r"No passages found under .*empty.*\.txt or \.md"):
        build_index([empty], tmp_path / "index", settings, on_event=lambda e: None, progress=False)


def test_directory_of_only_bad_files_names_them(tmp_path, settings):
    corpus = tmp_path / "bad"
    for name, (data, _) in BAD_FILES.items():
        _write(corpus / name, data)
    with pytest.raises(IngestError) as err:
        build_index([corpus], tmp_path / "index", settings, on_event=lambda e: None, progress=False)
    for name, (_, why) in BAD_FILES.items():
        assert f"{name} ({why}" in str(err.value)


def test_build_skips_bad_files_and_indexes_the_good_one(tmp_path, settings):
    corpus = _mixed_corpus(tmp_path / "docs")
    report = build_index([corpus], tmp_path / "index", settings, on_event=lambda e: None, progress=False)
    assert report.documents == 1
    assert report.passages >= 1
    assert {s.source for s in report.skipped} == set(BAD_FILES)


# --- the command line -------------------------------------------------------------------

def test_cli_builds_and_lists_skipped_files_end_to_end(tmp_path):
    corpus = _mixed_corpus(tmp_path / "docs")
    index_dir = tmp_path / "index"
    done = subprocess.run([sys.executable, "-m", "ingest", str(corpus), "--index-dir", str(index_dir), "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "indexed 1 documents" in done.stdout
    for name, (_, why) in BAD_FILES.items():
        assert f"skipped {name}: {why}" in done.stdout, done.stdout
    assert (index_dir / "CURRENT").is_file()


def test_cli_missing_path_is_an_error(tmp_path, cli):
    done = cli("ingest", str(tmp_path / "no-such-folder"), "--index-dir", str(tmp_path / "index"))
    assert done.returncode != 0
    assert "error:" in done.stderr
    assert "no-such-folder" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_empty_directory_is_an_error(tmp_path, cli):
    (tmp_path / "empty").mkdir()
    done = cli("ingest", str(tmp_path / "empty"), "--index-dir", str(tmp_path / "index"))
    assert done.returncode != 0
    assert "error: No passages found" in done.stderr
    assert "Traceback" not in done.stderr

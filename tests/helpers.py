"""What several test modules share that is not a fixture: paths, a stand-in embedding model,
small corpora and document builders (HTML as text, PDFs written by hand, Word files with
python-docx), and a comparison of two index folders. Child processes started by the tests
import it too (tests/ is on their PYTHONPATH)."""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import io
import sys
from pathlib import Path

import numpy as np

from core import index_format as store
from core import segments

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
EVAL_DIR = ROOT.parent / "shared" / "eval"
CHILD_ENV_PATH = f"{ROOT}:{TESTS}"  # PYTHONPATH for child processes that import helpers


def open_page(index_dir: Path, monkeypatch, script: Path | str = ROOT / "app.py", **params):
    """A page (the app, or one page file) run headless with AppTest against `index_dir`, opened
    from an address with these query parameters (lists: repeated keys); no exception."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ESSAYS_INDEX_DIR", str(index_dir))
    at = AppTest.from_file(str(script), default_timeout=120)
    at.query_params.update(params)
    at.run()
    assert not at.exception, at.exception
    return at


def deny(monkeypatch, name: str) -> None:
    """Opening a file whose path ends with `name` raises PermissionError, as for a file with mode
    000 (the tests run as root, where chmod does not stop reading)."""
    import builtins
    import os

    real_open = builtins.open

    def fake_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and os.fspath(file).endswith(name):
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)


def bench_load():
    """bench/bench_load.py as a module: the harness that serves the page and drives browsers,
    shared by the load test, the browser test and the load benchmark."""
    if "bench_load" in sys.modules:
        return sys.modules["bench_load"]
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "bench_load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module
    spec.loader.exec_module(module)
    return module


TINY = {
    "a.txt": "A Small Essay On Trust\n\nTrust grows slowly between two people who listen to each "
             "other. It needs time, patience and many small promises kept.\n",
    "b.md": "# Garden Notes\n\nTomatoes need full sun and regular watering during the summer months.\n",
    "c.txt": "Sailing Log\n\nThe boat left the harbour at dawn and the wind rose steadily from the west.\n",
}


class HashEmbedder:
    """A stand-in model for tests about what is embedded, not how: a fixed vector per text."""

    dimension = 384

    def encode(self, texts, progress=False, batch_size=32, threads=0):
        rows = [np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:16], 16))
                .standard_normal(self.dimension) for t in texts]
        v = np.array(rows, dtype="float32").reshape(len(texts), self.dimension)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)


def quiet(**kw):
    return dict(on_event=lambda e: None, progress=False, **kw)


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return root


def segment_file(build: Path, name: str) -> Path:
    """A file of the build's only segment (tests damage them)."""
    (folder,) = (Path(build) / segments.SEGMENTS).iterdir()
    return folder / name


def write_index(index_dir: Path, manifest, passages, passage_vectors, sentence_vectors) -> Path:
    """A build of these passages and vectors (one segment), made current: an index as another
    program or version might have left it."""
    docs, p_at, s_at = [], 0, 0
    for source in dict.fromkeys(p.source for p in passages):
        mine = [p for p in passages if p.source == source]
        n_s = sum(len(p.sentences) for p in mine)
        docs.append(segments.SegmentDocument(source, manifest.corpus.files.get(source, ""), mine,
                                             passage_vectors[p_at:p_at + len(mine)],
                                             sentence_vectors[s_at:s_at + n_s]))
        p_at, s_at = p_at + len(mine), s_at + n_s
    with store.new_build(index_dir) as tmp:
        entry = segments.write_segment(tmp / segments.SEGMENTS / "seg", "seg", docs, 50000)
        return store.commit_build(index_dir, tmp, dataclasses.replace(manifest, segments=(entry,), texts={}))


def contents(index_dir: Path, build: Path | None = None):
    """(manifest, passages, passage vectors, sentence vectors) of an index's current build (or
    `build`), in document order (source, then offset): the order a build's segments keep them
    in may differ."""
    from search.store import LocalStore

    data = store.read_build(build or store.current_build(index_dir), index_dir)
    try:
        return (data.manifest, *LocalStore(data).in_document_order())
    finally:
        data.close()


def assert_same_index(a: Path, b: Path) -> None:
    """Two index folders hold the same passages, vectors and texts."""
    ma, ra, pva, sva = contents(a)
    mb, rb, pvb, svb = contents(b)
    assert ra == rb
    assert pva.shape == pvb.shape and sva.shape == svb.shape
    assert np.allclose(pva, pvb, atol=1e-3)  # stored as float16
    assert np.allclose(sva, svb, atol=1e-3)
    assert ma.corpus.files == mb.corpus.files
    assert ma.counts == mb.counts and ma.skipped == mb.skipped
    assert {s: e.sha256 for s, e in ma.texts.items()} == {s: e.sha256 for s, e in mb.texts.items()}
    for source, entry in ma.texts.items():
        assert (store.current_build(a) / entry.file).read_bytes() == \
            (store.current_build(b) / mb.texts[source].file).read_bytes()


# --- document builders ------------------------------------------------------------------


def _pdf_escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]], text_layer: bool = True) -> bytes:
    """A valid PDF with one page per list of lines (Helvetica, WinAnsi); without a text layer,
    each page is only a filled rectangle, like a scan."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for i, lines in enumerate(pages):
        if text_layer:
            content = "BT /F1 11 Tf 14 TL 72 760 Td " + " ".join(f"({_pdf_escape(l)}) Tj T*" for l in lines) + " ET"
        else:
            content = "0.2 0.4 0.8 rg 72 72 300 500 re f"
        data = content.encode("cp1252")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % at for at in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def encrypt_pdf(data: bytes, password: str = "secret") -> bytes:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx(blocks: list[tuple[str, str]], title: str = "") -> bytes:
    """A Word file; blocks are (kind, text): kind 'title', 'h1'..'h3', 'p', 'bullet' or
    'table' (text: rows separated by '\\n', cells by '|')."""
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
    for kind, text in blocks:
        if kind == "title":
            document.add_heading(text, 0)
        elif kind.startswith("h"):
            document.add_heading(text, int(kind[1:]))
        elif kind == "bullet":
            document.add_paragraph(text, style="List Bullet")
        elif kind == "table":
            rows = [r.split("|") for r in text.split("\n")]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
        else:
            document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Lighthouse Keepers | Coastal Notes</title></head>
<body>
<nav class="menu"><ul><li><a href="/">Home</a></li><li><a href="/archive">Archive of every post</a></li>
<li><a href="/contact">Write to the editors</a></li></ul></nav>
<header><div class="site-name">Coastal Notes</div></header>
<main><article>
<h1>The Solitude Of Lighthouse Keepers</h1>
<p>Lighthouse keepers spent months alone on rocks at sea, trimming wicks and winding the clockwork
that turned the great lens. Their logbooks speak of storms, of supply boats that could not land,
and of the strange comfort of a routine kept in perfect solitude.</p>
<h2>Letters From The Rock</h2>
<p>Many keepers wrote long letters to their families, sent ashore whenever the relief boat came.
The letters show how a person keeps a bond alive across weeks of silence: by telling small
things honestly and by asking about the small things of the other.</p>
<ul><li>They counted passing ships.</li><li>They recorded the weather every four hours.</li></ul>
</article></main>
<aside><h3>Popular posts</h3><ul><li><a href="/p1">Ten best beaches for a summer holiday</a></li></ul></aside>
<footer><p>Subscribe to our newsletter for weekly coastal stories and exclusive offers.</p>
<p>Copyright 2024 Coastal Notes. All rights reserved.</p></footer>
</body></html>
"""

PDF_PAGES = [
    ["Keeping Bees In A Small Garden", "",
     "A single hive fits in a small garden when the entrance faces away from the path and",
     "a tall hedge makes the bees fly up and over the neighbours.", "1"],
    ["2",
     "The queen bee lays up to two thousand eggs a day in early summer, and the colony",
     "swarms when the hive becomes crowded. A beekeeper gives the colony more room",
     "before the swarming season to keep the bees at home.",
     "Honey And Patience",
     "Honey is taken only when the frames are capped with wax, which shows the",
     "nectar has been dried enough to keep for years.", "- 2 -"],
    ["Winter is quiet: the bees cluster around the queen and shiver their flight",
     "muscles to keep the cluster warm until the willow flowers in spring.", "Page 3 of 3"],
]

DOCX_BLOCKS = [
    ("title", "Baking Sourdough At Home"),
    ("p", "Sourdough bread rises with wild yeast and lactic bacteria that live in a starter of "
          "flour and water, fed every day like a small pet in the kitchen."),
    ("h1", "Feeding The Starter"),
    ("p", "Feed the starter with equal weights of flour and water and keep it at room "
          "temperature; it is ready when it doubles within six hours and smells pleasantly sour."),
    ("bullet", "Use a clean glass jar."),
    ("bullet", "Mark the level with a rubber band."),
    ("h2", "Shaping The Loaf"),
    ("p", "A tight skin on the dough holds the gas of the long cold fermentation, so the loaf "
          "springs up in the hot oven instead of spreading flat across the tray."),
    ("table", "Flour|500 g\nWater|350 g\nSalt|10 g"),
]




class MilvusServer:
    """The milvus-lite server from PyPI on 127.0.0.1, on a free port, with its data in `data_dir`;
    stopped and started again on the same port and data (as a restarted server is)."""

    def __init__(self, data_dir: Path):
        import shutil
        import socket

        self.data_dir = Path(data_dir)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.program = shutil.which("milvus-lite") or str(Path(sys.executable).parent / "milvus-lite")
        self.process = None

    def address(self, collection: str) -> str:
        return f"milvus://127.0.0.1:{self.port}/{collection}"

    def start(self, timeout: float = 60.0) -> None:
        import socket
        import subprocess
        import time

        self.log = open(self.data_dir.parent / f"milvus-{self.port}.log", "ab")
        self.process = subprocess.Popen([self.program, "server", "--host", "127.0.0.1", "--port", str(self.port),
                                         "--data-dir", str(self.data_dir)], stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"milvus-lite exited with {self.process.returncode}; see {self.log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
                self.ready()
                return
            except Exception:  # noqa: BLE001 - not listening or not serving yet
                time.sleep(0.2)
        raise RuntimeError(f"milvus-lite did not listen on {self.port} within {timeout} s")

    def ready(self) -> None:
        """Raises until the server answers a request (it listens before it serves)."""
        from pymilvus import MilvusClient

        client = MilvusClient(uri=f"http://127.0.0.1:{self.port}", timeout=2)
        try:
            client.list_collections()
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except Exception:  # noqa: BLE001
                self.process.kill()
                self.process.wait(10)
        self.process = None

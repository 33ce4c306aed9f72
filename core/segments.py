"""A segment: an immutable part of a build holding some documents, written once and never
changed. A build is a list of segments (in its manifest) with, for each, the documents that no
longer count (replaced or removed since it was written). Adding or changing a document writes a
small new segment; unchanged segments are hard-linked into the new build, not copied.

    segments/<name>/
      passages.sqlite     documents, passages (with their sentence spans) and keyword terms
      passages.npy        passage vectors (float16, memory-mapped when read)
      sentences.npy       sentence vectors (float16)
      first_sentence.npy  sentence row of each passage's first sentence, and the total (int64)
      doc_lengths.npy     keyword tokens per passage (int32), for BM25
      postings_rows.npy   for each keyword term (terms table: start..stop), the passages that
      postings_tf.npy     have it and how often (int32, float32)
      passages.faiss      the candidate indexes: exact (flat) while small, approximate (IVF with
      sentences.faiss     8-bit scalar quantisation) from `ann_min_vectors` vectors on
      texts/<sha256>.txt  the extracted text of web pages, PDFs and Word files

Both sides use this module: ingest writes segments, search opens them (`Segment`).
"""
from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .documents.find import file_sha256
from .passage import Passage
from .text import keyword_token_lists, word_counts

SEGMENTS = "segments"
DB = "passages.sqlite"
PASSAGE_VECTORS = "passages.npy"
SENTENCE_VECTORS = "sentences.npy"
FIRST_SENTENCE = "first_sentence.npy"
DOC_LENGTHS = "doc_lengths.npy"
POSTINGS_ROWS = "postings_rows.npy"
POSTINGS_TF = "postings_tf.npy"
PASSAGE_INDEX = "passages.faiss"
SENTENCE_INDEX = "sentences.faiss"
TEXTS = "texts"
VERIFY_BYTES = 256 * 1024 * 1024  # segments up to this size are checked byte for byte at load
VECTOR_DTYPE = "float16"  # the eval figures are the same as with float32 (docs/scale.md)

FIELDS = ("id", "source", "title", "section", "question", "kind", "paragraph", "paragraph_end",
          "start", "end", "text", "sentences", "page")
SCHEMA = """
CREATE TABLE documents (source TEXT PRIMARY KEY, sha256 TEXT NOT NULL,
                        first_row INTEGER NOT NULL, stop_row INTEGER NOT NULL, text_file TEXT);
CREATE TABLE passages (row INTEGER PRIMARY KEY, id TEXT NOT NULL, source TEXT NOT NULL,
                       title TEXT, section TEXT, question TEXT, kind TEXT, paragraph INTEGER,
                       paragraph_end INTEGER, start INTEGER, "end" INTEGER, text TEXT NOT NULL,
                       sentences TEXT NOT NULL, page INTEGER);
CREATE INDEX passages_id ON passages (id);
CREATE INDEX passages_source ON passages (source);
CREATE TABLE terms (term TEXT PRIMARY KEY, start INTEGER NOT NULL, stop INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE words (word TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class SegmentEntry:
    """A segment as the build's manifest lists it."""
    name: str
    documents: int
    passages: int
    sentences: int
    ann: dict[str, str]  # "passages", "sentences" -> "flat" or the approximate index's FAISS factory string
    files: dict[str, str] = field(default_factory=dict)  # each file (relative) -> its sha256
    deleted: tuple[str, ...] = ()  # sources of this segment that no longer count

    def to_json(self) -> dict:
        return {"name": self.name, "documents": self.documents, "passages": self.passages,
                "sentences": self.sentences, "ann": dict(self.ann), "files": dict(self.files),
                "deleted": list(self.deleted)}

    @classmethod
    def from_json(cls, d: dict) -> "SegmentEntry":
        if not (isinstance(d, dict) and isinstance(d.get("name"), str) and "/" not in d["name"]
                and d["name"] not in ("", ".", "..") and isinstance(d.get("deleted"), list)
                and isinstance(d.get("files"), dict) and isinstance(d.get("ann"), dict)):
            raise ValueError("a segment entry is malformed")
        return cls(d["name"], int(d["documents"]), int(d["passages"]), int(d["sentences"]),
                   {str(k): str(v) for k, v in d["ann"].items()}, {str(k): str(v) for k, v in d["files"].items()},
                   tuple(str(s) for s in d["deleted"]))


@dataclass
class SegmentDocument:
    """One document as a segment holds it."""
    source: str
    sha256: str
    passages: list[Passage]
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray
    text: str | None = None  # the extracted text (formats other than plain text)
    pages: tuple[int, ...] = ()  # PDF: where each page starts in `text`


# --- writing ---------------------------------------------------------------------------------

def write_segment(folder: Path, name: str, documents: list[SegmentDocument],
                  ann_min_vectors: int) -> SegmentEntry:
    """Write the documents as a new segment in `folder` (which must not exist yet). Files are
    flushed by the caller (the whole build is flushed before it is named)."""
    folder.mkdir(parents=True)
    passages = [p for d in documents for p in d.passages]
    dim = documents[0].passage_vectors.shape[1] if documents else 0
    pv = to_stored(np.concatenate([d.passage_vectors for d in documents]) if documents else np.zeros((0, dim)))
    sv = to_stored(np.concatenate([d.sentence_vectors for d in documents]) if documents else np.zeros((0, dim)))
    per = np.array([len(p.sentences) for p in passages], dtype="int64")
    first = np.concatenate([[0], np.cumsum(per)]).astype("int64")
    if first[-1] != sv.shape[0] or pv.shape[0] != len(passages):
        raise ValueError("the vectors do not match the passages")

    tokens = keyword_token_lists([keyword_text(p) for p in passages])
    terms, starts, stops, rows, tfs, lengths = postings(tokens)

    db = sqlite3.connect(folder / DB)
    try:
        db.executescript(SCHEMA)
        row = 0
        for d in documents:
            text_file = None
            if d.text is not None:
                (folder / TEXTS).mkdir(exist_ok=True)
                text_file = f"{TEXTS}/{d.sha256}.txt"
                (folder / text_file).write_bytes(d.text.encode("utf-8"))
            db.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?)",
                       (d.source, d.sha256, row, row + len(d.passages), text_file))
            row += len(d.passages)
        db.executemany(
            "INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((i, p.id, p.source, p.title, p.section, p.question, p.kind, p.paragraph, p.paragraph_end,
              p.start, p.end, p.text, json.dumps(p.sentences), p.page) for i, p in enumerate(passages)))
        db.executemany("INSERT INTO terms VALUES (?, ?, ?)", zip(terms, starts.tolist(), stops.tolist()))
        db.executemany("INSERT INTO words VALUES (?, ?)",
                       sorted(word_counts(keyword_text(p) for p in passages).items()))
        db.commit()
    finally:
        db.close()
    for file, array in ((PASSAGE_VECTORS, pv), (SENTENCE_VECTORS, sv), (FIRST_SENTENCE, first),
                        (DOC_LENGTHS, lengths), (POSTINGS_ROWS, rows), (POSTINGS_TF, tfs)):
        np.save(folder / file, array, allow_pickle=False)
    kinds = {"passages": ann_kind(len(pv), ann_min_vectors), "sentences": ann_kind(len(sv), ann_min_vectors)}
    write_faiss(folder / PASSAGE_INDEX, pv, kinds["passages"])
    write_faiss(folder / SENTENCE_INDEX, sv, kinds["sentences"])
    return SegmentEntry(name, len(documents), len(passages), int(sv.shape[0]), kinds, checksums(folder))


def checksums(folder: Path) -> dict[str, str]:
    """The sha256 of every file of a segment but the stored texts (each document's text has
    its own in the manifest, so that damage to one re-reads that document only)."""
    return {f.name: file_sha256(f) for f in sorted(folder.iterdir()) if f.is_file()}


def verify(folder: Path, entry: SegmentEntry) -> None:
    """ValueError unless the segment holds exactly the files of its entry, unaltered (checked
    in full when the segment is smaller than VERIFY_BYTES; above, their presence and sizes are
    checked, and the shapes by `Segment`)."""
    wrong = damaged_files(folder, entry, VERIFY_BYTES)
    if wrong:
        raise ValueError(f"segment {entry.name}: {wrong[0]}")


def damaged_files(folder: Path, entry: SegmentEntry, full_up_to: int | None = None) -> list[str]:
    """What is wrong with the segment's files: missing or unexpected ones, and ones whose sha256
    is not the entry's (read only when the segment is at most `full_up_to` bytes; None: always)."""
    present = {f.name: f for f in folder.iterdir() if f.is_file()} if folder.is_dir() else {}
    missing, extra = sorted(set(entry.files) - set(present)), sorted(set(present) - set(entry.files))
    wrong = ([f"files missing {missing[:3]}"] if missing else []) + ([f"files unexpected {extra[:3]}"] if extra else [])
    if wrong or (full_up_to is not None and sum(f.stat().st_size for f in present.values()) > full_up_to):
        return wrong
    return [f"{name} does not match its sha256 (damaged or altered)"
            for name, path in sorted(present.items()) if file_sha256(path) != entry.files[name]]


def keyword_text(p: Passage) -> str:
    """What the keyword index sees of a passage: its section, question and text."""
    return f"{p.section} {p.question} {p.text}"


def to_stored(vectors: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(vectors, dtype=VECTOR_DTYPE)


def postings(tokens: list[list[str]]):
    """(terms, start, stop, rows, tf, lengths): for each term (sorted), the range of `rows` and
    `tf` holding the passages that have it and how often; and the tokens of each passage."""
    lengths = np.array([len(t) for t in tokens], dtype="int32")
    vocab: dict[str, int] = {}
    ids = np.array([vocab.setdefault(t, len(vocab)) for ts in tokens for t in ts], dtype="int64")
    owner = np.repeat(np.arange(len(tokens), dtype="int64"), lengths)
    names = np.array(list(vocab), dtype=object)
    order = np.argsort(names.astype(str)) if len(names) else np.zeros(0, dtype="int64")
    rank = np.empty(len(names), dtype="int64")
    rank[order] = np.arange(len(names))
    pairs, tf = np.unique(rank[ids] * max(len(tokens), 1) + owner, return_counts=True) if len(ids) \
        else (np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64"))
    term_of = pairs // max(len(tokens), 1)
    rows = (pairs % max(len(tokens), 1)).astype("int32")
    bounds = np.searchsorted(term_of, np.arange(len(names) + 1))
    return ([str(n) for n in names[order]], bounds[:-1], bounds[1:], rows,
            tf.astype("float32"), lengths)


def ann_kind(n_vectors: int, ann_min_vectors: int) -> str:
    """Exact search while small; above, an inverted file with 8-bit vectors and about
    4 x sqrt(n) lists (each list trained on at least 40 vectors)."""
    if n_vectors < max(ann_min_vectors, 1000):
        return "flat"
    return f"IVF{int(min(4 * np.sqrt(n_vectors), n_vectors / 40))},SQ8"


def write_faiss(path: Path, vectors: np.ndarray, kind: str) -> None:
    import faiss

    x = np.ascontiguousarray(vectors, dtype="float32")
    dim = x.shape[1] if x.ndim == 2 and x.shape[1] else 1
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.index_factory(dim, kind, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = x[np.sort(rng.choice(len(x), min(len(x), 50 * index.nlist), replace=False))]
        index.train(sample)
    if len(x):
        index.add(x)
    faiss.write_index(index, str(path))


# --- reading ---------------------------------------------------------------------------------

class Segment:
    """A segment opened for searching: vectors and postings memory-mapped, passages read from
    SQLite on demand. Raises ValueError (or OSError, sqlite3.Error) when a file is damaged or
    does not agree with the manifest's entry."""

    def __init__(self, folder: Path, entry: SegmentEntry, dimension: int, candidate_indexes: bool = True):
        import faiss

        self.folder, self.entry = Path(folder), entry
        verify(self.folder, entry)
        load = lambda name: np.load(self.folder / name, mmap_mode="r", allow_pickle=False)  # noqa: E731
        self.passage_vectors = load(PASSAGE_VECTORS)
        self.sentence_vectors = load(SENTENCE_VECTORS)
        self.first_sentence = np.array(load(FIRST_SENTENCE), dtype="int64")
        self.doc_lengths = np.array(load(DOC_LENGTHS), dtype="float64")
        self.postings_rows = load(POSTINGS_ROWS)
        self.postings_tf = load(POSTINGS_TF)
        self.passage_index = self.sentence_index = None
        if candidate_indexes:  # not needed to plan or merge
            self.passage_index = faiss.read_index(str(self.folder / PASSAGE_INDEX))
            self.sentence_index = faiss.read_index(str(self.folder / SENTENCE_INDEX))
        n, s = entry.passages, entry.sentences
        shapes_agree = (
            self.passage_vectors.shape == (n, dimension) and self.sentence_vectors.shape == (s, dimension)
            and self.first_sentence.shape == (n + 1,) and self.first_sentence[0] == 0
            and self.first_sentence[-1] == s and bool(np.all(np.diff(self.first_sentence) >= 0))
            and self.doc_lengths.shape == (n,) and self.postings_rows.shape == self.postings_tf.shape
            and (not candidate_indexes or (
                self.passage_index.ntotal == n and self.sentence_index.ntotal == s
                and self.passage_index.d == self.sentence_index.d == dimension))
        )
        if not shapes_agree:
            raise ValueError(f"the files of segment {entry.name} do not agree with each other or "
                             f"with the manifest ({n} passages, {s} sentences of {dimension} dimensions)")
        self.lock = threading.Lock()
        self.db = sqlite3.connect(f"file:{self.folder / DB}?mode=ro&immutable=1", uri=True,
                                  check_same_thread=False)
        self.documents = {source: (sha, first, stop, text_file) for source, sha, first, stop, text_file
                          in self.query("SELECT source, sha256, first_row, stop_row, text_file FROM documents")}
        count = self.query("SELECT count(*), coalesce(max(row), -1) FROM passages")[0]
        if count != (n, n - 1) or sum(stop - first for _, first, stop, _ in self.documents.values()) != n:
            raise ValueError(f"the passages table of segment {entry.name} does not hold {n} passages")
        if self.postings_rows.size and int(self.postings_rows.max()) >= n:
            raise ValueError(f"the keyword postings of segment {entry.name} name passages it does not have")

    def query(self, sql: str, args=()) -> list[tuple]:
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def passages(self, rows) -> list[Passage]:
        """The passages at these local rows, in the order asked."""
        rows = [int(r) for r in rows]
        found: dict[int, Passage] = {}
        for at in range(0, len(rows), 500):
            chunk = rows[at:at + 500]
            marks = ",".join("?" * len(chunk))
            for values in self.query(f"SELECT row, {', '.join(map(quote_name, FIELDS))} FROM passages "
                                     f"WHERE row IN ({marks})", chunk):
                found[values[0]] = passage_from_row(values[1:])
        return [found[r] for r in rows]

    def iter_passages(self, batch: int = 2000):
        """Every passage in row order, read in batches."""
        for at in range(0, self.entry.passages, batch):
            yield from self.passages(range(at, min(at + batch, self.entry.passages)))

    def with_question(self) -> list[tuple[int, Passage]]:
        """(row, passage) of the passages under an FAQ question, in row order."""
        return [(values[0], passage_from_row(values[1:])) for values in self.query(
            f"SELECT row, {', '.join(map(quote_name, FIELDS))} FROM passages WHERE question != '' ORDER BY row")]

    def row_of_id(self, passage_id: str) -> int | None:
        found = self.query("SELECT row FROM passages WHERE id = ? ORDER BY row LIMIT 1", (passage_id,))
        return found[0][0] if found else None

    def term_ranges(self, terms: list[str]) -> dict[str, tuple[int, int]]:
        if not terms:
            return {}
        marks = ",".join("?" * len(terms))
        return {t: (a, b) for t, a, b in self.query(f"SELECT term, start, stop FROM terms WHERE term IN ({marks})",
                                                    list(terms))}

    def word_counts(self, words: list[str]) -> dict[str, int]:
        """How often each of these words occurs in the segment's passages (absent: never)."""
        out: dict[str, int] = {}
        for at in range(0, len(words), 900):
            chunk = words[at:at + 900]
            marks = ",".join("?" * len(chunk))
            out.update(self.query(f"SELECT word, count FROM words WHERE word IN ({marks})", chunk))
        return out

    def close(self) -> None:
        self.db.close()


def quote_name(name: str) -> str:
    return f'"{name}"'


def passage_from_row(values) -> Passage:
    d = dict(zip(FIELDS, values))
    d["sentences"] = tuple(tuple(s) for s in json.loads(d["sentences"]))
    return Passage(**d)

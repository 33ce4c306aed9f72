"""The store interface (see search/store.py) on a Milvus collection (core/milvus.py): candidates
from Milvus' own searches (dense vectors, sentence vectors, server-side BM25, the document
filter inside Milvus), passages and exact vectors read by row for the candidates only; the
fusion, evidence, MMR, quotes and citations are the same code as for an index folder.

Rows and positions as in LocalStore: a position is a passage's Milvus row (its primary key),
rows number the passages that count 0..len-1 in document order. Milvus may also hold rows that
do not count (an ingest killed before its commit, documents replaced since): they are never
returned. A server that stops answering raises StoreUnavailable (a fix-it message); the same
client answers again once the server is back.
"""
from __future__ import annotations

import functools
from collections import Counter
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from core import index_format as fmt
from core import milvus
from core.errors import IndexCorrupt, IndexMissing, IndexStale, StoreUnavailable
from core.index_format import Manifest
from core.passage import Passage
from core.settings import Settings, cache_folder
from core.text import keyword_terms

from .keywords import length_norm, query_weights, word_share

MILVUS_LIMIT = 16_384  # the most hits one Milvus search returns
CACHE_ROWS = 20_000  # passages kept by a store after they were read (fields, vector, terms)


def reaching(method):
    """Turns a failure to reach the server into StoreUnavailable (see `milvus.reaching`)."""
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        client = self.store.client if isinstance(self, MilvusKeywords) else self.client
        return milvus.reaching(client, self.address, lambda: method(self, *args, **kwargs))
    return call


class MilvusStore:
    def __init__(self, client, address: milvus.Address, manifest: Manifest):
        self.client, self.address = client, address
        self.dimension = manifest.dimension
        docs = sorted(manifest.store.get("documents", {}).items(), key=lambda kv: kv[1][0])
        self.sources = [s for s, _ in docs]
        self.firsts = np.array([int(r[0]) for _, r in docs], dtype="int64")
        self.stops = np.array([int(r[1]) for _, r in docs], dtype="int64")
        self.total = int(manifest.store.get("next_row", 0))
        self.keyword_tokens = int(manifest.store.get("keyword_tokens", 0))
        self.live_positions = np.concatenate([np.arange(a, b) for a, b in zip(self.firsts, self.stops)]) \
            if docs else np.zeros(0, dtype="int64")
        self.live = np.zeros(self.total, dtype=bool)
        self.live[self.live_positions] = True
        self.size = len(self.live_positions)
        self.cache: dict[int, dict] = {}  # position -> its row (see rows_at)

    # --- rows and positions ----------------------------------------------------------------

    def __len__(self) -> int:
        return self.size

    def positions(self, rows) -> np.ndarray:
        return self.live_positions[np.asarray(rows, dtype="int64")]

    def rows(self, positions) -> np.ndarray:
        return np.searchsorted(self.live_positions, np.asarray(positions, dtype="int64"))

    def counted(self, positions) -> np.ndarray:
        """The positions that count, in the order given."""
        positions = np.asarray(positions, dtype="int64")
        inside = (positions >= 0) & (positions < self.total)
        positions = positions[inside]
        return positions[self.live[positions]]

    # --- passages and documents --------------------------------------------------------------

    @reaching
    def rows_at(self, positions) -> list[dict]:
        """What Milvus holds of each passage at these positions (its fields, vector and keyword
        terms), read in one query per BATCH rows; kept (a row's content never changes: rows
        are never reused), up to CACHE_ROWS of them."""
        positions = [int(p) for p in np.asarray(positions, dtype="int64")]
        wanted = [p for p in dict.fromkeys(positions) if p not in self.cache]
        if wanted:
            fields = milvus.PASSAGE_FIELDS + ["vector", "keywords"]
            found = {}
            for expr in milvus.rows_filter(wanted):
                for r in self.client.query(self.address.name("passages"), filter=expr, output_fields=fields):
                    found[int(r["row"])] = {"passage": milvus.passage_of(r), "vector": r["vector"],
                                            "terms": [bytes.fromhex(t).decode("utf-8") for t in r["keywords"].split()]}
            missing = [p for p in wanted if p not in found]
            if missing:
                raise IndexCorrupt(f"The Milvus collection {self.address} has lost passages its manifest "
                                   f"lists (rows {missing[:5]}). {fmt.rebuild_hint(str(self.address))} --full")
            out = [found.get(p) or self.cache[p] for p in positions]
            if len(self.cache) + len(found) > CACHE_ROWS:
                self.cache.clear()
            self.cache.update(found)
            return out
        return [self.cache[p] for p in positions]

    @reaching
    def passages(self, rows) -> list[Passage]:
        return [r["passage"] for r in self.rows_at(self.positions(rows))]

    def iter_passages(self):
        for at in range(0, self.size, milvus.BATCH):
            yield from self.passages(range(at, min(at + milvus.BATCH, self.size)))

    @reaching
    def with_question(self) -> list[Passage]:
        hits = self.client.query(self.address.name("passages"), filter='question != ""', output_fields=["row"])
        rows = self.rows(self.counted(sorted(int(h["row"]) for h in hits)))
        return self.passages(rows)

    @reaching
    def row_of_id(self, passage_id: str) -> int | None:
        hits = self.client.query(self.address.name("passages"), filter=f"id == {milvus.literal(passage_id)}",
                                 output_fields=["row"])
        counted = self.counted([int(h["row"]) for h in hits])
        return int(self.rows(counted[:1])[0]) if len(counted) else None

    def documents(self) -> list[tuple[str, int, int]]:
        out = []
        for source, a, b in zip(self.sources, self.firsts, self.stops):
            if b > a:
                first, last = self.rows([a, b - 1])
                out.append((source, int(first), int(last) + 1))
        return out

    @reaching
    def word_counts(self, words: list[str]) -> dict[str, int]:
        counts = milvus.counts_of(self.client, self.address, [f"word:{w}" for w in words])
        return {w: counts[f"word:{w}"] for w in words if counts[f"word:{w}"] > 0}

    def allowed(self, sources: list[str] | None) -> np.ndarray | None:
        if not sources:
            return None if self.size == self.total else self.live
        mask = np.zeros(self.total, dtype=bool)
        wanted = set(sources)
        for source, a, b in zip(self.sources, self.firsts, self.stops):
            if source in wanted:
                mask[a:b] = True
        return mask

    def filter(self, allowed: np.ndarray | None) -> str:
        """The Milvus filter for `allowed`: the row ranges of the documents it admits (passages
        and sentences both carry the row), '' for every document that counts."""
        if allowed is None or not len(self.firsts):
            return ""
        kept = self.stops > self.firsts
        firsts, stops = self.firsts[kept], self.stops[kept]
        admitted = allowed[firsts]
        if admitted.all():
            return ""
        return milvus.ranges_filter(zip(firsts[admitted], stops[admitted])) or "row < 0"

    # --- vectors -------------------------------------------------------------------------------

    @reaching
    def passage_vectors(self, rows) -> np.ndarray:
        found = self.rows_at(self.positions(rows))
        return np.array([r["vector"] for r in found], dtype="float32").reshape(len(found), self.dimension)

    @reaching
    def sentence_vectors(self, rows) -> list[np.ndarray]:
        """The vectors of each passage's sentences, read by their keys (row and number)."""
        positions = [int(p) for p in self.positions(rows)]
        unique = list(dict.fromkeys(positions))
        counts = {p: len(r["passage"].sentences) for p, r in zip(unique, self.rows_at(unique))}
        keys = [milvus.sentence_key(p, n) for p in unique for n in range(counts[p])]
        found = {}
        for expr in milvus.rows_filter(keys, "key"):
            for r in self.client.query(self.address.name("sentences"), filter=expr, output_fields=["key", "vector"]):
                found[int(r["key"])] = r["vector"]
        out = []
        for p in positions:
            vs = [found[milvus.sentence_key(p, n)] for n in range(counts[p])]
            out.append(np.array(vs, dtype="float32").reshape(counts[p], self.dimension))
        return out

    def in_document_order(self) -> tuple[list[Passage], np.ndarray, np.ndarray]:
        passages = self.passages(range(len(self)))
        order = sorted(range(len(passages)), key=lambda i: (passages[i].source, passages[i].start))
        sentences = self.sentence_vectors(order)
        return ([passages[i] for i in order], self.passage_vectors(order),
                np.concatenate(sentences) if sentences else np.zeros((0, self.dimension), dtype="float32"))

    # --- candidates ----------------------------------------------------------------------------

    @reaching
    def dense_candidates(self, vector, n: int, allowed, nprobe: int) -> np.ndarray:
        hits = self.search("passages", "vector", [np.asarray(vector, dtype="float32").tolist()], n,
                           allowed, ["row"])
        return self.counted([int(h["entity"]["row"]) for h in hits])[:n]

    @reaching
    def sentence_candidates(self, vector, n: int, allowed, nprobe: int) -> np.ndarray:
        hits = self.search("sentences", "vector", [np.asarray(vector, dtype="float32").tolist()], n,
                           allowed, ["row"])
        rows = [int(h["entity"]["row"]) for h in hits]
        seen = dict.fromkeys(int(r) for r in self.counted(rows))
        return np.array(list(seen), dtype="int64")

    def search(self, part: str, field: str, data, n: int, allowed, output: list[str]) -> list:
        metric = "BM25" if field == "sparse" else "IP"
        return self.client.search(self.address.name(part), data=data, anns_field=field,
                                  limit=max(1, min(n, MILVUS_LIMIT)), filter=self.filter(allowed),
                                  output_fields=output, search_params={"metric_type": metric})[0]

    def keywords(self) -> "MilvusKeywords":
        return MilvusKeywords(self, self.keyword_tokens)


class TermCounts:
    """The query's keyword terms and how many passages have each (what `Postings` gives the
    evidence for an index folder)."""

    def __init__(self, counts: dict[str, int]):
        self.counts = {t: c for t, c in counts.items() if c > 0}

    def df(self, term: str) -> int:
        return self.counts.get(term, 0)


class MilvusKeywords:
    """Keyword candidates from Milvus' own BM25 function over the passages' keyword terms (the
    local index's terms, the same k1 and b); their BM25 then computed here, as the local index
    does, from the terms Milvus keeps with each passage and the term counts kept in meta (Milvus
    scores the same passages in the same order, but with a filter its scores drift)."""

    def __init__(self, store: MilvusStore, keyword_tokens: int):
        self.store, self.address = store, store.address
        self.size = len(store)
        self.avgdl = keyword_tokens / self.size if self.size and keyword_tokens else 1.0

    @reaching
    def postings(self, terms) -> TermCounts:
        terms = sorted(set(terms))
        counts = milvus.counts_of(self.store.client, self.store.address, [f"term:{t}" for t in terms])
        return TermCounts({t: counts[f"term:{t}"] for t in terms})

    @reaching
    def search(self, query: str, n: int, allowed) -> np.ndarray:
        """Positions of the n passages Milvus' BM25 ranks first for the query."""
        text = milvus.keyword_field(keyword_terms(query))
        if not text:
            return np.zeros(0, dtype="int64")
        hits = self.store.search("passages", "sparse", [text], n, allowed, ["row"])
        return self.store.counted([int(h["entity"]["row"]) for h in hits])

    @reaching
    def terms(self, positions) -> dict[int, list[str]]:
        """Each position's keyword terms, as Milvus keeps them."""
        positions = [int(p) for p in positions]
        return {p: r["terms"] for p, r in zip(positions, self.store.rows_at(positions))}

    def at(self, query: str, postings, positions, terms=None) -> np.ndarray:
        """BM25 at these positions, as KeywordIndex computes it."""
        positions = np.asarray(positions, dtype="int64")
        weights = query_weights(query, postings.df, self.size)
        out = np.zeros(len(positions))
        if not weights or not len(positions):
            return out
        found = self.terms(positions)
        for i, p in enumerate(positions.tolist()):
            have = Counter(found.get(p, []))
            norm = float(length_norm(sum(have.values()), self.avgdl))
            out[i] = sum(w * have[t] / (norm + have[t]) for t, w in weights.items() if have[t])
        return out

    def top(self, query: str, postings, n: int, allowed=None) -> tuple[np.ndarray, np.ndarray]:
        positions = self.search(query, n, allowed)
        scores = self.at(query, postings, positions)
        keep = scores > 0
        return positions[keep], scores[keep]

    def scores(self, query: str, postings=None, allowed=None) -> np.ndarray | None:
        postings = postings or self.postings(keyword_terms(query))
        if not query_weights(query, postings.df, self.size):
            return None
        out = np.zeros(self.store.total)
        positions = self.search(query, len(self.store), allowed)
        out[positions] = self.at(query, postings, positions)
        return out

    def coverage(self, query: str, rows, postings=None) -> np.ndarray:
        """For each passage row, the idf-weighted share of the query's words it contains."""
        qterms = set(keyword_terms(query))
        if not qterms:
            return np.zeros(len(rows))
        postings = postings or self.postings(qterms)
        positions = self.store.positions(rows)
        found = self.terms(positions)
        have_terms = [set(found.get(int(p), [])) for p in positions]
        return word_share(qterms, postings.df, self.size, len(positions), lambda t: [t in ts for ts in have_terms])


# --- loading -----------------------------------------------------------------------------------

def mirror(client, address: milvus.Address, build: str, manifest: Manifest, root: Path | None = None) -> Path:
    """A local folder for the build's small files: its manifest, its extracted texts (for the
    reader and quote checks) and the caches derived from it (calibration, theme map). Written
    to a temporary folder and renamed into place; kept per build."""
    base = (root or cache_folder("milvus")) / hashlib.sha256(str(address).encode()).hexdigest()[:16]
    folder = base / build
    if (folder / fmt.MANIFEST).is_file():
        return folder
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".mirror-", dir=base))
    try:
        work.chmod(0o755)
        chunks = manifest.store.get("text_chunks", {})
        keys = [f"{milvus.text_key(sha)}:{n}" for sha, count in chunks.items() for n in range(int(count))]
        found = milvus.read_meta(client, address, keys)  # by key: BATCH texts' chunks per query
        for entry in manifest.texts.values():
            sha = Path(entry.file).stem
            parts = [found.get(f"{milvus.text_key(sha)}:{n}") for n in range(int(chunks.get(sha, 0)))]
            if not parts or None in parts:
                raise IndexCorrupt(f"The Milvus collection {address} has lost the stored text of "
                                   f"{entry.file}. {fmt.rebuild_hint(str(address))} --full")
            target = work / entry.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes("".join(parts).encode("utf-8"))
        (work / fmt.MANIFEST).write_text(json.dumps(manifest.to_json(), ensure_ascii=False), encoding="utf-8")
        try:
            os.replace(work, folder)
        except OSError:
            if not (folder / fmt.MANIFEST).is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def load_milvus(address: milvus.Address, settings: Settings, check_corpus: bool = True):
    """The committed build of the collection as a LoadedIndex, refused as an index folder is:
    IndexMissing, IndexMismatch, IndexStale, IndexCorrupt, or StoreUnavailable."""
    from .loading import LoadedIndex, corpus_changes

    client = milvus.connect(address)
    hint = fmt.rebuild_hint(str(address))
    try:
        found = None
        if milvus.has_collections(client, address):
            milvus.load_collections(client, address)
            found = milvus.read_manifest_json(client, address)
        if found is None:
            raise IndexMissing(f"The Milvus collection {address} holds no index yet. Build it with: "
                               f"python -m ingest --store {address} FOLDER")
        build, data = found
        try:
            manifest = Manifest.from_json(data)
        except (ValueError, KeyError, TypeError) as err:
            raise IndexCorrupt(f"The manifest kept in {address} cannot be read ({err}). {hint}") from err
        problem = manifest.mismatch(settings, str(address))
        if problem is not None:
            raise problem
        if check_corpus:
            changes = corpus_changes(manifest)
            if changes:
                raise IndexStale(f"The index in {address} is out of date: {changes}. {hint} "
                                 + " ".join(manifest.corpus.paths))
        folder = mirror(client, address, build, manifest)
    except (IndexMissing, IndexCorrupt, IndexStale, StoreUnavailable):
        raise
    except Exception as exc:  # noqa: BLE001
        if milvus.is_connection_error(exc):
            raise milvus.down(address, exc) from exc
        raise
    return LoadedIndex(folder.parent, folder, manifest, MilvusStore(client, address, manifest))

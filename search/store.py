"""The one small interface through which search reaches documents, passages and candidates
(the local index folder here; the ranking code does not know which store it talks to).

Rows: the passages that count are numbered 0..len-1 across the build's segments, in segment
order; a passage of a replaced or removed document has no row. Internally a position is a
passage's place in the concatenated segments, dead ones included (`positions`/`rows` convert).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core import index_format as fmt
from core.passage import Passage
from core.segments import Segment


class LocalStore:
    """The segments of one build, opened: candidates from each segment's FAISS indexes,
    passages from SQLite, exact vectors from the memory-mapped arrays."""

    def __init__(self, build: fmt.Build):
        self.segments: list[Segment] = build.segments
        sizes = [s.entry.passages for s in self.segments]
        self.base = np.concatenate([[0], np.cumsum(sizes)]).astype("int64")
        masks = []
        for seg in self.segments:
            mask = np.ones(seg.entry.passages, dtype=bool)
            for source in seg.entry.deleted:
                _, first, stop, _ = seg.documents.get(source, (None, 0, 0, None))
                mask[first:stop] = False
            masks.append(mask)
        self.live = np.concatenate(masks) if masks else np.zeros(0, dtype=bool)
        self.live_positions = None if self.live.all() else np.flatnonzero(self.live)
        self.size = int(self.live.sum())

    # --- rows and positions ----------------------------------------------------------------

    def __len__(self) -> int:
        return self.size

    @property
    def total(self) -> int:
        """Positions, dead ones included."""
        return int(self.base[-1])

    def positions(self, rows) -> np.ndarray:
        rows = np.asarray(rows, dtype="int64")
        return rows if self.live_positions is None else self.live_positions[rows]

    def rows(self, positions) -> np.ndarray:
        positions = np.asarray(positions, dtype="int64")
        return positions if self.live_positions is None else np.searchsorted(self.live_positions, positions)

    def split(self, positions: np.ndarray):
        """(segment number, segment, local rows, indexes into `positions`) for each segment."""
        which = np.searchsorted(self.base, positions, side="right") - 1
        for n, seg in enumerate(self.segments):
            at = np.flatnonzero(which == n)
            if len(at):
                yield n, seg, positions[at] - self.base[n], at

    # --- passages and documents --------------------------------------------------------------

    def passages(self, rows) -> list[Passage]:
        """The passages at these rows, in the order asked."""
        positions = self.positions(rows)
        out: list[Passage | None] = [None] * len(positions)
        for _, seg, local, at in self.split(positions):
            for i, p in zip(at, seg.passages(local)):
                out[i] = p
        return out

    def iter_passages(self):
        """Every passage that counts, in row order."""
        for n, seg in enumerate(self.segments):
            live = self.live[self.base[n]:self.base[n + 1]]
            for local, p in enumerate(seg.iter_passages()):
                if live[local]:
                    yield p

    def with_question(self) -> list[Passage]:
        """The passages under an FAQ question that count, in row order."""
        return [p for n, seg in enumerate(self.segments) for local, p in seg.with_question()
                if self.live[self.base[n] + local]]

    def row_of_id(self, passage_id: str) -> int | None:
        for n, seg in enumerate(self.segments):
            local = seg.row_of_id(passage_id)
            if local is not None and self.live[self.base[n] + local]:
                return int(self.rows([self.base[n] + local])[0])
        return None

    def documents(self) -> list[tuple[str, int, int]]:
        """(source, first row, end row) of each document that counts, in row order."""
        out = []
        for n, seg in enumerate(self.segments):
            for source, (_, first, stop, _) in sorted(seg.documents.items(), key=lambda kv: kv[1][1]):
                if source not in seg.entry.deleted and stop > first:
                    a, b = self.rows([self.base[n] + first, self.base[n] + stop - 1])
                    out.append((source, int(a), int(b) + 1))
        return out

    def word_counts(self, words: list[str]) -> dict[str, int]:
        """How often each word occurs in the passages (for typo repair; a replaced document's
        words still count until its segment is merged)."""
        total: dict[str, int] = {}
        for seg in self.segments:
            for word, count in seg.word_counts(words).items():
                total[word] = total.get(word, 0) + count
        return total

    def allowed(self, sources: list[str] | None) -> np.ndarray | None:
        """The positions a search may return: live ones, of the given documents when named
        (None: every position counts, nothing is filtered)."""
        if not sources:
            return None if self.live_positions is None else self.live
        mask = np.zeros(self.total, dtype=bool)
        wanted = set(sources)
        for n, seg in enumerate(self.segments):
            for source, (_, first, stop, _) in seg.documents.items():
                if source in wanted and source not in seg.entry.deleted:
                    mask[self.base[n] + first:self.base[n] + stop] = True
        return mask

    # --- vectors -------------------------------------------------------------------------------

    def passage_vectors(self, rows) -> np.ndarray:
        positions = self.positions(rows)
        dim = self.segments[0].passage_vectors.shape[1] if self.segments else 0
        out = np.zeros((len(positions), dim), dtype="float32")
        for _, seg, local, at in self.split(positions):
            order = np.argsort(local)  # read the memory map in file order
            out[at[order]] = seg.passage_vectors[local[order]]
        return out

    def sentence_vectors(self, rows) -> list[np.ndarray]:
        """The vectors of each passage's sentences, one array per row."""
        positions = self.positions(rows)
        out: list[np.ndarray] = [None] * len(positions)
        for _, seg, local, at in self.split(positions):
            first, stop = seg.first_sentence[local], seg.first_sentence[local + 1]
            take = np.concatenate([np.arange(a, b) for a, b in zip(first, stop)]) if len(local) else []
            block = np.asarray(seg.sentence_vectors[np.asarray(take, dtype="int64")], dtype="float32")
            ends = np.cumsum(stop - first)
            for i, piece in zip(at, np.split(block, ends[:-1])):
                out[i] = piece
        return out

    def in_document_order(self) -> tuple[list[Passage], np.ndarray, np.ndarray]:
        """(passages, their vectors, their sentences' vectors) ordered by document and offset:
        what two builds of the same documents must agree on, whatever their segments."""
        passages = self.passages(range(len(self)))
        order = sorted(range(len(passages)), key=lambda i: (passages[i].source, passages[i].start))
        sentences = self.sentence_vectors(order)
        dim = self.segments[0].passage_vectors.shape[1] if self.segments else 0
        return ([passages[i] for i in order], self.passage_vectors(order),
                np.concatenate(sentences) if sentences else np.zeros((0, dim), dtype="float32"))

    def keywords(self):
        from .keywords import KeywordIndex

        return KeywordIndex(self)

    # --- candidates ----------------------------------------------------------------------------

    def dense_candidates(self, vector: np.ndarray, n: int, allowed: np.ndarray | None,
                         nprobe: int) -> np.ndarray:
        """Positions of the n passages whose vectors are closest to the query vector."""
        found = [(seg.passage_index, None, self.base[k], k) for k, seg in enumerate(self.segments)]
        return self.search(found, vector, n, allowed, nprobe)

    def sentence_candidates(self, vector: np.ndarray, n: int, allowed: np.ndarray | None,
                            nprobe: int) -> np.ndarray:
        """Positions of the passages of the n sentences closest to the query vector."""
        found = [(seg.sentence_index, seg.first_sentence, self.base[k], k) for k, seg in enumerate(self.segments)]
        return self.search(found, vector, n, allowed, nprobe)

    def search(self, indexes, vector, n, allowed, nprobe) -> np.ndarray:
        scores, positions = [], []
        for index, first_sentence, base, k in indexes:
            if index.ntotal == 0:
                continue
            mask = None if allowed is None else allowed[base:self.base[k + 1]]
            if mask is not None and first_sentence is not None:
                mask = np.repeat(mask, np.diff(first_sentence))
            if mask is not None and not mask.any():
                continue
            d, i = search_index(index, vector, n, mask, nprobe)
            keep = i >= 0
            d, i = d[keep], i[keep]
            if first_sentence is not None:  # a sentence's passage
                i = np.searchsorted(first_sentence, i, side="right") - 1
            scores.append(d)
            positions.append(i + base)
        if not scores:
            return np.zeros(0, dtype="int64")
        d, p = np.concatenate(scores), np.concatenate(positions)
        order = np.lexsort((p, -d))
        _, first = np.unique(p[order], return_index=True)  # a passage once, at its best
        best = order[np.sort(first)]
        return p[best][:n].astype("int64")


def search_index(index, vector: np.ndarray, n: int, mask: np.ndarray | None, nprobe: int):
    """FAISS search for the n nearest, among the ids where `mask` is set (all when None)."""
    import faiss

    q = np.ascontiguousarray(vector, dtype="float32").reshape(1, -1)
    n = min(n, index.ntotal)
    bits = sel = None
    if mask is not None:
        bits = np.packbits(mask, bitorder="little")
        sel = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
    if hasattr(index, "nprobe"):
        params = faiss.SearchParametersIVF(nprobe=min(nprobe, index.nlist))
        if sel is not None:
            params.sel = sel
    else:
        params = faiss.SearchParameters(sel=sel) if sel is not None else None
    d, i = index.search(q, n, params=params)
    del bits  # kept alive until the search is done
    return d[0], i[0]


class PassageList(Sequence):
    """The passages of a store as a read-only sequence (read from the store on demand)."""

    def __init__(self, store: LocalStore):
        self.store = store

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, row):
        if isinstance(row, slice):
            return self.store.passages(range(*row.indices(len(self))))
        row = int(row)
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(row)
        return self.store.passages([row])[0]

    def __iter__(self):
        return self.store.iter_passages()

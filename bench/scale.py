"""Indexes of growing size, one table: how ingest and search scale.

    python bench/scale.py --real DIR [DIR ...] [--sizes 100000,1000000] [--out bench/out/scale]

1. The real corpus (e.g. the Python documentation from Debian's python3.11-doc) is ingested
   with the real model; its ingest rate is measured against today's plain way of embedding
   (sentence-transformers on torch, batch 32, every passage and sentence) on a sample of the
   same passages, in the same run.
2. Larger indexes are SYNTHETIC, built from the real one: each synthetic passage repeats a real
   passage's text (written to real files, so incremental ingest sees a real corpus) with its
   real vectors plus noise, written as segments by the same code ingest uses. Labelled so.
3. For each index: disk, adding one document (the real incremental ingest, real model), cold
   start to the first answer and RSS after load (a fresh process; the second start, once the
   calibration is kept with the build), warm p50/p95 through Searcher.search, recall@10 of the
   fused ranking against exact fusion over every passage, and the p50 ratio against plain
   FAISS flat search (same model, same process, every passage vector in an IndexFlatIP).

Run it with nothing else running; it prints `uptime` at the start and the end.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "eval"
sys.path.insert(0, str(REPO))

from core import index_format as fmt  # noqa: E402
from core import segments  # noqa: E402
from core.passage import Passage  # noqa: E402
from core.settings import Settings  # noqa: E402
from ingest import build_index  # noqa: E402
from ingest.build import SEGMENT_PASSAGES  # noqa: E402
from ingest.embedding import embed_passages, embed_text, sentence_texts  # noqa: E402
from core.model import load_embedder  # noqa: E402
from search import open_searcher  # noqa: E402
from search.evaluate import load_questions  # noqa: E402

SYNTHETIC_NOISE = 0.6  # norm of the noise added to a real vector before normalising again
DOC_PASSAGES = 100  # passages per synthetic document file
RECALL_QUESTIONS = 30  # the HOWTO dev questions (exact fusion takes seconds a question at 1M)

CHILD = r"""
import sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[2])
from search import open_searcher
s = open_searcher(sys.argv[1], rebuild=False)
s.search(sys.argv[3])
took = time.perf_counter() - t0
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:")) / 1024
print(f"{took:.3f} {rss:.0f}")
"""


def questions() -> list[str]:
    """The HOWTO dev questions first (the real corpus here is those pages), then the seeds'."""
    out = []
    for folder in (EVAL / "howto", EVAL):
        for name in ("dev_questions.jsonl", "dev_offtopic.jsonl"):
            if (folder / name).exists():
                out += [q["q"] for q in load_questions(folder / name)]
    return out


def du(path: Path) -> int:
    """Bytes on disk, a file linked into several builds counted once."""
    seen = {}
    for f in Path(path).rglob("*"):
        if f.is_file():
            st = f.stat()
            seen[(st.st_dev, st.st_ino)] = st.st_size
    return sum(seen.values())


# --- the real corpus -----------------------------------------------------------------------------

def ingest_real(dirs: list[Path], index_dir: Path, settings: Settings) -> dict:
    """Ingest the real corpus; when its index is already current (built by an earlier run, e.g.
    with --ingest-only), the figures that run saved beside the index."""
    saved = index_dir.parent / "real-ingest.json"
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    started = time.perf_counter()
    report = build_index(dirs, index_dir, settings, progress=True)
    seconds = time.perf_counter() - started
    if report.passages_embedded == 0 and saved.exists():
        return json.loads(saved.read_text())
    out = {"passages": report.passages, "sentences": report.sentences, "seconds": seconds,
           "embedded": report.passages_embedded, "load_at_start": load,
           "load_at_end": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}
    saved.write_text(json.dumps(out, indent=2))
    return out


def embedding_rates(searcher, sample: int = 400) -> tuple[float, float]:
    """Passages (with their sentences) per second: today's plain torch encode (every passage and
    every sentence, batch 32) against ingest's embed step now (`embed_passages`), on the same
    passages, in this process."""
    from sentence_transformers import SentenceTransformer

    rows = np.linspace(0, len(searcher.passages) - 1, sample).astype(int)
    passages = searcher.store.passages(rows)
    texts = [embed_text(p, True) for p in passages]
    sentences = [s for p in passages for s in sentence_texts(p)]
    plain = SentenceTransformer(searcher.settings.model_path(), device="cpu")
    rates = []
    for embed in (lambda: (plain.encode(texts, batch_size=32, normalize_embeddings=True),
                           plain.encode(sentences, batch_size=32, normalize_embeddings=True)),
                  lambda: embed_passages(searcher.embedder, passages, searcher.settings)):
        embed()  # warm-up
        t = time.perf_counter()
        embed()
        rates.append(sample / (time.perf_counter() - t))
    return rates[0], rates[1]


# --- synthetic indexes ------------------------------------------------------------------------

def synthetic(real_index: Path, size: int, out: Path, settings: Settings) -> tuple[Path, Path]:
    """A corpus folder of synthetic documents and its index of `size` passages (see the module)."""
    corpus, index_dir = out / f"corpus-{size}", out / f"index-{size}"
    if (index_dir / fmt.CURRENT).exists():
        return corpus, index_dir
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(index_dir, ignore_errors=True)
    data = fmt.read_build(fmt.current_build(real_index), real_index)
    from search.store import LocalStore
    real = LocalStore(data)
    n_real = len(real)
    texts = [p for p in real.passages(range(n_real))]
    pv = real.passage_vectors(np.arange(n_real))
    sv = real.sentence_vectors(np.arange(n_real))
    rng = np.random.default_rng(0)
    files, entries, docs, pending = {}, [], [], 0
    with fmt.write_lock(index_dir), fmt.new_build(index_dir) as tmp:
        for d in range(0, size, DOC_PASSAGES):
            source = f"synthetic/{d // DOC_PASSAGES:06d}.txt"
            passages, text, at = [], [], 0
            picks = [(d + i) % n_real for i in range(min(DOC_PASSAGES, size - d))]
            for i, r in enumerate(picks):
                p = texts[r]
                shift = at - p.start
                passages.append(Passage(f"s{d + i:08d}", source, f"Synthetic {d // DOC_PASSAGES}", p.section,
                                        p.question, "body", i + 1, i + 1, at, at + len(p.text), p.text,
                                        tuple((a + shift, b + shift) for a, b in p.sentences)))
                text.append(p.text)
                at += len(p.text) + 2
            body = "\n\n".join(text) + "\n"
            path = corpus / source
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
            sha = hashlib.sha256(body.encode("utf-8")).hexdigest()
            files[source] = sha
            docs.append(segments.SegmentDocument(source, sha, passages, noisy(pv[picks], rng),
                                                 noisy(np.concatenate([sv[r] for r in picks]), rng)))
            pending += len(passages)
            if pending >= SEGMENT_PASSAGES or d + DOC_PASSAGES >= size:
                name = f"synthetic-{len(entries):03d}"
                print(f"  writing segment {name} ({pending:,} passages)", file=sys.stderr, flush=True)
                entries.append(segments.write_segment(tmp / segments.SEGMENTS / name, name, docs,
                                                      settings.ann_min_vectors))
                docs, pending = [], 0
        from core.documents import discover, file_stats
        root, found = discover([corpus])
        manifest = fmt.Manifest(
            model=settings.model, model_path=settings.model_path(), dimension=pv.shape[1],
            settings=settings.index_settings(),
            corpus=fmt.Corpus(str(root), (str(corpus.resolve()),), files, file_stats(root, found, files)),
            counts=fmt.Counts(len(files), sum(e.passages for e in entries), sum(e.sentences for e in entries)),
            segments=tuple(entries), ingest={"mode": "synthetic"})
        fmt.commit_build(index_dir, tmp, manifest)
    data.close()
    return corpus, index_dir


def noisy(vectors: np.ndarray, rng) -> np.ndarray:
    noise = rng.standard_normal(vectors.shape).astype("float32")
    noise *= SYNTHETIC_NOISE / np.linalg.norm(noise, axis=1, keepdims=True)
    x = vectors + noise
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# --- measuring one index ---------------------------------------------------------------------

def exact_top(searcher, question: str, k: int) -> list[int]:
    """The fused top k over every passage (no candidates), computed segment by segment."""
    query = searcher.speller.correct(question)
    v = searcher.embedder.encode([query])[0]
    store, s = searcher.store, searcher.settings
    bm25 = searcher.keywords.scores(query)
    top = float(bm25.max()) if bm25 is not None else 0.0
    fused = np.zeros(store.total) if bm25 is None or top <= 0 else s.bm25_weight * bm25 / top
    for n, seg in enumerate(store.segments):
        a, b = store.base[n], store.base[n + 1]
        for lo in range(0, b - a, 200_000):
            hi = min(lo + 200_000, b - a)
            fused[a + lo:a + hi] += s.dense_weight * (np.asarray(seg.passage_vectors[lo:hi], dtype="float32") @ v)
            f = seg.first_sentence
            sims = np.asarray(seg.sentence_vectors[f[lo]:f[hi]], dtype="float32") @ v
            best = np.maximum.reduceat(sims, f[lo:hi] - f[lo]) if len(sims) else np.zeros(0)
            empty = f[lo + 1:hi + 1] == f[lo:hi]
            fused[a + lo:a + hi] += s.sentence_weight * np.where(empty, -np.inf, best)
    fused[~store.live] = -np.inf
    order = np.lexsort((np.arange(len(fused)), -fused))[:k]
    return store.rows(order).tolist()


def measure(index_dir: Path, paths: list[Path], settings: Settings, label: str, asked: list[str]) -> dict:
    import faiss

    row = {"index": label, "disk_mb": du(index_dir) / 1e6}
    # adding one document: the real incremental ingest with the real model (already loaded)
    load_embedder(settings.model_path(), settings.encoder)
    extra = paths[0] / "bench-added-document.txt"
    extra.write_text("A Note Added Later\n\nThis note was added to measure how long adding one "
                     "document takes. It has two short paragraphs.\n\nThe second paragraph says "
                     "that nothing else in the library changed.\n", encoding="utf-8")
    t = time.perf_counter()
    build_index(paths, index_dir, settings, on_event=lambda e: None, progress=False)
    row["add_one_s"] = time.perf_counter() - t
    extra.unlink()
    build_index(paths, index_dir, settings, on_event=lambda e: None, progress=False)
    # cold start in a fresh process (twice: the first keeps the calibration with the build)
    for attempt in range(2):
        out = subprocess.run([sys.executable, "-c", CHILD, str(index_dir), str(REPO), asked[0]],
                             capture_output=True, text=True, timeout=1800)
        if out.returncode:
            raise SystemExit(out.stderr[-2000:])
    took, rss = out.stdout.split()
    row["cold_start_s"], row["rss_after_load_mb"] = float(took), float(rss)
    # warm queries, recall against exact fusion, plain FAISS flat with the same model
    searcher = open_searcher(index_dir, settings, rebuild=False)
    plain_index = faiss.IndexFlatIP(searcher.index.manifest.dimension)
    for seg in searcher.store.segments:
        for lo in range(0, len(seg.passage_vectors), 200_000):
            plain_index.add(np.asarray(seg.passage_vectors[lo:lo + 200_000], dtype="float32"))
    for q in asked[:3]:
        searcher.search(q)
    lib, plain = [], []
    for _ in range(2):
        for q in asked:
            t = time.perf_counter()
            searcher.search(q)
            lib.append(time.perf_counter() - t)
            t = time.perf_counter()
            plain_index.search(searcher.embedder.encode([q]), 5)
            plain.append(time.perf_counter() - t)
    flat = searcher.with_settings(diversity=0.0)
    hits, checked = 0, asked[:RECALL_QUESTIONS]
    for q in checked:
        got = flat.rank(q, 10).rows
        hits += len(set(got) & set(exact_top(flat, q, 10)))
    row.update(p50_ms=1000 * statistics.median(lib), p95_ms=1000 * float(np.quantile(lib, 0.95)),
               plain_p50_ms=1000 * statistics.median(plain), recall_at_10=hits / (10 * len(checked)))
    row["ratio"] = row["p50_ms"] / row["plain_p50_ms"]
    row["passages"] = len(searcher.passages)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", nargs="+", type=Path, required=True, help="folders of the real corpus")
    parser.add_argument("--sizes", default="100000,1000000", help="synthetic index sizes (passages)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "scale")
    parser.add_argument("--skip-rates", action="store_true", help="do not measure the embedding rates")
    parser.add_argument("--ingest-only", action="store_true",
                        help="only ingest the real corpus (its figures are kept for later runs)")
    args = parser.parse_args(argv)
    print("load at start:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    settings = Settings.from_env()
    args.out.mkdir(parents=True, exist_ok=True)
    real_index = args.out / "index-real"
    ingest = ingest_real(args.real, real_index, settings)
    print(f"real corpus: {ingest['passages']:,} passages, {ingest['sentences']:,} sentences; "
          f"ingest {ingest['seconds']:.0f} s ({ingest['embedded']:,} embedded, "
          f"{ingest['embedded'] / ingest['seconds']:.1f} passages/s with their sentences; "
          f"{ingest.get('load_at_start', '')})")
    if args.ingest_only:
        return 0
    rows = []
    asked = questions()
    rows.append(measure(real_index, args.real, settings, "real", asked))
    if not args.skip_rates:
        searcher = open_searcher(real_index, settings, rebuild=False)
        before, now = embedding_rates(searcher)
        print(f"embedding, passages with their sentences per second: plain torch {before:.1f}, "
              f"ingest now {now:.1f} ({now / before:.2f}x)")
    for size in [int(s) for s in args.sizes.split(",") if s]:
        corpus, index_dir = synthetic(real_index, size, args.out, settings)
        rows.append(measure(index_dir, [corpus], settings, f"synthetic {size:,}", asked))
    columns = ["index", "passages", "disk_mb", "add_one_s", "cold_start_s", "rss_after_load_mb",
               "p50_ms", "p95_ms", "recall_at_10", "plain_p50_ms", "ratio"]
    print(" | ".join(columns))
    for r in rows:
        print(" | ".join(f"{r[c]:,.2f}" if isinstance(r[c], float) else f"{r[c]:,}" if isinstance(r[c], int)
                         else str(r[c]) for c in columns))
    (args.out / "scale.json").write_text(json.dumps({"ingest": ingest, "rows": rows}, indent=2))
    print("load at end:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())

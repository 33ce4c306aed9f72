"""Incremental ingest against a full rebuild, on a copy of a corpus (the seed essays by default).

    python bench/bench_incremental.py [--corpus seeds] [--repeat 3] [--json]

With the model already loaded (its load time is printed apart), it times on a temporary copy
of the corpus and a temporary index (the project's index/ is never touched):

- full build: every document embedded (`--full`)
- no change: nothing embedded, the previous build's vectors reused
- add one document: a new essay (the longest document of the corpus, copied under a new name
  with its first paragraph reworded, so it has as many passages as the largest real one)
- change one document: one sentence appended to the shortest document
- remove one document
- full rebuild of the final corpus, and a check that it equals the incremental index
  (same passages, vectors equal within 1e-5)

Each incremental step prints the documents added / changed / removed / unchanged and the
passages embedded; each time is the median of --repeat runs of that step.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core import index_format as store
from ingest import build_index  # noqa: E402
from core.model import load_embedder  # noqa: E402
from core.documents import SUFFIXES, read_text  # noqa: E402
from core.settings import DEFAULT_CORPUS, Settings  # noqa: E402


def quiet(message: str) -> None:
    pass


def timed(fn, repeat: int, before=None):
    """Median seconds of `repeat` runs of fn() (each after before(), untimed), and the last result."""
    times, result = [], None
    for _ in range(repeat):
        if before:
            before()
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def same_index(a: Path, b: Path) -> bool:
    import numpy as np

    from search.store import LocalStore

    builds = [store.read_build(store.current_build(d), d) for d in (a, b)]
    (px, pvx, svx), (py, pvy, svy) = (LocalStore(build).in_document_order() for build in builds)
    for build in builds:
        build.close()
    return (px == py and pvx.shape == pvy.shape and svx.shape == svy.shape
            and bool(np.allclose(pvx, pvy, atol=1e-3)) and bool(np.allclose(svx, svy, atol=1e-3)))


def run(corpus_src: Path, repeat: int) -> dict:
    settings = Settings.from_env()
    started = time.perf_counter()
    load_embedder(settings.model_path(), settings.encoder)
    model_load = time.perf_counter() - started

    work = Path(tempfile.mkdtemp(prefix="bench-incremental-"))
    try:
        corpus = work / "corpus"
        shutil.copytree(corpus_src, corpus)
        docs = sorted(p for p in corpus.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
        index_dir = work / "index"

        def ingest(full: bool = False):
            return build_index([corpus], index_dir, settings, on_event=quiet, progress=False, full=full)

        rows = []

        def step(name, fn=ingest, before=None, n=repeat, **kw):
            seconds, report = timed(lambda: fn(**kw), n, before)
            rows.append({
                "step": name, "seconds": round(seconds, 3),
                "mode": "incremental" if report.incremental else "full",
                **report.changes.counts(),
                "passages_embedded": report.passages_embedded,
                "sentences_embedded": report.sentences_embedded,
                "passages": report.passages, "documents": report.documents,
            })
            return report

        step("full build", full=True)
        step("no change")

        longest = max(docs, key=lambda p: p.stat().st_size)
        text = read_text(longest)
        added = corpus / f"zz-added-{longest.stem}.txt"

        def add_document():
            added.unlink(missing_ok=True)
            ingest()  # back to the corpus without it (untimed)
            added.write_text("A New Essay On Closeness\n\n" + text, encoding="utf-8")

        step("add one document", before=add_document)

        shortest = min(docs, key=lambda p: p.stat().st_size)
        original = shortest.read_bytes()
        counter = iter(range(10_000))

        def change_document():
            shortest.write_bytes(original + f"\nOne more sentence, number {next(counter)}.\n".encode())

        step("change one document", before=change_document)

        removed = docs[len(docs) // 2]
        kept = removed.read_bytes()

        def remove_document():
            removed.write_bytes(kept)
            ingest()  # with it again (untimed)
            removed.unlink()

        step("remove one document", before=remove_document)

        full_dir = work / "full-index"
        full_started = time.perf_counter()
        build_index([corpus], full_dir, settings, on_event=quiet, progress=False, full=True)
        full_final = time.perf_counter() - full_started
        equal = same_index(index_dir, full_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "corpus": str(corpus_src), "documents": len(docs), "repeat": repeat,
        "model_load_seconds": round(model_load, 3), "steps": rows,
        "full_rebuild_of_final_corpus_seconds": round(full_final, 3),
        "incremental_equals_full": equal,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3, help="runs per step (median reported)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    out = run(args.corpus, max(1, args.repeat))
    if args.json:
        print(json.dumps(out, indent=2))
        return 0 if out["incremental_equals_full"] else 1
    print(f"corpus {out['corpus']}: {out['documents']} documents; model loaded in "
          f"{out['model_load_seconds']:.2f} s (not counted below); median of {out['repeat']} runs")
    print(f"{'step':<22}{'seconds':>9}  {'mode':<12}{'added':>6}{'changed':>8}{'removed':>8}"
          f"{'unchanged':>10}{'embedded':>10}{'passages':>9}")
    for r in out["steps"]:
        print(f"{r['step']:<22}{r['seconds']:>9.2f}  {r['mode']:<12}{r['added']:>6}{r['changed']:>8}"
              f"{r['removed']:>8}{r['unchanged']:>10}{r['passages_embedded']:>10}{r['passages']:>9}")
    print(f"full rebuild of the final corpus: {out['full_rebuild_of_final_corpus_seconds']:.2f} s; "
          f"incremental index equals it: {'yes' if out['incremental_equals_full'] else 'NO'}")
    return 0 if out["incremental_equals_full"] else 1


if __name__ == "__main__":
    sys.exit(main())

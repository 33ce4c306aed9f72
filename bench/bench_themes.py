"""What the theme map costs next to ingest, on a corpus (the seed essays by default).

    python bench/bench_themes.py [--corpus seeds] [--repeat 5] [--scale N] [--json]

Builds a temporary index (cold: first use of the model in this process; warm: model loaded),
then times the theme computation of that index (clustering, labels, quotes; no cache) and a
cached read of themes.json, and prints the ratio of theme time to ingest time (target < 20%).
--scale N also times compute_themes alone on N synthetic passages (clustered random vectors,
random words), to show how it grows towards large corpora. The project's index/ is never touched.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TARGET = 0.20


def bench(corpus: list[Path], repeat: int, log) -> dict:
    from ingest import build_index
    from core.settings import Settings
    from search import open_searcher, themes

    settings = Settings.from_env()
    quiet = lambda m: None  # noqa: E731
    out: dict = {"corpus": [str(p) for p in corpus]}
    with tempfile.TemporaryDirectory(prefix="essays-bench-themes-") as tmp:
        tmp = Path(tmp)
        log("ingest: cold build…")
        t = time.perf_counter()
        build_index(corpus, tmp / "cold", settings, on_event=quiet, progress=False)
        cold = time.perf_counter() - t
        warm = []
        for i in range(repeat):
            log(f"ingest: warm build {i + 1}/{repeat}…")
            t = time.perf_counter()
            report = build_index(corpus, tmp / f"warm{i}", settings, on_event=quiet, progress=False)
            warm.append(time.perf_counter() - t)
        searcher = open_searcher(tmp / "warm0", settings, rebuild=False, on_event=quiet)
        times, found = [], None
        for i in range(repeat):
            log(f"themes: compute {i + 1}/{repeat}…")
            t = time.perf_counter()
            found = themes.compute_for_index(searcher, settings.themes)
            times.append(time.perf_counter() - t)
        themes.theme_map(reloaded(searcher))  # computes and writes themes.json
        t = time.perf_counter()
        themes.theme_map(reloaded(searcher))  # reads it back
        cached = time.perf_counter() - t
    warm_s, theme_s = statistics.median(warm), statistics.median(times)
    out.update({
        "documents": report.documents, "passages": report.passages,
        "ingest_cold_s": cold, "ingest_warm_s": warm_s, "ingest_warm_all_s": warm,
        "themes_s": theme_s, "themes_all_s": times, "themes_cached_read_s": cached,
        "ratio_to_warm_ingest": theme_s / warm_s, "ratio_to_cold_ingest": theme_s / cold,
        "target": TARGET, "themes": len(found.themes), "chosen_by": found.chosen_by,
        "silhouette": found.silhouette,
        "theme_list": [{"id": t.id, "label": t.label, "size": t.size, "essays": len(t.sources)}
                       for t in found.themes],
    })
    return out


def reloaded(searcher):
    """The searcher with its build as if loaded afresh: nothing derived from it kept."""
    return dataclasses.replace(searcher, index=dataclasses.replace(searcher.index))


def scale(n: int, log) -> dict:
    """compute_themes alone on n synthetic passages (no embedding of label terms)."""
    import numpy as np

    from search import themes

    rng = np.random.default_rng(0)
    vocabulary = [f"w{i}" for i in range(5000)]
    centres = rng.normal(size=(40, 384))
    owner = rng.integers(0, 40, size=n)
    vectors = themes.normalise(centres[owner] + 2.0 * rng.normal(size=(n, 384)) / np.sqrt(384) * 10)
    words = rng.integers(0, len(vocabulary), size=(n, 60))
    texts = [" ".join(vocabulary[(w + 100 * o) % len(vocabulary)] for w in row) for row, o in zip(words, owner)]
    sources = [f"doc{i // 40}.txt" for i in range(n)]
    log(f"scale: compute_themes on {n} synthetic passages…")
    t = time.perf_counter()
    found = themes.compute_themes(vectors, texts, sources)
    return {"passages": n, "seconds": time.perf_counter() - t, "themes": len(found.themes),
            "largest_share": max(t.size for t in found.themes) / n}


def print_table(r: dict) -> None:
    ok = "OK" if r["ratio_to_warm_ingest"] < r["target"] else "OVER TARGET"
    print(f"corpus: {', '.join(r['corpus'])}: {r['documents']} documents, {r['passages']} passages")
    print(f"ingest, cold (imports + model + build)  {r['ingest_cold_s']:8.2f} s")
    print(f"ingest, warm (model loaded), median     {r['ingest_warm_s']:8.2f} s")
    print(f"themes: compute (no cache), median      {r['themes_s']:8.3f} s")
    print(f"themes: read from themes.json           {r['themes_cached_read_s'] * 1000:8.1f} ms")
    print(f"ratio themes / warm ingest              {r['ratio_to_warm_ingest'] * 100:8.1f} %   (target < {r['target'] * 100:.0f}%: {ok})")
    print(f"ratio themes / cold ingest              {r['ratio_to_cold_ingest'] * 100:8.1f} %")
    sil = ", ".join(f"{k}: {v:.3f}" for k, v in r["silhouette"].items())
    print(f"\n{r['themes']} themes ({r['chosen_by']}; mean silhouette by number tried: {sil})")
    for t in r["theme_list"]:
        print(f"  {t['id']:2d}. {t['label']:<50} {t['size']:4d} passages, {t['essays']} essays")
    if "scale" in r:
        s = r["scale"]
        print(f"\nscale: {s['passages']} synthetic passages -> {s['themes']} themes in {s['seconds']:.1f} s "
              f"(largest theme {s['largest_share'] * 100:.0f}% of passages)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", nargs="+", default=["seeds"], help="document folders (default: seeds)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each step (default 5)")
    ap.add_argument("--scale", type=int, default=0, metavar="N",
                    help="also time compute_themes on N synthetic passages")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args(argv)
    corpus = [p if p.is_absolute() else REPO / p for p in map(Path, args.corpus)]
    log = lambda m: print(f"[bench] {m}", file=sys.stderr, flush=True)  # noqa: E731
    result = bench(corpus, max(1, args.repeat), log)
    if args.scale:
        result["scale"] = scale(args.scale, log)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Performance figures for ingest and search on a corpus (the seed essays by default).

    python bench/bench.py [--corpus seeds] [--repeat 5] [--json]

Measures: ingest time (cold: imports + model load; warm: model already loaded), model load
time on its own, cold start to first answer in a fresh process, warm query latency through
searcher.search() against a plain FAISS IndexFlatIP baseline with the same embedder, peak
memory, and the latency of a 20,000-character question. Everything runs on a temporary index;
the project's index/ folder is never touched.
"""
from __future__ import annotations

import time

_T_START = time.time()  # the --child mode measures its imports from here

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EVAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

BUILTIN_QUESTIONS = [
    "What does intimacy mean beyond physical closeness?",
    "Why is emotional intimacy important in a relationship?",
    "What are the costs of being intimate with the wrong partner?",
    "How does trust grow between two people?",
    "What happens when people build walls around their hearts?",
    "Is listening part of intimacy?",
    "How do I file my income taxes?",
    "What is photosynthesis?",
]
LONG_QUESTION_CHARS = 20_000
K = 5
RATIO_TARGET = 1.5


def peak_rss_mb() -> float:
    """resource.getrusage(RUSAGE_SELF).ru_maxrss in MB (KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def proc_status_mb(field: str) -> float | None:
    """VmHWM (peak) or VmRSS (now) of this process from /proc, in MB; None off Linux.

    Linux keeps ru_maxrss across execve, so a child spawned by a big parent reports the
    parent's peak there; VmHWM belongs to the new address space and is the child's own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def load_questions() -> tuple[list[str], str]:
    found: list[str] = []
    sources = []
    for name in ("dev_questions.jsonl", "dev_offtopic.jsonl"):
        path = EVAL_DIR / name
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                q = json.loads(line).get("q", "").strip()
                if q:
                    found.append(q)
        sources.append(name)
    if found:
        return found, ", ".join(sources)
    return list(BUILTIN_QUESTIONS), "built-in"


def long_question(chars: int = LONG_QUESTION_CHARS) -> str:
    seed = ("Why does emotional intimacy matter, and what happens when trust is broken "
            "between partners who rushed into physical closeness? ")
    return (seed * (chars // len(seed) + 1))[:chars]


def stats_ms(samples: list[float]) -> dict:
    import numpy as np

    a = np.asarray(samples) * 1000.0
    return {"n": int(a.size), "p50_ms": float(np.percentile(a, 50)),
            "p95_ms": float(np.percentile(a, 95)), "mean_ms": float(a.mean()),
            "min_ms": float(a.min()), "max_ms": float(a.max())}


# --------------------------------------------------------------------------- cold child

def child(index_dir: str, question: str) -> None:
    """Fresh process: imports, open the index (model + index + calibration), answer once."""
    t0 = time.perf_counter()
    import search
    from core.settings import Settings

    from core.model import load_embedder

    settings = Settings.from_env()
    t_imports = time.perf_counter()
    load_embedder(settings.model_path(), settings.encoder)  # cached per process: open_searcher reuses it
    t_model = time.perf_counter()
    searcher = search.open_searcher(Path(index_dir), settings, rebuild=False)
    t_open = time.perf_counter()
    answer = searcher.search(question, k=K)
    t_answer = time.perf_counter()
    wall_answer = time.time()
    print(json.dumps({
        "answer_wall_time": wall_answer,
        "since_interpreter_start_s": wall_answer - _T_START,
        "imports_s": t_imports - t0,
        "model_load_s": t_model - t_imports,
        "index_load_and_setup_s": t_open - t_model,
        "first_search_s": t_answer - t_open,
        "answered": answer.answered,
        "results": len(answer.results),
        "ru_maxrss_mb": peak_rss_mb(),
        "peak_rss_mb": proc_status_mb("VmHWM") or peak_rss_mb(),
    }), flush=True)


def run_cold_child(index_dir: Path, question: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child",
           "--index-dir", str(index_dir), "--question", question]
    spawned = time.time()
    proc = subprocess.run(cmd, cwd=str(REPO), capture_output=True, text=True)
    exited = time.time()
    if proc.returncode != 0:
        raise SystemExit(f"cold child failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    line = [l for l in proc.stdout.splitlines() if l.startswith("{")][-1]
    report = json.loads(line)
    report["spawn_to_first_answer_s"] = report["answer_wall_time"] - spawned
    report["spawn_to_exit_s"] = exited - spawned
    del report["answer_wall_time"]
    return report


# --------------------------------------------------------------------------- main bench

def bench(corpus: list[Path], repeat: int, log) -> dict:
    import numpy as np

    import faiss
    from ingest import build_index
    from core.model import load_embedder
    from core.settings import Settings
    from search import open_searcher

    settings = Settings.from_env()
    quiet = lambda m: None  # noqa: E731
    out: dict = {"corpus": [str(p) for p in corpus], "repeat": repeat, "k": K,
                 "cpu_count": os.cpu_count(), "python": sys.version.split()[0]}

    with tempfile.TemporaryDirectory(prefix="essays-bench-") as tmp:
        tmp = Path(tmp)

        # 1. ingest: cold (first use of the model in this process), model load alone, warm
        log("ingest: cold build (imports + model load + build)…")
        t = time.perf_counter()
        report = build_index(corpus, tmp / "cold", settings, on_event=quiet, progress=False)
        cold_build = time.perf_counter() - t

        log("ingest: model load alone…")
        load_embedder.cache_clear()
        t = time.perf_counter()
        load_embedder(settings.model_path(), settings.encoder)
        model_load = time.perf_counter() - t

        log("ingest: warm build (model already loaded)…")
        t = time.perf_counter()
        report = build_index(corpus, tmp / "warm", settings, on_event=quiet, progress=False)
        warm_build = time.perf_counter() - t
        index_dir = tmp / "warm"
        out["ingest"] = {
            "documents": report.documents, "passages": report.passages,
            "sentences": report.sentences, "skipped": len(report.skipped),
            "cold_build_s": cold_build, "model_load_s": model_load,
            "warm_build_s": warm_build,
            "passages_per_s_warm": report.passages / warm_build,
            "passages_per_s_cold": report.passages / cold_build,
            "sentences_per_s_warm": report.sentences / warm_build,
        }

        # 2. cold start to first answer, in a fresh process
        questions, qsource = load_questions()
        log("cold start: fresh process to first answer…")
        out["cold_start"] = run_cold_child(index_dir, questions[0])

        # 3. + 4. warm latency: library vs plain FAISS, interleaved per question
        log("warm: opening searcher…")
        t = time.perf_counter()
        searcher = open_searcher(index_dir, settings, rebuild=False, on_event=quiet)
        open_warm = time.perf_counter() - t
        vectors = np.ascontiguousarray(searcher.index.passage_vectors, dtype="float32")
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)

        def plain(q: str):
            qv = searcher.embedder.encode([q])
            return flat.search(qv, K)

        for q in questions[:3]:  # warm-up: first-call costs are not steady state
            searcher.search(q, k=K)
            plain(q)

        log(f"warm: {len(questions)} questions x {repeat}…")
        lib_times, faiss_times = [], []
        answered = 0
        for _ in range(repeat):
            for q in questions:
                t = time.perf_counter()
                a = searcher.search(q, k=K)
                lib_times.append(time.perf_counter() - t)
                t = time.perf_counter()
                plain(q)
                faiss_times.append(time.perf_counter() - t)
                answered += a.answered
        lib, base = stats_ms(lib_times), stats_ms(faiss_times)
        out["warm"] = {
            "questions": len(questions), "question_source": qsource,
            "open_searcher_s_model_cached": open_warm,
            "answered_share": answered / len(lib_times),
            "library": lib, "plain_faiss": base,
            "ratio_p50": lib["p50_ms"] / base["p50_ms"],
            "ratio_mean": lib["mean_ms"] / base["mean_ms"],
            "ratio_target": RATIO_TARGET,
        }

        # 7. query-time settings and an empty question: what should cost (almost) nothing
        log("settings: with_settings and an empty question…")
        changed = []
        for n in range(repeat * 4):
            t = time.perf_counter()
            other = searcher.with_settings(diversity=0.0 if n % 2 else 0.1)
            changed.append(time.perf_counter() - t)
        t = time.perf_counter()
        other.search(questions[0], k=K)  # the first question under new settings calibrates them
        first_under_new = time.perf_counter() - t
        empty = []
        for _ in range(3):
            t = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "search", "   "], cwd=REPO, capture_output=True)
            empty.append(time.perf_counter() - t)
        out["settings"] = {"with_settings": stats_ms(changed),
                           "first_search_under_new_settings_ms": first_under_new * 1000,
                           "empty_question_cli_s": statistics.median(empty),
                           "empty_question_exit_code": done.returncode}

        # 6. a 20,000-character question
        log("long question…")
        lq = long_question()
        searcher.search(lq, k=K)
        long_lib, long_plain = [], []
        for _ in range(repeat):
            t = time.perf_counter()
            searcher.search(lq, k=K)
            long_lib.append(time.perf_counter() - t)
            t = time.perf_counter()
            plain(lq)
            long_plain.append(time.perf_counter() - t)
        out["long_question"] = {"chars": len(lq), "library": stats_ms(long_lib),
                                "plain_faiss": stats_ms(long_plain)}

        # 5. peak memory
        out["memory"] = {"bench_process_peak_rss_mb": peak_rss_mb(),
                         "bench_process_rss_now_mb": proc_status_mb("VmRSS"),
                         "cold_child_peak_rss_mb": out["cold_start"]["peak_rss_mb"],
                         "cold_child_ru_maxrss_mb": out["cold_start"]["ru_maxrss_mb"]}
    return out


def print_table(r: dict) -> None:
    ing, cold, warm, lq, mem = r["ingest"], r["cold_start"], r["warm"], r["long_question"], r["memory"]
    lib, base = warm["library"], warm["plain_faiss"]
    ok = "OK" if warm["ratio_p50"] <= warm["ratio_target"] else "OVER TARGET"
    rows = [
        ("corpus", f"{', '.join(r['corpus'])}: {ing['documents']} docs, {ing['passages']} passages, "
                   f"{ing['sentences']} sentences ({r['cpu_count']} CPUs, Python {r['python']})"),
        ("", ""),
        ("INGEST", ""),
        ("  cold build (imports+model+build)", f"{ing['cold_build_s']:8.2f} s   "
                                              f"{ing['passages_per_s_cold']:7.1f} passages/s"),
        ("  model load alone (imports done)", f"{ing['model_load_s']:8.2f} s"),
        ("  warm build (model loaded)", f"{ing['warm_build_s']:8.2f} s   "
                                       f"{ing['passages_per_s_warm']:7.1f} passages/s"),
        ("", ""),
        ("COLD START (fresh process)", ""),
        ("  spawn -> first answer", f"{cold['spawn_to_first_answer_s']:8.2f} s"),
        ("    imports (search, ingest)", f"{cold['imports_s']:8.2f} s"),
        ("    model load (torch import + weights)", f"{cold['model_load_s']:8.2f} s"),
        ("    index load + setup (kw, calibration)", f"{cold['index_load_and_setup_s']:8.2f} s"),
        ("    first search", f"{cold['first_search_s'] * 1000:8.1f} ms"),
        ("", ""),
        (f"WARM QUERIES ({warm['questions']} q x {r['repeat']}, k={r['k']}; {warm['question_source']})",
         "     p50      p95     mean  (ms)"),
        ("  library searcher.search()", f"{lib['p50_ms']:8.2f} {lib['p95_ms']:8.2f} {lib['mean_ms']:8.2f}"),
        ("  plain FAISS (encode + FlatIP)", f"{base['p50_ms']:8.2f} {base['p95_ms']:8.2f} {base['mean_ms']:8.2f}"),
        ("  RATIO library/FAISS p50", f"{warm['ratio_p50']:8.2f} x  (target <= {warm['ratio_target']}x: {ok})"),
        ("  answered share", f"{warm['answered_share'] * 100:8.1f} %"),
        ("", ""),
        (f"LONG QUESTION ({lq['chars']} chars)", "     p50      p95     mean  (ms)"),
        ("  library", f"{lq['library']['p50_ms']:8.2f} {lq['library']['p95_ms']:8.2f} {lq['library']['mean_ms']:8.2f}"),
        ("  plain FAISS", f"{lq['plain_faiss']['p50_ms']:8.2f} {lq['plain_faiss']['p95_ms']:8.2f} "
                          f"{lq['plain_faiss']['mean_ms']:8.2f}"),
        ("", ""),
        ("QUERY-TIME SETTINGS", ""),
        ("  with_settings(diversity=...) p50", f"{r['settings']['with_settings']['p50_ms']:8.3f} ms"),
        ("  first search under new settings", f"{r['settings']['first_search_under_new_settings_ms']:8.1f} ms"
                                             "  (calibrates them, once)"),
        ("  python -m search '   ' (exit code)", f"{r['settings']['empty_question_cli_s']:8.2f} s   "
                                                 f"({r['settings']['empty_question_exit_code']})"),
        ("", ""),
        ("PEAK MEMORY (ru_maxrss)", ""),
        ("  bench process (ingest + warm)", f"{mem['bench_process_peak_rss_mb']:8.0f} MB  ru_maxrss"
                                           + (f"  (RSS now {mem['bench_process_rss_now_mb']:.0f} MB)"
                                              if mem["bench_process_rss_now_mb"] else "")),
        ("  cold child (serve one answer)", f"{mem['cold_child_peak_rss_mb']:8.0f} MB  VmHWM"
                                           " (its ru_maxrss is inherited across exec)"),
    ]
    width = 40
    for a, b in rows:
        if len(a) > width:  # section header with column titles: put them on the next line
            print(a)
            a = ""
        print(f"{a:<{width}}{b}" if b else a)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", nargs="+", default=["seeds"],
                    help="document folders or files, relative to the repo root (default: seeds)")
    ap.add_argument("--repeat", type=int, default=5, help="times each question is asked (default 5)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--index-dir", help=argparse.SUPPRESS)
    ap.add_argument("--question", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        child(args.index_dir, args.question)
        return 0

    corpus = [p if p.is_absolute() else (REPO / p) for p in map(Path, args.corpus)]
    for p in corpus:
        if not p.exists():
            ap.error(f"corpus path {p} does not exist")
    log = lambda m: print(f"[bench] {m}", file=sys.stderr, flush=True)  # noqa: E731
    t = time.perf_counter()
    result = bench(corpus, max(1, args.repeat), log)
    result["bench_total_s"] = time.perf_counter() - t
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
        print(f"\n(bench total {result['bench_total_s']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

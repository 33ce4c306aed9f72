"""A real library on Milvus: the same documents as a local index, ingested into a milvus-lite
server this script starts, then searched through the library API; one table.

    python bench/milvus_scale.py --real DIR --index-dir LOCAL_INDEX [--out bench/out/milvus]

LOCAL_INDEX is an index of DIR built by `python -m ingest` (e.g. the real index bench/scale.py
leaves in its --out folder). Ingest into Milvus reads and cuts every document again but takes each
passage's and sentences' vectors from LOCAL_INDEX instead of running the model, so the
figures are Milvus' own: write rate, the server's memory, search time, and how often the top 10
from Milvus equals the top 10 from the local index for the same questions.

Figures printed: passages, sentences, Milvus ingest seconds (without embedding), server RSS empty
and after load (and per million passages), warm p50/p95 through Searcher.search on Milvus and on
the local index in the same run, top-10 agreement, and CPU seconds per question of the Milvus
server and of the searching process (how many page servers one Milvus server core can feed).
Run it with nothing else running; it prints `uptime` at the start and the end.
"""
from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.settings import Settings  # noqa: E402
from ingest import build_index, steps  # noqa: E402
from search import open_searcher  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from scale import questions  # noqa: E402


class Lookup:
    """The local index's vectors of each passage and its sentences, by (source, start): what
    ingest's embed step gives them (the model is not run)."""

    def __init__(self, searcher):
        self.dimension = searcher.index.manifest.dimension
        self.vectors: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        store = searcher.store
        for at in range(0, len(store), 2000):
            rows = np.arange(at, min(at + 2000, len(store)))
            for p, v, s in zip(store.passages(rows), store.passage_vectors(rows), store.sentence_vectors(rows)):
                self.vectors[(p.source, p.start)] = (v, s)

    def embed_passages(self, embedder, passages, settings):
        found = [self.vectors[(p.source, p.start)] for p in passages]
        sentences = [s for _, s in found]
        return (np.array([v for v, _ in found], dtype="float32").reshape(len(found), self.dimension),
                np.concatenate(sentences) if sentences else np.zeros((0, self.dimension), dtype="float32"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds) of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) / 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    import os

    return rss, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(data: Path, port: int) -> subprocess.Popen:
    program = Path(sys.executable).parent / "milvus-lite"
    server = subprocess.Popen([str(program), "server", "--host", "127.0.0.1", "--port", str(port),
                               "--data-dir", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from pymilvus import MilvusClient

    for _ in range(300):
        try:
            MilvusClient(uri=f"http://127.0.0.1:{port}", timeout=2).list_collections()
            return server
        except Exception:  # noqa: BLE001 - not serving yet
            time.sleep(0.2)
    raise SystemExit("milvus-lite did not start")


def timed(searcher, asked: list[str]) -> tuple[list[float], list[list[str]]]:
    took, tops = [], []
    for q in asked:
        t = time.perf_counter()
        answer = searcher.search(q, k=10)
        took.append(time.perf_counter() - t)
        tops.append([r.id for r in answer.results])
    return took, tops


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", nargs="+", type=Path, required=True, help="the documents of LOCAL_INDEX")
    parser.add_argument("--index-dir", type=Path, required=True, help="a local index of those documents")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "milvus")
    args = parser.parse_args(argv)
    print("load at start:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    args.out.mkdir(parents=True, exist_ok=True)
    local_settings = Settings()
    local = open_searcher(args.index_dir, local_settings, rebuild=False)
    lookup = Lookup(local)
    port = free_port()
    data = args.out / f"milvus-data-{port}"
    server = start_server(data, port)
    row = {}
    try:
        row["server_rss_empty_mb"] = proc(server.pid)[0]
        settings = Settings(store=f"milvus://127.0.0.1:{port}/bench")
        t = time.perf_counter()
        steps.embed_passages = lookup.embed_passages  # the local index's vectors, not the model
        report = build_index(args.real, Path("unused"), settings, progress=True, embedder=local.embedder)
        row["ingest_s"] = time.perf_counter() - t
        row["passages"], row["sentences"] = report.passages, report.sentences
        searcher = open_searcher(None, settings, rebuild=False)
        asked = questions()
        for q in asked[:3]:
            searcher.search(q)
            local.search(q)
        rss_loaded, cpu0 = proc(server.pid)
        import resource

        me0 = resource.getrusage(resource.RUSAGE_SELF)
        milvus_times, milvus_tops = timed(searcher, asked)
        _, cpu1 = proc(server.pid)
        me1 = resource.getrusage(resource.RUSAGE_SELF)
        local_times, local_tops = timed(local, asked)
        row["server_rss_loaded_mb"] = rss_loaded
        row["server_mb_per_million"] = (rss_loaded - row["server_rss_empty_mb"]) * 1e6 / max(report.passages, 1)
        row["milvus_p50_ms"] = 1000 * statistics.median(milvus_times)
        row["milvus_p95_ms"] = 1000 * float(np.quantile(milvus_times, 0.95))
        row["local_p50_ms"] = 1000 * statistics.median(local_times)
        row["local_p95_ms"] = 1000 * float(np.quantile(local_times, 0.95))
        row["same_top10"] = float(np.mean([a == b for a, b in zip(milvus_tops, local_tops)]))
        row["same_top1"] = float(np.mean([a[:1] == b[:1] for a, b in zip(milvus_tops, local_tops)]))
        row["server_cpu_s_per_question"] = (cpu1 - cpu0) / len(asked)
        row["client_cpu_s_per_question"] = ((me1.ru_utime + me1.ru_stime) - (me0.ru_utime + me0.ru_stime)) / len(asked)
        row["questions"] = len(asked)
    finally:
        server.terminate()
        server.wait(30)
    for k, v in row.items():
        print(f"{k:28} {v:,.3f}" if isinstance(v, float) else f"{k:28} {v:,}")
    (args.out / "milvus.json").write_text(json.dumps(row, indent=2))
    print("load at end:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())

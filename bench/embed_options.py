"""Ingest embedding speed of the bundled model under several backends, on real passages.

    HF_HUB_OFFLINE=1 python bench/embed_options.py [--corpus DIR] [--passages 500] [--repeat 3]

Options: sentence-transformers (torch) at batch 16/32/64/128 with 1 and 2 torch threads;
ONNX Runtime fp32, fp32 with the BERT fusions, and int8 (dynamic quantisation); OpenVINO fp32
(each where installed). The ONNX files are exported from the bundled model into --onnx-dir
(outside git) when missing. Texts: the first --passages passages of the corpus (as ingest
embeds them, with their context) and their sentences. Prints, per option, the median
passages-with-sentences per second and per CPU-second (process_time) over --repeat runs, and
the mean and min cosine of its vectors to the torch fp32 vectors. Then one-question latency
(median of 30) with 1 and 2 threads while another process keeps one core busy.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from core.documents import discover, relative  # noqa: E402
from core.settings import Settings  # noqa: E402
from ingest.steps import read_passages  # noqa: E402
from ingest.embedding import embed_text as passage_text_for_embedding, sentence_texts  # noqa: E402

MAX_TOKENS = 256  # the bundled model's max_seq_length
QUESTION = "How do I read a file line by line?"


def corpus_texts(corpus: Path, n: int, settings: Settings) -> tuple[list[str], list[str]]:
    root, files = discover([corpus])
    passages = []
    for f in files:
        try:
            passages += read_passages(f, relative(root, f), settings)[0]
        except Exception:  # noqa: BLE001 - skipped files are skipped by ingest too
            continue
        if len(passages) >= n:
            break
    passages = passages[:n]
    return ([passage_text_for_embedding(p, settings.embed_context) for p in passages],
            [s for p in passages for s in sentence_texts(p)])


# --- ONNX export (torch -> ONNX, then fused and int8 variants) --------------------------------

def export_onnx(model_dir: str, out: Path) -> dict[str, Path]:
    files = {"fp32": out / "model.onnx", "opt": out / "model_opt.onnx",
             "int8": out / "model_int8.onnx", "opt_int8": out / "model_opt_int8.onnx"}
    out.mkdir(parents=True, exist_ok=True)
    if not files["fp32"].exists():
        import torch
        from transformers import AutoModel, AutoTokenizer

        model = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()
        enc = AutoTokenizer.from_pretrained(model_dir)(["a b", "a longer one"], padding=True, return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]

        class Hidden(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.m(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

        torch.onnx.export(Hidden(model), tuple(enc[k] for k in names), str(files["fp32"]),
                          input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes={k: {0: "batch", 1: "tokens"} for k in names + ["last_hidden_state"]},
                          opset_version=17, dynamo=False)
    if not files["opt"].exists():
        from onnxruntime.transformers.optimizer import optimize_model

        optimize_model(str(files["fp32"]), model_type="bert", num_heads=12, hidden_size=384,
                       opt_level=1).save_model_to_file(str(files["opt"]))
    for src, dst in (("fp32", "int8"), ("opt", "opt_int8")):
        if not files[dst].exists():  # dynamic int8, uint8 weights per channel (per tensor: cos min 0.93)
            import onnx
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(files[src]), str(files[dst]), weight_type=QuantType.QUInt8, per_channel=True,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return files


class GraphEmbedder:
    """Tokenise like sentence-transformers (length-sorted batches, 256 tokens), run the ONNX
    graph with ONNX Runtime or OpenVINO, mean-pool over the mask, L2-normalise."""

    def __init__(self, model_dir: str, onnx_file: Path, threads: int, engine: str = "ort"):
        from transformers import AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(model_dir)
        if engine == "ort":
            import onnxruntime as ort

            so = ort.SessionOptions()
            so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
            sess = ort.InferenceSession(str(onnx_file), so, providers=["CPUExecutionProvider"])
            names = {i.name for i in sess.get_inputs()}
            self.run = lambda feed: sess.run(None, {k: v for k, v in feed.items() if k in names})[0]
        else:
            import openvino as ov

            compiled = ov.Core().compile_model(str(onnx_file), "CPU", {
                "INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32",
                "PERFORMANCE_HINT": "LATENCY"})
            self.run = lambda feed: compiled(dict(feed))[0]

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), 384), dtype="float32")
        for at in range(0, len(texts), batch_size):
            idx = order[at : at + batch_size]
            enc = self.tok([texts[i] for i in idx], padding=True, truncation=True,
                           max_length=MAX_TOKENS, return_tensors="np")
            feed = {k: v.astype("int64") for k, v in enc.items()}
            hidden = self.run(feed)
            mask = feed["attention_mask"][..., None].astype("float32")
            v = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            out[idx] = v / np.linalg.norm(v, axis=1, keepdims=True)
        return out


class TorchEmbedder:
    def __init__(self, model_dir: str, threads: int):
        import torch
        from sentence_transformers import SentenceTransformer

        self.threads, self.torch = threads, torch
        self.model = SentenceTransformer(model_dir, device="cpu")

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        self.torch.set_num_threads(self.threads)
        return self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)


# --- measuring --------------------------------------------------------------------------------

def timed(embedder, passages, sentences, batch, repeat):
    walls, cpus = [], []
    embedder.encode(passages[:batch], batch)  # warm-up: first-call allocations and kernel choice
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        vecs = np.concatenate([embedder.encode(passages, batch), embedder.encode(sentences, batch)])
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), vecs


def query_latency(embedder, n=30):
    embedder.encode([QUESTION], 1)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        embedder.encode([QUESTION], 1)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=str(REPO.parent / "shared" / "corpora" / "python-howto"))
    ap.add_argument("--passages", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--onnx-dir", default="/tmp/onnx-model")
    ap.add_argument("--torch-batches", default="16,32,64,128")
    ap.add_argument("--batch", type=int, default=32, help="batch of the ONNX/OpenVINO options")
    ap.add_argument("--one-thread", default="onnx int8 fused,openvino fp32",
                    help="backends also timed with 1 thread (comma-separated)")
    args = ap.parse_args()

    settings = Settings.from_env()
    model_dir = settings.model_path()
    passages, sentences = corpus_texts(Path(args.corpus), args.passages, settings)
    onnx = export_onnx(model_dir, Path(args.onnx_dir))
    print(f"load: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} CPUs; {len(passages)} passages "
          f"+ {len(sentences)} sentences, median of {args.repeat}")

    backends = {"torch": lambda t: TorchEmbedder(model_dir, t)}
    for label, file in (("onnx fp32", "fp32"), ("onnx fp32 fused", "opt"), ("onnx int8", "int8"),
                        ("onnx int8 fused", "opt_int8")):
        backends[label] = lambda t, f=onnx[file]: GraphEmbedder(model_dir, f, t)
    try:
        import openvino  # noqa: F401
        backends["openvino fp32"] = lambda t: GraphEmbedder(model_dir, onnx["fp32"], t, "openvino")
    except ImportError:
        print("openvino: not installed")
    # 2 threads for every option; 1 thread (slower, ~2x the time) for torch B=32 and --one-thread
    options = [("torch", b, 2) for b in map(int, args.torch_batches.split(","))] + [("torch", 32, 1)]
    for name in backends:
        if name != "torch":
            options += [(name, args.batch, 2)] + [(name, args.batch, 1)] * (name in args.one_thread.split(","))

    reference = None
    rows = []
    for name, batch, threads in options:
        label = f"{name} B={batch} t={threads}"
        wall, cpu, vecs = timed(backends[name](threads), passages, sentences, batch, args.repeat)
        if reference is None:  # the first option: torch fp32 (sentence-transformers as ingest uses it)
            reference = vecs
        cos = (vecs * reference).sum(1)
        rows.append((label, len(passages) / wall, len(passages) / cpu, cos.mean(), cos.min()))
        print(f"  {label}: {wall:.1f} s", file=sys.stderr)

    print(f"\n{'option':<30} {'pass/s':>7} {'pass/CPU-s':>10} {'cos mean':>9} {'cos min':>8}")
    for label, ps, pc, cm, cmin in rows:
        print(f"{label:<30} {ps:>7.2f} {pc:>10.2f} {cm:>9.6f} {cmin:>8.6f}")

    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        print(f"\none question ({len(QUESTION)} chars), median of 30, one core kept busy:")
        print(f"{'option':<30} {'ms':>7}")
        for name in backends:
            for threads in (1, 2):
                print(f"{name + f' t={threads}':<30} {query_latency(backends[name](threads)):>7.2f}")
    finally:
        busy.kill()
        busy.wait()


if __name__ == "__main__":
    main()

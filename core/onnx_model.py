"""The embedding model run by ONNX Runtime: the same vectors as sentence-transformers (cosine
1.000000 on the HOWTO passages, bench/embed_options.py) without importing torch to answer a
question, and about 1.5x the passages per CPU-second at ingest.

The ONNX graph is exported offline from the model's own files, once per model, into a cache
folder (`$XDG_CACHE_HOME/ask-the-essays/onnx/…`, else `~/.cache/…`), written to a temporary
folder and renamed into place, so a killed export leaves nothing half-written. Only plain
sentence-transformers models (a Transformer, mean pooling, optional Normalize) are run this way;
`supports()` says whether a model folder is one."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError

EXPORT_VERSION = 2  # bump when the exported graph changes (2: no fusion pass, ONNX Runtime's own)
PLAIN_MODULES = ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling"]


@dataclass
class Tokens:
    """One text as the model read it: a vector per token (the last hidden states, which mean
    pooling averages into the text's vector) and each token's character span in the text
    ((0, 0) for the model's special tokens). Truncated texts have tokens for their start only."""

    vectors: np.ndarray  # (tokens, dimension) float32
    spans: np.ndarray  # (tokens, 2) int64: start, end

    def pooled(self) -> np.ndarray:
        """The text's normalised vector, as `encode` returns it."""
        return unit_mean(self.vectors)


def unit_mean(vectors: np.ndarray) -> np.ndarray:
    """The mean of some token vectors, normalised (float32): mean pooling."""
    v = vectors.mean(0)
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype("float32")


def supports(model_dir: str) -> str:
    """'' when the folder holds a model this backend runs exactly, else why not."""
    folder = Path(model_dir)
    if not (folder / "tokenizer.json").is_file() or not (folder / "config.json").is_file():
        return f"{model_dir} is not a local model folder with tokenizer.json"
    try:
        modules = [m["type"] for m in json.loads((folder / "modules.json").read_text())]
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return "its sentence-transformers modules could not be read"
    if modules[:2] != PLAIN_MODULES or modules[2:] not in ([], ["sentence_transformers.models.Normalize"]):
        return f"its modules are {modules}, not a transformer with pooling"
    means = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    if means != ["pooling_mode_mean_tokens"]:
        return f"it pools with {means}, not the mean of the tokens"
    return ""


def cache_root() -> Path:
    from .settings import cache_folder

    return cache_folder("onnx")


def export_key(model_dir: str) -> str:
    """Names the export: the model folder's files (name, size, time) and the runtime's version."""
    import onnxruntime

    folder = Path(model_dir).resolve()
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    stats = [(str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    what = [str(folder), stats, onnxruntime.__version__, EXPORT_VERSION]
    return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:20]


def exported(model_dir: str, root: Path | None = None) -> Path:
    """The model's ONNX file, exported now if it is not in the cache yet (needs torch, ~20 s)."""
    target = (root or cache_root()) / export_key(model_dir)
    model_file = target / "model.onnx"
    if model_file.is_file():
        return model_file
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        work.chmod(0o755)  # readable by whoever may read the model (mkdtemp makes it 0700)
        export(model_dir, work / "model.onnx")
        try:
            os.replace(work, target)
        except OSError:  # another process exported it first: use theirs
            if not model_file.is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return model_file


def export(model_dir: str, out: Path) -> None:
    """Torch -> ONNX (last hidden state, dynamic batch and length); pooling and normalising
    happen in numpy. ONNX Runtime optimises the graph when it loads it: its transformer fusion
    pass, run beforehand, made passages 5% slower (bench notes in docs/scale.md)."""
    import warnings

    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    enc = AutoTokenizer.from_pretrained(model_dir)(["a b", "a longer one"], padding=True, return_tensors="pt")
    names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]

    class Hidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, *inputs):
            return self.m(**dict(zip(names, inputs))).last_hidden_state

    axes = {k: {0: "batch", 1: "tokens"} for k in names + ["last_hidden_state"]}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shapes the dynamic axes cover
        torch.onnx.export(Hidden(model), tuple(enc[k] for k in names), str(out), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17,
                          dynamo=False)


class OnnxEmbedder:
    """Tokenise as sentence-transformers does (its tokenizer.json, its max_seq_length, batches
    sorted by length), run the graph, mean-pool over the mask, L2-normalise. One ONNX Runtime
    session per thread count, made when first asked for; sessions are thread-safe."""

    def __init__(self, name_or_path: str, onnx_file: Path):
        from tokenizers import Tokenizer

        folder = Path(name_or_path)
        self.name, self.onnx_file = name_or_path, onnx_file
        try:
            st_config = json.loads((folder / "sentence_bert_config.json").read_text())
        except (OSError, ValueError):
            st_config = {}
        config = json.loads((folder / "config.json").read_text())
        self.max_tokens = int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        self.tokenizer.no_padding()
        self.dimension = int(config["hidden_size"])
        self.sessions: dict[int, object] = {}
        self.lock = threading.Lock()
        self.session(1)  # fails now, with a fix-it message, if the file cannot be run

    def session(self, threads: int):
        with self.lock:
            if threads not in self.sessions:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
                options.log_severity_level = 3
                try:
                    session = ort.InferenceSession(str(self.onnx_file), options,
                                                   providers=["CPUExecutionProvider"])
                except Exception as exc:  # noqa: BLE001 - a damaged cache file, one fix
                    raise ModelError(
                        f"Could not run the exported model {self.onnx_file} ({exc.__class__.__name__}). "
                        f"Delete the folder {self.onnx_file.parent} to export it again, or set "
                        "ESSAYS_ENCODER=torch.") from exc
                self.sessions[threads] = (session, {i.name for i in session.get_inputs()})
            return self.sessions[threads]

    def words(self) -> frozenset[str]:
        """Whole words the model's tokenizer knows: a dictionary for typo repair."""
        words = (w.lstrip("▁Ġ").lower() for w in self.tokenizer.get_vocab())
        return frozenset(w for w in words if w.isalpha())

    def batches(self, texts: list[str], batch_size: int, threads: int):
        """(rows of `texts`, their encodings, last hidden states) per batch, longest first."""
        session, inputs = self.session(threads or os.cpu_count() or 1)
        encodings = self.tokenizer.encode_batch(list(texts))
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        for at in range(0, len(texts), batch_size):
            chosen = order[at:at + batch_size]
            width = len(encodings[chosen[0]].ids)
            feed = {name: np.zeros((len(chosen), width), dtype="int64")
                    for name in ("input_ids", "attention_mask", "token_type_ids")}
            for row, i in enumerate(chosen):
                e = encodings[i]
                feed["input_ids"][row, :len(e.ids)] = e.ids
                feed["attention_mask"][row, :len(e.ids)] = e.attention_mask
                feed["token_type_ids"][row, :len(e.ids)] = e.type_ids
            hidden = session.run(None, {k: v for k, v in feed.items() if k in inputs})[0]
            yield chosen, [encodings[i] for i in chosen], hidden

    def encode(self, texts: list[str], progress: bool = False, batch_size: int = 16,
               threads: int = 0) -> np.ndarray:
        """Normalised float32 vectors of the texts (the mean of their token vectors);
        `threads` 0: every core. Batches of 16 pad least (bench/embed_options.py)."""
        out = np.zeros((len(texts), self.dimension), dtype="float32")
        for chosen, encodings, hidden in self.batches(texts, batch_size, threads):
            mask = np.zeros(hidden.shape[:2] + (1,), dtype="float32")
            for row, e in enumerate(encodings):
                mask[row, :len(e.ids)] = 1.0
            pooled = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            out[chosen] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return out

    def encode_tokens(self, texts: list[str], batch_size: int = 8, threads: int = 0) -> list[Tokens]:
        """Each text's token vectors (the last hidden states) and their character spans.
        Passages are long: batches of 8 pad least."""
        out: list[Tokens | None] = [None] * len(texts)
        for chosen, encodings, hidden in self.batches(texts, batch_size, threads):
            for row, (i, e) in enumerate(zip(chosen, encodings)):
                out[i] = Tokens(hidden[row, :len(e.ids)].astype("float32"),
                                np.asarray(e.offsets, dtype="int64").reshape(-1, 2))
        return out

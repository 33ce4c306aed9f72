"""Optional re-ranking with a cross-encoder model the user already has on disk.

Off by default: set `reranker` (ESSAYS_RERANKER) to a local sentence-transformers
CrossEncoder folder. Nothing is downloaded. The candidates found by fused retrieval are
re-ordered by the cross-encoder's score for (question, passage); evidence, confidence and
"no good answer" still come from the calibrated retrieval scores.
"""
from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

from ingest.embed import ModelError


class Reranker:
    def __init__(self, path: str):
        from sentence_transformers import CrossEncoder

        try:
            self.model = CrossEncoder(path, device="cpu")
        except Exception as exc:  # noqa: BLE001 - one fix-it message for every cause
            raise ModelError(
                f"Could not load the re-ranking model {path!r} ({exc.__class__.__name__}). Give a local "
                "CrossEncoder folder with ESSAYS_RERANKER, or unset it to rank without one."
            ) from exc
        self._lock = threading.Lock()

    def scores(self, question: str, texts: list[str]) -> np.ndarray:
        with self._lock:
            out = self.model.predict([(question, t) for t in texts], show_progress_bar=False)
        return np.asarray(out, dtype="float64").reshape(len(texts))


@lru_cache(maxsize=2)
def load_reranker(path: str) -> Reranker:
    return Reranker(path)

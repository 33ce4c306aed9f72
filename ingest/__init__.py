"""Write side: read documents, find their structure, cut passages, embed them, write the index."""
from .build import BuildReport, IngestError, Skipped, build_index
from .settings import DEFAULT_CORPUS, DEFAULT_INDEX, Settings

__all__ = ["BuildReport", "IngestError", "Skipped", "build_index", "Settings",
           "DEFAULT_CORPUS", "DEFAULT_INDEX"]

"""Documents as the program sees them: which files count (`formats`), finding and
fingerprinting them (`find`), decoding and extracting their text (`read`, `decode`, `extract`),
and the page furniture rules shared with structure detection (`boilerplate`)."""
from .decode import decode
from .find import discover, file_sha256, file_stats, fingerprint, relative
from .formats import KINDS, PLAIN_SUFFIXES, SUFFIXES, Extracted, SkipFile, is_plain, kind_of
from .read import MAX_BYTES, read_document, read_text

__all__ = ["KINDS", "PLAIN_SUFFIXES", "SUFFIXES", "MAX_BYTES", "Extracted", "SkipFile", "decode",
           "discover", "file_sha256", "file_stats", "fingerprint", "relative", "is_plain", "kind_of",
           "read_document", "read_text"]

"""Documents added by page visitors: a safe file name, an atomic write, an incremental ingest.

Off unless the host sets `allow_uploads` (ESSAYS_ALLOW_UPLOADS=1): a shared workshop server
is read-only by default. The page calls, in order:

    name = safe_name(upload.name)                         # or UploadRejected
    path = store_upload(upload_dir(paths), upload.name, upload.getvalue(), max_bytes)
    outcome = ingest_uploads(paths, index_dir, settings, progress_callback)

Every refusal is an `UploadRejected` whose message says what is wrong and what to do; nothing
is written for a refused upload. Uploads go to `uploads/` in the first corpus folder, so the
host can tell them from the essays and remove them.

The page's process does no parsing of an upload: the check in `store_upload` extracts it in
the worker process of core/documents/read.py (time and memory limits), and `ingest_uploads`
runs the whole ingest in a child process (`python -c ...`, at a lower CPU priority), reading
its progress back line by line, so a hostile document cannot stall the page for everyone.
Temporary files left by an upload that was killed half-way (`.upload-*`, hidden, so never
indexed) are removed once they are an hour old, when the next upload is stored or indexed.
"""
from __future__ import annotations

import dataclasses
import errno
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from core.documents import SUFFIXES, SkipFile, read_document
from core.errors import IngestBusy, IngestError
from core.index_format import fsync_dir
from core.settings import PROJECT_ROOT, Settings

from .build import Event, build_index
from .steps import BuildProgress

UPLOADS = "uploads"  # sub-folder of the corpus folder that receives uploads
MAX_PASSPHRASE_TRIES = 5  # wrong passphrases a session may type
MAX_NAME_BYTES = 120  # well below the 255 bytes file systems allow, leaving room for "-NNN"
MAX_COPIES = 999  # name-2 ... name-999, then refuse
TEMPORARY = ".upload-"  # prefix of the hidden file an upload is written to before it is named
STALE_SECONDS = 3600  # a temporary file this old belongs to an upload that was killed


class UploadRejected(ValueError):
    """An upload that is not stored; the message says why and what to do."""


# --- the file name ---------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[/\\]")
_SPACES = re.compile(r"\s+")
_ODD = re.compile(r"[^\w.\-]")  # \w is Unicode-aware: letters and digits of any script, and _
_RUNS = re.compile(r"[-_]{2,}|\.{2,}")


def safe_name(filename: str) -> str:
    """The upload's file name made safe to create in the uploads folder, or UploadRejected.

    Only the last path component is kept (a browser may send "C:\\Users\\me\\essay.txt"; a
    hostile client "../../etc/passwd.txt"); hidden names, control characters and unsupported
    suffixes are refused; spaces become "-" and other odd characters "_"; the name is
    shortened to MAX_NAME_BYTES of UTF-8. The suffix is lower-cased."""
    if not isinstance(filename, str) or not filename.strip():
        raise UploadRejected("The file has no name: give it a name ending in "
                             f"{_supported()} and upload it again.")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs") and c not in "\t" for c in filename):
        raise UploadRejected("The file name contains control or invisible characters: rename the "
                             "file using letters, digits, spaces, '-' or '_' and upload it again.")
    name = unicodedata.normalize("NFKC", filename)  # a full-width "／" becomes "/", and so on
    name = _SEPARATORS.split(name)[-1].strip()
    if not name or name in (".", ".."):
        raise UploadRejected("The file name is only a folder path: upload a document file.")
    if name.startswith("."):
        raise UploadRejected(f"“{name}” is a hidden file (its name starts with a dot): rename it "
                             "if it is a document you mean to share.")
    if name.startswith("~$"):
        raise UploadRejected(f"“{name}” is the lock file Word keeps beside an open document, "
                             "not a document: upload the document itself.")
    stem, dot, suffix = name.rpartition(".")
    suffix = "." + suffix.lower() if dot else ""
    if suffix not in SUFFIXES:
        raise UploadRejected(f"“{name}” is not a supported document: upload {_supported()} files.")
    stem = _SPACES.sub("-", stem)
    stem = _ODD.sub("_", stem)
    stem = _RUNS.sub(lambda m: m.group(0)[0], stem).strip("-_.")
    if not any(c.isalnum() for c in stem):
        raise UploadRejected(f"“{name}” has no letters or digits before {suffix}: rename the file "
                             "and upload it again.")
    while len((stem + suffix).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem.rstrip("-_.") + suffix


def _supported() -> str:
    return ", ".join(SUFFIXES[:-1]) + " or " + SUFFIXES[-1]


# --- storing one upload ----------------------------------------------------------------------

def upload_dir(corpus_paths: list[Path]) -> Path:
    """Where uploads go: uploads/ in the first corpus folder (an index built from single files
    has no folder that a new document would be found in)."""
    for p in corpus_paths:
        if Path(p).is_dir():
            return Path(p) / UPLOADS
    raise UploadRejected("Uploads need an index built from a folder of documents; this one was "
                         "built from single files. Ask the host to add documents instead.")


def remove_stale_temporaries(folder: Path, older_than: float = STALE_SECONDS) -> list[Path]:
    """Remove the temporary files (.upload-*) in `folder` not changed for `older_than`
    seconds: left by an upload killed before it was named (a live upload's is seconds old).
    Returns those removed; a folder that cannot be listed is left alone."""
    removed = []
    cutoff = time.time() - older_than
    try:
        candidates = [p for p in Path(folder).iterdir() if p.name.startswith(TEMPORARY)]
    except OSError:
        return removed
    for p in candidates:
        try:
            if p.is_file() and not p.is_symlink() and p.stat().st_mtime < cutoff:
                p.unlink()
                removed.append(p)
        except OSError:  # removed by another upload meanwhile, or not ours to remove
            continue
    return removed


def store_upload(corpus_dir: Path, filename: str, data: bytes, max_bytes: int,
                 subfolder: str | None = None, check: bool = True, settings: Settings | None = None) -> Path:
    """Save an uploaded document under `corpus_dir` (in `subfolder`, e.g. "uploads") and return
    its path. UploadRejected when the name, the size or (with `check`) the content is unusable.

    The bytes go to a hidden temporary file in the target folder (ingest never reads hidden
    files), are flushed to disk, and only then take their name, atomically: a reader sees the
    whole document or none. An existing file is never replaced: the same bytes under the same
    name are not stored twice (its path is returned), other bytes get "name-2.txt", "name-3.txt"…
    The check reads the document as ingest will, within the limits of `settings` (None: the
    settings of the environment), in a worker process for web pages, PDFs and Word files."""
    name = safe_name(filename)
    data = bytes(data)
    if len(data) > max_bytes:
        raise UploadRejected(f"“{name}” is {_mb(len(data))}; the limit is {_mb(max_bytes)} per "
                             "document (setting max_upload_mb): split it into smaller files.")
    if not data.strip():
        raise UploadRejected(f"“{name}” is empty: the file has no text.")
    folder = Path(corpus_dir) / subfolder if subfolder else Path(corpus_dir)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder)
    suffix = Path(name).suffix
    fd, tmp_name = tempfile.mkstemp(prefix=TEMPORARY, suffix=suffix, dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if check:
            try:
                read_document(tmp, settings)
            except SkipFile as why:
                raise UploadRejected(f"“{name}” cannot be added: it is {why}.") from None
        return _claim_name(tmp, folder, name, data)
    finally:
        tmp.unlink(missing_ok=True)


def _claim_name(tmp: Path, folder: Path, name: str, data: bytes) -> Path:
    """Give the written temporary file the first free name of name, name-2, name-3, ...
    os.link fails when the name exists, so two uploads at once never overwrite each other."""
    stem, suffix = name[: -len(Path(name).suffix)], Path(name).suffix
    for n in range(1, MAX_COPIES + 1):
        target = folder / (name if n == 1 else f"{stem}-{n}{suffix}")
        if target.resolve().parent != folder.resolve():  # cannot happen after safe_name
            raise UploadRejected(f"“{name}” would be stored outside the uploads folder.")
        if target.is_file() and target.read_bytes() == data:
            return target  # the same document uploaded again: keep one copy
        try:
            os.link(tmp, target)
        except FileExistsError:
            continue
        except OSError as err:
            if err.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            if target.exists():  # no hard links on this file system: check, then rename
                continue
            os.replace(tmp, target)
        fsync_dir(folder)
        return target
    raise UploadRejected(f"There are already {MAX_COPIES} documents named like “{name}”: "
                         "rename the file and upload it again.")


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def passphrase_matches(typed: str, passphrase: str) -> bool:
    """The upload passphrase check, in constant time (no timing hint of how much was right)."""
    return bool(passphrase) and hmac.compare_digest(typed.encode("utf-8"), passphrase.encode("utf-8"))


# --- indexing the uploads --------------------------------------------------------------------

@dataclass
class IngestOutcome:
    ok: bool
    message: str  # one line for the page: what was indexed, or why nothing was
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    documents: int = 0
    passages: int = 0
    passages_embedded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)


def ingest_uploads(
    corpus_paths: list[Path],
    index_dir: Path,
    settings: Settings,
    progress_callback: Callable[[float, str], None] = lambda fraction, text: None,
) -> IngestOutcome:
    """Bring the index up to date with the corpus (new uploads included), incrementally: only
    new and changed documents are embedded. `progress_callback(fraction, text)` is told how far
    it is (0.0 to 1.0). Never raises for an ingest already running (IngestBusy), a corpus
    without passages (IngestError) or a full disk: the outcome says so in its message.

    The ingest runs in a child process (see the module's docstring); this process only reads
    its progress and outcome, one JSON object a line. A child that ends without an outcome
    (killed, crashed) gives an outcome that says so; the previous index keeps serving."""
    progress_callback(0.05, "Reading the documents…")
    for p in corpus_paths:
        remove_stale_temporaries(Path(p) / UPLOADS)
    request = {
        "paths": [str(Path(p).resolve()) for p in corpus_paths],
        "index_dir": str(Path(index_dir).resolve()),
        "settings": {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)
                     if not f.metadata.get("secret")},  # the passphrase stays in this process
    }
    code = (f"import sys; sys.path.insert(0, {str(PROJECT_ROOT)!r}); "
            "from ingest.uploads import ingest_child; ingest_child()")
    try:
        child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, cwd=PROJECT_ROOT, encoding="utf-8")
    except OSError as err:
        return IngestOutcome(False, f"The index could not be updated (the indexing process could not "
                                    f"be started: {err.strerror or err}); the previous index keeps "
                                    "serving. Tell the host.")
    bar = BuildProgress()
    outcome = None
    try:
        try:
            child.stdin.write(json.dumps(request))
            child.stdin.close()
        except OSError:  # it ended at once: said below, from its exit status
            pass
        for line in child.stdout:
            try:
                said = json.loads(line)
            except ValueError:
                continue
            if "event" in said:
                moved = bar.update(Event(*said["event"]))
                if moved is not None:
                    progress_callback(*moved)
            elif "outcome" in said:
                fields = said["outcome"]
                fields["skipped"] = [tuple(s) for s in fields.get("skipped", [])]
                outcome = IngestOutcome(**fields)
        status = child.wait()
    finally:
        if child.poll() is None:  # this thread was stopped (the visitor left): so is the child
            child.kill()
            child.wait()
        for pipe in (child.stdin, child.stdout):
            pipe.close()
    if outcome is None:
        how = f"signal {-status}" if status < 0 else f"exit code {status}"
        return IngestOutcome(False, f"Indexing stopped before it finished ({how}); the documents "
                                    "are saved and the previous index keeps serving: add them again "
                                    "in a minute (they will not be stored twice), or tell the host.")
    if outcome.ok:
        progress_callback(1.0, outcome.message)
    return outcome


def ingest_child() -> None:
    """The child process of `ingest_uploads`: the request as JSON on standard input; each
    progress event, then the outcome, as one JSON object a line on standard output (anything
    else a library prints goes to standard error)."""
    try:
        os.nice(10)  # the page's answers to other visitors come first
    except OSError:
        pass
    request = json.loads(sys.stdin.read())
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)

    def say(obj) -> None:
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        out.flush()

    settings = Settings(**request["settings"])
    outcome = ingest_here([Path(p) for p in request["paths"]], Path(request["index_dir"]), settings,
                          lambda e: say({"event": [e.stage, e.message, e.done, e.total]}))
    say({"outcome": dataclasses.asdict(outcome)})
    out.close()


def ingest_here(corpus_paths: list[Path], index_dir: Path, settings: Settings,
                on_event: Callable[[Event], None] = lambda event: None) -> IngestOutcome:
    """The ingest of `ingest_uploads`, in this process: the outcome, whatever happens."""
    try:
        report = build_index([Path(p) for p in corpus_paths], Path(index_dir), settings,
                             on_event=on_event, progress=False)
    except IngestBusy:
        return IngestOutcome(False, "Another ingest is updating the index right now. Your document "
                                    "is saved but not yet searchable: add it again in a minute "
                                    "(it will not be stored twice).")
    except IngestError as err:
        return IngestOutcome(False, str(err))
    except OSError as err:
        reason = err.strerror or err.__class__.__name__
        return IngestOutcome(False, f"The index could not be updated ({reason}); the previous "
                                    "index keeps serving. Tell the host.")
    counts = report.changes.counts()
    skipped = [(s.source, s.reason) for s in report.skipped]
    new = counts["added"] + counts["changed"]
    message = (f"Indexed {_count(new, 'new or changed document')} "
               f"({_count(report.passages_embedded, 'passage')} embedded); "
               f"{_count(report.documents, 'document')}, {_count(report.passages, 'passage')} in all.")
    if skipped:
        message += " Skipped: " + "; ".join(f"{s} ({r})" for s, r in skipped) + "."
    return IngestOutcome(True, message, documents=report.documents, passages=report.passages,
                         passages_embedded=report.passages_embedded, skipped=skipped, **counts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"

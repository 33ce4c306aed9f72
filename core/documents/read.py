"""Turning a document's bytes into text, or saying why not.

`read_document` (and `read_text`, its text) is the single entry point: plain text (.txt, .md)
is decoded here; web pages, PDFs and Word files are extracted by `extract.py`. The text
returned is what every offset in the index refers to. For plain text it is the file's own
text, so a quote is checked against the file; for the other formats it is the extracted text,
which ingest stores with the index (builds/<id>/texts/) for the same purpose.

Bounded work (settings max_document_chars, max_document_paragraphs, extract_seconds,
extract_memory_mb): a document over a limit is skipped whole with a SkipFile naming the limit
and the setting. Plain text is decoded in this process and checked against the character and
paragraph limits. Web pages, PDFs and Word files are parsed by libraries that a hostile file
can keep busy for minutes or drive to gigabytes, so they are extracted in a worker process
(`python -c ...` with this interpreter: it works the same under pytest, the CLIs and
`streamlit run`) whose address space is limited (RLIMIT_AS) and which is killed when a
document takes longer than allowed. A worker is started once and reused for file after file
(starting one costs about 0.3 s of imports); one that failed, was killed or grew large is
replaced by a fresh one for the next document. Idle workers exit on their own after
WORKER_IDLE_SECONDS. Where no worker can be started, extraction runs here, with the character
and paragraph limits only.
"""
from __future__ import annotations

import atexit
import logging
import os
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from .decode import decode
from .extract import Limits, check_size, extract
from .formats import PLAIN_SUFFIXES, SUFFIXES, Extracted, SkipFile, kind_of

MAX_BYTES = 20_000_000  # 20 MB of text is far beyond an essay; larger files are refused
MAX_DOCUMENT_BYTES = 100_000_000  # PDFs and Word files carry pictures and fonts: a larger limit

WORKER_START_SECONDS = 60  # how long a new worker may take to be ready (imports, a busy machine)
WORKER_IDLE_SECONDS = 120  # a worker with nothing to do for this long exits
MAX_IDLE_WORKERS = 2  # kept for reuse (one per thread reading documents at the same moment)
_ROOT = str(Path(__file__).resolve().parents[2])
log = logging.getLogger(__name__)


def read_text(path: Path, settings=None) -> str:
    """The file's text; raises SkipFile for empty, binary, huge, undecodable, corrupt or
    encrypted files (see read_document)."""
    return read_document(path, settings).text


def read_document(path: Path, settings=None) -> Extracted:
    """The file's text, its kind and (PDF) page offsets, dispatching on the suffix: .txt and
    .md are decoded, .html/.htm, .pdf and .docx extracted in a worker process. Raises SkipFile
    with the reason. `settings`: a Settings (or extract.Limits) whose limits apply; None: the
    settings of the environment."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SkipFile(f"not a supported document (supported: {', '.join(SUFFIXES)})")
    limits = Limits.of(settings)
    limit = MAX_BYTES if suffix in PLAIN_SUFFIXES or kind_of(path) == "html" else MAX_DOCUMENT_BYTES
    try:
        size = path.stat().st_size
    except OSError as err:
        raise SkipFile(f"cannot be read ({err.strerror or err.__class__.__name__})") from None
    if size > limit:
        raise SkipFile(f"too large ({size / 1e6:.1f} MB; the limit is {limit / 1e6:g} MB): split it into smaller files")
    if suffix not in PLAIN_SUFFIXES:
        return extract_isolated(path, limits)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SkipFile(f"cannot be read ({err.strerror or err.__class__.__name__})") from None
    text = decode(data)
    check_size(text, limits)
    return Extracted(text, "text", None)


# --- the worker process ----------------------------------------------------------------------

def too_slow(limits: Limits) -> SkipFile:
    return SkipFile(f"too slow to extract: stopped after {limits.seconds:g} s, the limit per "
                    "document (setting extract_seconds): save it as plain text (.txt) or split it, "
                    "or raise the limit (ESSAYS_EXTRACT_SECONDS)")


def too_big_to_extract(limits: Limits) -> SkipFile:
    return SkipFile(f"too large to extract: it needed more than {limits.memory_mb:,} MB of memory, "
                    "the limit per document (setting extract_memory_mb): save it as plain text "
                    "(.txt) or split it, or raise the limit (ESSAYS_EXTRACT_MEMORY_MB)")


def extract_isolated(path: Path, limits: Limits) -> Extracted:
    """extract(path) in a worker process held to `limits` (seconds, memory); SkipFile with
    the limit when it is passed, as for any other reason the document cannot be read."""
    for _ in range(2):  # a worker that died while idle (killed from outside) gets a successor
        worker = WORKERS.take(limits.memory_mb)
        if worker is None:  # no worker could be started: extract here, without those two limits
            return extract(path, None, limits)
        try:
            worker.requests.send((str(path), limits))
            break
        except OSError:
            worker.stop()
    else:
        raise SkipFile("not extracted: no extracting process could be started; try again, or "
                       "save it as plain text (.txt)")
    keep = False
    try:
        try:
            if not worker.replies.poll(limits.seconds):
                raise too_slow(limits)
            status, payload, stats = worker.replies.recv()
        except (EOFError, OSError):  # it died: killed by the system, or crashed in a library
            code = worker.stop()
            how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            raise SkipFile(f"not extracted: the extracting process stopped while reading it ({how}; "
                           f"it may have run out of memory, limit {limits.memory_mb:,} MB, setting "
                           "extract_memory_mb): check that the file opens, or save it as plain "
                           "text (.txt)") from None
        WORKERS.stats["last_peak_mb"] = stats["peak_mb"]
        WORKERS.stats["peak_mb"] = max(WORKERS.stats["peak_mb"], stats["peak_mb"])
        keep = not stats["restart"]
        if status == "memory":
            raise too_big_to_extract(limits)
        if status == "skip":
            raise SkipFile(payload)
        text, kind, pages, code = payload
        return Extracted(text, kind, pages, tuple(code))
    finally:
        if keep:
            WORKERS.give(worker)
        else:
            worker.stop()


class Worker:
    """One extracting process and the two pipes to it (multiprocessing Connections: pickled
    messages with a length prefix)."""

    def __init__(self, memory_mb: int):
        self.memory_mb = memory_mb
        to_child, requests = os.pipe()
        replies, from_child = os.pipe()
        code = (f"import sys; sys.path.insert(0, {_ROOT!r}); "
                "from core.documents.read import serve; serve()")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", code, str(to_child), str(from_child), str(memory_mb)],
                pass_fds=(to_child, from_child), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, cwd=_ROOT)
        except BaseException:
            os.close(requests)
            os.close(replies)
            raise
        finally:
            os.close(to_child)
            os.close(from_child)
        self.requests = Connection(requests, readable=False)
        self.replies = Connection(replies, writable=False)
        self.used = time.monotonic()
        try:
            if not self.replies.poll(WORKER_START_SECONDS):
                raise OSError(f"not ready after {WORKER_START_SECONDS} s")
            self.replies.recv()  # ("ready", pid)
        except BaseException:
            self.stop()
            raise

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int | None:
        """End the process (asked to by closing its pipe, killed if it does not go at once)
        and return its exit status."""
        for conn in (self.requests, self.replies):
            conn.close()
        try:
            return self.proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


class Workers:
    """The extracting processes of this process: idle ones kept for reuse (at most
    MAX_IDLE_WORKERS), and after a failed start, none tried again for five minutes."""

    def __init__(self):
        self.idle: list[Worker] = []
        self.lock = threading.Lock()
        self.no_worker_until = 0.0  # after a failed start: extract in this process until then
        self.stats = {"workers_started": 0, "peak_mb": 0.0, "last_peak_mb": 0.0}  # for measurements

    def take(self, memory_mb: int) -> Worker | None:
        """An idle worker with this memory limit, or a new one; None where none can be started."""
        fresh_enough = time.monotonic() - (WORKER_IDLE_SECONDS - 20)  # it exits after WORKER_IDLE_SECONDS
        with self.lock:
            stale, found = [], None
            while self.idle and found is None:
                w = self.idle.pop()
                if w.memory_mb == memory_mb and w.used > fresh_enough and w.alive():
                    found = w
                else:
                    stale.append(w)
        for w in stale:
            w.stop()
        if found is not None:
            return found
        if time.monotonic() < self.no_worker_until:
            return None
        try:
            worker = Worker(memory_mb)
        except (OSError, EOFError, ValueError, subprocess.SubprocessError) as err:
            self.no_worker_until = time.monotonic() + 300
            log.warning("no extraction worker process could be started (%s): documents are "
                        "extracted in this process, without the time and memory limits", err)
            return None
        self.stats["workers_started"] += 1
        return worker

    def give(self, worker: Worker) -> None:
        worker.used = time.monotonic()
        with self.lock:
            if len(self.idle) < MAX_IDLE_WORKERS:
                self.idle.append(worker)
                return
        worker.stop()

    def close(self) -> None:
        """Stop the idle workers (at exit; tests call it to measure a worker's whole life)."""
        with self.lock:
            workers = list(self.idle)
            self.idle.clear()
        for w in workers:
            w.stop()


WORKERS = Workers()  # one pool per process, as a process has one set of child processes
atexit.register(WORKERS.close)
if hasattr(os, "register_at_fork"):  # a forked child must not use its parent's workers
    os.register_at_fork(after_in_child=WORKERS.idle.clear)


def close_workers() -> None:
    WORKERS.close()


def status_kb(field: str) -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def serve() -> None:
    """The worker's loop (`python -c "... serve()" IN_FD OUT_FD MEMORY_MB`): import the
    extraction libraries, limit the address space to what that took plus MEMORY_MB, say
    ready, then extract path after path until the pipe closes or nothing comes for
    WORKER_IDLE_SECONDS. After running out of memory, or growing past half its allowance
    (memory the process keeps), it says so and exits: the next document gets a fresh one."""
    import resource

    requests = Connection(int(sys.argv[1]), writable=False)
    replies = Connection(int(sys.argv[2]), readable=False)
    allowance = int(sys.argv[3]) * 2**20
    import docx  # noqa: F401 - imported before the limit, once for every document
    import lxml.etree  # noqa: F401
    import pypdf  # noqa: F401
    import trafilatura  # noqa: F401
    from trafilatura.settings import use_config  # noqa: F401

    base = status_kb("VmSize") * 1024
    if base:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = base + allowance
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    replies.send(("ready", os.getpid()))
    while requests.poll(WORKER_IDLE_SECONDS):
        try:
            path, limits = requests.recv()
        except EOFError:
            break
        payload = None
        try:
            got = extract(Path(path), None, limits)
            status, payload = "ok", (got.text, got.kind, got.pages, got.code)
        except SkipFile as why:
            status, payload = "skip", str(why)
        except MemoryError:
            status = "memory"
        except RecursionError:
            status, payload = "skip", ("nested too deeply: the document's structure is nested "
                                       "deeper than the reader follows (a generated or damaged file)")
        except Exception as err:  # noqa: BLE001 - a library's failure on a damaged file
            status, payload = "skip", (f"corrupt: it cannot be read ({err.__class__.__name__}: "
                                       f"{str(err)[:120]})")
        grown = status_kb("VmPeak") * 1024 - base if base else 0
        if status == "skip" and grown > 0.9 * allowance:  # a library that hid running out of memory
            status, payload = "memory", None
        restart = status == "memory" or grown > allowance / 2
        peak_mb = status_kb("VmHWM") / 1024  # its own peak (ru_maxrss counts the parent's, from the fork)
        try:
            replies.send((status, payload, {"peak_mb": peak_mb, "restart": restart}))
        except MemoryError:
            replies.send(("memory", None, {"peak_mb": peak_mb, "restart": True}))
        if restart:
            break

"""Finding the documents under the files and folders a person names, and fingerprinting them.

Documents are read only inside the folders (and files) the person named: a link, to a file or
a folder, whose target lies outside every one of them is skipped with a message, unless the
follow_links setting allows it (ESSAYS_FOLLOW_LINKS=1). Links inside the corpus stay allowed.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import NamedTuple

from ..settings import parse
from .formats import SUFFIXES

LINK_TO_FILE = "a link to a file outside the corpus folder; set ESSAYS_FOLLOW_LINKS=1 to allow it"
LINK_TO_FOLDER = "a link to a folder outside the corpus folder; set ESSAYS_FOLLOW_LINKS=1 to allow it"
FILE_DENIED = "permission denied — make it readable (chmod a+r) or move it out of the folder"
FOLDER_DENIED = "permission denied — make the folder readable (chmod a+rx) or move it out of the corpus"
UNREADABLE = "unreadable"  # fingerprint's value for a file that cannot be read (never a sha256)


class Found(NamedTuple):
    """What `find_documents` found: the corpus root, the candidate files (sorted), and the
    (source, reason) of each file or folder left out on purpose (links leading outside the
    corpus, folders that cannot be listed), to report as skipped."""
    root: Path
    files: list[Path]
    skipped: list[tuple[str, str]]


def discover(paths: list[Path], follow_links: bool | None = None) -> tuple[Path, list[Path]]:
    """The corpus root and the candidate files (sorted) under the given files and folders
    (`find_documents` without the list of what was left out)."""
    found = find_documents(paths, follow_links)
    return found.root, found.files


def find_documents(paths: list[Path], follow_links: bool | None = None) -> Found:
    """The corpus root, the candidate files under the given files and folders, and what was
    left out and why. Hidden files and folders and Word's lock files (~$...) are ignored.

    `follow_links`: read links whose target lies outside every named folder (None: the
    ESSAYS_FOLLOW_LINKS environment variable, off when unset). A link inside the corpus is
    allowed; a link to a folder inside it is not descended into (its files are found where
    they are)."""
    follow = links_followed_from_env() if follow_links is None else follow_links
    paths = [Path(p).resolve() for p in paths]
    for p in paths:
        if not p.exists():
            raise FileNotFoundError(f"{p} does not exist: give a folder or a document file "
                                    f"({', '.join(SUFFIXES)})")
    dirs = [p if p.is_dir() else p.parent for p in paths]
    root = Path(os.path.commonpath([str(d) for d in dirs]))
    walk = Walk(root, [p for p in paths if p.is_dir()], {p for p in paths if not p.is_dir()}, follow)
    for p in paths:
        if p.is_dir():
            walk.folder(p)
        else:
            walk.files.add(p)
    return Found(root, sorted(walk.files), sorted(walk.skipped))


def links_followed_from_env() -> bool:
    """The follow_links setting as the environment gives it (ESSAYS_FOLLOW_LINKS; off when
    unset), for callers that do not pass it."""
    return parse("ESSAYS_FOLLOW_LINKS", os.environ.get("ESSAYS_FOLLOW_LINKS", ""), bool)


def is_candidate(path: Path) -> bool:
    """A document by its name: a supported suffix, and not the lock file Word keeps beside an
    open document (~$...)."""
    return path.suffix.lower() in SUFFIXES and not path.name.startswith("~$")


class Walk:
    """One walk through the named folders: the files found, and what was left out and why."""

    def __init__(self, root: Path, folders: list[Path], named_files: set[Path], follow: bool):
        self.root, self.folders, self.named_files, self.follow = root, folders, named_files, follow
        self.files: set[Path] = set()
        self.skipped: list[tuple[str, str]] = []
        self.visited: set[Path] = set()  # real folders walked (a followed link may loop back)

    def inside(self, target: Path) -> bool:
        """Is this real path a named file, or inside a named folder?"""
        return target in self.named_files or any(target.is_relative_to(f) for f in self.folders)

    def skip(self, path: Path, reason: str) -> None:
        self.skipped.append((relative(self.root, path), reason))

    def folder(self, top: Path) -> None:
        """Add the documents under `top`, skipping hidden files and folders; links are
        judged by `link`."""
        stack = [top]
        while stack:
            current = stack.pop()
            real = current.resolve()
            if real in self.visited:
                continue
            self.visited.add(real)
            try:
                entries = list(os.scandir(current))
            except PermissionError:
                self.skip(current, FOLDER_DENIED)
                continue
            except OSError:  # removed meanwhile: nothing to find there
                continue
            for entry in entries:
                path = Path(entry.path)
                if entry.name.startswith("."):
                    continue
                if entry.is_symlink():
                    self.link(path, stack)
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(path)
                elif entry.is_file(follow_symlinks=False) and is_candidate(path):
                    self.files.add(path)

    def link(self, path: Path, stack: list[Path]) -> None:
        """A link found in a folder: a file or folder inside the corpus is allowed (a folder is
        not walked again: its files are found where they are); one outside every named folder
        is skipped with a message, unless links are followed."""
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):  # a broken link, or a loop of links: nothing to read
            return
        is_dir = target.is_dir()
        if not is_dir and not (target.is_file() and is_candidate(path)):
            return
        if self.inside(target):
            if not is_dir:
                self.files.add(path)
        elif not self.follow:
            self.skip(path, LINK_TO_FOLDER if is_dir else LINK_TO_FILE)
        elif is_dir:
            stack.append(path)
        else:
            self.files.add(path)


def fingerprint(root: Path, files: list[Path], known: dict[str, tuple[int, int, str]] | None = None
                ) -> dict[str, str]:
    """source -> sha256 of the file's bytes: the corpus as the index saw it. `known`: source ->
    (size, mtime_ns, sha256) recorded earlier; a file whose size and modification time are
    still those is not read again. A file that cannot be read (permission denied) is UNREADABLE,
    so that ingest goes on and skips it with a message; it is tried again every time (making it
    readable does not change its modification time)."""
    known = known or {}
    out = {}
    for f in files:
        source = relative(root, f)
        seen = known.get(source)
        if seen is not None and seen[2] != UNREADABLE:
            st = f.stat()
            if (st.st_size, st.st_mtime_ns) == tuple(seen[:2]):
                out[source] = seen[2]
                continue
        try:
            out[source] = file_sha256(f)
        except OSError:
            out[source] = UNREADABLE
    return out


def file_stats(root: Path, files: list[Path], hashes: dict[str, str]) -> dict[str, tuple[int, int, str]]:
    """source -> (size, mtime_ns, sha256): what `fingerprint` may trust next time."""
    out = {}
    for f in files:
        st = f.stat()
        out[relative(root, f)] = (st.st_size, st.st_mtime_ns, hashes[relative(root, f)])
    return out


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in chunks (PDFs can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_problem(path: Path) -> str:
    """'' when the file can be opened for reading; else why not, and what to do about it."""
    try:
        with open(path, "rb"):
            return ""
    except PermissionError:
        return FILE_DENIED
    except FileNotFoundError:
        return "it disappeared while ingest was running; ingest again"
    except OSError as err:
        return (f"cannot be read ({err.strerror or err.__class__.__name__}); check the disk, or "
                "move it out of the folder")


def relative(root: Path, path: Path) -> str:
    """A file's source: its path relative to the corpus root, with forward slashes."""
    return path.relative_to(root).as_posix()

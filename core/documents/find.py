"""Finding the documents under the files and folders a person names, and fingerprinting them."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .formats import SUFFIXES


def discover(paths: list[Path]) -> tuple[Path, list[Path]]:
    """The corpus root and the candidate files (sorted) under the given files and folders."""
    paths = [Path(p).resolve() for p in paths]
    for p in paths:
        if not p.exists():
            raise FileNotFoundError(f"{p} does not exist: give a folder or a document file "
                                    f"({', '.join(SUFFIXES)})")
    files: set[Path] = set()
    for p in paths:
        if p.is_dir():
            files.update(
                f for f in p.rglob("*")
                if f.is_file() and f.suffix.lower() in SUFFIXES
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
                and not f.name.startswith("~$")  # the lock file Word keeps beside an open document
            )
        else:
            files.add(p)
    dirs = [p if p.is_dir() else p.parent for p in paths]
    root = Path(os.path.commonpath([str(d) for d in dirs]))
    return root, sorted(files)


def fingerprint(root: Path, files: list[Path], known: dict[str, tuple[int, int, str]] | None = None
                ) -> dict[str, str]:
    """source -> sha256 of the file's bytes: the corpus as the index saw it. `known`: source ->
    (size, mtime_ns, sha256) recorded earlier; a file whose size and modification time are
    still those is not read again."""
    known = known or {}
    out = {}
    for f in files:
        source = relative(root, f)
        seen = known.get(source)
        if seen is not None:
            st = f.stat()
            if (st.st_size, st.st_mtime_ns) == tuple(seen[:2]):
                out[source] = seen[2]
                continue
        out[source] = file_sha256(f)
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


def relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()

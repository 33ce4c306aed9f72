"""Shared fixtures: one real index of the seed essays and one loaded Searcher per test run (the
model is loaded once, by that Searcher), the dev-set evaluation run once, and the stand-in
embedding model for tests about what is embedded rather than how."""
from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.settings import DEFAULT_CORPUS, Settings
from helpers import EVAL_DIR, ROOT, HashEmbedder
from ingest import build, build_index
from search import open_searcher
from search.evaluate import evaluate, load_questions


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def seed_corpus(tmp_path_factory) -> Path:
    """A private copy of seeds/, so tests can add or change files without touching the repo."""
    target = tmp_path_factory.mktemp("corpus") / "seeds"
    shutil.copytree(DEFAULT_CORPUS, target)
    return target


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, seed_corpus, settings) -> Path:
    index_dir = tmp_path_factory.mktemp("index") / "index"
    build_index([seed_corpus], index_dir, settings, on_event=lambda e: None, progress=False)
    return index_dir


@pytest.fixture(scope="session")
def searcher(seed_index, settings):
    return open_searcher(seed_index, settings, rebuild=False)


@pytest.fixture(scope="session")
def dev_report(searcher):
    """The dev set (with its off-topic questions) evaluated once on the seed index."""
    return evaluate(searcher, load_questions(EVAL_DIR / "dev_questions.jsonl"),
                    load_questions(EVAL_DIR / "dev_offtopic.jsonl"))


HOWTO = ROOT.parent / "shared" / "corpora" / "python-howto"


@pytest.fixture(scope="session")
def howto_searcher(tmp_path_factory, settings):
    """A real index of the fifteen Python HOWTO pages (HTML as shipped), loaded once."""
    index_dir = tmp_path_factory.mktemp("howto") / "index"
    build_index([HOWTO], index_dir, settings, on_event=lambda e: None, progress=False)
    return open_searcher(index_dir, settings, rebuild=False)


@pytest.fixture
def hash_model(monkeypatch):
    """Ingest embeds with HashEmbedder (a fixed vector per text) instead of the real model."""
    monkeypatch.setattr(build, "load_embedder", lambda *args: HashEmbedder())


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run a command-line front end in this process, as `cli("search", "QUESTION", "--json")` or
    `cli("ingest", FOLDER)`: (returncode, stdout, stderr) as a subprocess would give them."""
    from ingest.__main__ import main as ingest_main
    from search.cli import main as search_main

    def run(program: str, *args: str, stdin: str | bytes | None = None) -> SimpleNamespace:
        if stdin is not None:
            data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
        capsys.readouterr()
        try:
            code = {"search": search_main, "ingest": ingest_main}[program]([str(a) for a in args])
        except SystemExit as stop:  # argparse: usage errors and --help
            code = stop.code
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    return run


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory):
    """A milvus-lite server (pinned in requirements-dev.txt) for the whole run."""
    from helpers import MilvusServer

    server = MilvusServer(tmp_path_factory.mktemp("milvus") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def milvus_settings(milvus_server) -> Settings:
    return Settings(store=milvus_server.address("seeds"))


@pytest.fixture(scope="session")
def milvus_searcher(milvus_settings, seed_corpus):
    """The seed essays ingested into a Milvus collection, and a Searcher on it."""
    build_index([seed_corpus], Path("unused"), milvus_settings, on_event=lambda e: None, progress=False)
    return open_searcher(None, milvus_settings, rebuild=False)

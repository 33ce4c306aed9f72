"""Shared fixtures: one real index of the seed essays and one loaded Searcher per test run."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest import build_index
from ingest.settings import DEFAULT_CORPUS, Settings
from search import open_searcher

ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = ROOT.parent / "shared" / "eval"


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
    build_index([seed_corpus], index_dir, settings, echo=lambda m: None, progress=False)
    return index_dir


@pytest.fixture(scope="session")
def searcher(seed_index, settings):
    return open_searcher(seed_index, settings, rebuild=False)

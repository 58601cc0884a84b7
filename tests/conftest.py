"""Shared fixtures: one index of corpus/ per test session, and the pipeline loaded from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def embedder():
    """The embedding model, loaded once (about 3 s)."""
    from qa.embedding import Embedder
    return Embedder()


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory, embedder) -> Path:
    """An index of corpus/ built once per session in a temporary folder."""
    from qa.indexing import build_index
    path = tmp_path_factory.mktemp("qa-index") / "index"
    build_index(CORPUS, path, embedder)
    return path


@pytest.fixture(scope="session")
def settings(index_dir):
    """Settings for the session index; QA_* variables of the caller's shell are ignored."""
    from qa.config import Settings
    return Settings.from_env(environ={}, index_dir=index_dir, corpus_dir=CORPUS)


@pytest.fixture(scope="session")
def pipeline(settings, embedder):
    from qa.pipeline import Pipeline
    return Pipeline.load(settings, embedder=embedder)

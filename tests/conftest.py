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
    from qa.models.embedding import Embedder
    return Embedder()


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory, embedder) -> Path:
    """An index of corpus/ built once per session in a temporary folder."""
    from qa.store.indexing import build_index
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


@pytest.fixture()
def run(monkeypatch, embedder, capsys):
    """Run `python -m qa ...` in process, reusing the session's loaded model; returns
    (exit code, stdout, stderr)."""
    from qa import cli
    monkeypatch.setattr("qa.pipeline.Embedder", lambda *a, **k: embedder)
    monkeypatch.setattr("qa.models.embedding.Embedder", lambda *a, **k: embedder)
    for var in ("QA_INDEX", "QA_CORPUS", "QA_MODEL_PATH", "QA_TOP_K", "QA_MAX_FILE_MB"):
        monkeypatch.delenv(var, raising=False)

    def _run(*argv):
        code = cli.main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err
    return _run

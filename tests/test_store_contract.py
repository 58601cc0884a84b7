"""The store contract, run against every backend: the index folder (files), Qdrant's local mode
(`:memory:`), and a real Qdrant server when QA_QDRANT_URL is set (`make test-qdrant`; skipped
with the reason otherwise). Build, load, search, fingerprint, stale and missing detection, and a
rebuild (alias swap) while a reader holds the old store. Then the article's gold questions
through Qdrant against the file store, and the one-line errors of bad settings."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid

import numpy as np
import pytest

from qa.config import Settings
from qa.documents.loading import corpus_fingerprint
from qa.errors import IndexMissing, IndexStale, StoreUnavailable
from qa.store.backends import open_store, store_signature
from qa.store.indexing import build_index, build_store
from qa.text import content_stems

from conftest import CORPUS

SERVER = os.environ.get("QA_QDRANT_URL")
BACKENDS = [
    "files",
    pytest.param("qdrant-local", marks=pytest.mark.qdrant),
    pytest.param("qdrant-server", marks=[
        pytest.mark.qdrant, pytest.mark.qdrant_server,
        pytest.mark.skipif(not SERVER, reason="QA_QDRANT_URL is not set: run `QA_QDRANT_URL="
                           "http://HOST:6333 make test-qdrant` against a Qdrant server")]),
]
TEXTS = {"a.txt": "The rule covers 300Wh/kg cells. It starts in May. Exporters need a licence.",
         "b.md": "# Scope\n\nSodium cells are exempt. The rule ends in 2026. Cells and packs differ."}


def settings_for(kind: str, corpus, index, **extra) -> Settings:
    common = dict(corpus_dir=corpus, index_dir=index, **extra)
    if kind == "files":
        return Settings.from_env(environ={}, **common)
    prefix = f"qatest-{uuid.uuid4().hex[:10]}"
    where = {"qdrant_path": ":memory:"} if kind == "qdrant-local" else {"qdrant_url": SERVER}
    return Settings.from_env(environ={}, store="qdrant", qdrant_collection=prefix, **where,
                             **common)


def drop_collections(settings: Settings) -> None:
    if settings.store != "qdrant":
        return
    from qa.store.qdrant_store import client_for
    client = client_for(settings)
    for c in client.get_collections().collections:
        if c.name.startswith(settings.qdrant_collection + "-"):
            client.delete_collection(c.name)
    for a in client.get_aliases().aliases:
        if a.alias_name == settings.qdrant_collection:
            from qdrant_client import models
            client.update_collection_aliases(change_aliases_operations=[
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(
                    alias_name=a.alias_name))])


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in TEXTS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = settings_for(request.param, corpus, tmp_path / "index")
    yield settings
    drop_collections(settings)


def build(settings, embedder):
    return build_index(settings.corpus_dir, settings.index_dir, embedder, query_encoder=False,
                       settings=settings)


def test_build_then_load_gives_the_corpus_and_its_fingerprint(backend, embedder):
    report = build(backend, embedder)
    store = open_store(backend, backend.corpus_dir)
    assert report.fingerprint == store.fingerprint == corpus_fingerprint(backend.corpus_dir)
    assert len(store.sentences) == len(store.passages) == report.sentences
    assert set(store.documents) == set(TEXTS)
    assert store.manifest["counts"] == {"documents": 2, "sentences": report.sentences,
                                        "passages": report.passages}
    first = store.sentences[0]
    assert store.documents[first.doc_id].text[first.start:first.end] == first.text


def test_searches_equal_the_in_memory_file_store(backend, embedder):
    build(backend, embedder)
    store = open_store(backend, backend.corpus_dir)
    reference, _, _ = build_store(backend.corpus_dir, embedder)
    vector = embedder.encode_query("When does the rule start?")
    for level in ("sentence", "passage"):
        ids, scores = store.dense_search(vector, 4, level)
        want_ids, want = reference.dense_search(vector, 4, level)
        assert list(ids) == list(want_ids) and scores == pytest.approx(want, abs=1e-5)
    ids, scores = store.dense_search(vector, 3)
    assert store.similarities(vector, list(ids)) == pytest.approx(scores, abs=1e-5)
    assert store.similarities(vector, []).shape == (0,)
    for question in ("Which cells does the rule exempt?", "rule rule cells", "nothing zzz"):
        stems = content_stems(question)
        for level in ("sentence", "passage"):
            ids, scores = store.lexical_search(stems, 3, level)
            want_ids, want = reference.lexical_search(stems, 3, level)
            assert list(ids) == list(want_ids), (question, level)
            assert scores == pytest.approx(want, rel=1e-5)
            every = list(range(len(store.sentences)))
            assert store.lexical_scores(stems, every, level) == pytest.approx(
                reference.lexical_scores(stems, every, level), rel=1e-5, abs=1e-6)


def test_missing_and_stale_are_one_line_errors_naming_the_build(backend, embedder):
    with pytest.raises(IndexMissing, match="python -m qa build"):
        open_store(backend, backend.corpus_dir)
    build(backend, embedder)
    (backend.corpus_dir / "a.txt").write_text("Changed text.", encoding="utf-8")
    with pytest.raises(IndexStale, match="rebuild") as caught:
        open_store(backend, backend.corpus_dir)
    assert "\n" not in str(caught.value)


def test_a_rebuild_swaps_while_a_reader_holds_the_old_store(backend, embedder):
    build(backend, embedder)
    old = open_store(backend, backend.corpus_dir)
    before = store_signature(backend)
    vector = embedder.encode_query("When does the rule start?")
    old_hits = old.dense_search(vector, 2)
    (backend.corpus_dir / "c.txt").write_text("A third file. It adds sentences.", "utf-8")
    build(backend, embedder)
    assert store_signature(backend) not in (None, before)
    new = open_store(backend, backend.corpus_dir)
    assert new.fingerprint != old.fingerprint and "c.txt" in new.documents
    # the old store still answers: its collection is kept for the grace period
    ids, scores = old.dense_search(vector, 2)
    assert list(ids) == list(old_hits[0])
    assert old.lexical_search(content_stems("rule May"), 2)[0].size
    if backend.store == "qdrant":
        from qa.store.qdrant_store import drop_retired
        assert drop_retired(backend, now=time.time() + backend.qdrant_grace_s + 1) \
            == [old.collection]
        assert open_store(backend, backend.corpus_dir).fingerprint == new.fingerprint


def test_a_serving_pipeline_notices_the_rebuild(backend, embedder):
    from qa.pipeline import LivePipeline, Pipeline
    build(backend, embedder)

    class NoReader:
        def logits(self, question, windows):
            return []
    live = LivePipeline(Pipeline(open_store(backend), embedder, backend, reader_model=NoReader()))
    first = live.current().store.fingerprint
    (backend.corpus_dir / "c.txt").write_text("A third file.", "utf-8")
    build(backend, embedder)
    if backend.store == "files":  # the next request, at once; Qdrant's alias within a second
        assert live.current().store.fingerprint == corpus_fingerprint(backend.corpus_dir)
    deadline = time.monotonic() + 60
    while live.current().store.fingerprint == first and time.monotonic() < deadline:
        time.sleep(0.1)
    assert live.current().store.fingerprint == corpus_fingerprint(backend.corpus_dir)


@pytest.mark.qdrant
def test_the_article_gold_set_through_qdrant_gives_the_file_stores_answers(
        pipeline, index_dir, embedder, tmp_path):
    """Every gold question retrieves the same sentences with the same signals; every fifth is
    answered in full and compared by its offsets (`qa eval` on both backends compares all 134:
    docs/QDRANT.md)."""
    from qa.pipeline import Pipeline
    local = tmp_path / "index"
    shutil.copytree(index_dir, local)  # its embeddings and exports are reused
    settings = settings_for("qdrant-local", CORPUS, local)
    try:
        build_index(CORPUS, local, embedder, settings=settings)
        qdrant = Pipeline.load(settings, embedder=embedder)
        questions = [json.loads(line)["question"] for line in
                     (CORPUS / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line]
        for n, question in enumerate(questions):
            vector = embedder.encode_query(question)
            got = qdrant.retriever.retrieve(vector, question, k=20)
            want = pipeline.retriever.retrieve(vector, question, k=20)
            assert [r.sentence_id for r in got] == [r.sentence_id for r in want], question
            for a, b in zip(got, want):
                assert (a.dense, a.dense_passage, a.lexical, a.lexical_passage, a.fused) == \
                    pytest.approx((b.dense, b.dense_passage, b.lexical, b.lexical_passage,
                                   b.fused), rel=1e-5, abs=1e-6)
            if n % 5 == 0:
                x, y = qdrant.ask(question).to_dict(), pipeline.ask(question).to_dict()
                for record in (x, y):
                    record.pop("took_ms")
                assert x["answer"] == y["answer"] and x["answered"] == y["answered"]
                assert [(e["start"], e["end"]) for e in x["evidence"]] == \
                    [(e["start"], e["end"]) for e in y["evidence"]]
                assert x["confidence"] == pytest.approx(y["confidence"], abs=1e-4)
    finally:
        drop_collections(settings)


# -- bad settings: one line naming the fix, exit 2, no traceback ---------------------------------
@pytest.mark.parametrize("env, says", [
    ({"QA_STORE": "mongo"}, "QA_STORE='mongo' is not a valid store_kind: choose files or qdrant"),
    ({"QA_STORE": "qdrant"}, "needs QA_QDRANT_URL"),
    ({"QA_STORE": "qdrant", "QA_QDRANT_URL": "http://127.0.0.1:9"}, "check that it is running"),
    ({"QA_STORE": "qdrant", "QA_QDRANT_PATH": ":memory:",
      "QA_QDRANT_COLLECTION": "no-such-alias"}, "no collection 'no-such-alias'"),
])
def test_bad_store_settings_are_one_line_errors(run, monkeypatch, env, says):
    for var in ("QA_STORE", "QA_QDRANT_URL", "QA_QDRANT_PATH", "QA_QDRANT_COLLECTION"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    code, out, err = run("ask", "When does the rule start?")
    assert code == 2 and says in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_build_with_bad_store_settings_fails_before_embedding(run, monkeypatch, tmp_path):
    monkeypatch.setenv("QA_STORE", "qdrant")
    monkeypatch.setenv("QA_QDRANT_URL", "http://127.0.0.1:9")
    monkeypatch.setattr("qa.store.indexing.build_store", lambda *a, **k: pytest.fail("embedded"))
    code, out, err = run("build", "--index", str(tmp_path / "index"))
    assert code == 2 and "did not answer" in err and err.count("\n") == 1


def test_a_missing_qdrant_client_is_a_one_line_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "qdrant_client", None)  # `import qdrant_client` fails
    settings = Settings.from_env(environ={}, store="qdrant", qdrant_path=":memory:")
    with pytest.raises(StoreUnavailable, match="make install"):
        open_store(settings)


def test_a_file_index_of_a_qdrant_build_says_which_store_to_set(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("One sentence here. Another one.", encoding="utf-8")
    settings = settings_for("qdrant-local", corpus, tmp_path / "index")
    try:
        build(settings, embedder)
        files = Settings.from_env(environ={}, corpus_dir=corpus, index_dir=tmp_path / "index")
        with pytest.raises(IndexMissing, match="QA_STORE=qdrant"):
            open_store(files)
    finally:
        drop_collections(settings)


def test_bm25_weights_follow_bm25s():
    import bm25s
    from qa.store import qdrant_store
    default = bm25s.BM25()
    assert (default.k1, default.b, default.method) == (qdrant_store.K1, qdrant_store.B, "lucene")
    (ids, weights), = qdrant_store.bm25_weights([["a", "b", "a"]], {"a": 0, "b": 1})
    assert ids == [0, 1] and np.allclose(weights, [2 / (1.5 + 2), 1 / (1.5 + 1)])

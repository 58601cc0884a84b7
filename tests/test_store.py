"""Index persistence: atomic writes, manifest, and clear errors for missing, stale or corrupt."""

import json
import shutil

import pytest

from qa.errors import IndexCorrupt, IndexMissing, IndexStale
from qa.store.document_store import FORMAT_VERSION, DocumentStore
from qa.store.indexing import build_index


@pytest.fixture()
def small(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The rule covers 300Wh/kg cells. It starts in May.",
                                  encoding="utf-8")
    index = tmp_path / "index"
    build_index(corpus, index, embedder)
    return corpus, index


def test_manifest_describes_the_index(small):
    corpus, index = small
    manifest = json.loads((index / "manifest.json").read_text())
    assert manifest["counts"] == {"documents": 1, "sentences": 2, "passages": 2}
    assert manifest["dimension"] == 384 and manifest["format_version"] == FORMAT_VERSION
    assert set(manifest) >= {"model", "corpus_fingerprint", "built_at", "files"}
    store = DocumentStore.load(index)
    assert store.fingerprint == manifest["corpus_fingerprint"]


def test_similarities_are_the_searched_inner_products(small, embedder):
    _, index = small
    store = DocumentStore.load(index)
    vector = embedder.encode_query("When does the rule start?")
    ids, scores = store.dense_search(vector, 2)
    assert store.similarities(vector, list(ids)) == pytest.approx(scores, abs=1e-5)
    assert store.similarities(vector, []).shape == (0,)


def test_rebuild_is_atomic_and_leaves_no_temporary_folders(small, embedder):
    corpus, index = small
    build_index(corpus, index, embedder)
    leftovers = [p.name for p in index.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    DocumentStore.load(index)


def test_missing_index_names_the_build_command(tmp_path):
    with pytest.raises(IndexMissing, match="python -m qa build"):
        DocumentStore.load(tmp_path / "none")


def test_stale_index_is_detected(small):
    corpus, index = small
    (corpus / "a.txt").write_text("Changed text.", encoding="utf-8")
    with pytest.raises(IndexStale, match="rebuild"):
        DocumentStore.load(index)
    (corpus / "b.md").write_text("New file.", encoding="utf-8")
    with pytest.raises(IndexStale):
        DocumentStore.load(index, corpus)


@pytest.mark.parametrize("damage", ["truncate_faiss", "edit_manifest", "delete_file",
                                    "edit_sentences", "garbage_manifest"])
def test_corruption_is_detected_by_checksums(small, damage):
    corpus, index = small
    if damage == "truncate_faiss":
        path = index / "sentences.faiss"
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "edit_manifest":
        manifest = json.loads((index / "manifest.json").read_text())
        manifest["files"]["sentences.json"] = "0" * 64
        (index / "manifest.json").write_text(json.dumps(manifest))
    elif damage == "delete_file":
        (index / "passages.json").unlink()
    elif damage == "edit_sentences":
        path = index / "sentences.json"
        path.write_text(path.read_text().replace("May", "Jun"))
    else:
        (index / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorrupt, match="rebuild"):
        DocumentStore.load(index)


def test_pipeline_rebuilds_a_missing_or_stale_index_when_asked(small, embedder):
    from qa.config import Settings
    from qa.pipeline import Pipeline
    corpus, index = small
    shutil.rmtree(index)
    settings = Settings.from_env(environ={}, corpus_dir=corpus, index_dir=index)
    with pytest.raises(IndexMissing):
        Pipeline.load(settings, embedder=embedder)
    pipeline = Pipeline.load(settings, embedder=embedder, rebuild=True)
    assert len(pipeline.store.sentences) == 2
    (corpus / "a.txt").write_text("Other text entirely. Two sentences.", encoding="utf-8")
    pipeline = Pipeline.load(settings, embedder=embedder, rebuild=True)
    assert pipeline.store.documents["a.txt"].text == "Other text entirely. Two sentences."


def test_the_onnx_query_encoder_matches_torch(small, embedder):
    import numpy as np
    from qa.models.embedding import QUERY_ENCODER_FILE, OnnxQueryEncoder
    corpus, index = small
    manifest = json.loads((index / "manifest.json").read_text())
    assert manifest["query_encoder"]["file"] == QUERY_ENCODER_FILE
    assert QUERY_ENCODER_FILE in manifest["files"]
    encoder = OnnxQueryEncoder(index / QUERY_ENCODER_FILE)
    for question in ["What energy density threshold applies?", "é 中国 🔋", "x " * 400]:
        assert np.abs(encoder.encode_query(question) - embedder.encode_query(question)).max() \
            < 1e-4


def test_pipeline_uses_the_onnx_encoder_and_falls_back_to_torch(small):
    from qa.models.embedding import (QUERY_ENCODER_FILE, Embedder, OnnxQueryEncoder,
                                     load_query_encoder)
    corpus, index = small
    assert isinstance(load_query_encoder(index), OnnxQueryEncoder)
    manifest = json.loads((index / "manifest.json").read_text())
    (index / QUERY_ENCODER_FILE).unlink()
    del manifest["files"][QUERY_ENCODER_FILE]
    (index / "manifest.json").write_text(json.dumps(manifest))
    assert isinstance(load_query_encoder(index), Embedder)


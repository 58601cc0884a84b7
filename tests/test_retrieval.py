"""Retrieval over the store's top-k searches and fetches by id ranks exactly as the fusion over
whole-corpus score arrays did (the store interface before it served only top-k searches)."""

import json

import numpy as np

from qa.retrieval import RRF_K, HybridRetriever
from qa.text import content_stems

from conftest import CORPUS


def whole_corpus_retrieve(store, vector, question, k, candidates=50):
    """The retrieval of the store interface before: every signal an array over all sentences."""
    n = len(store.sentences)
    depth = min(n, max(candidates, k))
    stems = content_stems(question)
    dense = np.full(n, -1.0, dtype=np.float32)
    ids, scores = store.dense_search(vector, depth, "sentence")
    dense[ids] = scores
    dense_passage = np.full(n, -1.0, dtype=np.float32)
    ids, scores = store.dense_search(vector, depth, "passage")
    dense_passage[ids] = scores
    lexical = store.lexical_scores(stems, np.arange(n), "sentence")
    lexical_passage = store.lexical_scores(stems, np.arange(n), "passage")
    fused = np.zeros(n, dtype=np.float64)
    for signal in (dense, dense_passage, lexical, lexical_passage):
        order = np.argsort(-signal, kind="stable")[:depth]
        fused[order] += 1.0 / (RRF_K + np.arange(1, len(order) + 1))
    top = np.argsort(-fused, kind="stable")[:k]
    best, best_p = float(lexical.max()) or 1.0, float(lexical_passage.max()) or 1.0
    return [(int(i), float(dense[i]), float(dense_passage[i]), float(lexical[i]) / best,
             float(lexical_passage[i]) / best_p, float(fused[i])) for i in top]


def test_top_k_retrieval_equals_the_whole_corpus_fusion(pipeline, embedder):
    questions = [json.loads(line)["question"] for line in
                 (CORPUS / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line]
    questions += ["zzz unknown words only", "the", "lithium lithium battery battery"]
    store = pipeline.store
    for candidates, k in ((50, 20), (5, 8), (3, 3)):  # short rankings: padding and ties by id
        retriever = HybridRetriever(store, candidates=candidates)
        for question in questions[::3] if candidates != 50 else questions:
            vector = embedder.encode_query(question)
            got = [(r.sentence_id, r.dense, r.dense_passage, r.lexical, r.lexical_passage,
                    r.fused) for r in retriever.retrieve(vector, question, k=k)]
            assert got == whole_corpus_retrieve(store, vector, question, k, candidates), question


def test_lexical_search_is_the_top_of_the_bm25_scores(pipeline):
    store = pipeline.store
    stems = content_stems("lithium battery export controls suspension")
    for level, size in (("sentence", len(store.sentences)), ("passage", len(store.passages))):
        every = store.lexical_scores(stems, np.arange(size), level)
        ids, scores = store.lexical_search(stems, 10, level)
        assert list(ids) == list(np.argsort(-every, kind="stable")[:10])
        assert np.array_equal(scores, every[ids]) and (scores > 0).all()
    assert store.lexical_search(["qqqzzz"], 10)[0].shape == (0,)
    assert store.lexical_scores(["qqqzzz"], [0, 1]).tolist() == [0.0, 0.0]

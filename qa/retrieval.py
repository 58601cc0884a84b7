"""Hybrid retrieval: dense (FAISS) and lexical (BM25) scores of sentences and their passages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .store.document_store import DocumentStore
from .text import content_stems

RRF_K = 60


@dataclass
class RetrievedSentence:
    """A sentence with the retrieval signals the reader's ranker uses."""

    sentence_id: int
    dense: float          # cosine of question and sentence
    dense_passage: float  # cosine of question and the sentence's passage
    lexical: float        # BM25 of the sentence, divided by the best BM25 for this question
    lexical_passage: float
    fused: float          # reciprocal-rank fusion of the four rankings
    rank: int = 0


class HybridRetriever:
    """Ranks sentences by reciprocal-rank fusion of dense and BM25, at sentence and passage level."""

    def __init__(self, store: DocumentStore, candidates: int = 50):
        self.store = store
        self.candidates = candidates

    def retrieve(self, question_vector: np.ndarray, question: str,
                 k: int = 20) -> list[RetrievedSentence]:
        store = self.store
        n = len(store.sentences)
        depth = min(n, max(self.candidates, k))
        stems = content_stems(question)

        dense = np.full(n, -1.0, dtype=np.float32)
        ids, scores = store.dense_search(question_vector, depth, "sentence")
        dense[ids] = scores
        dense_passage = np.full(n, -1.0, dtype=np.float32)
        ids, scores = store.dense_search(question_vector, depth, "passage")
        dense_passage[ids] = scores  # passage i is centred on sentence i
        lexical = store.lexical_scores(stems, "sentence")
        lexical_passage = store.lexical_scores(stems, "passage")

        fused = np.zeros(n, dtype=np.float64)
        for signal in (dense, dense_passage, lexical, lexical_passage):
            order = np.argsort(-signal, kind="stable")[:depth]
            fused[order] += 1.0 / (RRF_K + np.arange(1, len(order) + 1))
        top = np.argsort(-fused, kind="stable")[:k]
        best_lex = float(lexical.max()) or 1.0
        best_lex_p = float(lexical_passage.max()) or 1.0
        out = []
        for rank, i in enumerate(top):
            out.append(RetrievedSentence(
                int(i), float(dense[i]), float(dense_passage[i]),
                float(lexical[i]) / best_lex, float(lexical_passage[i]) / best_lex_p,
                float(fused[i]), rank))
        return out

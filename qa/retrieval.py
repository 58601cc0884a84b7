"""Hybrid retrieval: dense and lexical (BM25) scores of sentences and their passages.

The store answers top-k searches and fetches by id; the fusion (RRF) and the per-signal scores
the reader's calibration reads are computed here, whichever store serves them."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

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
        """The k best sentences by RRF of four rankings (dense and lexical, sentence and
        passage, each `depth` long), with each signal's score of them.

        Each ranking is the store's top-`depth` hits, best first with ties by id, then (when
        fewer hits came back than `depth`) the other sentences by id, as an argsort of a
        whole-corpus signal would order them; sentences outside the dense hits get a dense
        score of -1, and every returned sentence its real BM25, fetched by id when it was not
        among the lexical hits."""
        store = self.store
        n = len(store.sentences)
        depth = min(n, max(self.candidates, k))
        stems = content_stems(question)

        hits = [store.dense_search(question_vector, depth, "sentence"),
                store.dense_search(question_vector, depth, "passage"),  # passage i: sentence i
                store.lexical_search(stems, depth, "sentence"),
                store.lexical_search(stems, depth, "passage")]
        scores = [dict(zip(ids.tolist(), np.asarray(s, dtype=np.float32).tolist()))
                  for ids, s in hits]

        fused: dict[int, float] = {}
        for signal in scores:
            for rank, i in enumerate(_ranking(signal, n, depth), start=1):
                fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank)
        top = sorted(fused, key=lambda i: (-fused[i], i))[:k]
        if len(top) < k:  # fewer sentences ranked than asked for: the rest by id, as argsort
            top += list(islice((i for i in range(n) if i not in fused), k - len(top)))

        dense, dense_passage, lexical, lexical_passage = scores
        for level, known in (("sentence", lexical), ("passage", lexical_passage)):
            unknown = [i for i in top if i not in known]
            if unknown and known:  # no hit at all: every score is 0
                known.update(zip(unknown, np.asarray(store.lexical_scores(stems, unknown, level),
                                                     dtype=np.float32).tolist()))
        best_lex = max(lexical.values(), default=0.0) or 1.0
        best_lex_p = max(lexical_passage.values(), default=0.0) or 1.0
        out = []
        for rank, i in enumerate(top):
            out.append(RetrievedSentence(
                int(i), dense.get(i, -1.0), dense_passage.get(i, -1.0),
                lexical.get(i, 0.0) / best_lex, lexical_passage.get(i, 0.0) / best_lex_p,
                fused.get(i, 0.0), rank))
        return out


def _ranking(scores: dict[int, float], n: int, depth: int) -> list[int]:
    """The first `depth` of all n sentences ordered by score, best first, ties by id, where the
    sentences without a score (not hit) rank below every hit: the hits, then the others by id."""
    order = sorted(scores, key=lambda i: (-scores[i], i))[:depth]
    if len(order) < depth:
        seen = set(order)
        order += list(islice((i for i in range(n) if i not in seen), depth - len(order)))
    return order

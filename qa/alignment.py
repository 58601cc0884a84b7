"""Soft word matching: how closely a question's words align with a sentence's, measured on
the embedding model's contextual token vectors (MaxSim, as in late-interaction retrievers).

Exact stem matching misses paraphrase ("output" / "production", "scrap" / "cancel"); the
token vectors of the same model that embeds sentences catch much of it, at no extra model cost:
sentence token vectors come from the build's forward pass, question token vectors from the
query's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .text import QUESTION_WORDS, STOPWORDS

WINDOW = 10  # words each side of a candidate that count as its neighbourhood


@dataclass
class TokenVectors:
    """Unit token vectors of one text and each token's character span in it."""

    vectors: np.ndarray  # (tokens, dim) float32
    spans: np.ndarray    # (tokens, 2) int

    def content(self, text: str) -> "TokenVectors":
        """Only the tokens of content words (no special tokens, stopwords or wh-words)."""
        keep = []
        for i, (a, b) in enumerate(self.spans):
            if b <= a:
                continue
            lo, hi = a, b
            while lo > 0 and text[lo - 1].isalnum():
                lo -= 1
            while hi < len(text) and text[hi].isalnum():
                hi += 1
            word = text[lo:hi].lower()
            if word and word not in STOPWORDS and word not in QUESTION_WORDS \
                    and any(ch.isalnum() for ch in word):
                keep.append(i)
        return TokenVectors(self.vectors[keep], self.spans[keep])


def word_of_tokens(spans: np.ndarray, word_starts: np.ndarray, word_ends: np.ndarray
                   ) -> np.ndarray:
    """For each token span, the index of the word it falls in, or -1."""
    if not len(word_starts):
        return np.full(len(spans), -1)
    idx = np.searchsorted(word_starts, spans[:, 0], side="right") - 1
    ok = (idx >= 0) & (spans[:, 1] > spans[:, 0])
    idx_clipped = np.clip(idx, 0, len(word_starts) - 1)
    ok &= spans[:, 0] < word_ends[idx_clipped]
    return np.where(ok, idx, -1)


def align(question: TokenVectors, sentence: TokenVectors, token_word: np.ndarray,
          n_words: int, firsts: np.ndarray, lasts: np.ndarray):
    """(sentence soft overlap, per-candidate soft neighbourhood overlap, per-candidate
    similarity to the question) for candidates spanning words [firsts[i], lasts[i]]."""
    n_cands = len(firsts)
    if not len(question.vectors) or not len(sentence.vectors) or n_words == 0:
        return 0.0, np.zeros(n_cands, np.float32), np.zeros(n_cands, np.float32)
    # einsum, not a BLAS matmul: for these tiny matrices BLAS threads would spin on the
    # other core and halve the throughput of a threaded server
    sims = np.einsum("qd,td->qt", question.vectors, sentence.vectors)  # (q, tokens)
    overlap = float(sims.max(axis=1).mean())
    # per question token, its best match within each word (tokens come in word order, so
    # each word's tokens are one run of columns)
    words = np.full((len(question.vectors), n_words), -1.0, dtype=np.float32)
    valid = np.flatnonzero(token_word >= 0)
    if len(valid):
        ids = token_word[valid]
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        words[:, ids[starts]] = np.maximum.reduceat(sims[:, valid], starts, axis=1)
    # best match in the WINDOW words before / after each word position
    from scipy.ndimage import maximum_filter1d
    padded = np.concatenate([np.full((words.shape[0], WINDOW), -1.0, np.float32), words,
                             np.full((words.shape[0], WINDOW), -1.0, np.float32)], axis=1)
    # running max over WINDOW columns ending at / starting at each position
    running = maximum_filter1d(padded, size=WINDOW, axis=1, origin=(WINDOW - 1) // 2,
                               mode="nearest")
    left = running[:, WINDOW - 1:WINDOW - 1 + n_words]   # columns [i - WINDOW, i - 1]
    right = running[:, 2 * WINDOW:2 * WINDOW + n_words]  # columns [i + 1, i + WINDOW]
    near = np.maximum(left[:, firsts], right[:, lasts])  # (q, candidates)
    local = np.clip(near, 0, None).mean(axis=0)
    to_question = np.clip(words.max(axis=0), 0, None)    # each word's best question match
    cumulative = np.concatenate([[0.0], np.cumsum(to_question)])
    in_question = (cumulative[lasts + 1] - cumulative[firsts]) / (lasts - firsts + 1)
    return overlap, local.astype(np.float32), in_question.astype(np.float32)

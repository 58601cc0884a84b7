"""Soft word matching on token vectors, checked on hand-made vectors."""

import numpy as np

from qa.alignment import TokenVectors, align, word_of_tokens


def unit(*rows):
    m = np.array(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_tokens_map_to_the_words_they_fall_in():
    spans = np.array([[0, 0], [0, 3], [4, 7], [7, 9], [10, 11], [0, 0]])
    starts, ends = np.array([0, 4, 10]), np.array([3, 9, 11])
    assert word_of_tokens(spans, starts, ends).tolist() == [-1, 0, 1, 1, 2, -1]


def test_alignment_overlap_neighbourhood_and_question_likeness():
    # sentence words: w0 (like the question), w1, w2 (the answer), w3 (like the question)
    q = TokenVectors(unit([1, 0, 0]), np.array([[0, 3]]))
    s = TokenVectors(unit([1, 0, 0], [0, 1, 0], [0, 0, 1], [0.9, 0.1, 0]),
                     np.array([[0, 1], [2, 3], [4, 5], [6, 7]]))
    token_word = np.array([0, 1, 2, 3])
    firsts, lasts = np.array([2, 0]), np.array([2, 0])
    overlap, local, in_question = align(q, s, token_word, 4, firsts, lasts)
    assert overlap == np.float32(1.0)
    # the answer w2 has question-like words on both sides; w0's neighbourhood holds w3 only
    assert local[0] == np.float32(1.0) and 0.9 < local[1] < 1.0
    # w2 is nothing like the question; w0 is the question's word itself
    assert in_question[0] == 0.0 and in_question[1] == np.float32(1.0)


def test_no_tokens_means_no_signal():
    empty = TokenVectors(np.zeros((0, 3), np.float32), np.zeros((0, 2), int))
    s = TokenVectors(unit([1, 0, 0]), np.array([[0, 1]]))
    overlap, local, in_q = align(empty, s, np.array([0]), 1, np.array([0]), np.array([0]))
    assert overlap == 0.0 and local.tolist() == [0.0] and in_q.tolist() == [0.0]

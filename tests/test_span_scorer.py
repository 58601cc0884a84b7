"""The neural span scorer: candidate scoring, ONNX export and its place in the pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.span_scorer import NO_SCORE, SPAN_SCORER_FILE, TokenScores


def scores(spans, start, end) -> TokenScores:
    return TokenScores(np.array(start, dtype=np.float32), np.array(end, dtype=np.float32),
                       np.array(spans, dtype=np.int64))


def test_candidate_scores_use_the_first_and_last_token_of_each_candidate():
    # "Lithium batteries rose 12%": tokens lith|ium batteries rose 12 %
    s = scores([(0, 4), (4, 7), (8, 17), (18, 22), (23, 25), (25, 26)],
               [5.0, 0.0, 1.0, 0.0, 4.0, 0.0], [0.0, 1.0, 5.0, 0.0, 0.0, 4.0])
    log_start = s.start - np.logaddexp.reduce(s.start)
    log_end = s.end - np.logaddexp.reduce(s.end)
    per_candidate, best = s.candidate_scores(np.array([0, 23, 8]), np.array([17, 26, 22]))
    assert per_candidate[0] == pytest.approx(log_start[0] + log_end[2])  # "Lithium batteries"
    assert per_candidate[1] == pytest.approx(log_start[4] + log_end[5])  # "12%"
    assert per_candidate[2] == pytest.approx(log_start[2] + log_end[3])  # "batteries rose"
    assert best == pytest.approx(10.0)  # 5 + 5 for "Lithium batteries"
    assert int(np.argmax(per_candidate)) == 0


def test_a_candidate_without_tokens_gets_the_floor_score():
    s = scores([(0, 4)], [1.0], [1.0])
    per_candidate, _ = s.candidate_scores(np.array([10]), np.array([14]))
    assert per_candidate[0] == pytest.approx(2 * NO_SCORE)
    empty, best = s.candidate_scores(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    assert len(empty) == 0 and best == NO_SCORE


def test_the_index_carries_an_onnx_span_scorer_that_matches_torch(index_dir):
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["span_scorer"]["file"] == SPAN_SCORER_FILE
    assert manifest["span_scorer"]["max_abs_diff_vs_torch"] < 1e-3
    assert (index_dir / SPAN_SCORER_FILE).is_file()


def test_the_pipeline_reads_with_the_span_scorer(pipeline):
    from qa.span_scorer import OnnxSpanScorer
    assert isinstance(pipeline.reader.span_scorer, OnnxSpanScorer)
    assert pipeline.reader.span_neural_model is not None
    q = "What energy density threshold triggers the export controls?"
    vector, tokens = pipeline.embedder.encode_query_tokens(q)
    from qa.questions import analyse
    read = pipeline.reader.read_sentences(analyse(q), pipeline.retriever.retrieve(vector, q, 10),
                                          tokens)
    from qa.reading import NEURAL_DEPTH
    assert all(r.neural is not None for r in read[:NEURAL_DEPTH])
    assert all(r.neural is None for r in read[NEURAL_DEPTH:])


def test_folds_are_fixed_by_question_id():
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from train_span_scorer import fold_of
    assert [fold_of("56be4db0acb8001400a502ec", 4)] * 2 == [fold_of("56be4db0acb8001400a502ec", 4)
                                                          for _ in range(2)]
    assert len({fold_of(str(i), 4) for i in range(50)}) == 4


def test_one_thread_and_all_cores_give_the_same_scores(index_dir):
    from qa.span_scorer import load_span_scorer
    sentences = ["China accounts for 85% of global anode material capacity.",
                 "The controls were suspended for one year."]
    one = load_span_scorer(index_dir, threads=1).score("What share does China have?", sentences)
    every = load_span_scorer(index_dir, threads=0).score("What share does China have?", sentences)
    for a, b in zip(one, every):
        assert np.allclose(a.start, b.start, atol=1e-4) and np.allclose(a.end, b.end, atol=1e-4)
        assert a.null == pytest.approx(b.null, abs=1e-4)


def test_weights_that_do_not_fit_the_base_model_are_refused(tmp_path):
    from qa.errors import ModelUnavailable
    from qa.span_scorer import SPAN_SCORER_WEIGHTS, load_torch_model
    delta = dict(np.load(SPAN_SCORER_WEIGHTS))
    delta.pop(sorted(delta)[0])
    partial = tmp_path / "partial.npz"
    np.savez(partial, **delta)
    with pytest.raises(ModelUnavailable, match="do not fit the base model"):
        load_torch_model(partial)

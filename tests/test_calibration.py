"""The confidence model: its trees answer as scikit-learn's do, survive a round trip through
JSON, and a calibration file for other features is refused with the fix."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.errors import ModelUnavailable
from qa.models.reader_model import CALIBRATION_PATH
from qa.reader.confidence import FEATURES, Calibration, Trees
from qa.training.calibrate import TREE_SETTINGS, fit_trees


def _data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(n, 5)).astype(np.float32)
    labels = (rows[:, 0] + rows[:, 2] ** 2 + rng.normal(size=n) > 1).astype(int)
    return rows, labels


def test_trees_score_as_scikit_learn_does():
    from sklearn.ensemble import GradientBoostingClassifier
    rows, labels = _data()
    trees = fit_trees(rows, labels, columns=[0, 2, 3])
    model = GradientBoostingClassifier(**TREE_SETTINGS, random_state=0)
    model.fit(rows[:, [0, 2, 3]], labels)
    assert np.allclose(trees.scores(rows), model.decision_function(rows[:, [0, 2, 3]]),
                       atol=1e-6)
    # a feature left out never decides a split
    shuffled = rows.copy()
    shuffled[:, 1] = np.random.default_rng(1).permutation(shuffled[:, 1])
    assert np.array_equal(trees.scores(shuffled), trees.scores(rows))


def test_trees_rank_right_candidates_first():
    rows, labels = _data()
    scores = fit_trees(rows, labels).scores(rows)
    assert scores[labels == 1].mean() > scores[labels == 0].mean() + 1.0


def test_soft_targets_rank_a_whole_answer_above_a_part_of_it():
    # every candidate would pass as right (F1 >= 0.5); only the F1 tells the whole answer
    # (feature 0 > 0: F1 1.0) from a part of it (F1 0.6)
    rng = np.random.default_rng(2)
    rows = rng.normal(size=(2000, 3)).astype(np.float32)
    targets = np.where(rows[:, 0] > 0, 1.0, 0.6)
    scores = fit_trees(rows, targets).scores(rows)
    assert scores[rows[:, 0] > 0].min() > scores[rows[:, 0] <= 0].max()
    assert np.isclose(1 / (1 + np.exp(-scores[rows[:, 0] <= 0])).mean(), 0.6, atol=0.05)


def test_calibration_round_trip(tmp_path):
    rows, labels = _data(n=600)
    wide = np.zeros((len(rows), len(FEATURES)), dtype=np.float32)
    wide[:, :5] = rows
    calibration = Calibration(FEATURES, fit_trees(wide, labels), platt=(0.9, -0.1),
                              threshold=0.3)
    calibration.save(tmp_path / "c.json")
    loaded = Calibration.load(tmp_path / "c.json")
    assert np.array_equal(loaded.probabilities(wide), calibration.probabilities(wide))
    assert ((0 < loaded.probabilities(wide)) & (loaded.probabilities(wide) < 1)).all()


def test_shipped_calibration_loads_and_is_a_probability():
    calibration = Calibration.load(CALIBRATION_PATH)
    rows = np.zeros((3, len(FEATURES)), dtype=np.float32)
    p = calibration.probabilities(rows)
    assert p.shape == (3,) and ((0 <= p) & (p <= 1)).all()
    assert 0 < calibration.threshold < 1


@pytest.mark.parametrize("content, message", [
    ({"features": ["score"], "mean": [0.0]}, "other features"),
    ("not json", "unreadable"),
])
def test_a_calibration_file_for_other_features_names_the_fix(tmp_path, content, message):
    path = tmp_path / "c.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(ModelUnavailable, match=message) as caught:
        Calibration.load(path)
    assert "train" in str(caught.value)  # the command that makes a fitting one


def test_calibration_prefers_the_hard_rule_and_the_cheaper_variant_within_tolerance():
    from qa.training.calibrate import TOLERANCE, choose_depth, choose_int8, name, served_rule

    def variant(hard, feature):
        return {"constraint_as_hard_rule": {"f1": hard},
                "with_constraint_features": {"f1": feature}}

    assert served_rule(variant(0.589, 0.593)) == "constraint_as_hard_rule"
    assert served_rule(variant(0.55, 0.55 + 2 * TOLERANCE)) == "with_constraint_features"
    measured = {name(5, False): variant(0.589, 0.593), name(3, False): variant(0.580, 0.585)}
    assert choose_depth(measured, max_depth=5) == 3
    measured[name(3, False)] = variant(0.570, 0.575)  # more than TOLERANCE below depth 5
    assert choose_depth(measured, max_depth=5) == 5
    assert choose_depth(measured, max_depth=3) == 3  # a latency cap limits what is served
    measured[name(4, False)] = variant(0.582, 0.586)  # within TOLERANCE of depth 5
    assert choose_depth(measured, max_depth=5) == 4
    # int8 is judged against float32 at the same depth
    measured[name(5, True)] = variant(0.580, 0.583)
    assert choose_int8(measured, 5)
    measured[name(5, True)] = variant(0.575, 0.579)
    assert not choose_int8(measured, 5)


def test_the_served_threshold_is_chosen_on_out_of_fold_confidences():
    """Each question's confidence comes from the model fitted without its article, and the
    threshold is the best one over those."""
    from qa.training.calibrate import FOLDS, fit, oof_threshold, out_of_fold, top_outcomes
    rng = np.random.default_rng(0)
    questions = []
    for i in range(240):
        rows = rng.normal(size=(3, len(FEATURES))).astype(np.float32)
        f1 = [float(r[0] + rng.normal() > 0.5) for r in rows]
        questions.append({"article": f"a{i % 8}", "kind": "answer", "answers": ["x"],
                          "rows": rows.tolist(), "f1": f1})
    conf, f1, answerable, lacks, fold = out_of_fold(questions)
    assert (fold >= 0).all() and len(set(fold)) == FOLDS
    held = [i for i, q in enumerate(questions) if fold[i] == 0]
    alone = fit([q for i, q in enumerate(questions) if fold[i] != 0])
    expected = top_outcomes(alone, [questions[i] for i in held])[0]
    assert np.allclose(conf[held], expected)
    threshold = oof_threshold(conf, f1, answerable, lacks, hard_rule=False)
    assert 0.05 <= threshold <= 0.95
    # every answerable question is worth answering here, so the lowest threshold wins
    assert threshold == 0.05

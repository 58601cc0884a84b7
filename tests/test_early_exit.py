"""The early exit: the best-retrieved window is read first, and the others only when its best
span is not confident enough; the exit confidence is chosen on held-out articles so that
answers do not get worse."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa.config import Settings
from qa.reader.reading import Reader
from qa.training.calibrate import EXIT_TOLERANCE, early_exit

ROOT = Path(__file__).resolve().parent.parent
GOLD = [json.loads(line) for line in (ROOT / "corpus" / "gold.jsonl").read_text().splitlines()
        if line.strip()]


class CountingModel:
    """The reader model, counting the windows it is asked to read."""

    def __init__(self, model):
        self.model, self.read = model, 0

    def logits(self, question, windows):
        self.read += len(windows)
        return self.model.logits(question, windows)


def _reader(pipeline, exit_at):
    model = CountingModel(pipeline.reader.model)
    reader = Reader(pipeline.store, model, pipeline.reader.calibration)
    reader.exit_confidence = exit_at
    return reader, model


def _ask(pipeline, reader, question):
    vector = pipeline.embedder.encode_query(question)
    retrieved = pipeline.retriever.retrieve(vector, question, k=5)
    return reader.read(question, vector, retrieved), retrieved


def test_an_exit_never_reached_reads_every_window_and_answers_the_same(pipeline):
    """Reading the first window, then the rest, gives what reading them together gives."""
    full, full_model = _reader(pipeline, None)
    never, never_model = _reader(pipeline, 1.01)
    for item in GOLD[:25]:
        a, _ = _ask(pipeline, full, item["question"])
        b, _ = _ask(pipeline, never, item["question"])
        assert (a.answered, a.answer, a.confidence, a.alternatives) == \
            (b.answered, b.answer, b.confidence, b.alternatives)
    assert never_model.read == full_model.read > 25


def test_a_confident_first_window_is_answered_from_alone(pipeline):
    full, full_model = _reader(pipeline, None)
    eager, eager_model = _reader(pipeline, 0.0)
    exited = 0
    for item in GOLD[:40]:
        before = full_model.read
        a, _ = _ask(pipeline, full, item["question"])
        windows = full_model.read - before
        before = eager_model.read
        b, retrieved = _ask(pipeline, eager, item["question"])
        if eager_model.read - before == 1 and windows > 1:
            exited += 1
            # it answered, from the first window, at the threshold at least
            assert b.answered and b.confidence >= eager.threshold
            first = pipeline.store.passages[retrieved[0].sentence_id]
            first_doc = pipeline.store.documents[first.doc_id]
            assert b.answer.doc_id == first.doc_id
            assert first_doc.text[b.answer.start:b.answer.end] == b.answer.text
        else:  # not confident enough from the first window alone: the rest were read
            assert eager_model.read - before == windows
            assert (a.answered, a.answer) == (b.answered, b.answer)
    assert exited > 5  # some were settled by their first window


def test_an_exit_below_the_threshold_never_answers_below_it(pipeline):
    """The exit only ever skips windows: what is answered still reaches the caution level's
    threshold (here a strict one)."""
    eager, _ = _reader(pipeline, 0.0)
    eager.threshold = 0.9
    for item in GOLD[:30]:
        answer, _ = _ask(pipeline, eager, item["question"])
        assert not answer.answered or answer.confidence >= 0.9


def test_early_exit_is_a_setting(pipeline, settings):
    from qa.pipeline import Pipeline
    off = Settings.from_env(environ={"QA_EARLY_EXIT": "off"}, index_dir=settings.index_dir,
                            corpus_dir=settings.corpus_dir)
    assert off.early_exit is False
    assert Settings.from_env(environ={}).early_exit is True
    reader = Pipeline(pipeline.store, pipeline.embedder, off,
                      reader_model=pipeline.reader.model).reader
    assert reader.exit_confidence is None
    with pytest.raises(ValueError, match="QA_EARLY_EXIT='maybe'.*on or off"):
        Settings.from_env(environ={"QA_EARLY_EXIT": "maybe"})


def test_the_shipped_calibration_states_its_exit_and_how_it_was_measured(pipeline):
    calibration = pipeline.reader.calibration
    assert calibration.exit_confidence is not None
    figures = calibration.measured["early_exit"]
    assert figures["exit_confidence"] == calibration.exit_confidence
    for level in calibration.levels:
        a, b = figures[level]["all_windows"], figures[level]["early_exit"]
        assert a["has_answer_f1"] - b["has_answer_f1"] <= EXIT_TOLERANCE + 1e-9
        assert a["no_answer_accuracy"] - b["no_answer_accuracy"] <= EXIT_TOLERANCE + 1e-9
        assert b["windows_read"] < a["windows_read"]


# -- choosing the exit -----------------------------------------------------------------------------

def _held_out(n=4000, seed=0, misleading=False):
    """Synthetic held-out outcomes: a first window whose confidence tracks the full read's; with
    `misleading`, confident first windows are wrong where the full read is right."""
    rng = np.random.default_rng(seed)
    answerable = rng.random(n) < 0.6
    conf = np.clip(np.where(answerable, rng.beta(5, 2, n), rng.beta(2, 5, n)), 0, 1)
    f1 = np.where(answerable & (conf > 0.3), 1.0, 0.0)
    conf1 = np.clip(conf + rng.normal(0, 0.05, n), 0, 1)
    f1_1 = np.where(misleading & (conf1 > 0.5), 0.0, f1) if misleading else f1.copy()
    if not misleading:  # a first window less sure than the full read is sometimes wrong
        f1_1 = np.where(conf1 < 0.8, np.where(rng.random(n) < 0.5, 0.0, f1), f1)
    questions = [{"windows": 3} for _ in range(n)]
    oof = (conf, f1, answerable, np.zeros(n, dtype=bool), np.arange(n) % 4)
    first = {"conf": conf1, "f1": f1_1, "lacks": np.zeros(n, dtype=bool)}
    return questions, oof, first


def test_the_exit_chosen_keeps_every_level_within_the_tolerance():
    questions, oof, first = _held_out()
    levels = {"lenient": 0.2, "balanced": 0.5, "strict": 0.75}
    chosen, figures = early_exit(questions, oof, first, levels, hard_rule=False)
    assert chosen is not None and 0.75 <= chosen <= 0.9
    for level in levels:
        a, b = figures[level]["all_windows"], figures[level]["early_exit"]
        assert a["has_answer_f1"] - b["has_answer_f1"] <= EXIT_TOLERANCE
        assert a["no_answer_accuracy"] - b["no_answer_accuracy"] <= EXIT_TOLERANCE
        assert b["windows_read"] < a["windows_read"] == 3


def test_no_exit_when_confident_first_windows_are_wrong():
    questions, oof, first = _held_out(misleading=True)
    chosen, figures = early_exit(questions, oof, first, {"balanced": 0.5}, hard_rule=False)
    assert chosen is None
    assert figures["balanced"]["early_exit"]["windows_read"] == 3

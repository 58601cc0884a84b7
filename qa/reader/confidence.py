"""Confidence: the probability that a candidate span is right, and the threshold to answer.

A gradient-boosted tree ensemble over a candidate's reader scores (span score, its window's
"no answer" score, its distance from the question's best span, its log-probability, the
window's retrieval rank), over how its sentence relates to the question (embedding similarity,
the share of the question's words it holds, the share of the span that only repeats the
question) and over the question's years, numbers and names that its window and its document's
lead lack (or words whose opposite the window states instead: "any_missing"), and that its own
sentence and its document's title lack ("sentence_lacks": the window may name them beside a
sentence about something else), and whether the span is the kind of answer the question
asks for ("type_mismatch": a level where a change is asked, no number where a quantity is). It
ranks the candidates by the F1 each is expected to score (it learns each candidate's F1 as a
soft target, so a whole answer outranks a part of it that would also pass as right); a
one-feature logistic (Platt) scaling of the top candidate's score then makes the shown
confidence mean what it says. Both are fitted, and the thresholds of the caution levels chosen,
on articles held out of the reader's training (`python -m qa train`), among them SQuAD 2.0
articles with real unanswerable near-misses, never on an evaluation set. The trees are stored
as plain arrays and evaluated with numpy: answering needs no scikit-learn.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..models.reader_model import CALIBRATION_PATH

READ_DEPTH = 5  # the most retrieved sentences whose windows the reader reads (see Calibration.depth)
FEATURES = ["score", "margin_null", "behind_best", "log_prob", "null_above_min", "rank",
            "missing", "any_missing", "log_words", "similarity", "coverage", "echo",
            "sentence_lacks", "type_mismatch"]
CONSTRAINT_FEATURES = ("missing", "any_missing", "sentence_lacks")  # what the question pins down


@dataclass
class Trees:
    """A fitted tree ensemble as arrays, one row per tree: at an inner node, a row goes left
    when `row[feature] <= threshold`; a leaf (left == -1) adds its value to the score."""

    feature: list[list[int]]
    threshold: list[list[float]]
    left: list[list[int]]
    right: list[list[int]]
    value: list[list[float]]
    baseline: float

    def __post_init__(self):
        self._arrays = (np.asarray(self.feature, dtype=np.int64),
                        np.asarray(self.threshold, dtype=np.float32),
                        np.asarray(self.left, dtype=np.int64),
                        np.asarray(self.right, dtype=np.int64),
                        np.asarray(self.value, dtype=np.float64))

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """The ensemble's raw score (a log-odds) of each row."""
        feature, threshold, left, right, value = self._arrays
        rows = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
        trees = np.arange(len(feature))
        node = np.zeros((len(rows), len(feature)), dtype=np.int64)
        for _ in range(feature.shape[1]):
            inner = left[trees, node] >= 0
            if not inner.any():
                break
            goes_left = rows[np.arange(len(rows))[:, None], feature[trees, node]] <= \
                threshold[trees, node]
            node = np.where(inner, np.where(goes_left, left[trees, node], right[trees, node]),
                            node)
        return self.baseline + value[trees, node].sum(axis=1)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("feature", "threshold", "left", "right", "value",
                                              "baseline")}


# The confidence in words, strongest first (Calibration.support; shown beside the percentage).
SUPPORT_LABELS = ("well supported", "supported", "weakly supported", "not supported")


@dataclass
class Calibration:
    features: list[str]
    trees: Trees
    platt: tuple[float, float] = (1.0, 0.0)  # confidence = sigmoid(a * score + b)
    threshold: float = 0.5  # the default caution level's
    levels: dict = field(default_factory=dict)  # caution level -> threshold (QA_CAUTION)
    depth: int = 5      # retrieved sentences whose windows are read (chosen with the model)
    int8: bool = False  # serve the int8 ONNX reader (chosen with the model)
    refuse_missing: bool = False  # refuse when the window lacks a year/number/name asked for,
    #                               or states the opposite of a word asked with
    # answer from the best-retrieved window alone when its best span reaches this confidence
    # (and the threshold): the other windows are then not read. None: always read them all.
    exit_confidence: float | None = None
    measured: dict = field(default_factory=dict)  # figures on the held-out articles

    @classmethod
    def load(cls, path: Path = CALIBRATION_PATH) -> "Calibration":
        from ..errors import ModelUnavailable
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if list(data.get("features", [])) != FEATURES or "trees" not in data:
                raise ModelUnavailable(f"reader calibration {path} is for other features: "
                                       "run `python -m qa train --skip-fine-tune`")
            calibration = cls(**{**data, "trees": Trees(**data["trees"])})
        except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
            raise ModelUnavailable(f"reader calibration {path} is missing or unreadable "
                                   f"({exc}): run `make train`") from exc
        return calibration

    def save(self, path: Path = CALIBRATION_PATH) -> None:
        """Written as indented JSON, with each tree's array on one line (a readable diff)."""
        data = asdict(self)
        data.pop("trees")
        trees = self.trees.to_dict()
        lines = [f' "trees": {{\n  "baseline": {json.dumps(trees.pop("baseline"))},']
        for i, (name, rows) in enumerate(trees.items()):
            body = ",\n".join("   " + json.dumps(row, separators=(",", ":")) for row in rows)
            lines.append(f'  "{name}": [\n{body}\n  ]' + ("," if i < len(trees) - 1 else ""))
        text = json.dumps(data, indent=1)[:-2] + ",\n" + "\n".join(lines) + "\n }\n}\n"
        Path(path).write_text(text, encoding="utf-8")

    def threshold_for(self, caution: str | None) -> float:
        """The threshold of a caution level (None: the default one)."""
        if caution is None:
            return self.threshold
        if caution not in self.levels:
            from ..errors import ModelUnavailable
            raise ModelUnavailable(f"the reader calibration has no caution level {caution!r}: "
                                   "run `python -m qa train --skip-fine-tune`")
        return float(self.levels[caution])

    def support(self, confidence: float) -> str:
        """The confidence in words (one of SUPPORT_LABELS), from the calibrated caution levels:
        at or above the strict level's threshold "well supported", the balanced level's
        "supported", the lenient level's "weakly supported", else "not supported"."""
        bands = [(self.levels.get("strict"), SUPPORT_LABELS[0]),
                 (self.levels.get("balanced", self.threshold), SUPPORT_LABELS[1]),
                 (self.levels.get("lenient"), SUPPORT_LABELS[2])]
        for threshold, label in bands:
            if threshold is not None and confidence >= threshold:
                return label
        return SUPPORT_LABELS[3]

    @staticmethod
    def features_of(candidate, best_score: float, null_min: float) -> list[float]:
        """FEATURES of a candidate span, given the question's best span score and its lowest
        window "no answer" score."""
        words = len(candidate.window.text[candidate.start - candidate.window.start:
                                          candidate.end - candidate.window.start].split())
        return [candidate.score / 10, (candidate.score - candidate.null) / 10,
                (candidate.score - best_score) / 10, max(candidate.log_prob, -30.0) / 10,
                (candidate.null - null_min) / 10, candidate.window.rank / READ_DEPTH,
                min(3.0, float(len(candidate.missing))),
                float(bool(candidate.missing or candidate.opposed)),
                math.log1p(words), candidate.similarity, candidate.coverage, candidate.echo,
                float(bool(candidate.sentence_missing or candidate.sentence_opposed)),
                float(candidate.type_mismatch)]

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """The ranking score of each candidate row (before Platt scaling)."""
        return self.trees.scores(rows)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        a, b = self.platt
        return 1.0 / (1.0 + np.exp(-np.clip(a * self.scores(rows) + b, -30, 30)))

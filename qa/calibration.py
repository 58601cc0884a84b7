"""Confidence: the probability that a candidate span is right, and the threshold to answer.

A logistic model over a candidate's reader scores (span score, its window's "no answer" score,
its distance from the question's best span, its log-probability, the window's retrieval rank)
and over the question's years, numbers and names its window lacks. It ranks the candidates;
a one-feature logistic (Platt) scaling of the top candidate's score then makes the shown
confidence mean what it says. Both are fitted, and the threshold chosen, on articles held out of
the reader's training (`python -m qa train`), never on an evaluation set.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

CALIBRATION_PATH = Path(__file__).with_name("reader_calibration.json")
FEATURES = ["score", "margin_null", "behind_best", "log_prob", "null_above_min", "rank",
            "missing", "any_missing", "log_words"]


@dataclass
class Calibration:
    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    platt: tuple[float, float] = (1.0, 0.0)  # confidence = sigmoid(a * logit + b)
    threshold: float = 0.5
    depth: int = 5      # retrieved sentences whose windows are read (chosen with the model)
    int8: bool = False  # serve the int8 ONNX reader (chosen with the model)
    refuse_missing: bool = False  # refuse when the window lacks a year/number/name asked for
    measured: dict = field(default_factory=dict)  # figures on the held-out articles

    @classmethod
    def load(cls, path: Path = CALIBRATION_PATH) -> "Calibration":
        from .errors import ModelUnavailable
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            calibration = cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise ModelUnavailable(f"reader calibration {path} is missing or unreadable "
                                   f"({exc}): run `make train`") from exc
        if list(calibration.features) != FEATURES:
            raise ModelUnavailable(f"reader calibration {path} is for other features: "
                                   "run `python -m qa train --skip-fine-tune`")
        return calibration

    def save(self, path: Path = CALIBRATION_PATH) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")

    @staticmethod
    def features_of(candidate, best_score: float, null_min: float) -> list[float]:
        """FEATURES of a candidate span, given the question's best span score and its lowest
        window "no answer" score."""
        from .reading import READ_DEPTH
        words = len(candidate.window.text[candidate.start - candidate.window.start:
                                          candidate.end - candidate.window.start].split())
        return [candidate.score / 10, (candidate.score - candidate.null) / 10,
                (candidate.score - best_score) / 10, max(candidate.log_prob, -30.0) / 10,
                (candidate.null - null_min) / 10, candidate.window.rank / READ_DEPTH,
                min(3.0, float(len(candidate.missing))), float(bool(candidate.missing)),
                math.log1p(words)]

    def logits(self, rows: np.ndarray) -> np.ndarray:
        z = (rows - np.asarray(self.mean, dtype=np.float32)) / np.asarray(self.scale,
                                                                          dtype=np.float32)
        return z @ np.asarray(self.coef, dtype=np.float32) + self.intercept

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        a, b = self.platt
        return 1.0 / (1.0 + np.exp(-np.clip(a * self.logits(rows) + b, -30, 30)))


def fit_ranker(rows: np.ndarray, labels: np.ndarray, columns: list[int] | None = None):
    """(mean, scale, coef, intercept) of a logistic model; `columns` keeps only those features
    (the others get weight 0)."""
    from sklearn.linear_model import LogisticRegression
    cols = list(range(rows.shape[1])) if columns is None else columns
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0) + 1e-6
    z = (rows - mean) / scale
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(z[:, cols], labels)
    coef = np.zeros(rows.shape[1])
    coef[cols] = model.coef_[0]
    return mean, scale, coef, float(model.intercept_[0])


def fit_platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression
    if len(set(labels.tolist())) < 2:
        return 1.0, 0.0
    model = LogisticRegression(C=100.0, max_iter=1000)
    model.fit(logits.reshape(-1, 1), labels)
    return float(model.coef_[0][0]), float(model.intercept_[0])


def best_threshold(confidence: np.ndarray, f1_if_answered: np.ndarray,
                   answerable: np.ndarray, allowed: np.ndarray | None = None
                   ) -> tuple[float, float]:
    """(threshold, mean F1) maximising SQuAD-2 F1: an answer scores its F1, an abstention 1
    on an unanswerable question and 0 on an answerable one. `allowed` False: refused anyway."""
    best = (0.5, -1.0)
    for t in np.round(np.arange(0.05, 0.951, 0.01), 2):
        answered = confidence >= t
        if allowed is not None:
            answered &= allowed
        f1 = np.where(answered, f1_if_answered, (~answerable).astype(float)).mean()
        if f1 > best[1] + 1e-9:
            best = (float(t), float(f1))
    return best


def calibrate(paragraphs, weights: Path, work: Path, settings) -> Calibration:
    """Fit the calibration on held-out training articles and write it to CALIBRATION_PATH.
    See qa/calibration_run.py."""
    from .calibration_run import run_calibration
    return run_calibration(paragraphs, weights, work, settings)

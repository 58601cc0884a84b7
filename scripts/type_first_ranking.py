"""Would ranking a question's candidates of the asked type first (a change, a percentage, a
quantity or a time, `constraints.type_mismatch`) beat ranking them by confidence alone? On the
held-out training articles (calibration's corpus and 5,396 questions, read as calibration reads
them), out of fold by article, with each caution level's threshold and the early exit chosen
again the same way for each ranking. Prints each ranking's figures; the shipped one reproduces
the shipped calibration's.

    .venv/bin/python scripts/type_first_ranking.py [--work DIR]

DIR (default .cache/type-first) keeps the held-out corpus, its index and the questions read
(questions.pkl) between runs: about 6 minutes to read them on 2 cores, 2 to compare.
Only training data is used.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import qa.training.calibrate as cal  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.models.reader_model import CALIBRATION_PATH, READER_WEIGHTS, OnnxReaderModel  # noqa: E402
from qa.reader.confidence import FEATURES, Calibration  # noqa: E402

TYPE_MISMATCH, ANY_MISSING = FEATURES.index("type_mismatch"), FEATURES.index("any_missing")


def read_questions(work: Path, calibration: Calibration) -> list[dict]:
    cached = work / "questions.pkl"
    if cached.is_file():
        return pickle.loads(cached.read_bytes())
    from qa.pipeline import Pipeline
    from qa.training.examples import held_out, read_squad, v2_calibration
    shared = ROOT.parent / "shared" / "squad"
    heldout = [p for p in read_squad(shared / "train.jsonl.gz") if held_out(p.title)]
    heldout += [p for p in read_squad(shared / "v2-extra.jsonl.gz") if v2_calibration(p.title)]
    items, store, embedder, models, run_settings = cal.held_out_setup(
        heldout, READER_WEIGHTS, work, Settings.from_env())
    pipeline = Pipeline(store, embedder, run_settings, calibration=cal._neutral(),
                        reader_model=OnnxReaderModel(models[calibration.int8], 0))
    pipeline.reader.depth = calibration.depth
    questions = cal.collect(pipeline, items)
    cached.write_bytes(pickle.dumps(questions))
    return questions


def type_first(calibration, questions, missing=False, prefix=""):
    """calibrate.top_outcomes, the top candidate taken among those of the asked type when
    there are any."""
    conf, f1, answerable, lacks = [], [], [], []
    for q in questions:
        rows = np.array(q[prefix + "rows"], dtype=np.float32)
        if len(rows):
            p = calibration.probabilities(rows)
            typed = np.flatnonzero(rows[:, TYPE_MISMATCH] == 0)
            pool = typed if len(typed) else np.arange(len(p))
            i = int(pool[np.argmax(p[pool])])
            conf.append(float(p[i]))
            f1.append(q[prefix + "f1"][i])
            lacks.append(bool(rows[i, ANY_MISSING]))
        else:
            conf.append(0.0)
            f1.append(0.0)
            lacks.append(False)
        answerable.append(bool(q["answers"]))
    out = np.array(conf), np.array(f1), np.array(answerable)
    return (*out, np.array(lacks)) if missing else out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "type-first")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    shipped = Calibration.load(CALIBRATION_PATH)
    questions = read_questions(args.work, shipped)
    mismatched = sum(any(r[TYPE_MISMATCH] for r in q["rows"]) for q in questions)
    print(f"{len(questions)} questions, {mismatched} with a candidate of the wrong type")
    for name, outcomes in (("by confidence (shipped)", cal.top_outcomes),
                           ("asked type first", type_first)):
        cal.top_outcomes = outcomes
        first: dict = {}
        oof = cal.out_of_fold(questions, first=first)
        levels, figures = cal.caution_levels(questions, oof, shipped.refuse_missing)
        exit_at, _ = cal.early_exit(questions, oof, first, levels, shipped.refuse_missing)
        _, f1, answerable, _, fold = oof
        print(f"{name}: early exit {exit_at}; always answering, F1 on answerable "
              f"{f1[(fold >= 0) & answerable].mean():.4f}")
        for level, m in figures.items():
            print(f"  {level}: threshold {m['threshold']:.2f}, F1 on answerable "
                  f"{m['has_answer_f1']:.4f}, real unanswerables refused "
                  f"{m['refused_real_unanswerable']:.3f}, no-answer {m['no_answer_accuracy']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

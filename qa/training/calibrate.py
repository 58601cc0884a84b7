"""Fit the confidence model on articles held out of the reader's training.

The held-out articles become a corpus of their own (one document each) with an index built the
way the service builds one; their questions are asked through the real retrieval and reader:
answerable ones, SQuAD 2.0's unanswerable ones, and near-misses made by swapping a year, number
or name of an answerable question (qa/training/examples.py). Every candidate span of every
question is a row whose target is its F1 against the gold answers (the trees rank by expected
F1); the top candidate counts as right, for Platt scaling and the figures, when that F1 is at
least 0.5. Folds by article measure what the fitted model does on articles it did not see; the
shipped model is then fitted on all of them. Only training data is used here.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import numpy as np

from ..evaluation import f1_score
from ..reader.confidence import CONSTRAINT_FEATURES, FEATURES, READ_DEPTH, Calibration, Trees

MAX_ARTICLES = 40  # all of them: 25 SQuAD articles (examples.held_out), 6 of v2-extra
MAX_QUESTIONS_PER_ARTICLE = 150
FOLDS = 4


# Fitted on some 40,000 candidate rows: shallow trees, a slow rate, leaves of 40 rows at least.
TREE_SETTINGS = dict(n_estimators=200, learning_rate=0.05, max_depth=3, min_samples_leaf=40)


def fit_trees(rows: np.ndarray, targets: np.ndarray, columns: list[int] | None = None,
              seed: int = 0) -> Trees:
    """A gradient-boosted tree ensemble whose score is the log-odds of a candidate's `targets`:
    1 right, 0 wrong, or in between (a candidate's F1, learned as a soft target: each row
    counts as right with weight F1 and as wrong with weight 1 - F1); `columns` keeps only those
    features."""
    from sklearn.ensemble import GradientBoostingClassifier
    cols = list(range(rows.shape[1])) if columns is None else list(columns)
    rows = np.asarray(rows, dtype=np.float32)
    targets = np.clip(np.asarray(targets, dtype=np.float64), 0.0, 1.0)
    both = np.concatenate([rows, rows])
    labels = np.r_[np.ones(len(rows), dtype=int), np.zeros(len(rows), dtype=int)]
    weights = np.r_[targets, 1.0 - targets]
    kept = weights > 0
    model = GradientBoostingClassifier(**TREE_SETTINGS, random_state=seed)
    model.fit(both[kept][:, cols], labels[kept], sample_weight=weights[kept])
    fitted = [e[0].tree_ for e in model.estimators_]
    width = max(t.node_count for t in fitted)

    def padded(values, fill):
        return [list(v) + [fill] * (width - len(v)) for v in values]

    rate = model.learning_rate
    trees = Trees(
        feature=padded([[cols[f] if f >= 0 else 0 for f in t.feature] for t in fitted], 0),
        threshold=padded([[float(x) for x in t.threshold] for t in fitted], 0.0),
        left=padded([[int(x) for x in t.children_left] for t in fitted], -1),
        right=padded([[int(x) for x in t.children_right] for t in fitted], -1),
        value=padded([[float(rate * x) for x in t.value[:, 0, 0]] for t in fitted], 0.0),
        baseline=0.0)
    first = rows[:1]
    trees.baseline = float(model.decision_function(first[:, cols])[0] - trees.scores(first)[0])
    return trees


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


def log(message: str) -> None:
    import sys
    print(message, file=sys.stderr, flush=True)


def calibration_corpus(paragraphs, folder: Path, seed: int = 0):
    """Write the held-out articles as corpus files; return their questions as gold items
    (with "article" and "kind": answer | unanswerable | swapped)."""
    from .examples import article_pool, swap_specific
    rng = random.Random(seed)
    by_title: dict[str, list] = {}
    for p in paragraphs:
        by_title.setdefault(p.title, []).append(p)
    titles = sorted(by_title)
    keep = [t for t in titles if any(q.get("is_impossible") for p in by_title[t] for q in p.qas)]
    rest = [t for t in titles if t not in keep]
    rng.shuffle(rest)
    keep += rest[:max(0, MAX_ARTICLES - len(keep))]
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.txt"):
        old.unlink()
    items = []
    for t in sorted(keep):
        article = by_title[t]
        name = t.replace("_", " ")
        (folder / (re.sub(r"\W+", "_", t) + ".txt")).write_text(
            name + "\n\n" + "\n\n".join(p.context for p in article) + "\n", encoding="utf-8")
        pool = article_pool(article)
        qs = []
        for p in article:
            for q in p.qas:
                if q.get("is_impossible"):
                    qs.append({"id": q["id"], "question": q["question"], "answers": [],
                               "article": t, "kind": "unanswerable"})
                    continue
                answers = [a["text"] for a in q["answers"]]
                qs.append({"id": q["id"], "question": q["question"], "answers": answers,
                           "article": t, "kind": "answer"})
                if rng.random() < 0.3:
                    swapped = swap_specific(q["question"], p.context, pool, rng)
                    if swapped:
                        qs.append({"id": q["id"] + ":swap", "question": swapped, "answers": [],
                                   "article": t, "kind": "swapped"})
        rng.shuffle(qs)
        # real unanswerable questions (the best test of refusing), and at least as many others
        real = [q for q in qs if q["kind"] == "unanswerable"][:MAX_QUESTIONS_PER_ARTICLE]
        items += real + [q for q in qs if q["kind"] != "unanswerable"][
            :max(MAX_QUESTIONS_PER_ARTICLE - len(real), len(real))]
    return items


def collect(pipeline, items) -> list[dict]:
    """Per question: its candidates' feature rows and F1s, as the reader scores them, reading
    all its windows ("rows", "f1") and its best-retrieved window alone ("first_rows",
    "first_f1"; for the early exit), and how many windows it has."""
    from ..reader.reading import windows_for
    reader = pipeline.reader
    out = []
    started = time.time()
    for n, item in enumerate(items):
        if n and n % 500 == 0:
            log(f"calibration: read {n}/{len(items)} questions ({time.time() - started:.0f} s)")
        vector = pipeline.embedder.encode_query(item["question"])
        retrieved = pipeline.retriever.retrieve(vector, item["question"], k=READ_DEPTH)
        windows = windows_for(reader.store, retrieved, reader.depth)
        logits = reader.model.logits(item["question"], [w.text for w in windows])
        record = {**item, "windows": len(windows)}
        for prefix, read in (("", len(windows)), ("first_", 1)):
            candidates, rows = reader.score(item["question"], vector, windows[:read],
                                            logits[:read])
            texts = [pipeline.store.documents[c.window.doc_id].text[c.start:c.end]
                     for c in candidates]
            record[prefix + "rows"] = rows.tolist()
            record[prefix + "f1"] = [max((f1_score(t, a) for a in item["answers"]), default=0.0)
                                     for t in texts]
        out.append(record)
    return out


def _neutral() -> Calibration:
    return Calibration(FEATURES, Trees([[0]], [[0.0]], [[-1]], [[-1]], [[0.0]], 0.0))


def fit(questions: list[dict], columns: list[int] | None = None) -> Calibration:
    rows = np.array([r for q in questions for r in q["rows"]], dtype=np.float32)
    targets = np.array([f for q in questions for f in q["f1"]], dtype=np.float64)
    calibration = Calibration(FEATURES, fit_trees(rows, targets, columns))
    tops, top_labels = [], []
    for q in questions:
        if q["rows"]:
            logits = calibration.scores(np.array(q["rows"], dtype=np.float32))
            i = int(np.argmax(logits))
            tops.append(float(logits[i]))
            top_labels.append(int(q["f1"][i] >= 0.5))
    calibration.platt = fit_platt(np.array(tops), np.array(top_labels))
    return calibration


def top_outcomes(calibration: Calibration, questions: list[dict], missing: bool = False,
                 prefix: str = ""):
    """Per question: (confidence of the top candidate, its F1, answerable); with `missing`,
    also whether the top candidate's window lacks a year, number or name of the question.
    `prefix` "first_": of the best-retrieved window read alone."""
    conf, f1, answerable, lacks = [], [], [], []
    for q in questions:
        if q[prefix + "rows"]:
            p = calibration.probabilities(np.array(q[prefix + "rows"], dtype=np.float32))
            i = int(np.argmax(p))
            conf.append(float(p[i]))
            f1.append(q[prefix + "f1"][i])
            lacks.append(bool(q[prefix + "rows"][i][FEATURES.index("any_missing")]))
        else:
            conf.append(0.0)
            f1.append(0.0)
            lacks.append(False)
        answerable.append(bool(q["answers"]))
    if missing:
        return np.array(conf), np.array(f1), np.array(answerable), np.array(lacks)
    return np.array(conf), np.array(f1), np.array(answerable)


def out_of_fold(questions: list[dict], columns: list[int] | None = None,
                first: dict | None = None):
    """Per question, in order: the top candidate's confidence, its F1, whether the question is
    answerable, whether its window lacks a year, number or name of the question, and its fold;
    each from the model fitted on the other folds' articles (folds by article; fold -1: none,
    when there are too few articles). `first`, a dict, gets the same "conf", "f1" and "lacks"
    for the best-retrieved window read alone (questions collected with "first_rows")."""
    articles = sorted({q["article"] for q in questions})
    n = len(questions)
    conf, f1 = np.zeros(n), np.zeros(n)
    answerable, lacks = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    fold = np.full(n, -1)
    if first is not None:
        first.update(conf=np.zeros(n), f1=np.zeros(n), lacks=np.zeros(n, dtype=bool))
    for k in range(FOLDS):
        test_articles = set(articles[k::FOLDS])
        mine = [i for i, q in enumerate(questions) if q["article"] in test_articles]
        train = [q for q in questions if q["article"] not in test_articles]
        if not mine or not train:
            continue
        calibration = fit(train, columns)
        outcome = top_outcomes(calibration, [questions[i] for i in mine], missing=True)
        for column, values in zip((conf, f1, answerable, lacks), outcome):
            column[mine] = values
        if first is not None:
            c, f, _, m = top_outcomes(calibration, [questions[i] for i in mine], missing=True,
                                      prefix="first_")
            first["conf"][mine], first["f1"][mine], first["lacks"][mine] = c, f, m
        fold[mine] = k
    return conf, f1, answerable, lacks, fold


def oof_threshold(conf, f1, answerable, lacks, hard_rule: bool) -> float:
    """The threshold that maximises SQuAD-2 F1 over out-of-fold confidences: the served model
    meets new questions as the fold models meet their held-out articles, while its confidences
    on the questions it was fitted on are surer than they will be (the trees learned them)."""
    return best_threshold(conf, f1, answerable, ~lacks if hard_rule else None)[0]


def answered_out_of_fold(conf, lacks, fold, hard_rule: bool, choose) -> np.ndarray:
    """Whether each question is answered when each fold's threshold is `choose(other)`, chosen
    on the other folds' rows (`other`: a mask), as the served one is chosen on all of them;
    the hard rule refuses what lacks a year, number or name the question states."""
    keep = fold >= 0
    answered = np.zeros(len(conf), dtype=bool)
    for k in np.unique(fold[keep]):
        other, mine = keep & (fold != k), fold == k
        answered[mine] = conf[mine] >= choose(other)
    return answered & ~lacks if hard_rule else answered


def cross_validate(questions: list[dict], columns: list[int] | None = None,
                   hard_rule: bool = False, oof=None) -> dict:
    """Out-of-fold figures: folds by article; each fold's threshold is chosen on the other
    folds' out-of-fold confidences, as the served one is chosen on all of them. `oof`: what
    out_of_fold(questions, columns) returned, if already computed."""
    from ..evaluation import expected_calibration_error
    conf, f1, answerable, lacks, fold = oof or out_of_fold(questions, columns)
    keep = fold >= 0
    answered = answered_out_of_fold(
        conf, lacks, fold, hard_rule,
        lambda other: oof_threshold(conf[other], f1[other], answerable[other], lacks[other],
                                    hard_rule) if other.any() else 0.5)
    kind = np.array([q["kind"] for q in questions])
    conf, f1, answerable, answered, kind = (x[keep] for x in
                                            (conf, f1, answerable, answered, kind))
    score = np.where(answered, np.where(answerable, f1, 0.0), (~answerable).astype(float))
    return {"questions": int(len(conf)),
            "f1": float(score.mean()),
            "has_answer_f1": float(np.where(answered, f1, 0.0)[answerable].mean()),
            "top_f1_answerable": float(f1[answerable].mean()),
            "no_answer_accuracy": float((~answered)[~answerable].mean()),
            "refused_real_unanswerable": float((~answered)[kind == "unanswerable"].mean())
            if (kind == "unanswerable").any() else None,
            "refused_swapped": float((~answered)[kind == "swapped"].mean())
            if (kind == "swapped").any() else None,
            "ece": expected_calibration_error(conf, (f1 >= 0.5).astype(float))}


# The caution levels a user chooses from (QA_CAUTION): the share of real unanswerable
# questions (SQuAD 2.0's near-misses, written to look answerable) that each refuses on held-out
# training articles, out of fold. The threshold of each is the lowest that refuses that share.
CAUTION_TARGETS = {"lenient": 0.50, "balanced": 0.75, "strict": 0.90}
DEFAULT_CAUTION = "balanced"
THRESHOLD_GRID = np.round(np.arange(0.01, 0.991, 0.01), 2)


def refusal_threshold(conf, answerable, lacks, kind, target: float,
                      hard_rule: bool) -> float:
    """The lowest threshold at which at least `target` of the real unanswerable questions
    (`kind` "unanswerable") are refused (the hard rule refuses some whatever the threshold)."""
    real = kind == "unanswerable"
    if not real.any():
        return float(THRESHOLD_GRID[-1])
    for t in THRESHOLD_GRID:
        answered = (conf >= t) & (~lacks if hard_rule else True)
        if (~answered)[real].mean() >= target - 1e-9:
            return float(t)
    return float(THRESHOLD_GRID[-1])


def tradeoff(conf, f1, answerable, lacks, kind, hard_rule: bool,
             thresholds=THRESHOLD_GRID) -> list[dict]:
    """At each threshold: F1 on answerable questions (a refusal scores 0), and the share of
    real unanswerable (and of all unanswerable) questions refused."""
    real, unanswerable = kind == "unanswerable", ~answerable
    out = []
    for t in thresholds:
        answered = (conf >= t) & (~lacks if hard_rule else True)
        out.append({"threshold": float(t),
                    "has_answer_f1": float(np.where(answered, f1, 0.0)[answerable].mean()),
                    "refused_real_unanswerable": float((~answered)[real].mean())
                    if real.any() else None,
                    "no_answer_accuracy": float((~answered)[unanswerable].mean())
                    if unanswerable.any() else None})
    return out


def caution_levels(questions: list[dict], oof, hard_rule: bool) -> tuple[dict, dict]:
    """Each level's threshold (chosen on all out-of-fold confidences) and its figures measured
    out of fold (each fold's threshold chosen on the other folds, as cross_validate does)."""
    conf, f1, answerable, lacks, fold = oof
    kind = np.array([q["kind"] for q in questions])
    keep = fold >= 0
    thresholds, figures = {}, {}
    for level, target in CAUTION_TARGETS.items():
        thresholds[level] = refusal_threshold(conf[keep], answerable[keep], lacks[keep],
                                              kind[keep], target, hard_rule)
        answered = answered_out_of_fold(
            conf, lacks, fold, hard_rule,
            lambda other, target=target: refusal_threshold(
                conf[other], answerable[other], lacks[other], kind[other], target, hard_rule))
        a, u, real = answerable[keep], ~answerable[keep], kind[keep] == "unanswerable"
        ans, score = answered[keep], f1[keep]
        figures[level] = {
            "target_refused": target, "threshold": thresholds[level],
            "has_answer_f1": float(np.where(ans, score, 0.0)[a].mean()),
            "refused_real_unanswerable": float((~ans)[real].mean()) if real.any() else None,
            "no_answer_accuracy": float((~ans)[u].mean()) if u.any() else None}
    return thresholds, figures


# The early exit (Calibration.exit_confidence): the reader answers from the best-retrieved
# window alone when its best span reaches this confidence, and reads the other windows only when
# it does not. It is the lowest on EXIT_GRID (scanned down from the top; the first that fails
# stops the scan) at which, at every caution level and out of fold on the held-out articles,
# neither the F1 on answerable questions nor the share of unanswerable ones refused is more than
# EXIT_TOLERANCE below reading every window.
EXIT_GRID = np.round(np.arange(0.99, 0.195, -0.01), 2)
EXIT_TOLERANCE = 0.002


def early_exit(questions: list[dict], oof, first: dict, levels: dict,
               hard_rule: bool) -> tuple[float | None, dict]:
    """The exit confidence (None: no exit keeps within EXIT_TOLERANCE) and, at each caution
    level, the figures with and without it. `oof`, `first`: what out_of_fold(questions,
    first=first) gave; `levels`: caution level -> threshold."""
    conf, f1, answerable, lacks, fold = oof
    keep = fold >= 0
    windows = np.array([q["windows"] for q in questions])[keep]
    conf, f1, answerable, lacks = (x[keep] for x in (conf, f1, answerable, lacks))
    conf1, f1_1, lacks1 = (first[k][keep] for k in ("conf", "f1", "lacks"))
    allowed, allowed1 = (~lacks, ~lacks1) if hard_rule else (True, True)

    def outcome(threshold: float, exit_at: float | None) -> dict:
        exits = np.zeros(len(conf), dtype=bool) if exit_at is None else \
            (windows > 1) & (conf1 >= max(threshold, exit_at)) & allowed1
        answered = exits | ((conf >= threshold) & allowed)
        score = np.where(answered, np.where(exits, f1_1, f1), 0.0)
        return {"has_answer_f1": float(score[answerable].mean()),
                "no_answer_accuracy": float((~answered)[~answerable].mean()),
                "exited": float(exits.mean()),
                "windows_read": float(np.where(exits, 1, windows).mean())}

    def within(exit_at: float) -> bool:
        for threshold in levels.values():
            before, after = outcome(threshold, None), outcome(threshold, exit_at)
            if before["has_answer_f1"] - after["has_answer_f1"] > EXIT_TOLERANCE or \
                    before["no_answer_accuracy"] - after["no_answer_accuracy"] > EXIT_TOLERANCE:
                return False
        return True

    chosen = None
    for exit_at in EXIT_GRID:
        if not within(float(exit_at)):
            break
        chosen = float(exit_at)
    figures = {"exit_confidence": chosen, "tolerance": EXIT_TOLERANCE,
               "questions": int(keep.sum()),
               "note": "out of fold; at each caution level, reading every window and with the "
                       "early exit"}
    for level, threshold in levels.items():
        figures[level] = {"all_windows": outcome(threshold, None),
                          "early_exit": outcome(threshold, chosen)}
    return chosen, figures


def log_early_exit(figures: dict) -> None:
    log(f"calibration: early exit at confidence {figures['exit_confidence']}")
    for level in CAUTION_TARGETS:
        if level in figures:
            a, b = figures[level]["all_windows"], figures[level]["early_exit"]
            log(f"  {level}: F1 on answerable {a['has_answer_f1']:.3f} -> "
                f"{b['has_answer_f1']:.3f}, no-answer {a['no_answer_accuracy']:.3f} -> "
                f"{b['no_answer_accuracy']:.3f}, windows read {a['windows_read']:.2f} -> "
                f"{b['windows_read']:.2f} ({100 * b['exited']:.0f}% exit after the first)")


# How many retrieved sentences' windows the reader may read (about 3 windows for 5, 2.5 for 4,
# 2 for 3).
DEPTHS = (5, 4, 3)
# The most it may read when serving: the latency target (in-process `ask` p50 at most
# 1.0x a torch MiniLM pass over the question and its 3 top sentences, `qa bench`) measured
# 1.19x reading 5 (int8 reader, 2 cores) while the windows ran as one padded batch, and
# 0.96-1.02x (median 0.99) in ten runs since each window runs on its own (reading 4:
# 0.84-0.87x; reading 3: 0.81x).
MAX_SERVED_DEPTH = 5
TOLERANCE = 0.01  # F1 given up at most for a cheaper variant (fewer windows, int8)


# The ways a variant can serve. The hard rule comes first: it is served unless the constraint
# check as a feature beats it by more than TOLERANCE. A refusal that names what the documents
# lack ("the closest passages do not mention 2024") is the service's promise; an answer about
# another year is the confident mistake users cannot spot.
RULES = ("constraint_as_hard_rule", "with_constraint_features")


def served_rule(measured_variant: dict) -> str:
    """The first of RULES within TOLERANCE of the variant's best out-of-fold F1."""
    best = max(measured_variant[r]["f1"] for r in RULES)
    return next(r for r in RULES if measured_variant[r]["f1"] >= best - TOLERANCE)


def f1_served(measured_variant: dict) -> float:
    """A variant's out-of-fold F1 under the rule it would serve with."""
    return measured_variant[served_rule(measured_variant)]["f1"]


def choose_depth(measured: dict, max_depth: int = MAX_SERVED_DEPTH) -> int:
    """The fewest retrieved sentences, up to `max_depth`, whose float32 reader is within
    TOLERANCE of the best of those measured."""
    f1 = {d: f1_served(measured[name(d, False)]) for d in DEPTHS
          if d <= max_depth and name(d, False) in measured}
    return min(d for d in f1 if f1[d] >= max(f1.values()) - TOLERANCE)


def choose_int8(measured: dict, depth: int) -> bool:
    """int8 when it costs at most TOLERANCE against float32 at the same depth (the issue's
    rule: int8 if it costs less than a point)."""
    return f1_served(measured[name(depth, True)]) >= \
        f1_served(measured[name(depth, False)]) - TOLERANCE


def name(depth: int, int8: bool) -> str:
    return f"depth{depth}_{'int8' if int8 else 'fp32'}"


def held_out_setup(paragraphs, weights: Path, work: Path, settings):
    """The held-out articles as a corpus with its index (reused when current) and their
    questions, and the reader exported from `weights` (float32 and int8): (items, store,
    embedder, {int8: onnx path}, settings for that corpus)."""
    from ..config import Settings
    from ..errors import QAError
    from ..models.embedding import Embedder
    from ..models.reader_model import export_reader, quantize_reader
    from ..store.document_store import DocumentStore
    from ..store.indexing import build_index
    folder = Path(work) / "calibration"
    corpus, index = folder / "corpus", folder / "index"
    items = calibration_corpus(paragraphs, corpus)
    log(f"calibration: {len(items)} questions on {len({i['article'] for i in items})} held-out "
        "articles; building their index")
    embedder = Embedder(settings.model_path)
    try:  # the same held-out articles as last time: their index can be reused
        store = DocumentStore.load(index, corpus)
    except QAError:
        build_index(corpus, index, embedder, query_encoder=False)
        store = DocumentStore.load(index, corpus)
    fp32 = folder / "reader.onnx"
    export_reader(fp32, [p.text for p in store.passages[:8]], weights)
    models = {False: fp32, True: quantize_reader(fp32, folder / "reader.int8.onnx")}
    run_settings = Settings(corpus_dir=corpus, index_dir=index, model_path=settings.model_path)
    return items, store, embedder, models, run_settings


def run_calibration(paragraphs, weights: Path, work: Path, settings,
                    keep: tuple[int, bool] | None = None) -> Calibration:
    """Fit the confidence model and the caution levels' thresholds; with `keep` (depth, int8)
    only that variant is measured, instead of choosing the depth and precision anew."""
    from ..models.reader_model import CALIBRATION_PATH, OnnxReaderModel
    from ..pipeline import Pipeline
    started = time.time()
    items, store, embedder, models, run_settings = held_out_setup(paragraphs, weights, work,
                                                                   settings)
    measured, collected, folds, firsts = {}, {}, {}, {}

    def measure(depth: int, int8: bool) -> None:
        pipeline = Pipeline(store, embedder, run_settings,
                            reader_model=OnnxReaderModel(models[int8], 0),
                            calibration=_neutral())
        pipeline.reader.depth = depth
        t0 = time.time()
        questions = collect(pipeline, items)
        seconds = time.time() - t0
        without = [i for i, f in enumerate(FEATURES) if f not in CONSTRAINT_FEATURES]
        first = firsts[(depth, int8)] = {}
        # all features: fitted once
        oof = folds[(depth, int8)] = out_of_fold(questions, first=first)
        m = {"with_constraint_features": cross_validate(questions, oof=oof),
             "without_constraint_features": cross_validate(questions, without),
             "constraint_as_hard_rule": cross_validate(questions, hard_rule=True, oof=oof),
             "ms_per_question": 1000 * seconds / max(len(questions), 1)}
        measured[name(depth, int8)] = m
        collected[(depth, int8)] = questions
        log(f"calibration: {name(depth, int8)}: {m['ms_per_question']:.0f} ms a question")
        for k, v in m.items():
            if isinstance(v, dict):
                log(f"  {k}: " + ", ".join(f"{a} {b:.3f}" if isinstance(b, float) else f"{a} {b}"
                                           for a, b in v.items()))

    if keep is None:
        for depth in DEPTHS:
            measure(depth, False)
        depth = choose_depth(measured)
        measure(depth, True)
        int8 = choose_int8(measured, depth)
    else:
        depth, int8 = keep
        measure(depth, int8)
    chosen = measured[name(depth, int8)]
    rule = served_rule(chosen)
    calibration = fit(collected[(depth, int8)])
    calibration.depth, calibration.int8 = depth, int8
    calibration.refuse_missing = rule == "constraint_as_hard_rule"
    questions = collected[(depth, int8)]
    calibration.levels, levels_measured = caution_levels(questions, folds[(depth, int8)],
                                                         calibration.refuse_missing)
    calibration.threshold = calibration.levels[DEFAULT_CAUTION]
    calibration.exit_confidence, exit_measured = early_exit(
        questions, folds[(depth, int8)], firsts[(depth, int8)], calibration.levels,
        calibration.refuse_missing)
    conf, f1, answerable, lacks, fold = folds[(depth, int8)]
    keep_rows = fold >= 0
    kind = np.array([q["kind"] for q in questions])
    calibration.measured = {
        "held_out_articles": sorted({q["article"] for q in items}),
        "caution_levels": levels_measured,
        "tradeoff": tradeoff(conf[keep_rows], f1[keep_rows], answerable[keep_rows],
                             lacks[keep_rows], kind[keep_rows], calibration.refuse_missing,
                             THRESHOLD_GRID[::5]),        "questions": {k: sum(q["kind"] == k for q in items)
                      for k in ("answer", "unanswerable", "swapped")},
        "note": "out-of-fold figures (folds by article); a candidate is right when F1 >= 0.5",
        "chosen": name(depth, int8) + (" + hard rule" if calibration.refuse_missing else ""),
        "early_exit": exit_measured,
        **measured}
    calibration.save(CALIBRATION_PATH)
    for level, m in levels_measured.items():
        log(f"calibration: {level}: threshold {m['threshold']:.2f}, out of fold: real "
            f"unanswerable refused {m['refused_real_unanswerable']:.3f}, F1 on answerable "
            f"{m['has_answer_f1']:.3f}")
    log_early_exit(exit_measured)
    log(f"calibration: chose {calibration.measured['chosen']}, {DEFAULT_CAUTION} threshold "
        f"{calibration.threshold:.2f}; wrote {CALIBRATION_PATH} ({time.time() - started:.0f} s)")
    return calibration


def calibrate(paragraphs, weights: Path, work: Path, settings,
              keep: tuple[int, bool] | None = None) -> Calibration:
    """Fit the calibration on held-out training articles and write it to CALIBRATION_PATH.
    See run_calibration."""
    return run_calibration(paragraphs, weights, work, settings, keep)


def choose_early_exit(paragraphs, weights: Path, work: Path, settings) -> Calibration:
    """Choose the early exit (see early_exit) for the shipped reader and calibration, leaving
    the rest of the calibration as it is, and write it to CALIBRATION_PATH. The held-out
    questions are read as the calibration read them (its depth and precision); the
    out-of-fold confidences come from fold models refitted on these rows, and the thresholds
    are the shipped caution levels'."""
    from ..models.reader_model import CALIBRATION_PATH, OnnxReaderModel
    from ..pipeline import Pipeline
    started = time.time()
    calibration = Calibration.load(CALIBRATION_PATH)
    items, store, embedder, models, run_settings = held_out_setup(paragraphs, weights, work,
                                                                   settings)
    pipeline = Pipeline(store, embedder, run_settings,
                        reader_model=OnnxReaderModel(models[calibration.int8], 0),
                        calibration=_neutral())
    pipeline.reader.depth = calibration.depth
    questions = collect(pipeline, items)
    log(f"calibration: read {len(questions)} questions ({time.time() - started:.0f} s); "
        "fitting the fold models")
    first: dict = {}
    oof = out_of_fold(questions, first=first)
    calibration.exit_confidence, figures = early_exit(questions, oof, first,
                                                      calibration.levels,
                                                      calibration.refuse_missing)
    calibration.measured["early_exit"] = figures
    calibration.save(CALIBRATION_PATH)
    log_early_exit(figures)
    log(f"calibration: wrote {CALIBRATION_PATH} ({time.time() - started:.0f} s)")
    return calibration

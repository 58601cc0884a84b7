"""Learn the reader's weights from ../shared/bench/train (and nothing else).

    .venv/bin/python scripts/train_reader.py [--train ../shared/bench/train] [--out qa/reader_weights.json]

Three logistic regressions, trained in order on the train split only:
1. span model: which candidate of an answer-bearing sentence is the answer (exact match);
2. sentence model: which retrieved sentence bears an answer (uses the span model's best score);
3. confidence model: whether the final answer is right (F1 >= 0.5; unanswerable = wrong),
   fitted on out-of-fold predictions so that its probabilities are calibrated, not optimistic.
The answering threshold is the one that maximises SQuAD v2 F1 on the train split.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.embedding import Embedder  # noqa: E402
from qa.evaluation import best_score, exact_match, f1_score, load_gold, normalize_answer  # noqa: E402
from qa.features import (CONFIDENCE_FEATURES, NEURAL_SENTENCE_FEATURES,  # noqa: E402
                         NEURAL_SPAN_FEATURES, SENTENCE_FEATURES, SPAN_FEATURES, sentence_view)
from qa.indexing import build_index  # noqa: E402
from qa.questions import analyse  # noqa: E402
from qa.reading import (NEURAL_DEPTH, NO_SPAN, READ_DEPTH, LinearModel, Reader,  # noqa: E402
                        attach_neural, neural_span_rows, second_stage_rows, soft_alignment,
                        span_rows)
from qa.span_scorer import TorchSpanScorer, load_torch_model  # noqa: E402
from train_span_scorer import FOLD_DIR, fold_of, fold_path  # noqa: E402
from qa.retrieval import HybridRetriever  # noqa: E402
from qa.store import DocumentStore  # noqa: E402



def bears_answer(text: str, answers: list[str]) -> bool:
    norm = f" {normalize_answer(text)} "
    return any(normalize_answer(a) and f" {normalize_answer(a)} " in norm for a in answers)


def fit(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> LogisticRegression:
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit(x, y)
    return model


def as_dict(model: LogisticRegression, features: list[str]) -> dict:
    return {"features": features, "coef": [round(float(v), 6) for v in model.coef_[0]],
            "intercept": round(float(model.intercept_[0]), 6)}


def out_of_fold_token_scores(store, items, retrieved) -> list[dict]:
    """Per question, the span scorer's token scores of its retrieved sentences (sentence id ->
    TokenScores), from the fold model that was trained without that question
    (scripts/train_span_scorer.py). Cached in .cache/span-scorer/ next to the fold models."""
    trained = FOLD_DIR / "trained.json"
    if not trained.is_file():
        raise SystemExit("error: no span scorer fold models: run scripts/train_span_scorer.py "
                         "first")
    folds = json.loads(trained.read_text())["folds"]
    key = hashlib.sha1(json.dumps([trained.read_text(), [it["question"] for it in items],
                                   [[h.sentence_id for h in hits] for hits in retrieved],
                                   [s.text for s in store.sentences]]).encode()).hexdigest()
    cache = FOLD_DIR / f"out-of-fold-{key[:16]}.pkl"
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    scorers = [TorchSpanScorer(load_torch_model(fold_path(k, folds))) for k in range(folds)]
    out = []
    for item, hits in zip(items, retrieved):
        scorer = scorers[fold_of(item["id"], folds)]
        ids = [h.sentence_id for h in hits]
        out.append(dict(zip(ids, scorer.score(analyse(item["question"]).text,
                                              [store.sentences[i].text for i in ids]))))
    cache.write_bytes(pickle.dumps(out))
    return out


def span_data(store, items, retrieved, question_tokens):
    xs, ys = [], []
    for item, hits, tokens in zip(items, retrieved, question_tokens):
        if not item["answers"]:
            continue
        q = analyse(item["question"])
        q_content = tokens.content(q.text)
        for hit in hits:
            text = store.sentences[hit.sentence_id].text
            if not bears_answer(text, item["answers"]):
                continue
            view = sentence_view(text)
            if not view.candidates:
                continue
            labels, partial = candidate_labels(text, view, item["answers"])
            if not any(labels):
                continue
            rows = span_rows(q, text, view,
                             soft_alignment(store, q_content, hit.sentence_id, view))
            xs.append(rows[~partial])
            ys.extend(labels[~partial])
    return np.vstack(xs), np.array(ys)


def candidate_labels(text, view, answers):
    """Per candidate: exact match with an answer; and whether it is a near miss (overlapping
    the answer but not it), neither clearly right nor clearly wrong, so left out of training."""
    labels = np.array([best_score(exact_match, text[c.start:c.end], answers)
                       for c in view.candidates])
    partial = np.array([0.0 < best_score(f1_score, text[c.start:c.end], answers) < 1.0
                        for c in view.candidates])
    return labels, partial


def sentence_data(reader, store, items, retrieved, question_tokens):
    xs, ys = [], []
    for item, hits, tokens in zip(items, retrieved, question_tokens):
        q = analyse(item["question"])
        for r in reader.read_sentences(q, hits, tokens, {}):
            xs.append(r.features)
            ys.append(float(bool(item["answers"]) and
                            bears_answer(store.sentences[r.hit.sentence_id].text, item["answers"])))
    return np.vstack(xs), np.array(ys)


def second_stage_data(reader, store, items, retrieved, question_tokens, token_scores):
    """What the second stage sees: per question, the first stage's best NEURAL_DEPTH
    sentences with their neural scores attached. Returns the span rows and labels of those
    that bear an answer, and per question (sentences, whether each bears an answer)."""
    span_x, span_y, groups = [], [], []
    for item, hits, tokens, scores in zip(items, retrieved, question_tokens, token_scores):
        q = analyse(item["question"])
        top = reader.read_sentences(q, hits, tokens, {})[:NEURAL_DEPTH]
        attach_neural(top, scores)
        bears = [bool(item["answers"]) and
                 bears_answer(store.sentences[r.hit.sentence_id].text, item["answers"])
                 for r in top]
        groups.append((top, bears))
        for r, bearing in zip(top, bears):
            if not bearing or not len(r.view.candidates):
                continue
            text = store.sentences[r.hit.sentence_id].text
            labels, partial = candidate_labels(text, r.view, item["answers"])
            keep = ~partial & (r.span_logits > NO_SPAN)
            if labels[keep].any():
                span_x.append(neural_span_rows(r.span_logits, r.neural)[keep])
                span_y.extend(labels[keep])
    return np.vstack(span_x), np.array(span_y), groups


def confidence_data(reader, items, retrieved, question_tokens, token_scores,
                    selection="sentence"):
    """Features and correctness of each question's best span (as `selection` picks it)."""
    xs, ys, f1s, has = [], [], [], []
    for item, hits, tokens, scores in zip(items, retrieved, question_tokens, token_scores):
        q = analyse(item["question"])
        read = reader.read_sentences(q, hits, tokens, scores)
        # the answer the reader gives (Reader.best_spans picks it the same way)
        picked = reader.pick(read, selection)
        if picked is None:
            continue
        r, i = picked
        sentence = reader.store.sentences[r.hit.sentence_id]
        cand = r.view.candidates[i]
        text = sentence.text[cand.start:cand.end]
        f1 = best_score(f1_score, text, item["answers"]) if item["answers"] else 0.0
        xs.append(reader.confidence_features(q, read, r, i))
        ys.append(float(f1 >= 0.5))
        f1s.append(f1)
        has.append(bool(item["answers"]))
    return np.vstack(xs), np.array(ys), np.array(f1s), np.array(has)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=Path("../shared/bench/train"))
    parser.add_argument("--out", type=Path, default=Path("qa/reader_weights.json"))
    parser.add_argument("--folds", type=int, default=2)
    args = parser.parse_args()

    started = time.time()
    embedder = Embedder()
    index_dir = Path(tempfile.mkdtemp(prefix="train-index-")) / "index"
    build_index(args.train / "corpus", index_dir, embedder, query_encoder=False)
    store = DocumentStore.load(index_dir)
    items = load_gold(args.train / "gold.jsonl")
    retriever = HybridRetriever(store)
    vectors, question_tokens = embedder.encode_with_tokens([it["question"] for it in items])
    retrieved = [retriever.retrieve(v, it["question"], k=READ_DEPTH)
                 for v, it in zip(vectors, items)]
    token_scores = out_of_fold_token_scores(store, items, retrieved)
    print(f"{len(items)} train questions, {len(store.sentences)} sentences", file=sys.stderr)

    placeholder = json.loads((Path(__file__).resolve().parents[1] / "qa" /
                              "reader_weights.json").read_text())

    def train_models(idx):
        sub_items = [items[i] for i in idx]
        sub_hits = [retrieved[i] for i in idx]
        sub_tokens = [question_tokens[i] for i in idx]
        sub_scores = [token_scores[i] for i in idx]
        x, y = span_data(store, sub_items, sub_hits, sub_tokens)
        span = as_dict(fit(x, y), SPAN_FEATURES)
        # neutral stand-ins for the models not trained yet, so that a changed feature set does
        # not need the old weights to match
        def neutral(features):
            return {"features": features, "coef": [0.0] * len(features), "intercept": 0.0}
        weights = {**{k: v for k, v in placeholder.items()
                      if k not in ("span_neural", "sentence_neural")}, "span": span, "sentence": neutral(SENTENCE_FEATURES),
                   "confidence": neutral(CONFIDENCE_FEATURES)}
        reader = Reader(store, weights=weights)
        x, y = sentence_data(reader, store, sub_items, sub_hits, sub_tokens)
        weights["sentence"] = as_dict(fit(x, y), SENTENCE_FEATURES)
        # the second stage, on the first stage's best sentences
        x, y, groups = second_stage_data(Reader(store, weights=weights), store, sub_items,
                                         sub_hits, sub_tokens, sub_scores)
        weights["span_neural"] = as_dict(fit(x, y), NEURAL_SPAN_FEATURES)
        span_model = LinearModel.from_dict(weights["span_neural"], NEURAL_SPAN_FEATURES)
        x = np.vstack([second_stage_rows(top, span_model)[1] for top, _ in groups if top])
        y = np.array([float(b) for top, bears in groups if top for b in bears])
        weights["sentence_neural"] = as_dict(fit(x, y), NEURAL_SENTENCE_FEATURES)
        return weights

    # out-of-fold confidence features
    rng = np.random.default_rng(0)
    order = rng.permutation(len(items))
    folds = np.array_split(order, args.folds)
    fold_readers = []
    for k, held_out in enumerate(folds):
        train_idx = np.concatenate([f for j, f in enumerate(folds) if j != k])
        fold_readers.append(Reader(store, weights=train_models(train_idx)))

    def out_of_fold(selection):
        cx, cy, cf1, chas = [], [], [], []
        for reader, held_out in zip(fold_readers, folds):
            x, y, f1, has = confidence_data(reader, [items[i] for i in held_out],
                                            [retrieved[i] for i in held_out],
                                            [question_tokens[i] for i in held_out],
                                            [token_scores[i] for i in held_out], selection)
            cx.append(x), cy.append(y), cf1.append(f1), chas.append(has)
        cx, cy = np.vstack(cx), np.concatenate(cy)
        cf1, chas = np.concatenate(cf1), np.concatenate(chas)
        confidence = fit(cx, cy)
        probs = confidence.predict_proba(cx)[:, 1]
        # The threshold that maximises SQuAD v2 F1 on the out-of-fold train predictions (the
        # official v2 evaluation's "best threshold"): answered -> its F1; abstained -> 1 if
        # the question is unanswerable, else 0.
        best_t, best_f1 = 0.5, -1.0
        for t in np.linspace(0.05, 0.95, 91):
            answered = probs >= t
            total = np.where(answered, cf1, (~chas).astype(float)).mean()
            if total > best_f1:
                best_f1, best_t = total, float(t)
        return best_f1, best_t, confidence, probs, cf1, chas

    # How the answer is picked. "joint" (best sentence+span score) can score a little higher
    # out of fold, but then the answer often does not come from the sentence the reader ranks
    # first as evidence; the record must cite the answer's own sentence first, so the answer is
    # the best span of the sentence model's best sentence. The joint figure is reported only.
    results = {sel: out_of_fold(sel) for sel in ("sentence", "joint")}
    for sel, res in results.items():
        print(f"selection {sel}: out-of-fold F1 {res[0]:.3f}", file=sys.stderr)
    selection = "sentence"
    best_f1, best_t, confidence, probs, cf1, chas = results[selection]
    answered = probs >= best_t
    print(f"out-of-fold train at threshold {best_t:.2f}: F1 {best_f1:.3f}, has-answer F1 "
          f"{np.where(answered, cf1, 0.0)[chas].mean():.3f}, no-answer accuracy "
          f"{(~answered)[~chas].mean():.3f}", file=sys.stderr)
    weights = train_models(np.arange(len(items)))
    weights["confidence"] = as_dict(confidence, CONFIDENCE_FEATURES)
    weights["threshold"] = round(float(best_t), 3)
    weights["selection"] = selection
    weights["trained_on"] = str(args.train)
    weights["trained_at"] = time.strftime("%Y-%m-%d")
    args.out.write_text(json.dumps(weights, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} (threshold {best_t:.2f}) in {time.time() - started:.0f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

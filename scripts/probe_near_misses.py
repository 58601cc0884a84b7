"""Does a reader tell answerable questions from near-misses? A probe on held-out training
articles, the window given (the answer's sentence and its neighbours): 500 answerable
questions, their swaps within the window, their article-wide swaps and their swaps within the
answer's sentence (role swaps; qa/training/examples.py).
"null wins": the window's "no answer" score beats its best span; AUC: how well best span
minus "no answer" tells the answerable questions from each kind of swap.

    .venv/bin/python scripts/probe_near_misses.py [WEIGHTS.npz]   # default: the shipped ones
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.evaluation import f1_score  # noqa: E402
from qa.models.reader_model import READER_WEIGHTS, TorchReaderModel  # noqa: E402
from qa.reader.reading import MAX_ANSWER_TOKENS, TOP_TOKENS  # noqa: E402
from qa.training.examples import (answer_sentences, article_pool,  # noqa: E402
                                  centred_answer_window, held_out, pool_of, read_squad,
                                  swap_specific, swap_within_sentence)

SQUAD = Path("../shared/squad/train.jsonl.gz")
ANSWERABLE = 500


def best_span(logits, text: str) -> tuple[float, str]:
    """The best start/end pair's score and text, paired as the reader pairs them."""
    starts = np.argsort(-logits.start)[:TOP_TOKENS]
    ends = np.argsort(-logits.end)[:TOP_TOKENS]
    score, s, e = max((logits.start[s] + logits.end[e], s, e) for s in starts for e in ends
                      if 0 <= e - s < MAX_ANSWER_TOKENS)
    return float(score), text[logits.spans[s][0]:logits.spans[e][1]]


def auc(positive, negative) -> float:
    """The chance that a positive's margin beats a negative's (ties count half)."""
    pos, neg = np.array(positive)[:, None], np.array(negative)[None, :]
    return float((pos > neg).mean() + 0.5 * (pos == neg).mean())


def main(weights: Path) -> dict:
    model = TorchReaderModel(weights=weights)
    paragraphs = [p for p in read_squad(SQUAD) if held_out(p.title)]
    by_title: dict[str, list] = {}
    for p in paragraphs:
        by_title.setdefault(p.title, []).append(p)
    pools = {title: article_pool(ps) for title, ps in by_title.items()}
    rng = random.Random(0)
    roles_rng = random.Random(1)  # its own draws: the other kinds' figures stay comparable
    questions = [(p, q) for p in paragraphs for q in p.qas
                 if not q.get("is_impossible") and q["answers"]]
    rng.shuffle(questions)
    rows: dict[str, list] = {"answer": [], "window_swapped": [], "swapped": [],
                             "sentence_swapped": []}
    for p, q in questions:
        if len(rows["answer"]) >= ANSWERABLE:
            break
        a = q["answers"][0]
        start, end = a["answer_start"], a["answer_start"] + len(a["text"])
        if p.context[start:end] != a["text"]:
            continue
        window = centred_answer_window(p, start, end)
        asked = {"answer": q["question"],
                 "window_swapped": swap_specific(q["question"], answer_sentences(p, start, end),
                                                 pool_of([window]), rng),
                 "swapped": swap_specific(q["question"], window, pools[p.title], rng)}
        asked["sentence_swapped"] = swap_within_sentence(
            q["question"], answer_sentences(p, start, end), roles_rng, a["text"])
        for kind, text in asked.items():
            if text is None:
                continue
            logits = model.logits(text, [window])[0]
            score, span = best_span(logits, window)
            row = {"margin": score - logits.null}
            if kind == "answer":
                row["f1"] = max(f1_score(span, x["text"]) for x in q["answers"])
            rows[kind].append(row)
    answerable = [r["margin"] for r in rows["answer"]]
    out = {"answerable": len(answerable),
           "best_span_f1": float(np.mean([r["f1"] for r in rows["answer"]])),
           "answerable_null_wins": float(np.mean(np.array(answerable) < 0))}
    for kind in ("window_swapped", "swapped", "sentence_swapped"):
        margins = [r["margin"] for r in rows[kind]]
        out[kind] = {"n": len(margins), "null_wins": float(np.mean(np.array(margins) < 0)),
                     "auc_vs_answerable": auc(answerable, margins)}
    return out


if __name__ == "__main__":
    chosen = Path(sys.argv[1]) if len(sys.argv) > 1 else READER_WEIGHTS
    print(chosen.name, json.dumps(main(chosen)), flush=True)

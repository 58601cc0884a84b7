"""The cloze questions that add to the span scorer's training data (scripts/)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from qa.text import content_stems  # noqa: E402
from qa.types import Sentence  # noqa: E402

TEXTS = [
    "The Normans gave their name to Normandy, a region in France, in the 10th century.",
    "Denver defeated Carolina 24–10 on February 7, 2016, at Levi's Stadium.",
    "About 96% of cathode capacity and 85% of anode capacity sit in China.",
    "The league fined the team 1.2 million dollars for the delay.",
]


def sentences() -> list[Sentence]:
    out, offset = [], 0
    for i, text in enumerate(TEXTS):
        out.append(Sentence(index=i, doc_id="doc.txt", start=offset, end=offset + len(text),
                            text=text, section=None))
        offset += len(text) + 1
    return out


def test_every_answer_is_a_slice_of_its_sentence_and_absent_from_its_question():
    from synthetic_questions import synthetic_examples
    examples = synthetic_examples(sentences(), seed=3)
    positives = [e for e in examples if e["start"] is not None]
    assert len(positives) >= len(TEXTS)
    for e in positives:
        answer = e["sentence"][e["start"]:e["end"]]
        assert answer and answer == answer.strip()
        assert e["question"].endswith("?")
        assert not set(content_stems(answer)) <= set(content_stems(e["question"]))


def test_a_negative_pairs_the_question_with_a_sentence_that_lacks_the_answer():
    from synthetic_questions import synthetic_examples
    examples = synthetic_examples(sentences(), seed=3)
    by_id = {e["id"]: e for e in examples}
    negatives = [e for e in examples if e["start"] is None]
    assert negatives
    for e in negatives:
        positive = by_id[e["id"].removesuffix("-no")]
        answer = positive["sentence"][positive["start"]:positive["end"]]
        assert positive["question"] == e["question"]
        assert answer not in e["sentence"]
        assert len(e["sources"]) == 2


def test_the_same_seed_makes_the_same_questions():
    from synthetic_questions import synthetic_examples
    assert synthetic_examples(sentences(), seed=5) == synthetic_examples(sentences(), seed=5)


def test_a_fold_leaves_out_synthetic_questions_from_its_held_out_sentences():
    from train_span_scorer import fold_of, fold_train
    real = [{"id": f"q{i}", "sources": (i,)} for i in range(4)]
    synthetic = [{"id": f"synthetic-{i}", "sources": (i,)} for i in range(4)]
    for k in range(2):
        held_out = {ex["sources"][0] for ex in real if fold_of(ex["id"], 2) == k}
        train = fold_train(real + synthetic, k, 2)
        assert not any(fold_of(ex["id"], 2) == k for ex in train
                       if not ex["id"].startswith("synthetic-"))
        assert {ex["sources"][0] for ex in train if ex["id"].startswith("synthetic-")} == (
            set(range(4)) - held_out)


@pytest.mark.parametrize("kind,words", [("date", ("when", "date")), ("count", ("how many", "number"))])
def test_the_wh_word_fits_the_answer_type(kind, words):
    import random

    from qa.candidates import Candidate
    from synthetic_questions import cloze_question
    sentence = "The game was played on February 7, 2016, before 70 thousand people."
    candidate = Candidate(23, 39, 5, 7, kind)
    question = cloze_question(sentence, candidate, random.Random(0))
    assert any(w in question for w in words)
    assert "February" not in question


def test_a_near_miss_swaps_a_stated_number_or_name_and_has_no_answer():
    from near_misses import SUFFIX, near_miss_questions, original_id
    from train_span_scorer import fold_of
    document = ("Denver beat Carolina 24–10 in 2016 at Levi's Stadium. "
                "Carolina had beaten Arizona in the NFC game in 2015.")
    items = [{"id": "q1", "question": "Whom did Denver beat in 2016?", "answers": ["Carolina"],
              "evidence": "Denver beat Carolina 24–10 in 2016 at Levi's Stadium."},
             {"id": "q2", "question": "Whom did Carolina beat in the NFC game?",
              "answers": ["Arizona"],
              "evidence": "Carolina had beaten Arizona in the NFC game in 2015."},
             {"id": "q3", "question": "What is not asked?", "answers": [], "evidence": ""}]
    near = {original_id(n["id"]): n for n in near_miss_questions(items, [document], seed=1)}
    assert set(near) <= {"q1", "q2"} and near
    for key, n in near.items():
        original = next(it for it in items if it["id"] == key)
        assert n["id"] == key + SUFFIX and n["answers"] == []
        assert n["question"] != original["question"]
        assert fold_of(n["id"], 4) == fold_of(key, 4)
    if "q1" in near:  # 2016 -> a year the document never states, or Denver -> another name
        swapped = near["q1"]["question"]
        assert "2016" not in swapped or "Denver" not in swapped
        assert not any(y in swapped for y in ("2015",))

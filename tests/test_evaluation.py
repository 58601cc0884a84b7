"""Evaluation metrics on a tiny hand-checked set."""

import json

import numpy as np
import pytest

from qa.evaluation import (GoldError, exact_match, expected_calibration_error, f1_score,
                           load_gold, normalize_answer, parse_thresholds, score, summarize)
from qa.types import Document

DOCS = {"d.txt": Document("d.txt", "The tariff is 24%. Exports rose 18.66% in 2025.", "D")}


def record(answered, text=None, start=0, end=0, evidence=(0, 18), confidence=0.5,
           alternatives=()):
    doc = DOCS["d.txt"].text
    return {
        "question": "q", "answered": answered, "reason": None if answered else "r",
        "confidence": confidence,
        "answer": {"text": text, "doc_id": "d.txt", "start": start, "end": end}
        if answered else None,
        "evidence": [{"doc_id": "d.txt", "title": "D", "section": None, "start": evidence[0],
                      "end": evidence[1], "text": doc[evidence[0]:evidence[1]], "score": 1.0}],
        "alternatives": list(alternatives), "index": {"fingerprint": "f"}, "took_ms": 10.0}


def test_squad_normalisation_and_scores():
    assert normalize_answer("The  24%!") == "24"
    assert exact_match("the 24%", "24%") == 1.0
    assert f1_score("18.66% in 2025", "18.66%") == pytest.approx(0.5)  # P 1/3, R 1
    assert f1_score("tariff", "exports") == 0.0


def test_score_answerable_unanswerable_and_evidence():
    item = {"id": "1", "question": "q", "answers": ["24%"], "evidence": "The tariff is 24%."}
    hit = score(record(True, "24%", 14, 17), item, DOCS)
    assert hit["em"] == 1.0 and hit["f1"] == 1.0 and hit["evidence_hit"] and hit["verbatim"]
    miss = score(record(True, "18.66%", 31, 37, evidence=(19, 47)), item, DOCS)
    assert miss["em"] == 0.0 and not miss["evidence_hit"]
    abstained = score(record(False), item, DOCS)
    assert abstained["f1"] == 0.0
    none_item = {"id": "2", "question": "q", "answers": [], "evidence": ""}
    assert score(record(False), none_item, DOCS)["f1"] == 1.0
    assert score(record(True, "24%", 14, 17), none_item, DOCS)["f1"] == 0.0
    bad = score(record(True, "25%", 14, 17), item, DOCS)
    assert bad["verbatim"] is False


def test_summary_metrics():
    a = {"id": "1", "question": "q", "answers": ["24%"], "evidence": "The tariff is 24%."}
    u = {"id": "2", "question": "q", "answers": [], "evidence": ""}
    results = [score(record(True, "24%", 14, 17, confidence=0.9), a, DOCS),
               score(record(False, confidence=0.1), u, DOCS),
               score(record(True, "24%", 14, 17, confidence=0.8), u, DOCS)]
    m = summarize(results)
    assert m["questions"] == 3 and m["answerable"] == 1 and m["unanswerable"] == 2
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["no_answer_accuracy"] == 0.5
    assert m["answered_precision"] == 0.5
    assert m["evidence_at_1"] == 1.0 and m["verbatim"] == 1.0


def test_expected_calibration_error():
    assert expected_calibration_error(np.array([1.0, 1.0]), np.array([1.0, 1.0])) == 0.0
    assert expected_calibration_error(np.array([0.9, 0.9]), np.array([0.0, 0.0])) == \
        pytest.approx(0.9)
    assert expected_calibration_error(np.array([0.25, 0.25, 0.25, 0.25]),
                                      np.array([1.0, 0.0, 0.0, 0.0])) == pytest.approx(0.0)


def test_thresholds_and_gold_errors(tmp_path):
    assert parse_thresholds("f1=0.8,evidence=0.9") == {"f1": 0.8, "evidence_at_1": 0.9}
    with pytest.raises(GoldError, match="bad --fail-under"):
        parse_thresholds("speed=3")
    with pytest.raises(GoldError, match="does not exist"):
        load_gold(tmp_path / "none.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": 3}\n')
    with pytest.raises(GoldError, match="bad.jsonl:1"):
        load_gold(bad)


def test_the_bundled_gold_set_is_well_formed(pipeline):
    from pathlib import Path
    gold = load_gold(Path(__file__).resolve().parent.parent / "corpus" / "gold.jsonl")
    text = pipeline.store.documents["article.txt"].text
    answerable = [g for g in gold if g["answers"]]
    assert len(gold) >= 100 and len(answerable) >= 80 and len(gold) - len(answerable) >= 20
    assert len({g["id"] for g in gold}) == len(gold)
    for g in answerable:
        assert all(a in text for a in g["answers"]) and g["evidence"] in text


def test_questions_asked_side_by_side_get_the_answers_asked_one_at_a_time(pipeline):
    """`qa eval` asks one question per core at once: the same records, in the gold set's order
    (the cache is cleared between the runs, so the second run reads every window again)."""
    from pathlib import Path
    from qa.evaluation import evaluate
    gold = load_gold(Path(__file__).resolve().parent.parent / "corpus" / "gold.jsonl")[:40]
    pipeline._cache.clear()
    one = evaluate(pipeline, gold, jobs=1)
    pipeline._cache.clear()
    four = evaluate(pipeline, gold, jobs=4)
    drop = {"took_ms"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in one.results] == \
        [{k: v for k, v in r.items() if k not in drop} for r in four.results]
    assert four.run["questions asked side by side"] == 4


def test_eval_on_the_article_meets_its_floor(pipeline):
    """A guard against regressions: the floors sit below the measured figures."""
    from pathlib import Path
    from qa.evaluation import evaluate
    gold = load_gold(Path(__file__).resolve().parent.parent / "corpus" / "gold.jsonl")
    m = evaluate(pipeline, gold).metrics
    assert m["verbatim"] == 1.0
    assert m["evidence_recall_at_3"] >= 0.85
    assert m["evidence_at_1"] >= 0.75
    json.dumps(m)

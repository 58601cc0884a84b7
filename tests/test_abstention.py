"""Abstention: the caution levels, the trade-off curve, answer types, country forms, and the
abstention stage's data (learned from real near-misses, never from the articles it calibrates on)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.reader.confidence import Calibration
from qa.training.calibrate import CAUTION_TARGETS, caution_levels, refusal_threshold
from qa.config import CAUTION_LEVELS, Settings
from qa.reader.constraints import asked_type, missing_from, specifics, type_mismatch
from qa.evaluation import score, tradeoff
from test_evaluation import DOCS, record


# -- the caution levels -----------------------------------------------------------------------
def test_caution_is_a_setting_with_named_levels():
    assert Settings.from_env(environ={"QA_CAUTION": "Strict"}).caution == "strict"
    assert Settings.from_env(environ={}).caution is None
    with pytest.raises(ValueError, match="QA_CAUTION='careful'.*strict, balanced, lenient"):
        Settings.from_env(environ={"QA_CAUTION": "careful"})


def test_shipped_levels_are_ordered_and_the_default_is_balanced():
    calibration = Calibration.load()
    assert set(calibration.levels) == set(CAUTION_LEVELS)
    t = {level: calibration.threshold_for(level) for level in CAUTION_LEVELS}
    assert t["lenient"] <= t["balanced"] <= t["strict"]
    assert calibration.threshold_for(None) == t["balanced"] == calibration.threshold
    measured = calibration.measured["caution_levels"]
    refused = [measured[level]["refused_real_unanswerable"] for level in
               ("lenient", "balanced", "strict")]
    assert refused == sorted(refused)  # a stricter level refuses more, out of fold


def test_a_level_sets_the_readers_threshold(pipeline, settings):
    from dataclasses import replace
    from qa.pipeline import Pipeline
    strict = Pipeline(pipeline.store, pipeline.embedder, replace(settings, caution="strict"),
                      reader_model=pipeline.reader.model)
    assert strict.reader.threshold == Calibration.load().threshold_for("strict")
    # an explicit threshold still wins over the level
    fixed = Pipeline(pipeline.store, pipeline.embedder,
                     replace(settings, caution="strict", min_confidence=0.42),
                     reader_model=pipeline.reader.model)
    assert fixed.reader.threshold == 0.42


def test_refusal_threshold_is_the_lowest_that_refuses_the_share():
    conf = np.array([0.1, 0.2, 0.3, 0.4, 0.9, 0.8])
    answerable = np.array([False, False, False, False, True, True])
    kind = np.array(["unanswerable"] * 4 + ["answer"] * 2)
    lacks = np.zeros(6, dtype=bool)
    assert refusal_threshold(conf, answerable, lacks, kind, 0.5, False) == 0.21
    assert refusal_threshold(conf, answerable, lacks, kind, 1.0, False) == 0.41
    # what the hard rule refuses counts whatever the threshold
    lacks[3] = True
    assert refusal_threshold(conf, answerable, lacks, kind, 0.5, True) == 0.11
    assert refusal_threshold(conf, answerable, lacks, kind, 0.5, False) == 0.21


def test_caution_levels_are_measured_out_of_fold():
    rng = np.random.default_rng(0)
    n = 400
    answerable = rng.random(n) < 0.5
    conf = np.clip(np.where(answerable, 0.6, 0.3) + rng.normal(0, 0.15, n), 0, 1)
    questions = [{"kind": "answer" if a else "unanswerable"} for a in answerable]
    fold = np.arange(n) % 4
    oof = (conf, np.where(answerable, 1.0, 0.0), answerable, np.zeros(n, dtype=bool), fold)
    thresholds, figures = caution_levels(questions, oof, hard_rule=False)
    assert thresholds["lenient"] <= thresholds["balanced"] <= thresholds["strict"]
    for level, target in CAUTION_TARGETS.items():
        assert figures[level]["refused_real_unanswerable"] == pytest.approx(target, abs=0.06)
    assert figures["strict"]["has_answer_f1"] < figures["lenient"]["has_answer_f1"]


# -- the trade-off curve of an evaluation run ------------------------------------------------
def _row(answers, answered, text=None, start=0, end=0, confidence=0.5, refused_by=None):
    item = {"id": str(confidence), "question": "q", "answers": answers, "evidence": ""}
    alternatives = () if answered or text is None else \
        ({"text": text, "doc_id": "d.txt", "start": start, "end": end},)
    rec = record(answered, text, start, end, confidence=confidence, alternatives=alternatives)
    rec["refused_by"] = refused_by if not answered else None
    return score({**rec, "question": "q"}, item, DOCS)


def test_tradeoff_answers_with_the_best_span_at_each_threshold():
    results = [_row(["24%"], True, "24%", 14, 17, confidence=0.9),
               _row(["24%"], False, "24%", 14, 17, confidence=0.3, refused_by="confidence"),
               _row([], True, "24%", 14, 17, confidence=0.6),
               _row([], False, "24%", 14, 17, confidence=0.8, refused_by="constraint")]
    curve = tradeoff(results, threshold=0.5)
    at = {p["threshold"]: p for p in curve["points"]}
    assert at[0.0] == {"threshold": 0.0, "has_answer_f1": 1.0, "no_answer_accuracy": 0.5}
    assert at[0.5]["has_answer_f1"] == 0.5 and at[0.5]["no_answer_accuracy"] == 0.5
    assert at[0.7]["has_answer_f1"] == 0.5 and at[0.7]["no_answer_accuracy"] == 1.0
    assert at[1.0]["has_answer_f1"] == 0.0
    assert curve["operating_point"] == {"threshold": 0.5, "has_answer_f1": 0.5,
                                        "no_answer_accuracy": 0.5}
    assert curve["best_f1_at_no_answer"] == {"0.5": 1.0, "0.6": 0.5, "0.7": 0.5, "0.85": 0.5}


def test_report_draws_the_tradeoff_and_the_earlier_curve():
    from qa import report
    results = [_row(["24%"], True, "24%", 14, 17, confidence=0.9),
               _row([], True, "24%", 14, 17, confidence=0.6)]
    curve = tradeoff(results, threshold=0.5)
    earlier = tradeoff(results, threshold=0.7)
    from qa.evaluation import summarize
    page = report.render_html(summarize(results), results, curve=curve, earlier_curve=earlier)
    section = page[page.index('<section id="tradeoff">'):]
    section = section[:section.index("</section>")]
    assert 'aria-label="trade-off curve"' in section
    assert section.count("<path") == 2 and "earlier run" in section
    alone = report.render_html(summarize(results), results, curve=curve)
    assert alone[alone.index('id="tradeoff"'):].count("<path") >= 1
    assert "earlier run" not in alone


def test_eval_out_holds_the_tradeoff(run, index_dir, tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "a", "question": "What energy density threshold applies?",
                                "answers": ["300Wh/kg"]}) + "\n" +
                    json.dumps({"id": "b", "question": "What did the ferry cost in 1990?",
                                "answers": []}) + "\n", encoding="utf-8")
    code, out, _ = run("eval", "--gold", str(gold), "--index", str(index_dir),
                       "--out", str(tmp_path / "r.json"))
    assert code == 0 and "trade-off" in out
    written = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert written["tradeoff"]["operating_point"]["threshold"] > 0
    assert len(written["tradeoff"]["points"]) == 101


# -- what kind of answer a question asks for ------------------------------------------------
def test_a_change_asked_for_is_not_answered_by_a_level():
    question = "How much did lithium battery exports grow from January to September?"
    assert asked_type(question) == "change"
    assert type_mismatch("change", "55.38 billion U.S. dollars", "export value was ")
    assert not type_mismatch("change", "26.75%", "a year-on-year increase of ")
    assert not type_mismatch("change", "3 million", "rose by ")
    assert type_mismatch("change", "55 billion", "rose to ")  # "rose to": a level
    assert asked_type("When did the controls take effect?") == "time"
    assert type_mismatch("time", "the Ministry of Commerce")
    assert not type_mismatch("time", "November 8")
    assert asked_type("How many batteries were exported?") == "quantity"
    assert type_mismatch("quantity", "lithium-ion batteries")
    assert asked_type("What percentage of output was exported?") == "percent"
    assert type_mismatch("percent", "3.399 billion") and not type_mismatch("percent", "12%")
    assert asked_type("Who announced the controls?") is None
    assert not type_mismatch(None, "anything")


# -- a country named another way --------------------------------------------------------------
def test_a_country_is_stated_by_its_capital_or_its_formal_names_last_words():
    def lacks(question, text):
        return missing_from(specifics(question), text)
    assert lacks("What did China announce?", "Beijing announced controls") == []
    assert lacks("What did the United States do?", "America's tariffs rose") == []
    assert lacks("What did America do?", "the U.S. said") == []
    # a capital does not stand for another country, nor a country for its capital
    assert lacks("What did France say?", "Berlin said") == ["France"]
    assert lacks("What did Beijing announce?", "China announced") == ["Beijing"]
    # "Republic of China" is not written "China"
    assert lacks("What did China say?", "Taipei said") == ["China"]


# -- the abstention stage's data --------------------------------------------------------------
def test_abstention_examples_learn_from_real_near_misses_only_of_training_articles(tmp_path):
    from qa.training.examples import abstention_examples, read_squad, v2_calibration
    from test_reader import PARAGRAPH
    titles = [f"Article {i}" for i in range(12)]
    assert 0 < sum(map(v2_calibration, titles)) < len(titles)

    def article(title):
        return {**PARAGRAPH, "title": title,
                "qas": [{**q, "id": f"{title}:{q['id']}"} for q in PARAGRAPH["qas"]]}
    v2_file = tmp_path / "v2.jsonl"
    v2_file.write_text("".join(json.dumps(article(t)) + "\n" for t in titles), encoding="utf-8")
    squad_file = tmp_path / "squad.jsonl"
    answerable_only = {**article("Squad"),
                       "qas": article("Squad")["qas"][:1]}
    squad_file.write_text(json.dumps(answerable_only) + "\n", encoding="utf-8")
    v2 = read_squad(v2_file)
    examples = abstention_examples([p for p in v2 if not v2_calibration(p.title)],
                                   read_squad(squad_file), squad_count=1)
    assert {"answer", "unanswerable"} <= {e.kind for e in examples}
    learned = {e.qid.split(":")[0] for e in examples}
    assert learned == {t for t in titles if not v2_calibration(t)} | {"Squad"}
    unanswerable = [e for e in examples if e.kind == "unanswerable"]
    # each real near-miss of a training article, with its two closest windows, as "no answer"
    assert len(unanswerable) == 2 * sum(not v2_calibration(t) for t in titles)
    assert all(e.answer is None for e in unanswerable)


def test_abstention_stage_needs_its_articles(tmp_path, capsys):
    from qa.cli import main
    from test_reader import PARAGRAPH
    squad = tmp_path / "squad.jsonl"
    squad.write_text(json.dumps(PARAGRAPH) + "\n", encoding="utf-8")
    assert main(["train", "--stage", "abstention", "--squad", str(squad), "--v2-extra",
                 str(tmp_path / "absent.jsonl.gz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--v2-extra" in err

"""The answer record: shape, the verbatim invariant, abstention and validation."""

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from qa.errors import BadQuestion

ROOT = Path(__file__).resolve().parent.parent
GOLD = [json.loads(line) for line in (ROOT / "corpus" / "gold.jsonl").read_text().splitlines()
        if line.strip()]
RECORD_KEYS = {"question", "answered", "reason", "caveat", "refused_by", "confidence", "support",
               "answer", "evidence", "alternatives", "index", "took_ms", "cached"}


def assert_verbatim(record, store):
    spans = ([record["answer"]] if record["answer"] else []) + record["alternatives"] \
        + record["evidence"]
    for span in spans:
        text = store.documents[span["doc_id"]].text
        assert text[span["start"]:span["end"]] == span["text"]


def test_record_shape(pipeline):
    record = pipeline.ask("Who is China's Vice Minister of Commerce?").to_dict()
    assert set(record) == RECORD_KEYS
    assert record["index"]["fingerprint"] == pipeline.store.fingerprint
    assert 0.0 <= record["confidence"] <= 1.0
    for item in record["evidence"]:
        assert set(item) == {"doc_id", "title", "section", "start", "end", "text", "score",
                             "page"}
        assert item["page"] is None  # a text file has no pages
    for alt in record["alternatives"]:
        assert set(alt) == {"text", "doc_id", "start", "end", "page", "confidence"}
    if record["answered"]:
        assert set(record["answer"]) == {"text", "doc_id", "start", "end", "page"}
        cited = record["evidence"][0]
        assert cited["start"] <= record["answer"]["start"] < record["answer"]["end"] \
            <= cited["end"]
    else:
        assert record["answer"] is None and record["reason"]


def test_every_gold_question_gives_verbatim_spans(pipeline):
    for item in GOLD:
        record = pipeline.ask(item["question"]).to_dict()
        assert_verbatim(record, pipeline.store)
        assert len(record["evidence"]) <= 3


words = st.sampled_from(sorted({w for item in GOLD for w in item["question"].split()}
                               | {"what", "who", "when", "how", "many", "much", "2023",
                                  "Japan", "sodium-ion", "%", "?", "é", "中国", "<b>"}))


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(words, min_size=1, max_size=20).map(" ".join),
       st.integers(min_value=1, max_value=10))
def test_verbatim_property_over_generated_questions(pipeline, question, top_k):
    try:
        record = pipeline.ask(question, top_k=top_k).to_dict()
    except BadQuestion:
        return
    assert_verbatim(record, pipeline.store)
    assert len(record["evidence"]) <= top_k and len(record["alternatives"]) <= top_k
    assert record["answered"] == (record["answer"] is not None)


def test_unrelated_question_is_refused_with_closest_passages(pipeline):
    record = pipeline.ask("What is the boiling point of liquid nitrogen in Kelvin?").to_dict()
    assert record["answered"] is False
    assert record["reason"]
    assert record["evidence"], "closest passages are still shown"


def test_boilerplate_is_never_cited(pipeline):
    for question in ("Where is the home news page?", "What is the previous post?",
                     "What is the next post?"):
        record = pipeline.ask(question).to_dict()
        for span in ([record["answer"]] if record["answer"] else []) + record["evidence"]:
            assert "Home>News" not in span["text"] and "Previous Post" not in span["text"]


@pytest.mark.parametrize("question, message", [
    (None, "missing"), (3, "must be a string"), ("   ", "empty"), ("a\x00b", "null byte"),
    ("x" * 501, "limit is 500"), ("?!?", "no words"),
])
def test_bad_questions_are_rejected_with_a_reason(pipeline, question, message):
    with pytest.raises(BadQuestion, match=message):
        pipeline.ask(question)


@pytest.mark.parametrize("top_k", [0, -1, 11, 10**9, "3", True, 2.5])
def test_bad_top_k_is_rejected(pipeline, top_k):
    with pytest.raises(BadQuestion, match="top_k"):
        pipeline.ask("Who is the vice minister?", top_k=top_k)

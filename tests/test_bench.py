"""Smoke test of the benchmark command's parts (tiny sizes; no timing is asserted)."""

from __future__ import annotations

import json

from qa import bench, store


def test_synthetic_corpus(tmp_path):
    questions = bench._generator().generate(tmp_path, 120)
    assert questions and all({"question", "answer", "doc_id"} <= set(q) for q in questions)
    assert sorted(tmp_path.glob("*.txt"))
    assert (tmp_path / "questions.jsonl").is_file()


def test_latency_and_table(pipeline, tmp_path):  # the session pipeline embeds with torch
    questions = bench.load_questions(pipeline.settings)[:3]
    latency = bench.bench_latency(pipeline, pipeline.embedder, questions, rounds=1)
    assert latency["ask_ms"]["n"] == 3 and latency["ratio_p50"] > 0
    results = {"machine": bench.machine_info(), "latency": latency,
               "http": {"skipped": "not measured here"}}
    table = bench.format_table(results)
    assert "ratio ask / floor" in table and "not measured here" in table
    json.dumps(results)


def test_scale_point_with_hnsw(monkeypatch, embedder):
    # a small corpus through the HNSW path: real store code, sampled vectors
    monkeypatch.setattr(store, "APPROXIMATE_FROM", 150)
    monkeypatch.setattr(bench, "SAMPLED_BASE", 8)
    point = bench._scale_child(200, None, real_up_to=0, queries=3)
    assert point["index_type"] == "IndexHNSWFlat"
    assert point["index_mb"] > 0 and point["ask_ms"]["n"] == 3
    assert 0 <= point["hnsw"]["recall_at_10_by_efSearch"]["64"]["questions"] <= 1
    assert "IndexHNSWFlat" in bench.format_table({"scale": [point]})

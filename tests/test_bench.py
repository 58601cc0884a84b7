"""Smoke test of the benchmark command's parts (tiny sizes; no timing is asserted)."""

from __future__ import annotations

import json

from qa import bench
from qa.bench import scale
from qa.bench.common import _generator
from qa.bench.http_load import http_target, p50_vs_floor
from qa.bench.latency import bench_latency
from qa.bench.reader_onnx import bench_reader_onnx
from qa.store import document_store


def test_synthetic_corpus(tmp_path):
    questions = _generator().generate(tmp_path, 120)
    assert questions and all({"question", "answer", "doc_id"} <= set(q) for q in questions)
    assert sorted(tmp_path.glob("*.txt"))
    assert (tmp_path / "questions.jsonl").is_file()


def test_latency_and_table(pipeline, tmp_path):  # the session pipeline embeds with torch
    questions = bench.load_questions(pipeline.settings)[:3]
    latency = bench_latency(pipeline, pipeline.embedder, questions, rounds=1)
    for key in ("ask_ms", "floor_ms", "bare_encode_ms"):
        assert latency[key]["n"] == 3, key
    assert set(latency["stages_ms"]) == {"embed", "retrieve", "read", "of_which_reader_model"}
    assert latency["stages_ms"]["of_which_reader_model"]["n"] == 3
    assert latency["ratio_p50"] > 0 and latency["target_ratio_p50"] == 1.0
    assert latency["windows_per_question"] >= 1
    reader_onnx = bench_reader_onnx(pipeline, questions[:2])
    assert "skipped" in reader_onnx or (reader_onnx["onnx_logits_ms"]["n"] == 2
                                        and reader_onnx["max_abs_logit_diff"] >= 0
                                        and 0 <= reader_onnx["same_best_tokens"] <= 1)
    results = {"machine": bench.machine_info(), "latency": latency, "reader_onnx": reader_onnx,
               "http": {"skipped": "not measured here"}}
    table = bench.format_table(results)
    assert "ratio ask / floor" in table and "of which the reader model" in table
    assert "not measured here" in table
    assert ("span reader" in table) != ("skipped" in reader_onnx)
    json.dumps(results)


def test_http_target_in_table():
    level = {"workers": 2, "cached": False, "concurrency": 16, "seconds": 30.0,
             "requests_per_s": 20.0, "answered_per_s": 12.0, "errors": 0,
             "latency_ms": {"p50": 30.0, "p99": 300.0},
             "server_cpu_ms_per_request": 1.0, "server_cpu_cores_busy": 1.0,
             "loadgen_cpu_cores_busy": 0.1}
    off = {**level, "early_exit": False, "answered_per_s": 10.0}
    single = {**level, "concurrency": 1, "latency_ms": {"p50": 36.0, "p99": 50.0}}
    levels = [single, level, {**level, "cached": True, "answered_per_s": 900.0}, off]
    target = http_target(levels)
    assert target["answered_per_s_at_least"] == 60 and target["answered_per_s"] == 12.0
    assert target["early_exit_ratio"] == 1.2 and not target["met"]
    assert http_target([{**level, "answered_per_s": 61.0}])["met"]
    assert not http_target([{**level, "answered_per_s": 61.0,
                             "latency_ms": {"p50": 30.0, "p99": 401.0}}])["met"]
    ratio = p50_vs_floor({"levels": levels}, {"floor_ms": {"p50": 40.0}})
    assert ratio["ratio"] == 0.9 and ratio["met"]
    http = {"levels": levels, "target": target, "p50_vs_floor": ratio}
    table = bench.format_table({"http": http})
    assert ("at least 60 answered questions/s uncached with 2 workers at concurrency 16, "
            "0 errors, p99 at most 400 ms: 12.0/s") in table
    assert "not met" in table and "early exit off, 30 s" in table
    assert "(the early exit: 1.20x)" in table
    assert "/ the floor's p50 (latency section): 0.90 (target at most 1.2): **met**" in table


def test_scale_point_with_hnsw(monkeypatch, embedder):
    # a small corpus through the HNSW path: real store code, sampled vectors
    monkeypatch.setattr(document_store, "APPROXIMATE_FROM", 150)
    monkeypatch.setattr(scale, "SAMPLED_BASE", 8)
    point = scale._scale_child(200, None, real_up_to=0, queries=3)
    assert point["index_type"] == "IndexHNSWFlat"
    assert point["index_mb"] > 0 and point["ask_ms"]["n"] == 3
    assert 0 <= point["hnsw"]["recall_at_10_by_efSearch"]["64"]["questions"] <= 1
    assert "IndexHNSWFlat" in bench.format_table({"scale": [point]})


def test_rebuild_table():
    build = {"wall_s": 60.0, "build_s": 50.0, "embedded": 6000, "texts": 6000}
    rebuild = {"sentences": 3000, "files": 60, "full": build,
               "one_file_changed": {"wall_s": 9.0, "build_s": 2.0, "embedded": 3,
                                    "texts": 6002},
               "ratio_wall": 0.15, "ratio_build": 0.04,
               "fixtures": {"files": ["article.docx", "article.html", "article.pdf"],
                            **build}}
    table = bench.format_table({"rebuild": rebuild})
    assert "| **ratio one-file rebuild / full build** | **0.150** | 0.040 | |" in table
    assert "| rebuild after one file changed | 9.0 | 2.0 | 3 of 6002 |" in table
    assert "article.docx, article.html, article.pdf" in table
    assert "rebuild: boom" in bench.format_table({"rebuild": {"skipped": "boom"}})


def test_scale_point_through_qdrant(monkeypatch, embedder):
    # `qa bench --store qdrant`: the same scale point written to and asked from local mode
    monkeypatch.setattr(scale, "SAMPLED_BASE", 8)
    point = scale._scale_child(120, None, real_up_to=0, queries=2, store_kind="qdrant")
    assert point["store"] == "qdrant" and point["index_type"].startswith("qdrant")
    assert point["ask_ms"]["n"] == 2 and "hnsw" not in point
    assert "qdrant local mode" in bench.format_table({"scale": [point]})


def test_store_section_table():
    result = {"store": "qdrant", "sentences": 56, "write_s": 0.5, "load_s": 0.1,
              "retrieve_ms": {"p50": 20.0}, "ask_ms": {"p50": 300.0, "p95": 500.0, "n": 3}}
    table = bench.format_table({"store": result})
    assert "Store backend `qdrant` on the article (56 sentences): write 0.50 s" in table
    assert "store: boom" in bench.format_table({"store": {"skipped": "boom"}})

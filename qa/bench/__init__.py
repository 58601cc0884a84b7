"""Benchmarks: `python -m qa bench [--quick] [--out bench-results.json]`.

One run measures, side by side, and prints a table (and writes everything as JSON):

1. latency   in-process p50/p95 of `pipeline.ask(q)` over the gold questions, interleaved with
             the floor (a plain torch pass of MiniLM over the question with each of its 3 top
             retrieved sentences, one batch) and a bare `model.encode(q)`, the ratios, and the
             stage breakdown (embed, retrieve, read, and of read the span reader's model run);
   onnx      (if onnxruntime is installed) the query embedding through ONNX Runtime: its
             agreement with the torch vectors and its latency;
   reader_onnx  the span reader through ONNX Runtime against the torch reader on the same
             windows: its largest logit difference and its latency;
2. http      `python -m qa serve` in a subprocess on 127.0.0.1, driven by a threaded keep-alive
             load generator at concurrency 1, 8, 16 (30 s) and 32: requests/s, answered/s,
             p50/p99, errors; the same at 16 with the early exit off; HTTP p50 at concurrency 1
             against the latency section's floor;
3. cold      process start to first answer (`python -m qa ask`), and its in-process split;
4. scale     synthetic corpora of 1k/10k/100k sentences: build time, size, peak memory, query
             p50, and HNSW recall@10 against exact search where the store uses HNSW;
5. memory    resident memory (VmRSS) of the serving worker after warm-up;
6. rebuild   `python -m qa build` of a synthetic corpus from nothing against the rebuild after
             one file changed (embedding cache, kept ONNX exports): their ratio; and the build
             of the web page, PDF and DOCX fixtures;
7. store     the article through the store backend of `--store files|qdrant` (QA_STORE): write,
             load, retrieve and ask timings. `--store` also picks the backend of `scale`
             (Qdrant's local mode there, which is exact search in Python: a few questions at
             100k). With `--store qdrant`, run `--only store,scale`: the other sections start
             processes of their own, which a local-mode store cannot be shared with.

Each is a module of this folder (latency.py, query_onnx.py, reader_onnx.py, http_load.py with the
memory figures, cold_start.py, scale.py, rebuild.py) with its `bench_*` function and the
`table_lines` of its part of the table; common.py holds what they share. This module runs the
sections asked for and prints the table.

Benchmarks report; they never fail a build. The absolute numbers depend on the machine and on
what else runs on it, so the ratios measured in the same run are what to compare.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path

from ..config import Settings
from . import (cold_start, http_load, latency, query_onnx, reader_onnx, rebuild, scale,
               store_backend)
from .common import ROOT

SECTIONS = ("latency", "onnx", "reader_onnx", "http", "cold", "scale", "rebuild", "store")


def load_questions(settings: Settings) -> list[str]:
    for path in (Path(settings.corpus_dir) / "gold.jsonl", ROOT / "corpus" / "gold.jsonl"):
        if path.is_file():
            with open(path, encoding="utf-8") as handle:
                return [json.loads(line)["question"] for line in handle if line.strip()]
    return ["What is this document about?"]


def machine_info() -> dict:
    info = {"nproc": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}
    try:
        info["affinity_cpus"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    info["loadavg_at_start"] = os.getloadavg()
    for module in ("torch", "sentence_transformers", "transformers", "faiss", "onnxruntime",
                   "waitress", "numpy"):
        try:
            info[module] = __import__(module).__version__
        except Exception:  # not installed, or no version
            info[module] = None
    try:
        import torch
        info["torch_threads"] = torch.get_num_threads()
    except Exception:
        pass
    return info


def run_bench(settings: Settings, out: Path | None = Path("bench-results.json"),
              quick: bool = False,
              sections=SECTIONS) -> dict:
    """Run the benchmarks, print the table, write the JSON report to `out`; return the report."""
    from ..pipeline import Pipeline
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    results: dict = {"machine": machine_info(), "quick": quick,
                     "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    questions = load_questions(settings)
    results["gold_questions"] = len(questions)

    def section(name, run):
        if name not in sections:
            return
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        t = time.perf_counter()
        try:
            results[name] = run()
        except Exception as exc:  # report it and go on: a benchmark never fails the run
            results[name] = {"skipped": f"{type(exc).__name__}: {exc}"}
        print(f"bench: {name} done in {time.perf_counter() - t:.0f} s", file=sys.stderr,
              flush=True)

    pipeline = torch_embedder = None
    if {"latency", "onnx", "reader_onnx"} & set(sections):
        from ..models.embedding import Embedder
        torch_embedder = Embedder(settings.model_path)
        # as a serving worker runs it: one core per model run (idle ONNX Runtime threads would
        # otherwise spin and slow the floor measured next to it)
        pipeline = Pipeline.load(dataclasses.replace(settings, model_threads=1), rebuild=True)
        results["index"] = {"sentences": len(pipeline.store.sentences),
                            "documents": len(pipeline.store.documents)}
    section("latency", lambda: latency.bench_latency(pipeline, torch_embedder, questions, rounds=1))
    some = questions[:40] if quick else questions
    section("onnx", lambda: query_onnx.bench_onnx(pipeline, torch_embedder, some,
                                                  results.get("latency")))
    section("reader_onnx", lambda: reader_onnx.bench_reader_onnx(pipeline, some))
    pipeline = torch_embedder = None
    section("http", lambda: http_load.bench_http(settings, questions, quick))
    if isinstance(results.get("http"), dict) and "levels" in results["http"]:
        results["http"]["p50_vs_floor"] = http_load.p50_vs_floor(results["http"],
                                                                 results.get("latency"))
    section("cold", lambda: cold_start.bench_cold_start(settings, questions[0], quick))
    section("scale", lambda: scale.bench_scale(settings, quick))
    section("rebuild", lambda: rebuild.bench_rebuild(settings, quick))
    section("store", lambda: store_backend.bench_store(settings, questions, quick))
    results["total_s"] = time.perf_counter() - started
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    print(format_table(results))
    if out:
        Path(out).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        print(f"\nwrote {out}")
    return results


def format_table(r: dict) -> str:
    """The results as Markdown tables (printed by the command, pasted into docs/BENCHMARKS.md)."""
    m = r.get("machine", {})
    lines = [f"Machine: {m.get('nproc')} CPUs ({m.get('cpu_model')}), {m.get('ram_gb')} GB RAM, "
             f"Python {m.get('python')}, torch {m.get('torch')}, "
             f"load average at start {', '.join(f'{x:.1f}' for x in m.get('loadavg_at_start', ()))}",
             ""]
    for section, module in (("latency", latency), ("onnx", query_onnx),
                            ("reader_onnx", reader_onnx), ("http", http_load),
                            ("cold", cold_start), ("scale", scale), ("rebuild", rebuild),
                            ("store", store_backend)):
        lines += module.table_lines(r.get(section))
    return "\n".join(lines)

"""What the benchmarks share: the repository's paths, the environment of the processes they
start, latency summaries, the retrieval a question gets as `ask` does it, the synthetic corpus
generator and the table's cells."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from ..reader.confidence import READ_DEPTH
from ..reader.reading import windows_for

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "scripts" / "make_synthetic_corpus.py"


def _ms(values) -> dict:
    """p50/p95/p99/mean in milliseconds of a list of seconds."""
    if not values:
        return {"n": 0}
    a = np.asarray(values) * 1000
    return {"n": int(a.size), "p50": float(np.percentile(a, 50)),
            "p95": float(np.percentile(a, 95)), "p99": float(np.percentile(a, 99)),
            "mean": float(a.mean())}


def _env() -> dict:
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _depth(pipeline) -> int:
    """How many sentences `ask` retrieves."""
    return max(READ_DEPTH, pipeline.settings.top_k)


def _retrieve(pipeline, question: str):
    """The question's retrieved sentences, as `ask` retrieves them."""
    return pipeline.retriever.retrieve(pipeline.embedder.encode_query(question), question,
                                       k=_depth(pipeline))


def _window_texts(pipeline, retrieved) -> list[str]:
    """The windows the pipeline's reader reads for a question (its model's input)."""
    return [w.text for w in windows_for(pipeline.store, retrieved, pipeline.reader.depth)]


def _ratio(a: dict, b: dict, percentile: str = "p50") -> float:
    return a[percentile] / b[percentile]


def _generator():
    spec = importlib.util.spec_from_file_location("make_synthetic_corpus", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _f(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def _ms_row(label: str, ms: dict) -> str:
    return f"| {label} | {_f(ms.get('p50'))} | {_f(ms.get('p95'))} |"


def _versus_table(title: str, torch_label: str, torch_ms: dict, onnx_label: str,
                  onnx_ms: dict, speedup: float, agreement: str) -> list[str]:
    """torch against ONNX Runtime: their latencies, the speed-up and their agreement."""
    return [f"| {title} | p50 | p95 |", "|---|---|---|", _ms_row(torch_label, torch_ms),
            _ms_row(onnx_label, onnx_ms), f"| speed-up p50 | {_f(speedup, 2)}x | |",
            f"| agreement | {agreement} |", ""]

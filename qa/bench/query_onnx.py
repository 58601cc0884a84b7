"""onnx: (if onnxruntime is installed) the query embedding through ONNX Runtime: its agreement
with the torch vectors and its latency."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .common import _f, _ms, _ratio, _versus_table


def bench_onnx(pipeline, torch_embedder, questions: list[str], latency: dict | None) -> dict:
    """The pipeline's ONNX query encoder against torch: same vectors, and how much faster."""
    from ..models.embedding import QUERY_ENCODER_FILE, OnnxQueryEncoder
    encoder = pipeline.embedder
    if not isinstance(encoder, OnnxQueryEncoder):
        return {"skipped": "the index has no ONNX query encoder (onnxruntime not installed?)"}
    diffs, cosines, torch_t, onnx_t = [], [], [], []
    for q in questions[:3]:
        encoder.encode_query(q)
    for i, q in enumerate(questions):
        for what in (("onnx", "torch") if i % 2 == 0 else ("torch", "onnx")):
            started = time.perf_counter()
            if what == "onnx":
                v_onnx = encoder.encode_query(q)
                onnx_t.append(time.perf_counter() - started)
            else:
                v_torch = torch_embedder.encode_query(q)
                torch_t.append(time.perf_counter() - started)
        diffs.append(float(np.abs(v_onnx - v_torch).max()))
        cosines.append(float(v_onnx @ v_torch))
    path = Path(pipeline.settings.index_dir) / QUERY_ENCODER_FILE
    result = {"model_mb": path.stat().st_size / 1e6, "max_abs_diff": max(diffs),
              "min_cosine": min(cosines), "torch_encode_query_ms": _ms(torch_t),
              "onnx_encode_query_ms": _ms(onnx_t)}
    result["speedup_p50"] = _ratio(result["torch_encode_query_ms"],
                                   result["onnx_encode_query_ms"])
    return result


def table_lines(onnx: dict | None) -> list[str]:
    """The ONNX query embedding section of the bench table."""
    lines = []
    if onnx and "onnx_encode_query_ms" in onnx:
        lines += _versus_table(f"query embedding (ms), ONNX file {_f(onnx['model_mb'], 0)} MB",
                               "torch (encode_query)", onnx["torch_encode_query_ms"],
                               "ONNX Runtime", onnx["onnx_encode_query_ms"],
                               onnx["speedup_p50"],
                               f"max abs diff {onnx['max_abs_diff']:.2e} | "
                               f"min cosine {onnx['min_cosine']:.6f}")
    elif onnx:
        lines += [f"onnx: {onnx.get('skipped')}", ""]
    return lines

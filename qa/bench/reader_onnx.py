"""reader_onnx: the span reader through ONNX Runtime against the torch reader on the same
windows: its largest logit difference and its latency."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .common import _f, _ms, _ratio, _retrieve, _versus_table, _window_texts


def bench_reader_onnx(pipeline, questions: list[str]) -> dict:
    """The pipeline's ONNX span reader (int8 when the calibration chose it) against the torch
    reader on the same windows (those it reads for each question): how close the logits are,
    and how much faster."""
    import torch
    from ..models.reader_model import READER_ONNX, OnnxReaderModel, TorchReaderModel
    onnx_reader = pipeline.reader.model
    if not isinstance(onnx_reader, OnnxReaderModel):
        return {"skipped": f"the pipeline reads with {type(onnx_reader).__name__}, not ONNX "
                           "(no reader.onnx in the index, or one exported from other weights)"}
    readers = {"onnx": onnx_reader, "torch": TorchReaderModel()}
    cases = [(q, _window_texts(pipeline, _retrieve(pipeline, q))) for q in questions]
    for q, windows in cases[:3]:  # warm-up
        for reader in readers.values():
            reader.logits(q, windows)
    times = {name: [] for name in readers}
    diffs, same_best = [], []
    for i, (q, windows) in enumerate(cases):
        out = {}
        for name in (("onnx", "torch") if i % 2 == 0 else ("torch", "onnx")):
            started = time.perf_counter()
            out[name] = readers[name].logits(q, windows)
            times[name].append(time.perf_counter() - started)
        diffs += [float(np.abs(np.concatenate([a.start - b.start, a.end - b.end,
                                               [a.null - b.null]])).max())
                  for a, b in zip(out["onnx"], out["torch"])]
        same_best += [(int(a.start.argmax()), int(a.end.argmax())) ==
                      (int(b.start.argmax()), int(b.end.argmax()))
                      for a, b in zip(out["onnx"], out["torch"]) if len(a.start)]
    path = Path(pipeline.settings.index_dir) / READER_ONNX
    result = {"model_mb": path.stat().st_size / 1e6,
              "int8": bool(pipeline.store.manifest.get("reader", {}).get("int8")),
              "windows_per_question": float(np.mean([len(w) for _, w in cases])),
              "max_abs_logit_diff": max(diffs, default=0.0),
              # windows whose best start and best end token are torch's (int8 moves a few)
              "same_best_tokens": float(np.mean(same_best)) if same_best else None,
              "torch_threads": torch.get_num_threads(),
              "onnx_threads": onnx_reader.session.get_session_options().intra_op_num_threads,
              "torch_logits_ms": _ms(times["torch"]), "onnx_logits_ms": _ms(times["onnx"])}
    result["speedup_p50"] = _ratio(result["torch_logits_ms"], result["onnx_logits_ms"])
    return result


def table_lines(ro: dict | None) -> list[str]:
    """The ONNX span reader section of the bench table."""
    lines = []
    if ro and "onnx_logits_ms" in ro:
        lines += _versus_table(f"span reader (ms per question, {_f(ro['windows_per_question'])} "
                               f"windows), ONNX file {_f(ro['model_mb'], 0)} MB",
                               f"torch (threads: {ro['torch_threads']})", ro["torch_logits_ms"],
                               f"ONNX Runtime ({'int8, ' if ro.get('int8') else ''}"
                               f"threads: {ro['onnx_threads']})",
                               ro["onnx_logits_ms"], ro["speedup_p50"],
                               f"max abs logit diff {ro['max_abs_logit_diff']:.2e}; "
                               f"same best start/end token as torch in "
                               f"{_f(100 * (ro.get('same_best_tokens') or 0), 0)}% of windows |")
    elif ro:
        lines += [f"reader_onnx: {ro.get('skipped')}", ""]
    return lines

"""Which of the reader's matrix products can be int8 without costing answers? Times the served
int8 reader (layer 0 and the head in float32) side by side with recipes that quantize more of
layer 0, each reading the windows `ask` reads for every question of the gold set on 1 thread
(speed only), and measures each recipe's answers on questions of the held-out training articles
(`examples.held_out`, never an evaluation set): the paragraph given, one best span each, F1
against the answers, and how often the best span and the "no answer" verdict agree with the
float32 reader's.

    .venv/bin/python scripts/reader_int8_recipes.py [--questions 600] [--rounds 2]

Uses the configured index (QA_INDEX_DIR, default index/); run it with nothing else busy.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.bench import load_questions  # noqa: E402
from qa.bench.common import _retrieve, _window_texts  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluation import f1_score  # noqa: E402
from qa.models.reader_model import (FLOAT_KEPT, OnnxReaderModel, TorchReaderModel,  # noqa: E402
                                    export_reader)
from qa.training.examples import held_out, read_squad  # noqa: E402

SQUAD = Path(__file__).resolve().parents[2] / "shared" / "squad" / "train.jsonl.gz"
MAX_ANSWER_TOKENS = 30


def quantize(source: Path, target: Path, keep_float) -> Path:
    """int8 per channel (as quantize_reader) with the MatMul/Gemm nodes `keep_float(name)`
    names left in float32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    names = [n.name for n in onnx.load(str(source), load_external_data=False).graph.node
             if n.op_type in ("MatMul", "Gemm")]
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                     nodes_to_quantize=[n for n in names if not keep_float(n)])
    return target


def best_span(logits) -> tuple[tuple[int, int] | None, float]:
    """The best start/end pair (character span of the window) and its margin over "no answer"."""
    s, e = logits.start, logits.end
    top_s, top_e = np.argsort(-s)[:20], np.argsort(-e)[:20]
    best, score = None, -1e9
    for i in top_s:
        for j in top_e:
            if 0 <= j - i < MAX_ANSWER_TOKENS and s[i] + e[j] > score:
                best, score = (int(logits.spans[i][0]), int(logits.spans[j][1])), s[i] + e[j]
    return best, float(score - logits.null)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    import onnx
    import torch
    from qa.pipeline import Pipeline
    torch.set_num_threads(1)
    pipeline = Pipeline.load(dataclasses.replace(Settings.from_env(), model_threads=1))
    cases = [(q, _window_texts(pipeline, _retrieve(pipeline, q)))
             for q in load_questions(pipeline.settings)]
    folder = Path(tempfile.mkdtemp(prefix="qa-int8-"))
    fp32 = folder / "reader.onnx"
    torch_model = TorchReaderModel()
    export_reader(fp32, [w for _, ws in cases[:3] for w in ws], torch_model=torch_model)
    layer0 = sorted(n.name for n in onnx.load(str(fp32), load_external_data=False).graph.node
                    if n.op_type in ("MatMul", "Gemm") and "/layer.0/" in n.name)
    print("layer 0's products:", ", ".join(layer0))
    groups = {"q/k/v": ("/attention/self/",), "attention out": ("/attention/output/",),
              "intermediate": ("/intermediate/",), "output": ("/output/dense",)}
    recipes = {
        "shipped (layer 0 float)": lambda n: any(k in n for k in FLOAT_KEPT),
        "all int8 (head float)": lambda n: "qa_outputs" in n,
    }
    for label, keys in groups.items():
        # layer 0 int8 except this group
        recipes[f"layer 0 int8 but {label}"] = (
            lambda n, keys=keys: "qa_outputs" in n or
            ("/layer.0/" in n and any(k in n for k in keys)
             and not (keys == ("/output/dense",) and "/attention/" in n)))
    models = {"float32": OnnxReaderModel(fp32, 1)}
    for label, keep in recipes.items():
        path = quantize(fp32, folder / f"r{len(models)}.onnx", keep)
        models[label] = OnnxReaderModel(path, 1)

    # speed: the gold questions' windows, 1 thread, rounds rotated
    for q, ws in cases[:5]:
        for m in models.values():
            m.logits(q, ws)
    times = {name: [] for name in models}
    names = list(models)
    for r in range(args.rounds):
        for i, (q, ws) in enumerate(cases):
            shift = (i + r) % len(names)
            for name in names[shift:] + names[:shift]:
                started = time.perf_counter()
                models[name].logits(q, ws)
                times[name].append(time.perf_counter() - started)

    # answers: held-out training articles, paragraph given
    paragraphs = [p for p in read_squad(SQUAD) if held_out(p.title)]
    rng = random.Random(0)
    items = [(p.context, qa) for p in paragraphs for qa in p.qas
             if not qa.get("is_impossible") and qa["answers"]]
    rng.shuffle(items)
    items = items[:args.questions]
    results = {name: {"f1": [], "span": [], "null": []} for name in models}
    for text, q in items:
        outs = {name: m.logits(q["question"], [text])[0] for name, m in models.items()}
        ref_span, ref_margin = best_span(outs["float32"])
        for name, lg in outs.items():
            span, margin = best_span(lg)
            guess = text[span[0]:span[1]] if span else ""
            results[name]["f1"].append(max(f1_score(guess, a["text"]) for a in q["answers"]))
            results[name]["span"].append(span == ref_span)
            results[name]["null"].append(margin)
    ref_null = np.array(results["float32"]["null"])
    table = []
    print(f"\n{len(cases)} gold questions x {args.rounds} rounds (speed), "
          f"{len(items)} held-out training questions (answers)")
    print("| recipe | reader ms a question | vs shipped | F1 (paragraph given) | "
          "same best span as float32 | span-vs-null margin, mean abs diff |")
    print("|---|---|---|---|---|---|")
    shipped = 1000 * float(np.mean(times["shipped (layer 0 float)"]))
    for name in models:
        ms = 1000 * float(np.mean(times[name]))
        row = {"recipe": name, "ms": ms, "vs_shipped": ms / shipped,
               "f1": float(np.mean(results[name]["f1"])),
               "same_span": float(np.mean(results[name]["span"])),
               "margin_diff": float(np.mean(np.abs(np.array(results[name]["null"]) - ref_null)))}
        table.append(row)
        print(f"| {name} | {ms:.1f} | {row['vs_shipped']:.2f} | {row['f1']:.3f} | "
              f"{row['same_span']:.3f} | {row['margin_diff']:.2f} |")
    if args.out:
        args.out.write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

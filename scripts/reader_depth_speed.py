"""What would a reader of fewer transformer layers buy in throughput? Times the served int8
reader (6 layers) side by side with int8 readers cut to its first k layers and its head, each
reading the windows `ask` reads for every question of the gold set, and `ask` itself (uncached),
all on 1 thread as a serving worker runs them. The cut readers are untrained for their depth, so
only their speed means anything: it projects the answered questions/s a reader of that depth
would serve, as `qa bench`'s HTTP figure scaled by the CPU time a question takes.

    .venv/bin/python scripts/reader_depth_speed.py [--layers 3 2 1] [--rounds 2] [--answered-per-s 27.2]

Uses the configured index (QA_INDEX_DIR, default index/); run it with nothing else busy.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.bench import load_questions  # noqa: E402
from qa.bench.common import _retrieve, _window_texts  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.models.reader_model import (READER_WEIGHTS, OnnxReaderModel, TorchReaderModel,  # noqa: E402
                                    base_model_path, export_reader, quantize_reader)


def cut_reader(layers: int, weights: Path = READER_WEIGHTS):
    """The torch reader of `weights` keeping its first `layers` transformer layers and its head."""
    import torch
    from transformers import AutoModelForQuestionAnswering
    from transformers.utils import logging as transformers_logging
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    model = AutoModelForQuestionAnswering.from_pretrained(base_model_path(),
                                                          num_hidden_layers=layers)
    with np.load(weights) as delta:
        kept = {n: torch.from_numpy(delta[n].astype(np.float32)) for n in delta.files
                if ".layer." not in n or int(n.split(".layer.")[1].split(".")[0]) < layers}
    model.load_state_dict(kept, strict=False)
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[3, 2, 1])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--answered-per-s", type=float, default=27.2,
                        help="the shipped reader's uncached HTTP figure (qa bench) to scale")
    args = parser.parse_args(argv)
    if any(not 1 <= k <= 6 for k in args.layers) or args.rounds < 1:
        print("error: --layers takes numbers from 1 to 6 and --rounds at least 1",
              file=sys.stderr)
        return 2
    import torch
    from qa.pipeline import Pipeline
    torch.set_num_threads(1)
    pipeline = Pipeline.load(dataclasses.replace(Settings.from_env(), model_threads=1))
    cases = [(q, _window_texts(pipeline, _retrieve(pipeline, q)))
             for q in load_questions(pipeline.settings)]
    readers = {"6 (served)": pipeline.reader.model}
    folder = Path(tempfile.mkdtemp(prefix="qa-depth-"))
    for k in args.layers:
        path = folder / f"reader{k}.onnx"
        export_reader(path, [w for _, ws in cases[:3] for w in ws],
                      torch_model=TorchReaderModel(model=cut_reader(k)))
        readers[str(k)] = OnnxReaderModel(quantize_reader(path, folder / f"reader{k}.int8.onnx"))

    def ask(question: str, windows: list[str]) -> None:
        pipeline._cache.clear()  # an answer from the cache is not what is measured
        pipeline.ask(question)

    runs = {"ask": ask, **{name: (lambda q, ws, r=r: r.logits(q, ws))
                           for name, r in readers.items()}}
    for q, ws in cases[:5]:  # warm-up
        for run in runs.values():
            run(q, ws)
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(args.rounds):
        for i, (q, ws) in enumerate(cases):
            shift = (i + r) % len(names)  # rotate which goes first
            for name in names[shift:] + names[:shift]:
                started = time.perf_counter()
                runs[name](q, ws)
                times[name].append(time.perf_counter() - started)
    mean = {name: 1000 * float(np.mean(v)) for name, v in times.items()}
    rest = mean["ask"] - mean["6 (served)"]
    print(f"{len(cases)} questions x {args.rounds} rounds, "
          f"{np.mean([len(ws) for _, ws in cases]):.1f} windows a question, 1 thread")
    print(f"ask, uncached: {mean['ask']:.1f} ms a question; outside the reader {rest:.1f} ms")
    print("| reader layers | reader ms a question | projected answered/s |")
    print("|---|---|---|")
    for name in readers:
        projected = args.answered_per_s * mean["ask"] / (rest + mean[name])
        print(f"| {name} | {mean[name]:.1f} | {projected:.1f} |")
    print(f"| none | 0 | {args.answered_per_s * mean['ask'] / rest:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

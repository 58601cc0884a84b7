"""How often does the served pipeline refuse a swap within the window? On the held-out
training articles (calibration's own corpus and questions), 30% of the answerable questions
get a near-miss: a year, number or name of the answer's sentence swapped for another of the
same kind that its window (the sentence and its neighbours) states, so the window holds every
specific the question asks with and only the reader can tell. Each swap and its original go
through retrieval and the reader as served (int8 or not, depth, threshold and hard rule from the
calibration file). Prints how many swaps were refused and how many originals were answered.

    .venv/bin/python scripts/served_window_swaps.py [WEIGHTS.npz CALIBRATION.json] [--work DIR]

Defaults: the shipped weights and calibration; DIR (default .cache/window-swaps) keeps the
held-out corpus and its index between runs. Only training data is used.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.config import Settings  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.models.embedding import Embedder  # noqa: E402
from qa.models.reader_model import (CALIBRATION_PATH, READER_WEIGHTS, OnnxReaderModel,  # noqa: E402
                                    export_reader, quantize_reader)
from qa.pipeline import Pipeline  # noqa: E402
from qa.reader.confidence import Calibration  # noqa: E402
from qa.store.document_store import DocumentStore  # noqa: E402
from qa.store.indexing import build_index  # noqa: E402
from qa.training.calibrate import calibration_corpus  # noqa: E402
from qa.training.examples import (answer_sentences, centred_answer_window, held_out,  # noqa: E402
                                  pool_of, read_squad, swap_specific)

SQUAD = Path("../shared/squad/train.jsonl.gz")
SHARE = 0.3
SEED = 2


def window_swaps(paragraphs, items) -> list[tuple[str, str]]:
    """(original, swapped) question pairs: for SHARE of the answerable items, where one applies."""
    by_id = {q["id"]: (p, q) for p in paragraphs for q in p.qas}
    rng = random.Random(SEED)
    pairs = []
    for item in items:
        if item["kind"] != "answer" or rng.random() >= SHARE:
            continue
        p, q = by_id[item["id"]]
        a = q["answers"][0]
        start, end = a["answer_start"], a["answer_start"] + len(a["text"])
        if p.context[start:end] != a["text"]:
            continue
        window = centred_answer_window(p, start, end)
        swapped = swap_specific(q["question"], answer_sentences(p, start, end),
                                pool_of([window]), rng)
        if swapped:
            pairs.append((q["question"], swapped))
    return pairs


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", nargs="?", type=Path, default=READER_WEIGHTS)
    parser.add_argument("calibration", nargs="?", type=Path, default=CALIBRATION_PATH)
    parser.add_argument("--work", type=Path, default=Path(".cache/window-swaps"))
    args = parser.parse_args()
    started = time.time()
    calibration = Calibration.load(args.calibration)
    paragraphs = [p for p in read_squad(SQUAD) if held_out(p.title)]
    corpus, index = args.work / "corpus", args.work / "index"
    items = calibration_corpus(paragraphs, corpus)
    settings = Settings()
    embedder = Embedder(settings.model_path)
    try:
        store = DocumentStore.load(index, corpus)
    except QAError:
        build_index(corpus, index, embedder, query_encoder=False)
        store = DocumentStore.load(index, corpus)
    onnx = args.work / "reader.onnx"
    export_reader(onnx, [p.text for p in store.passages[:8]], args.weights)
    if calibration.int8:
        onnx = quantize_reader(onnx, args.work / "reader.int8.onnx")
    pipeline = Pipeline(store, embedder, Settings(corpus_dir=corpus, index_dir=index,
                                                  model_path=settings.model_path, cache_size=0),
                        reader_model=OnnxReaderModel(onnx, 0), calibration=calibration)
    pairs = window_swaps(paragraphs, items)
    refused = sum(not pipeline.ask(swapped).answered for _, swapped in pairs)
    answered = sum(pipeline.ask(original).answered for original, _ in pairs)
    return {"weights": str(args.weights), "calibration": str(args.calibration),
            "depth": calibration.depth, "int8": calibration.int8,
            "threshold": calibration.threshold, "hard_rule": calibration.refuse_missing,
            "swaps": len(pairs), "swaps_refused": round(refused / max(1, len(pairs)), 3),
            "originals_answered": round(answered / max(1, len(pairs)), 3),
            "seconds": round(time.time() - started)}


if __name__ == "__main__":
    print(json.dumps(main()), flush=True)

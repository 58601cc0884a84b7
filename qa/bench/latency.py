"""1. latency: in-process p50/p95 of `pipeline.ask(q)` over the gold questions, interleaved with
the floor (a plain torch pass of MiniLM over the question with each of its 3 top retrieved
sentences, one batch) and a bare `model.encode(q)`, the ratios, and the stage breakdown (embed,
retrieve, read, and of read the span reader's model run)."""

from __future__ import annotations

import statistics
import time

import numpy as np

from .common import _depth, _f, _ms, _ms_row, _ratio, _retrieve, _window_texts

FLOOR_SENTENCES = 3            # the floor reads the question with its best retrieved sentences
TARGET_RATIO_P50 = 1.0         # ask p50 / floor p50


class TimedModel:
    """A span reader model that adds up the time and windows of its runs."""

    def __init__(self, model):
        self.model, self.seconds, self.windows = model, 0.0, 0

    def logits(self, question, windows):
        started = time.perf_counter()
        try:
            return self.model.logits(question, windows)
        finally:
            self.seconds += time.perf_counter() - started
            self.windows += len(windows)


class TorchPairsFloor:
    """The latency floor: one plain torch forward pass (no_grad; no pooling, no head) of the
    embedding model's transformer over (question, sentence) pairs in one batch, tokenised and
    padded to the longest pair."""

    def __init__(self, torch_embedder):
        self.name = torch_embedder.name
        self.transformer = torch_embedder.model[0].auto_model.eval()
        self.tokenizer = torch_embedder.model.tokenizer
        self.max_length = torch_embedder.model.max_seq_length

    def __call__(self, question: str, sentences: list[str]):
        import torch
        features = self.tokenizer([question] * len(sentences), sentences, padding=True,
                                  truncation=True, max_length=self.max_length,
                                  return_tensors="pt")
        with torch.no_grad():
            return self.transformer(**features)


def bench_latency(pipeline, torch_embedder, questions: list[str], rounds: int = 2) -> dict:
    """ask vs the floor (TorchPairsFloor over the question's FLOOR_SENTENCES top retrieved
    sentences, retrieved beforehand) and a bare SentenceTransformer.encode, interleaved; then
    the stages timed apart. The pipeline embeds questions with its own encoder (ONNX when the
    index has one). Every ask is uncached: the pipeline's answer cache is emptied before it."""
    import torch
    model = torch_embedder.model
    floor = TorchPairsFloor(torch_embedder)
    top = [[pipeline.store.sentences[hit.sentence_id].text
            for hit in _retrieve(pipeline, q)[:FLOOR_SENTENCES]] for q in questions]
    runs = {"ask": lambda q, sentences: pipeline.ask(q), "floor": floor,
            "bare_encode": lambda q, sentences: model.encode(q)}
    for q, sentences in list(zip(questions, top))[:5]:  # warm-up
        for run in runs.values():
            run(q, sentences)
    times = {name: [] for name in runs}
    pair_ratio = []
    names = list(runs)
    # the floor gets the cores a reader run gets (one per request when serving)
    default_threads = torch.get_num_threads()
    floor_threads = pipeline.settings.model_threads or default_threads
    torch.set_num_threads(floor_threads)
    for r in range(rounds):
        for i, (q, sentences) in enumerate(zip(questions, top)):
            # rotate which goes first, so that none always benefits from warm caches
            shift = (i + r) % len(names)
            took = {}
            for name in names[shift:] + names[:shift]:
                pipeline._cache.clear()  # an answer from the cache is not what is measured
                started = time.perf_counter()
                runs[name](q, sentences)
                took[name] = time.perf_counter() - started
                times[name].append(took[name])
            pair_ratio.append(took["ask"] / took["floor"])
    torch.set_num_threads(default_threads)
    embed, retrieve, read, reader_model, windows, offered = [], [], [], [], [], []
    model = pipeline.reader.model
    timed = pipeline.reader.model = TimedModel(model)  # the span reader's part of reading
    try:
        for q in questions:
            t0 = time.perf_counter()
            vector = pipeline.embedder.encode_query(q)
            t1 = time.perf_counter()
            retrieved = pipeline.retriever.retrieve(vector, q, k=_depth(pipeline))
            t2 = time.perf_counter()
            timed.seconds = timed.windows = 0
            pipeline.reader.read(q, vector, retrieved, top_k=pipeline.settings.top_k)
            t3 = time.perf_counter()
            reader_model.append(timed.seconds)
            windows.append(timed.windows)
            offered.append(len(_window_texts(pipeline, retrieved)))
            embed.append(t1 - t0)
            retrieve.append(t2 - t1)
            read.append(t3 - t2)
    finally:
        pipeline.reader.model = model
    threads = _threads_comparison(torch_embedder, questions[:40])
    result = {"questions": len(questions), "rounds": rounds, "torch_threads": threads,
              "query_encoder": type(pipeline.embedder).__name__,
              "reader_model": type(pipeline.reader.model).__name__,
              "floor": f"torch {floor.name} forward pass (no_grad, {floor_threads} "
                       f"threads, tokenising included) over the question with each of its "
                       f"{FLOOR_SENTENCES} top retrieved sentences, one batch padded to the "
                       f"longest pair",
              "ask_ms": _ms(times["ask"]), "floor_ms": _ms(times["floor"]),
              "bare_encode_ms": _ms(times["bare_encode"]),
              "windows_per_question": float(np.mean(windows)) if windows else 0.0,
              # what the windows read would be without the early exit
              "windows_offered_per_question": float(np.mean(offered)) if offered else 0.0,
              "stages_ms": {"embed": _ms(embed), "retrieve": _ms(retrieve), "read": _ms(read),
                            "of_which_reader_model": _ms(reader_model)}}
    result["ratio_p50"] = _ratio(result["ask_ms"], result["floor_ms"])
    result["ratio_p95"] = _ratio(result["ask_ms"], result["floor_ms"], "p95")
    result["ratio_median_of_pairs"] = float(statistics.median(pair_ratio))
    result["target_ratio_p50"] = TARGET_RATIO_P50
    # the old floor: a bare embedding of the question alone
    result["ratio_p50_vs_bare_encode"] = _ratio(result["ask_ms"], result["bare_encode_ms"])
    # against the pipeline's own bare query embedding (ONNX when the index has it)
    result["ratio_p50_vs_own_embedding"] = _ratio(result["ask_ms"], result["stages_ms"]["embed"])
    return result


def _threads_comparison(torch_embedder, questions: list[str]) -> dict:
    """encode_query with torch's default intra-op threads vs one thread, interleaved."""
    import torch
    default = torch.get_num_threads()
    times = {default: [], 1: []}
    try:
        for i, q in enumerate(questions):
            for n in ((default, 1) if i % 2 == 0 else (1, default)):
                torch.set_num_threads(n)
                started = time.perf_counter()
                torch_embedder.encode_query(q)
                times[n].append(time.perf_counter() - started)
    finally:
        torch.set_num_threads(default)
    return {"default_threads": default,
            "encode_query_ms_default": _ms(times[default]),
            "encode_query_ms_1_thread": _ms(times[1])}


def table_lines(lat: dict | None) -> list[str]:
    """The latency section of the bench table."""
    lines = []
    if lat and "ask_ms" in lat:
        s = lat["stages_ms"]
        lines += ["| in process (ms) | p50 | p95 |", "|---|---|---|",
                  _ms_row("pipeline.ask", lat["ask_ms"]),
                  _ms_row(f"floor: torch MiniLM over the question + its {FLOOR_SENTENCES} top "
                          "sentences (one batch)", lat["floor_ms"]),
                  f"| **ratio ask / floor** (target p50 <= {_f(lat['target_ratio_p50'])}) | "
                  f"**{_f(lat['ratio_p50'], 2)}** | {_f(lat['ratio_p95'], 2)} |",
                  f"| median of per-question ratios | {_f(lat['ratio_median_of_pairs'], 2)} | |",
                  _ms_row("bare model.encode(q) (the old floor)", lat["bare_encode_ms"]),
                  f"| ratio ask / bare encode | {_f(lat['ratio_p50_vs_bare_encode'], 2)} | |",
                  f"| ratio ask / its own query embedding ({lat.get('query_encoder')}) | "
                  f"{_f(lat.get('ratio_p50_vs_own_embedding'), 2)} | |",
                  _ms_row("stage: embed (encode_query)", s["embed"]),
                  _ms_row("stage: retrieve", s["retrieve"]),
                  _ms_row("stage: read", s["read"]),
                  _ms_row(f"of which the reader model ({lat['reader_model']}, "
                          f"{_f(lat['windows_per_question'])} windows read per question of "
                          f"{_f(lat.get('windows_offered_per_question'))})",
                          s["of_which_reader_model"])]
        th = lat.get("torch_threads")
        if th:
            lines += [_ms_row(f"encode_query, torch {th['default_threads']} threads (default)",
                              th["encode_query_ms_default"]),
                      _ms_row("encode_query, torch 1 thread", th["encode_query_ms_1_thread"])]
        lines.append("")
    elif lat:
        lines += [f"latency: {lat.get('skipped')}", ""]
    return lines

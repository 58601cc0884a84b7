"""7. store: the article through the chosen store backend (`qa bench --store files|qdrant`):
writing the built store (the file index folder, or a Qdrant collection in local mode unless
QA_QDRANT_URL / QA_QDRANT_PATH name one), loading it, and asking the gold questions with the
served reader. Embedding and the ONNX exports cost the same for both backends and are left out;
the scale section gives the same build and ask timings at 1k, 10k and 100k sentences."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from ..config import Settings
from .common import _f, _ms


def bench_store(settings: Settings, questions: list[str], quick: bool) -> dict:
    from ..models.embedding import Embedder, load_query_encoder
    from ..models.reader_model import load_reader_model
    from ..pipeline import Pipeline
    from ..store.backends import open_store
    from ..store.indexing import build_store
    embedder = Embedder(settings.model_path)
    started = time.perf_counter()
    store, _, _ = build_store(settings.corpus_dir, embedder)
    out = {"store": settings.store, "sentences": len(store.sentences),
           "build_in_memory_s": time.perf_counter() - started}
    with tempfile.TemporaryDirectory(prefix="qa-bench-store-") as tmp:
        target = dataclasses.replace(settings, index_dir=Path(tmp) / "index",
                                     qdrant_collection=f"bench-store-{int(time.time())}")
        if settings.store == "qdrant":
            from ..store.qdrant_store import _models
            _models()  # the client's import (seconds) is not the write's cost
        started = time.perf_counter()
        if settings.store == "qdrant":
            from ..store.qdrant_store import write_collection
            out["collection"] = write_collection(target, store)
        else:
            store.save(target.index_dir)
        out["write_s"] = time.perf_counter() - started
        started = time.perf_counter()
        loaded = open_store(target, settings.corpus_dir)
        out["load_s"] = time.perf_counter() - started
        # the served reader and query encoder: those of the configured index folder
        pipeline = Pipeline(loaded, load_query_encoder(settings.index_dir, settings.model_path),
                            dataclasses.replace(settings, model_threads=1, cache_size=0),
                            reader_model=load_reader_model(settings.index_dir, 1))
        asked = questions[:30] if quick else questions
        for question in asked[:3]:
            pipeline.ask(question)
        retrieve, ask = [], []
        for question in asked:
            vector = pipeline.embedder.encode_query(question)
            t = time.perf_counter()
            pipeline.retriever.retrieve(vector, question, k=20)
            retrieve.append(time.perf_counter() - t)
            t = time.perf_counter()
            pipeline.ask(question)
            ask.append(time.perf_counter() - t)
        out.update(retrieve_ms=_ms(retrieve), ask_ms=_ms(ask))
        if settings.store == "qdrant":
            from ..store.qdrant_store import client_for
            client = client_for(target)
            client.delete_collection(out["collection"])
            client.delete_collection(out["collection"] + "-meta")
    return out


def table_lines(result: dict | None) -> list[str]:
    if not result:
        return []
    if "skipped" in result:
        return [f"store: {result['skipped']}"]
    return ["", f"Store backend `{result['store']}` on the article ({result['sentences']} "
            f"sentences): write {_f(result['write_s'], 2)} s, load {_f(result['load_s'], 2)} s, "
            f"retrieve p50 {_f(result['retrieve_ms']['p50'], 1)} ms, ask p50 "
            f"{_f(result['ask_ms']['p50'], 1)} ms / p95 {_f(result['ask_ms']['p95'], 1)} ms "
            f"({result['ask_ms']['n']} questions)"]

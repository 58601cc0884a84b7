"""4. scale: synthetic corpora of 1k/10k/100k sentences, each built and asked in a process of its
own (`python -m qa.bench scale-child`): build time, size, peak memory, query p50, and HNSW
recall@10 against exact search where the store uses HNSW."""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..config import Settings
from .common import ROOT, _env, _f, _generator, _ms

SCALE_SIZES = (1_000, 10_000, 100_000)
REAL_EMBEDDING_UP_TO = 1_000   # larger synthetic corpora get sampled vectors (see _sampled)
SAMPLED_BASE = 384             # texts really embedded per call for a sampled corpus


class _SampledEmbedder:
    """Stands in for the Embedder when a synthetic corpus is too large to embed on this machine:
    `base` random texts of each call are embedded for real, every other text gets a mixture of
    two of those real vectors plus Gaussian noise, normalised. Queries are embedded for real."""

    def __init__(self, embedder, base: int, seed: int = 7):
        self.embedder, self.base = embedder, base
        self.model, self.name, self.dimension = embedder.model, embedder.name, embedder.dimension
        self.rng = np.random.default_rng(seed)
        self.real_texts = 0
        self.real_seconds = 0.0

    def encode(self, texts):
        n = len(texts)
        if n <= self.base:
            return self._real(texts)
        chosen = self.rng.choice(n, size=self.base, replace=False)
        basis = self._real([texts[i] for i in chosen])
        a = self.rng.integers(0, self.base, n)
        b = self.rng.integers(0, self.base, n)
        vectors = basis[a] + 0.6 * basis[b] + self.rng.normal(0, 0.03, (n, basis.shape[1]))
        vectors[chosen] = basis
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _real(self, texts):
        started = time.perf_counter()
        vectors = self.embedder.encode(texts)
        self.real_seconds += time.perf_counter() - started
        self.real_texts += len(texts)
        return vectors

    def encode_query(self, text):
        return self.embedder.encode_query(text)


def _scale_child(size: int, model_path: str | None, real_up_to: int, queries: int,
                 store_kind: str = "files") -> dict:
    """One scale point, in its own process (so that ru_maxrss is this size's peak).
    `store_kind` "qdrant": the store is written to and searched in Qdrant's local mode
    (`:memory:`, exact search in Python: slow at 100k, so ask only a few questions there)."""
    import faiss
    from ..documents.loading import load_corpus
    from ..documents.segmentation import search_texts
    from ..models.embedding import Embedder
    from ..pipeline import Pipeline
    from ..store.document_store import APPROXIMATE_FROM, DocumentStore
    from ..store.indexing import segment_corpus

    out: dict = {"sentences_requested": size, "store": store_kind}
    qdrant = store_kind == "qdrant"
    if qdrant:
        from ..store.qdrant_store import QdrantStore, _models, write_collection
        _models()  # the client's import (seconds) is not the build's cost
        qdrant_settings = Settings.from_env(environ={}, store="qdrant", qdrant_path=":memory:",
                                            qdrant_collection=f"bench{size}")
    with tempfile.TemporaryDirectory(prefix=f"qa-bench-{size}-") as tmp:
        corpus, index_dir = Path(tmp) / "corpus", Path(tmp) / "index"
        questions = _generator().generate(corpus, size)
        embedder = Embedder(model_path)
        real = size <= real_up_to
        encoder = _SampledEmbedder(embedder, base=10**9 if real else SAMPLED_BASE)
        rss_model = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        documents = load_corpus(corpus)
        sentences, passages = segment_corpus(documents)
        t1 = time.perf_counter()
        sentence_vectors = encoder.encode(search_texts(documents, sentences))
        passage_vectors = encoder.encode(search_texts(documents, passages))
        t2 = time.perf_counter()
        store = DocumentStore.build(documents, sentences, passages, sentence_vectors,
                                    passage_vectors, embedder.name, corpus)
        t3 = time.perf_counter()
        if qdrant:
            write_collection(qdrant_settings, store)
        else:
            store.save(index_dir)
        t4 = time.perf_counter()
        n = len(sentences)
        per_text = encoder.real_seconds / max(1, encoder.real_texts)
        out.update({
            "sentences": n, "passages": len(passages), "documents": len(documents),
            "vectors": "real" if real else
                       f"sampled ({encoder.real_texts} texts embedded, rest mixtures + noise)",
            "index_type": "qdrant local mode (exact)" if qdrant
                          else type(store.sentence_index).__name__,
            "segment_s": t1 - t0, "embed_s": t2 - t1, "index_s": t3 - t2, "save_s": t4 - t3,
            "build_s": t4 - t0,
            "build_s_per_1k_sentences": (t4 - t0) / (n / 1000),
            "build_s_per_1k_without_embedding": ((t4 - t0) - (t2 - t1)) / (n / 1000),
            "embed_s_per_1k_texts_measured": per_text * 1000,
            # a real build embeds every sentence and every passage
            "projected_real_build_s_per_1k": ((t4 - t0) - (t2 - t1)) / (n / 1000)
            + per_text * 1000 * (n + len(passages)) / n,
            "index_mb": 0.0 if qdrant
                        else sum(p.stat().st_size for p in index_dir.rglob("*")) / 1e6,
            "index_files_mb": {} if qdrant else {p.name: round(p.stat().st_size / 1e6, 2)
                                                 for p in sorted(index_dir.iterdir())},
            "ru_maxrss_after_model_mb": rss_model / 1024,
        })
        del store
        t5 = time.perf_counter()
        store = QdrantStore.load(qdrant_settings, corpus) if qdrant \
            else DocumentStore.load(index_dir, corpus)
        out["load_s"] = time.perf_counter() - t5
        pipeline = Pipeline(store, embedder, Settings.from_env(environ={}))
        sample = random.Random(5).sample(questions, min(queries, len(questions)))
        vectors = [embedder.encode_query(q["question"]) for q in sample]
        for q in sample[:1 if qdrant else 3]:  # warm-up (local mode: each ask costs seconds)
            pipeline.ask(q["question"])
        dense_t, retrieve_t, ask_t, hits = [], [], [], 0
        for q, v in zip(sample, vectors):
            started = time.perf_counter()
            store.dense_search(v, 50)
            dense_t.append(time.perf_counter() - started)
            started = time.perf_counter()
            pipeline.retriever.retrieve(v, q["question"], k=20)
            retrieve_t.append(time.perf_counter() - started)
            started = time.perf_counter()
            answer = pipeline.ask(q["question"])
            ask_t.append(time.perf_counter() - started)
            hits += bool(answer.answered and answer.answer.text == q["answer"])
        out.update({"dense_search_ms": _ms(dense_t), "retrieve_ms": _ms(retrieve_t),
                    "ask_ms": _ms(ask_t)})
        if real:
            out["exact_answer_rate"] = hits / len(sample)
        if n >= APPROXIMATE_FROM and not qdrant:
            exact = faiss.IndexFlatIP(sentence_vectors.shape[1])
            exact.add(sentence_vectors)
            # queries: real question vectors, and corpus vectors perturbed a little
            rng = np.random.default_rng(3)
            extra = [q["question"] for q in
                     random.Random(6).sample(questions, min(200, len(questions)))]
            nq = len(extra)
            qv = np.vstack([embedder.encode(extra),
                            sentence_vectors[rng.integers(0, n, nq)]
                            + rng.normal(0, 0.02, (nq, sentence_vectors.shape[1]))])
            qv = np.ascontiguousarray(qv / np.linalg.norm(qv, axis=1, keepdims=True),
                                      dtype=np.float32)
            _, truth = exact.search(qv, 10)
            hnsw = store.sentence_index
            recall = {}
            default_ef = hnsw.hnsw.efSearch
            for ef in sorted({default_ef, 16, 64, 128, 256}):
                hnsw.hnsw.efSearch = ef
                _, found = hnsw.search(qv, 10)
                hit = [len(set(f) & set(t)) / 10 for f, t in zip(found, truth)]
                recall[str(ef)] = {"questions": float(np.mean(hit[:nq])),
                                   "near_corpus": float(np.mean(hit[nq:]))}
            hnsw.hnsw.efSearch = default_ef
            one_exact, one_hnsw = [], []
            for v in qv[:nq]:
                v = v.reshape(1, -1)
                started = time.perf_counter()
                exact.search(v, 50)
                one_exact.append(time.perf_counter() - started)
                started = time.perf_counter()
                hnsw.search(v, 50)
                one_hnsw.append(time.perf_counter() - started)
            out["hnsw"] = {"M": 32, "efConstruction": 80, "efSearch": default_ef,
                           "recall_at_10_by_efSearch": recall,
                           "exact_flat_search_ms": _ms(one_exact),
                           "hnsw_search_ms": _ms(one_hnsw)}
    out["ru_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


QDRANT_QUERIES = {100_000: 5, 10_000: 15}  # local mode scans every point in Python


def bench_scale(settings: Settings, quick: bool, sizes=None) -> list[dict]:
    sizes = sizes or ((1_000,) if quick else SCALE_SIZES)
    real_up_to = 0 if quick else REAL_EMBEDDING_UP_TO
    results = []
    for size in sizes:
        queries = 15 if quick else 40
        if settings.store == "qdrant":
            queries = min(queries, QDRANT_QUERIES.get(size, queries))
        args = json.dumps({"size": size, "model_path": settings.model_path,
                           "real_up_to": real_up_to, "queries": queries,
                           "store": settings.store})
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "qa.bench", "scale-child", args],
                              env=_env(), cwd=str(ROOT), capture_output=True, text=True)
        point = None
        for line in done.stdout.splitlines():
            if line.startswith("QA_BENCH "):
                point = json.loads(line[len("QA_BENCH "):])
        if point is None:
            point = {"sentences_requested": size,
                     "error": f"exit {done.returncode}: {done.stderr[-800:]}"}
        point["wall_s"] = time.perf_counter() - started
        results.append(point)
        print(f"  scale {size}: {_scale_line(point)}", file=sys.stderr, flush=True)
    return results


def _scale_line(p: dict) -> str:
    if "error" in p:
        return f"error: {p['error'][:200]}"
    return (f"{p['sentences']} sentences, {p['index_type']}, build {p['build_s']:.1f} s "
            f"(store write {p['save_s']:.1f} s), "
            f"{p['index_mb']:.1f} MB, peak RSS {p['ru_maxrss_mb']:.0f} MB, "
            f"ask p50 {p['ask_ms']['p50']:.1f} ms")


def table_lines(scale: list | dict | None) -> list[str]:
    """The scale section of the bench table."""
    lines = []
    if isinstance(scale, list):
        lines += ["| sentences | index | vectors | build s (store write s) | s per 1k "
                  "(w/o embedding) | projected real s per 1k | index MB | peak RSS MB | "
                  "load s | dense p50 ms | retrieve p50 ms | ask p50 ms (n) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for p in scale:
            if "error" in p:
                lines.append(f"| {p['sentences_requested']} | error: {p['error'][:120]} |")
                continue
            lines.append(
                f"| {p['sentences']} | {p['index_type']} | {p['vectors'].split(' (')[0]} | "
                f"{_f(p['build_s'])} ({_f(p['save_s'])}) | "
                f"{_f(p['build_s_per_1k_sentences'], 2)} "
                f"({_f(p['build_s_per_1k_without_embedding'], 2)}) | "
                f"{_f(p['projected_real_build_s_per_1k'], 1)} | {_f(p['index_mb'])} | "
                f"{_f(p['ru_maxrss_mb'], 0)} | {_f(p.get('load_s'), 1)} | "
                f"{_f(p['dense_search_ms']['p50'], 2)} | "
                f"{_f(p['retrieve_ms']['p50'], 1)} | {_f(p['ask_ms']['p50'], 1)} "
                f"({p['ask_ms'].get('n')}) |")
        for p in scale:
            if "hnsw" in p:
                hn = p["hnsw"]
                rec = ", ".join(f"efSearch {ef}: {v['questions']:.3f} / {v['near_corpus']:.3f}"
                                for ef, v in hn["recall_at_10_by_efSearch"].items())
                lines += ["", f"HNSW at {p['sentences']} sentences: recall@10 vs exact "
                          f"(question vectors / near-corpus vectors): {rec}; single-query "
                          f"search p50 exact flat {_f(hn['exact_flat_search_ms']['p50'], 2)} ms"
                          f" vs HNSW {_f(hn['hnsw_search_ms']['p50'], 2)} ms"]
    elif scale:
        lines += [f"scale: {scale.get('skipped')}"]
    return lines

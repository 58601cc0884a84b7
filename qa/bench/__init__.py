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
             load generator at concurrency 1, 8 and 32: requests/s, p50/p99, errors;
3. cold      process start to first answer (`python -m qa ask`), and its in-process split;
4. scale     synthetic corpora of 1k/10k/100k sentences: build time, size, peak memory, query
             p50, and HNSW recall@10 against exact search where the store uses HNSW;
5. memory    resident memory (VmRSS) of the serving worker after warm-up;
6. rebuild   `python -m qa build` of a synthetic corpus from nothing against the rebuild after
             one file changed (embedding cache, kept ONNX exports): their ratio; and the build
             of the web page, PDF and DOCX fixtures.

Benchmarks report; they never fail a build. The absolute numbers depend on the machine and on
what else runs on it, so the ratios measured in the same run are what to compare.
"""

from __future__ import annotations

import dataclasses
import http.client
import importlib.util
import itertools
import json
import os
import platform
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from ..config import Settings
from ..reader.confidence import READ_DEPTH
from ..reader.reading import windows_for

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "scripts" / "make_synthetic_corpus.py"
SCALE_SIZES = (1_000, 10_000, 100_000)
REAL_EMBEDDING_UP_TO = 1_000   # larger synthetic corpora get sampled vectors (see _sampled)
SAMPLED_BASE = 384             # texts really embedded per call for a sampled corpus
FLOOR_SENTENCES = 3            # the floor reads the question with its best retrieved sentences
TARGET_RATIO_P50 = 1.0         # ask p50 / floor p50
TARGET_ANSWERED_PER_S = 80     # answered questions/s, uncached, 2 workers, with 0 errors
TARGET_COLD_START_S = 5.0
SECTIONS = ("latency", "onnx", "reader_onnx", "http", "cold", "scale", "rebuild")


# -- helpers ---------------------------------------------------------------------------------

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


def _process_tree(pid: int) -> list[int]:
    """The process and its descendants (the worker processes of a multi-worker service)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for children in Path(f"/proc/{p}").glob("task/*/children"):
            try:
                todo.extend(int(c) for c in children.read_text().split())
            except OSError:
                pass
    return out


def _rss_kb(pid: int) -> dict:
    """VmRSS and VmHWM summed over the process tree (kB)."""
    out = {}
    for p in _process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = out.get(key, 0) + int(value.split()[0])
        except OSError:
            pass
    return out


def _cpu_seconds(pid: int) -> float:
    """utime + stime of the process tree, in seconds."""
    total = 0
    for p in _process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


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


# -- 1. in-process latency -------------------------------------------------------------------

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
    embed, retrieve, read, reader_model, windows = [], [], [], [], []
    for q in questions:
        t0 = time.perf_counter()
        vector = pipeline.embedder.encode_query(q)
        t1 = time.perf_counter()
        retrieved = pipeline.retriever.retrieve(vector, q, k=_depth(pipeline))
        t2 = time.perf_counter()
        pipeline.reader.read(q, vector, retrieved, top_k=pipeline.settings.top_k)
        t3 = time.perf_counter()
        # the part of reading that is the span reader's model, timed on its own
        texts = _window_texts(pipeline, retrieved)
        t4 = time.perf_counter()
        pipeline.reader.model.logits(q, texts)
        reader_model.append(time.perf_counter() - t4)
        windows.append(len(texts))
        embed.append(t1 - t0)
        retrieve.append(t2 - t1)
        read.append(t3 - t2)
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


# -- 1b. ONNX Runtime query embedding ---------------------------------------------------------

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


# -- 1c. ONNX Runtime span reader --------------------------------------------------------------

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


# -- 2 and 5. over HTTP, and the worker's memory ------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(conn, body: bytes):
    conn.request("POST", "/api/ask", body=body,
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, response.read()


def _letters(n: int) -> str:
    """n written in lower-case letters (a, b, ..., z, ba, bb, ...)."""
    out = ""
    while True:
        n, r = divmod(n, 26)
        out = chr(ord("a") + r) + out
        if n == 0:
            return out


def _load(port: int, questions: list[str], concurrency: int, seconds: float,
          unique: bool = True) -> dict:
    """Drive POST /api/ask. With `unique`, every request's question differs (a numbered
    suffix), so no answer comes from the service's cache of repeated questions."""
    bodies = [json.dumps({"question": q}).encode() for q in questions]
    counter = itertools.count()
    latencies, errors, answered, lock = [], [], [0], threading.Lock()
    start_gate = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def worker(offset: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, i = [], offset
        start_gate.wait()
        while time.perf_counter() < deadline[0]:
            if unique:  # a suffix of letters: digits would be a number the question asks about
                body = json.dumps({"question": f"{questions[i % len(questions)]} "
                                               f"(request {_letters(next(counter))})"}).encode()
            else:
                body = bodies[i % len(bodies)]
            i += concurrency
            started = time.perf_counter()
            try:
                status, data = _request(conn, body)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            mine.append(time.perf_counter() - started)
            if status != 200:
                with lock:
                    errors.append(f"HTTP {status}: {data[:200]!r}")
            elif b'"answered":true' in data.replace(b" ", b""):
                with lock:
                    answered[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True)
               for n in range(concurrency)]
    for t in threads:
        t.start()
    started = time.perf_counter()
    deadline[0] = started + seconds
    start_gate.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {"concurrency": concurrency, "cached": not unique, "seconds": elapsed,
            "requests": len(latencies),
            "requests_per_s": len(latencies) / elapsed,
            "answered_per_s": answered[0] / elapsed, "errors": len(errors),
            "error_samples": sorted(set(errors))[:3], "latency_ms": _ms(latencies)}


CACHED_QUESTIONS = 20  # questions the repeated-questions level cycles through


def _prefill(port: int, questions: list[str], rounds: int) -> None:
    """Ask each question `rounds` times, each on a new connection (so that it reaches every
    worker process with high probability), unmeasured."""
    for _ in range(rounds):
        for q in questions:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                _request(conn, json.dumps({"question": q}).encode())
            finally:
                conn.close()


def bench_http(settings: Settings, questions: list[str], quick: bool) -> dict:
    """The service with 1 and with 2 worker processes, uncached and cached questions."""
    runs = [_bench_http(settings, questions, quick, workers) for workers in (1, 2)]
    if all("levels" in r for r in runs):
        result = {**runs[0], "levels": runs[0]["levels"] + runs[1]["levels"],
                  "rss_two_workers_kb": runs[1].get("rss_after_load_kb")}
        result["target"] = http_target(result["levels"])
        return result
    return runs[0] if "levels" not in runs[0] else {**runs[0], "two_workers": runs[1]}


def http_target(levels: list[dict]) -> dict:
    """The throughput target: at least TARGET_ANSWERED_PER_S answered questions/s uncached with
    2 workers (at the best concurrency measured), and no errors in those runs."""
    measured = [lv for lv in levels if lv.get("workers") == 2 and not lv.get("cached")]
    best = max(measured, key=lambda lv: lv["answered_per_s"], default=None)
    errors = sum(lv["errors"] for lv in measured)
    return {"answered_per_s_at_least": TARGET_ANSWERED_PER_S, "workers": 2, "errors": 0,
            "best_answered_per_s": best and best["answered_per_s"],
            "best_at_concurrency": best and best["concurrency"], "errors_seen": errors,
            "met": bool(best) and best["answered_per_s"] >= TARGET_ANSWERED_PER_S
            and errors == 0}


def _bench_http(settings: Settings, questions: list[str], quick: bool, workers: int) -> dict:
    if importlib.util.find_spec("qa.web.server") is None:
        return {"skipped": "qa/web/server.py is not there yet: no `python -m qa serve` to "
                           "measure"}
    port = _free_port()
    command = [sys.executable, "-m", "qa", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--index", str(settings.index_dir), "--corpus", str(settings.corpus_dir),
               "--workers", str(workers)]
    if settings.model_path:
        command += ["--model", str(settings.model_path)]
    log = tempfile.TemporaryFile()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=_env(),
                               cwd=str(ROOT))
    result: dict = {"command": " ".join(command[1:]), "threads": settings.threads,
                    "workers": workers}
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                log.seek(0)
                tail = log.read().decode(errors="replace")[-1500:]
                return {"skipped": f"the service exited with status {process.returncode} "
                                   f"while starting: {tail}"}
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/api/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                return {"skipped": "the service did not answer /api/health within 180 s"}
            time.sleep(0.2)
        result["ready_seconds"] = time.perf_counter() - started
        result["rss_after_start_kb"] = _rss_kb(process.pid)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for q in questions[:10]:  # warm-up
            _request(conn, json.dumps({"question": q}).encode())
        conn.close()
        result["rss_after_warmup_kb"] = _rss_kb(process.pid)
        seconds = 2.0 if quick else 10.0
        levels = []
        for concurrency, unique in ((1, True), (8, True), (32, True), (8, False)):
            asked = questions if unique else questions[:CACHED_QUESTIONS]
            if not unique:  # every worker keeps its own cache: fill them all first
                _prefill(port, asked, rounds=4 * workers)
            cpu_before, wall_before = _cpu_seconds(process.pid), time.perf_counter()
            own_before = os.times()
            level = _load(port, asked, concurrency, seconds, unique)
            level["workers"] = workers
            own_after = os.times()
            cpu = _cpu_seconds(process.pid) - cpu_before
            level["server_cpu_ms_per_request"] = 1000 * cpu / max(1, level["requests"])
            level["server_cpu_cores_busy"] = cpu / (time.perf_counter() - wall_before)
            level["loadgen_cpu_cores_busy"] = (
                (own_after.user + own_after.system - own_before.user - own_before.system)
                / (time.perf_counter() - wall_before))
            levels.append(level)
        result["levels"] = levels
        result["rss_after_load_kb"] = _rss_kb(process.pid)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        result["exit_status"] = process.returncode
        log.close()
    return result


# -- 3. cold start ------------------------------------------------------------------------------

_COLD_SPLIT = r"""
import json, os, sys, time
t0 = time.time()
marks = {"interpreter_start": t0 - float(os.environ["QA_BENCH_T0"])}
def mark(name, since):
    now = time.perf_counter(); marks[name] = now - since; return now
p = time.perf_counter()
import qa.pipeline, qa.config
p = mark("import_qa", p)
settings = qa.config.Settings.from_env(**json.loads(sys.argv[1]))
from qa.store.document_store import DocumentStore
store = DocumentStore.load(settings.index_dir, settings.corpus_dir)
p = mark("index_load_and_verify", p)
from qa.models.embedding import load_query_encoder
embedder = load_query_encoder(settings.index_dir, settings.model_path)
p = mark("query_encoder_load", p)
pipeline = qa.pipeline.Pipeline(store, embedder, settings)
pipeline.ask(sys.argv[2])
p = mark("first_answer", p)
pipeline.ask(sys.argv[2])
p = mark("second_answer", p)
marks["total_to_first_answer"] = time.time() - float(os.environ["QA_BENCH_T0"]) - marks["second_answer"]
print("QA_BENCH " + json.dumps(marks))
"""


def bench_cold_start(settings: Settings, question: str, quick: bool) -> dict:
    command = [sys.executable, "-m", "qa", "ask", question, "--index", str(settings.index_dir)]
    if settings.model_path:
        command += ["--model", str(settings.model_path)]
    walls = []
    for _ in range(1 if quick else 3):
        started = time.perf_counter()
        done = subprocess.run(command, env=_env(), cwd=str(ROOT), capture_output=True)
        walls.append(time.perf_counter() - started)
        if done.returncode != 0:
            return {"skipped": f"`python -m qa ask` failed ({done.returncode}): "
                               f"{done.stderr.decode(errors='replace')[-800:]}"}
    overrides = {"index_dir": str(settings.index_dir), "corpus_dir": str(settings.corpus_dir),
                 "model_path": settings.model_path}
    env = _env()
    env["QA_BENCH_T0"] = repr(time.time())
    done = subprocess.run([sys.executable, "-c", _COLD_SPLIT, json.dumps(overrides), question],
                          env=env, cwd=str(ROOT), capture_output=True, text=True)
    split = {}
    for line in done.stdout.splitlines():
        if line.startswith("QA_BENCH "):
            split = json.loads(line[len("QA_BENCH "):])
    if not split:
        split = {"error": done.stderr[-800:]}
    return {"cli_ask_wall_s": walls, "cli_ask_wall_min_s": min(walls), "split_s": split,
            "target_s": TARGET_COLD_START_S}


# -- 4. scale ------------------------------------------------------------------------------------

def _generator():
    spec = importlib.util.spec_from_file_location("make_synthetic_corpus", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def _scale_child(size: int, model_path: str | None, real_up_to: int, queries: int) -> dict:
    """One scale point, in its own process (so that ru_maxrss is this size's peak)."""
    import faiss
    from ..documents.loading import load_corpus
    from ..documents.segmentation import search_texts
    from ..models.embedding import Embedder
    from ..pipeline import Pipeline
    from ..store.document_store import APPROXIMATE_FROM, DocumentStore
    from ..store.indexing import segment_corpus

    out: dict = {"sentences_requested": size}
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
        store.save(index_dir)
        t4 = time.perf_counter()
        n = len(sentences)
        per_text = encoder.real_seconds / max(1, encoder.real_texts)
        out.update({
            "sentences": n, "passages": len(passages), "documents": len(documents),
            "vectors": "real" if real else
                       f"sampled ({encoder.real_texts} texts embedded, rest mixtures + noise)",
            "index_type": type(store.sentence_index).__name__,
            "segment_s": t1 - t0, "embed_s": t2 - t1, "index_s": t3 - t2, "save_s": t4 - t3,
            "build_s": t4 - t0,
            "build_s_per_1k_sentences": (t4 - t0) / (n / 1000),
            "build_s_per_1k_without_embedding": ((t4 - t0) - (t2 - t1)) / (n / 1000),
            "embed_s_per_1k_texts_measured": per_text * 1000,
            # a real build embeds every sentence and every passage
            "projected_real_build_s_per_1k": ((t4 - t0) - (t2 - t1)) / (n / 1000)
            + per_text * 1000 * (n + len(passages)) / n,
            "index_mb": sum(p.stat().st_size for p in index_dir.rglob("*")) / 1e6,
            "index_files_mb": {p.name: round(p.stat().st_size / 1e6, 2)
                               for p in sorted(index_dir.iterdir())},
            "ru_maxrss_after_model_mb": rss_model / 1024,
        })
        del store
        t5 = time.perf_counter()
        store = DocumentStore.load(index_dir, corpus)
        out["load_s"] = time.perf_counter() - t5
        pipeline = Pipeline(store, embedder, Settings.from_env(environ={}))
        sample = random.Random(5).sample(questions, min(queries, len(questions)))
        vectors = [embedder.encode_query(q["question"]) for q in sample]
        for q in sample[:3]:
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
        if n >= APPROXIMATE_FROM:
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


def bench_scale(settings: Settings, quick: bool, sizes=None) -> list[dict]:
    sizes = sizes or ((1_000,) if quick else SCALE_SIZES)
    real_up_to = 0 if quick else REAL_EMBEDDING_UP_TO
    results = []
    for size in sizes:
        args = json.dumps({"size": size, "model_path": settings.model_path,
                           "real_up_to": real_up_to, "queries": 15 if quick else 40})
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


# -- 6. rebuild -----------------------------------------------------------------------------------

REBUILD_SENTENCES = 3_000      # synthetic corpus the rebuild is measured on (--quick: 300)
FIXTURES = ROOT / "tests" / "fixtures" / "formats"
_EMBEDDED_RE = r"embedded (\d+) of (\d+) texts"


def _timed_build(corpus: Path, index: Path, model_path: str | None) -> dict:
    """`python -m qa build` in a fresh process: wall seconds, the build's own seconds and the
    texts it embedded."""
    import re
    command = [sys.executable, "-m", "qa", "build", "--corpus", str(corpus), "--index",
               str(index)]
    if model_path:
        command += ["--model", str(model_path)]
    started = time.perf_counter()
    done = subprocess.run(command, env=_env(), cwd=str(ROOT), capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"`python -m qa build` failed ({done.returncode}): "
                           f"{done.stderr[-800:]}")
    summary = done.stdout.strip().splitlines()[-1]
    embedded = re.search(_EMBEDDED_RE, summary)
    build_s = re.search(r", ([0-9.]+) s;", summary)
    return {"wall_s": wall, "build_s": float(build_s.group(1)) if build_s else None,
            "embedded": int(embedded.group(1)) if embedded else None,
            "texts": int(embedded.group(2)) if embedded else None}


def bench_rebuild(settings: Settings, quick: bool) -> dict:
    """A full build of a synthetic corpus from nothing against the rebuild after one of its
    files changed (the embedding cache and the kept ONNX exports at work), each a fresh
    `python -m qa build`; and the build of the three format fixtures (web page, PDF, DOCX)."""
    sentences = 300 if quick else REBUILD_SENTENCES
    with tempfile.TemporaryDirectory(prefix="qa-bench-rebuild-") as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        _generator().generate(corpus, sentences)
        (corpus / "questions.jsonl").unlink()
        files = sorted(corpus.glob("*.txt"))
        full = _timed_build(corpus, index, settings.model_path)
        changed = files[len(files) // 2]
        text = changed.read_text(encoding="utf-8")
        changed.write_text(text.replace(". ", ". It was noted again. ", 1), encoding="utf-8")
        one = _timed_build(corpus, index, settings.model_path)
        fixtures = _timed_build(FIXTURES, Path(tmp) / "fixtures-index", settings.model_path)
    return {"sentences": sentences, "files": len(files), "full": full, "one_file_changed": one,
            "ratio_wall": one["wall_s"] / full["wall_s"],
            "ratio_build": (one["build_s"] / full["build_s"]) if full["build_s"] else None,
            "fixtures": {"files": sorted(p.name for p in FIXTURES.iterdir()), **fixtures}}


def _rebuild_lines(rebuild: dict | None) -> list[str]:
    if not rebuild:
        return []
    if "full" not in rebuild:
        return ["", f"rebuild: {rebuild.get('skipped')}"]
    full, one, fx = rebuild["full"], rebuild["one_file_changed"], rebuild["fixtures"]
    return ["", f"| `python -m qa build`, {rebuild['sentences']} sentences in "
                f"{rebuild['files']} files | wall s | build s | texts embedded |",
            "|---|---|---|---|",
            f"| full build (nothing cached) | {_f(full['wall_s'])} | {_f(full['build_s'])} | "
            f"{full['embedded']} of {full['texts']} |",
            f"| rebuild after one file changed | {_f(one['wall_s'])} | {_f(one['build_s'])} | "
            f"{one['embedded']} of {one['texts']} |",
            f"| **ratio one-file rebuild / full build** | **{_f(rebuild['ratio_wall'], 3)}** | "
            f"{_f(rebuild['ratio_build'], 3)} | |",
            f"| the three format fixtures ({', '.join(fx['files'])}), from nothing | "
            f"{_f(fx['wall_s'])} | {_f(fx['build_s'])} | {fx['embedded']} of {fx['texts']} |"]


# -- the command -----------------------------------------------------------------------------------

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
    section("latency", lambda: bench_latency(pipeline, torch_embedder, questions, rounds=1))
    some = questions[:40] if quick else questions
    section("onnx", lambda: bench_onnx(pipeline, torch_embedder, some, results.get("latency")))
    section("reader_onnx", lambda: bench_reader_onnx(pipeline, some))
    pipeline = torch_embedder = None
    section("http", lambda: bench_http(settings, questions, quick))
    section("cold", lambda: bench_cold_start(settings, questions[0], quick))
    section("scale", lambda: bench_scale(settings, quick))
    section("rebuild", lambda: bench_rebuild(settings, quick))
    results["total_s"] = time.perf_counter() - started
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    print(format_table(results))
    if out:
        Path(out).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        print(f"\nwrote {out}")
    return results


# -- the table ---------------------------------------------------------------------------------------

def _f(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def _scale_line(p: dict) -> str:
    if "error" in p:
        return f"error: {p['error'][:200]}"
    return (f"{p['sentences']} sentences, {p['index_type']}, build {p['build_s']:.1f} s, "
            f"{p['index_mb']:.1f} MB, peak RSS {p['ru_maxrss_mb']:.0f} MB, "
            f"ask p50 {p['ask_ms']['p50']:.1f} ms")


def _ms_row(label: str, ms: dict) -> str:
    return f"| {label} | {_f(ms.get('p50'))} | {_f(ms.get('p95'))} |"


def _versus_table(title: str, torch_label: str, torch_ms: dict, onnx_label: str,
                  onnx_ms: dict, speedup: float, agreement: str) -> list[str]:
    """torch against ONNX Runtime: their latencies, the speed-up and their agreement."""
    return [f"| {title} | p50 | p95 |", "|---|---|---|", _ms_row(torch_label, torch_ms),
            _ms_row(onnx_label, onnx_ms), f"| speed-up p50 | {_f(speedup, 2)}x | |",
            f"| agreement | {agreement} |", ""]


def format_table(r: dict) -> str:
    """The results as Markdown tables (printed by the command, pasted into docs/BENCHMARKS.md)."""
    m = r.get("machine", {})
    lines = [f"Machine: {m.get('nproc')} CPUs ({m.get('cpu_model')}), {m.get('ram_gb')} GB RAM, "
             f"Python {m.get('python')}, torch {m.get('torch')}, "
             f"load average at start {', '.join(f'{x:.1f}' for x in m.get('loadavg_at_start', ()))}",
             ""]
    lat = r.get("latency")
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
                          f"{_f(lat['windows_per_question'])} windows per question)",
                          s["of_which_reader_model"])]
        th = lat.get("torch_threads")
        if th:
            lines += [_ms_row(f"encode_query, torch {th['default_threads']} threads (default)",
                              th["encode_query_ms_default"]),
                      _ms_row("encode_query, torch 1 thread", th["encode_query_ms_1_thread"])]
        lines.append("")
    elif lat:
        lines += [f"latency: {lat.get('skipped')}", ""]
    onnx = r.get("onnx")
    if onnx and "onnx_encode_query_ms" in onnx:
        lines += _versus_table(f"query embedding (ms), ONNX file {_f(onnx['model_mb'], 0)} MB",
                               "torch (encode_query)", onnx["torch_encode_query_ms"],
                               "ONNX Runtime", onnx["onnx_encode_query_ms"],
                               onnx["speedup_p50"],
                               f"max abs diff {onnx['max_abs_diff']:.2e} | "
                               f"min cosine {onnx['min_cosine']:.6f}")
    elif onnx:
        lines += [f"onnx: {onnx.get('skipped')}", ""]
    ro = r.get("reader_onnx")
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
    h = r.get("http")
    if h and "levels" in h:
        lines += ["| HTTP POST /api/ask | req/s | answered/s | p50 ms | p99 ms | errors | "
                  "server CPU ms/req | server cores busy | load generator cores busy |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for lv in h["levels"]:
            lines.append(f"| {lv.get('workers', 1)} worker(s), concurrency {lv['concurrency']}, "
                         f"{'repeated questions (cached)' if lv.get('cached') else 'uncached'} "
                         f"| {_f(lv['requests_per_s'])} | "
                         f"{_f(lv['answered_per_s'])} | {_f(lv['latency_ms'].get('p50'))} | "
                         f"{_f(lv['latency_ms'].get('p99'))} | {lv['errors']} | "
                         f"{_f(lv['server_cpu_ms_per_request'])} | "
                         f"{_f(lv['server_cpu_cores_busy'], 2)} | "
                         f"{_f(lv['loadgen_cpu_cores_busy'], 2)} |")
        rss = h.get("rss_after_warmup_kb", {}).get("VmRSS")
        after = h.get("rss_after_load_kb", {})
        lines += ["", f"Serving worker memory: VmRSS {_f(rss and rss / 1024, 0)} MB after "
                  f"warm-up, {_f(after.get('VmRSS') and after['VmRSS'] / 1024, 0)} MB after the "
                  f"load runs (peak VmHWM {_f(after.get('VmHWM') and after['VmHWM'] / 1024, 0)}"
                  f" MB); service ready in {_f(h.get('ready_seconds'))} s", ""]
        t = h.get("target")
        if t:
            lines += [f"Target: at least {t['answered_per_s_at_least']} answered questions/s "
                      f"uncached with {t['workers']} workers, {t['errors']} errors: best "
                      f"{_f(t['best_answered_per_s'])}/s (concurrency "
                      f"{t['best_at_concurrency']}), {t['errors_seen']} errors: "
                      f"**{'met' if t['met'] else 'not met'}**", ""]
    elif h:
        lines += [f"http: {h.get('skipped')}", ""]
    c = r.get("cold")
    if c and "split_s" in c:
        sp = c["split_s"]
        lines += [f"Cold start `python -m qa ask` (wall, min of {len(c['cli_ask_wall_s'])}): "
                  f"{_f(c['cli_ask_wall_min_s'], 2)} s (target < {_f(c.get('target_s'), 0)} s); "
                  "split: "
                  + ", ".join(f"{k} {_f(v, 2)} s" for k, v in sp.items()
                              if isinstance(v, (int, float))), ""]
    elif c:
        lines += [f"cold: {c.get('skipped')}", ""]
    scale = r.get("scale")
    if isinstance(scale, list):
        lines += ["| sentences | index | vectors | build s | s per 1k (w/o embedding) | "
                  "projected real s per 1k | index MB | peak RSS MB | dense p50 ms | "
                  "retrieve p50 ms | ask p50 ms |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for p in scale:
            if "error" in p:
                lines.append(f"| {p['sentences_requested']} | error: {p['error'][:120]} |")
                continue
            lines.append(
                f"| {p['sentences']} | {p['index_type']} | {p['vectors'].split(' (')[0]} | "
                f"{_f(p['build_s'])} | {_f(p['build_s_per_1k_sentences'], 2)} "
                f"({_f(p['build_s_per_1k_without_embedding'], 2)}) | "
                f"{_f(p['projected_real_build_s_per_1k'], 1)} | {_f(p['index_mb'])} | "
                f"{_f(p['ru_maxrss_mb'], 0)} | {_f(p['dense_search_ms']['p50'], 2)} | "
                f"{_f(p['retrieve_ms']['p50'], 1)} | {_f(p['ask_ms']['p50'], 1)} |")
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
    lines += _rebuild_lines(r.get("rebuild"))
    return "\n".join(lines)


def _main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "scale-child":
        args = json.loads(argv[1])
        point = _scale_child(args["size"], args.get("model_path"), args["real_up_to"],
                             args["queries"])
        print("QA_BENCH " + json.dumps(point), flush=True)
        return 0
    print("usage: python -m qa bench [--quick] [--out FILE]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

"""2. http and 5. memory: `python -m qa serve` in a subprocess on 127.0.0.1 with 1 and 2 workers,
driven by a threaded keep-alive load generator at concurrency 1, 8, 16 (30 s) and 32 (uncached)
and 8 (repeated questions): requests/s, answered/s, p50/p99, errors, server CPU; the same
2-worker, concurrency-16 load once more with the early exit off (QA_EARLY_EXIT=off), for the
ratio it gives; and the resident memory (VmRSS) of the serving workers after warm-up and after
the load."""

from __future__ import annotations

import http.client
import importlib.util
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..config import Settings
from ..web.server import default_threads
from .common import ROOT, _env, _f, _ms

# The throughput target: uncached, 2 workers, concurrency TARGET_CONCURRENCY for TARGET_SECONDS:
# at least this many answered questions a second, 0 errors, p99 at most TARGET_P99_MS.
TARGET_ANSWERED_PER_S = 60
TARGET_CONCURRENCY = 16
TARGET_SECONDS = 30.0
TARGET_P99_MS = 400.0
TARGET_HTTP_P50_VS_FLOOR = 1.2  # HTTP p50 at concurrency 1 / the latency section's floor p50
# uncached levels (concurrency, seconds; quick runs take 2 s each), then the cached one
LEVELS = ((1, 10.0), (8, 10.0), (TARGET_CONCURRENCY, TARGET_SECONDS), (32, 10.0))
CACHED_CONCURRENCY = 8


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
    """The service with 1 and with 2 worker processes, uncached and cached questions, and with
    2 workers and the early exit off at the target's concurrency."""
    runs = [_bench_http(settings, questions, quick, workers) for workers in (1, 2)]
    if not all("levels" in r for r in runs):
        return runs[0] if "levels" not in runs[0] else {**runs[0], "two_workers": runs[1]}
    result = {**runs[0], "levels": runs[0]["levels"] + runs[1]["levels"],
              "rss_two_workers_kb": runs[1].get("rss_after_load_kb")}
    seconds = 2.0 if quick else TARGET_SECONDS
    off = _bench_http(settings, questions, quick, 2, levels=((TARGET_CONCURRENCY, seconds),),
                      cached=False, env={"QA_EARLY_EXIT": "off"})
    if "levels" in off:
        for level in off["levels"]:
            level["early_exit"] = False
        result["levels"] += off["levels"]
    result["target"] = http_target(result["levels"])
    return result


def _target_level(levels: list[dict], early_exit: bool = True) -> dict | None:
    return next((lv for lv in levels if lv.get("workers") == 2 and not lv.get("cached")
                 and lv["concurrency"] == TARGET_CONCURRENCY
                 and lv.get("early_exit", True) == early_exit), None)


def http_target(levels: list[dict]) -> dict:
    """The throughput target: at least TARGET_ANSWERED_PER_S answered questions/s uncached with
    2 workers at TARGET_CONCURRENCY, no errors and p99 at most TARGET_P99_MS; with the
    answered/s of the same load with the early exit off, and their ratio."""
    level, off = _target_level(levels), _target_level(levels, early_exit=False)
    answered = level and level["answered_per_s"]
    p99 = level and level["latency_ms"].get("p99")
    return {"answered_per_s_at_least": TARGET_ANSWERED_PER_S, "workers": 2,
            "concurrency": TARGET_CONCURRENCY, "errors": 0, "p99_ms_at_most": TARGET_P99_MS,
            "answered_per_s": answered, "p99_ms": p99,
            "errors_seen": level and level["errors"],
            "early_exit_off_answered_per_s": off and off["answered_per_s"],
            "early_exit_ratio": off and off["answered_per_s"] and
            answered / off["answered_per_s"],
            "met": bool(level) and answered >= TARGET_ANSWERED_PER_S and level["errors"] == 0
            and p99 is not None and p99 <= TARGET_P99_MS}


def _bench_http(settings: Settings, questions: list[str], quick: bool, workers: int,
                levels=LEVELS, cached: bool = True, env: dict | None = None) -> dict:
    """One service (`workers` processes, `env` added to its environment) under each uncached
    level of `levels` (concurrency, seconds) and, with `cached`, the repeated questions."""
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
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               env={**_env(), **(env or {})}, cwd=str(ROOT))
    threads = settings.threads or default_threads(workers)
    result: dict = {"command": " ".join(command[1:]), "threads": threads,
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
        runs = [(concurrency, seconds, True) for concurrency, seconds in levels]
        if cached:
            runs.append((CACHED_CONCURRENCY, 10.0, False))
        levels = []
        for concurrency, seconds, unique in runs:
            seconds = 2.0 if quick else seconds
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


def table_lines(h: dict | None) -> list[str]:
    """The HTTP and memory section of the bench table."""
    lines = []
    if h and "levels" in h:
        lines += ["| HTTP POST /api/ask | req/s | answered/s | p50 ms | p99 ms | errors | "
                  "server CPU ms/req | server cores busy | load generator cores busy |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for lv in h["levels"]:
            lines.append(f"| {lv.get('workers', 1)} worker(s), concurrency {lv['concurrency']}, "
                         f"{'repeated questions (cached)' if lv.get('cached') else 'uncached'}"
                         f"{', early exit off' if lv.get('early_exit') is False else ''}, "
                         f"{_f(lv['seconds'], 0)} s "
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
                      f"uncached with {t['workers']} workers at concurrency {t['concurrency']}, "
                      f"{t['errors']} errors, p99 at most {_f(t['p99_ms_at_most'], 0)} ms: "
                      f"{_f(t['answered_per_s'])}/s, {t['errors_seen']} errors, p99 "
                      f"{_f(t['p99_ms'], 0)} ms: **{'met' if t['met'] else 'not met'}**. "
                      f"With the early exit off: {_f(t['early_exit_off_answered_per_s'])}/s "
                      f"(the early exit: {_f(t['early_exit_ratio'], 2)}x)", ""]
        ratio = h.get("p50_vs_floor")
        if ratio:
            lines += [f"HTTP p50 at concurrency 1 (2 workers) / the floor's p50 (latency "
                      f"section): {_f(ratio['ratio'], 2)} (target at most "
                      f"{_f(ratio['at_most'], 1)}): "
                      f"**{'met' if ratio['met'] else 'not met'}**", ""]
    elif h:
        lines += [f"http: {h.get('skipped')}", ""]
    return lines


def p50_vs_floor(http: dict | None, latency: dict | None) -> dict | None:
    """HTTP p50 at concurrency 1 with 2 workers over the floor's p50 of the same run."""
    level = next((lv for lv in (http or {}).get("levels", [])
                  if lv.get("workers") == 2 and lv["concurrency"] == 1 and not lv.get("cached")),
                 None)
    floor = ((latency or {}).get("floor_ms") or {}).get("p50")
    if not level or not floor or not level["latency_ms"].get("p50"):
        return None
    ratio = level["latency_ms"]["p50"] / floor
    return {"http_p50_ms": level["latency_ms"]["p50"], "floor_p50_ms": floor, "ratio": ratio,
            "at_most": TARGET_HTTP_P50_VS_FLOOR, "met": ratio <= TARGET_HTTP_P50_VS_FLOOR}

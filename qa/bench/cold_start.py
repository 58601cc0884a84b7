"""3. cold: process start to first answer (`python -m qa ask`), and its in-process split."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from ..config import Settings
from .common import ROOT, _env, _f

TARGET_COLD_START_S = 2.0

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


def table_lines(c: dict | None) -> list[str]:
    """The cold start section of the bench table."""
    lines = []
    if c and "split_s" in c:
        sp = c["split_s"]
        lines += [f"Cold start `python -m qa ask` (wall, min of {len(c['cli_ask_wall_s'])}): "
                  f"{_f(c['cli_ask_wall_min_s'], 2)} s (target < {_f(c.get('target_s'), 0)} s); "
                  "split: "
                  + ", ".join(f"{k} {_f(v, 2)} s" for k, v in sp.items()
                              if isinstance(v, (int, float))), ""]
    elif c:
        lines += [f"cold: {c.get('skipped')}", ""]
    return lines

"""A bounded soak on loopback: zero errors, flat memory, every answer verbatim.

Marked `soak` (run by `make soak`, which CI runs after `make test`). Duration and concurrency:
QA_SOAK_SECONDS (default 120) and QA_SOAK_CONCURRENCY (default 16).
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest_web import CORPUS, start_server

pytestmark = pytest.mark.soak
GOLD = [json.loads(line)["question"]
        for line in (CORPUS / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_soak(index_dir):
    seconds = float(os.environ.get("QA_SOAK_SECONDS", "120"))
    concurrency = int(os.environ.get("QA_SOAK_CONCURRENCY", "16"))
    server = start_server(["--index", str(index_dir), "--corpus", str(CORPUS),
                           "--threads", str(concurrency)])
    try:
        url = urlparse(server.url)
        documents = {}
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        conn.request("GET", "/api/documents/article.txt")
        documents["article.txt"] = json.loads(conn.getresponse().read())["text"]
        conn.close()

        counts = {"requests": 0, "errors": 0, "not_verbatim": 0}
        lock = threading.Lock()
        samples = []

        def client(offset: int, deadline: float):
            c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            n = offset
            while time.monotonic() < deadline:
                question = GOLD[n % len(GOLD)] + ("" if n % 3 else f" ({n})")
                n += concurrency
                try:
                    c.request("POST", "/api/ask", json.dumps({"question": question}),
                              {"Content-Type": "application/json"})
                    response = c.getresponse()
                    body = json.loads(response.read())
                    ok = response.status == 200
                except (OSError, http.client.HTTPException, ValueError):
                    ok, body = False, None
                    c.close()
                    c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
                bad = 0
                if ok:
                    spans = ([body["answer"]] if body["answer"] else []) + body["evidence"] \
                        + body["alternatives"]
                    bad = sum(documents[s["doc_id"]][s["start"]:s["end"]] != s["text"]
                              for s in spans)
                with lock:
                    counts["requests"] += 1
                    counts["errors"] += not ok
                    counts["not_verbatim"] += bad
            c.close()

        def sample_memory(deadline: float):
            while time.monotonic() < deadline:
                samples.append(rss_mib(server.process.pid))
                time.sleep(2)

        def run(duration: float, sample: bool) -> float:
            deadline = time.monotonic() + duration
            threads = [threading.Thread(target=client, args=(k, deadline))
                       for k in range(concurrency)]
            if sample:
                threads.append(threading.Thread(target=sample_memory, args=(deadline,)))
            started = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return time.monotonic() - started

        run(min(15.0, seconds / 4), sample=False)  # warm up at full concurrency
        rss_before = rss_mib(server.process.pid)
        counts["requests"] = 0  # errors in the warm-up still count
        elapsed = run(seconds, sample=True)
        rss_after = rss_mib(server.process.pid)
        print(f"\nsoak: {counts['requests']} requests in {elapsed:.0f} s at concurrency "
              f"{concurrency} ({counts['requests'] / elapsed:.0f}/s), {counts['errors']} errors, "
              f"{counts['not_verbatim']} non-verbatim spans; RSS {rss_before:.0f} MiB before, "
              f"{rss_after:.0f} MiB after, peak {max(samples + [rss_after]):.0f} MiB")
        assert counts["errors"] == 0 and counts["not_verbatim"] == 0
        assert counts["requests"] > seconds  # it kept answering throughout
        # flat memory: growth after warm-up stays within 10% (+20 MiB for allocator noise)
        assert rss_after <= rss_before * 1.10 + 20
    finally:
        assert server.stop() == 0

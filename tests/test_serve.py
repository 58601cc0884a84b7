"""The real server, started the way `make serve` does (`python -m qa serve --rebuild`)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection

import pytest

from conftest_web import CORPUS, ServerProcess, http, start_server, wait_for_health

QUESTION = "Who is China's Vice Minister of Commerce?"


def host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def raw_request(url: str, request: bytes, timeout: float = 30) -> bytes:
    """Send bytes exactly as given (no client-side path normalisation); the raw reply."""
    with socket.create_connection(host_port(url), timeout=timeout) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_serve_rebuild_answers_then_stops_cleanly_on_sigterm(tmp_path):
    index = tmp_path / "index"  # missing: --rebuild builds it
    server = start_server(["--rebuild", "--index", str(index), "--corpus", str(CORPUS)])
    try:
        ready = [line for line in server.lines if line.startswith("serving ")]
        assert ready == [f"serving 1 document at {server.url} (stop with Ctrl-C)"]
        # what `qa build` shows, before serving: the reason, then the build's own totals
        assert server.lines[0].startswith("building the index first (no index at ")
        assert any(line.startswith("indexed 1 document, ") for line in server.lines)
        assert (index / "manifest.json").is_file()
        health = wait_for_health(server.url)
        assert health["status"] == "ok" and health["documents"] == 1

        status, record, headers = http("POST", server.url + "/api/ask", {"question": QUESTION})
        assert status == 200 and record["question"] == QUESTION
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers.get("Server") == "qa"
        status, record, _ = http("GET", server.url + "/api/ask?q=Who+is+the+minister%3F&top_k=2")
        assert status == 200 and len(record["evidence"]) <= 2
        status, error, _ = http("POST", server.url + "/api/ask", {"question": ""})
        assert status == 400 and error["error"]["code"] == "bad_question"

        # concurrent requests on the server's threads all succeed, with the same answers
        questions = [QUESTION, "How much lithium battery output did China report for 2024?"] * 8
        with ThreadPoolExecutor(len(questions)) as pool:
            results = list(pool.map(
                lambda q: http("POST", server.url + "/api/ask", {"question": q}), questions))
        assert [status for status, _, _ in results] == [200] * len(questions)
        answers = {(r["question"], json.dumps(r["answer"])) for _, r, _ in results}
        assert len(answers) == 2

        over = json.dumps({"question": "a" * 20000}).encode()
        reply = raw_request(server.url, b"POST /api/ask HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Type: application/json\r\nConnection: close\r\n"
                            b"Content-Length: " + str(len(over)).encode() + b"\r\n\r\n" + over)
        assert reply.startswith(b"HTTP/1.1 413") and b'"payload_too_large"' in reply

        # raw paths reach the app unnormalised; none of them escapes the loaded documents
        for path in (b"/api/documents/../corpus/article.txt", b"/api/documents/%2e%2e%2fetc",
                     b"/api/documents//etc/passwd", b"/documents/../../etc/passwd"):
            reply = raw_request(server.url, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n"
                                b"Connection: close\r\n\r\n")
            assert reply.startswith(b"HTTP/1.1 404"), (path, reply[:200])

        # An idle HTTP/1.1 keep-alive connection must not hold up the shutdown...
        idle = HTTPConnection(*host_port(server.url), timeout=30)
        idle.request("GET", "/api/health")
        assert idle.getresponse().read()
        # ...and a request in flight when SIGTERM arrives is answered before the exit (0).
        body = json.dumps({"question": QUESTION}).encode()
        conn = HTTPConnection(*host_port(server.url), timeout=30)
        conn.request("POST", "/api/ask", body, {"Content-Type": "application/json",
                                                "Connection": "close"})
        stopped_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["question"] == QUESTION
        conn.close()
        assert server.wait(30) == 0, server.stderr
        # well under DRAIN_SECONDS (10): the idle connection was closed, not waited for
        assert time.monotonic() - stopped_at < 8
        assert server.lines[-2:] == ["stopping: finishing the requests in progress", "stopped"]
        assert "Traceback" not in server.stderr
        idle.close()
    finally:
        server.stop()


def test_several_workers_share_the_port_and_all_stop(index_dir):
    server = start_server(["--index", str(index_dir), "--corpus", str(CORPUS), "--workers", "2",
                           "--threads", "2"])
    try:
        assert re.fullmatch(r"serving 1 document at http://127\.0\.0\.1:\d+ "
                            r"\(2 worker processes, 2 threads each; stop with Ctrl-C\)",
                            next(l for l in server.lines if l.startswith("serving ")))
        workers = children(server.process.pid)
        assert len(workers) == 2
        for _ in range(6):
            status, record, _ = http("POST", server.url + "/api/ask", {"question": QUESTION})
            assert status == 200
        # keep-alive connections are spread evenly: 8 opened one after another, 4 each
        held = []
        for _ in range(8):
            conn = HTTPConnection(*host_port(server.url), timeout=30)
            conn.request("GET", "/api/health")
            assert conn.getresponse().read() and conn.sock is not None
            held.append(conn)
        per_worker = [len(established(pid, host_port(server.url)[1])) for pid in workers]
        assert sorted(per_worker) == [4, 4], per_worker
        for conn in held:
            conn.close()
        assert server.stop(60) == 0, server.stderr
        assert server.lines[-1] == "stopped"
        for pid in workers:
            assert not alive(pid), f"worker {pid} outlived the server"
    finally:
        server.stop()


def test_missing_index_exits_2_with_the_fix(tmp_path):
    server = ServerProcess(["--index", str(tmp_path / "none"), "--corpus", str(CORPUS)],
                           timeout=120)
    assert server.wait(120) == 2
    errors = [line for line in server.lines if line.startswith("error:")]
    assert len(errors) == 1 and "python -m qa build" in errors[0], server.stderr
    assert "Traceback" not in server.stderr


def test_port_in_use_exits_2(index_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        result = subprocess.run(
            [os.sys.executable, "-m", "qa", "serve", "--index", str(index_dir), "--corpus",
             str(CORPUS), "--port", str(port)], capture_output=True, text=True, timeout=120,
            env=env, cwd=CORPUS.parent)
    assert result.returncode == 2, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def children(pid: int) -> list[int]:
    path = f"/proc/{pid}/task/{pid}/children"
    if not os.path.exists(path):
        pytest.skip("needs /proc (Linux) to find the worker processes")
    with open(path) as handle:
        return [int(p) for p in handle.read().split()]


def established(pid: int, port: int) -> set[int]:
    """The socket inodes of `pid`'s established TCP connections on local `port`."""
    mine = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            mine.add(int(target[8:-1]))
    connected = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                    connected.add(int(fields[9]))
    return mine & connected


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too (its parent, the test runner's child, has already exited)
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().split(")")[-1].split()[0] != "Z"

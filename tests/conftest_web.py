"""Fixtures and helpers for the web tests (imported by test_api, test_pages, test_browser,
test_serve); the session index and pipeline come from conftest.py."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
ARTIFACTS = ROOT / "artifacts"
READY = re.compile(r"serving (\d+) documents? at (http://\S+)")


@pytest.fixture(scope="session")
def app(pipeline, settings):
    from qa.web import create_app
    return create_app(pipeline, settings)


@pytest.fixture
def client(app):
    return app.test_client()


def fake_app(pipeline, documents=None, ask=None, config=None):
    """An app over a stand-in pipeline: the real store's sentences and passages, but chosen
    documents and/or a chosen `ask` function (for cases the real reader cannot be made to
    produce on demand)."""
    from qa.web import create_app
    store = pipeline.store
    if documents is not None:
        store = SimpleNamespace(documents={d.doc_id: d for d in documents},
                                sentences=[], passages=store.passages, manifest=store.manifest)
    fake = SimpleNamespace(store=store, settings=pipeline.settings,
                           ask=ask or pipeline.ask)
    return create_app(fake, pipeline.settings, config=config)


def verbatim_problems(record: dict, documents: dict) -> list[str]:
    """Every span of an answer record that is not exactly document.text[start:end]."""
    spans = []
    if record["answer"] is not None:
        spans.append(("answer", record["answer"]))
    spans += [("evidence", e) for e in record["evidence"]]
    spans += [("alternative", a) for a in record["alternatives"]]
    problems = []
    for kind, span in spans:
        text = documents[span["doc_id"]].text
        if text[span["start"]:span["end"]] != span["text"]:
            problems.append(f"{kind} {span['text']!r} != text[{span['start']}:{span['end']}]")
    return problems


# -- a real server in a subprocess ---------------------------------------------------------

class ServerProcess:
    """`python -m qa serve ...` on a free loopback port (--port 0; the ready line tells it)."""

    def __init__(self, args: list[str], timeout: float = 180):
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        for var in [v for v in env if v.startswith("QA_")]:
            del env[var]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve", "--host", "127.0.0.1", "--port", "0", *args],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.url: str | None = None
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        self._ready.wait(timeout)

    def _read_stderr(self):
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            match = READY.search(line)
            if match and self.url is None:
                self.url = match.group(2)
                self._ready.set()
        self._ready.set()  # exited before (or after) being ready

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def wait(self, timeout: float = 30) -> int:
        code = self.process.wait(timeout)
        self._reader.join(5)
        return code

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.wait(5)
            raise


def start_server(args: list[str], timeout: float = 180) -> ServerProcess:
    server = ServerProcess(args, timeout)
    if server.url is None:
        code = server.process.poll()
        server.stop()
        pytest.fail(f"the server did not become ready (exit {code}):\n{server.stderr}")
    return server


def http(method: str, url: str, body: dict | None = None, timeout: float = 30):
    """(status, parsed JSON or text, headers) over real HTTP, errors included."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, raw, headers = exc.code, exc.read(), exc.headers
    if headers.get_content_type() == "application/json":
        return status, json.loads(raw), headers
    return status, raw.decode(), headers


def wait_for_health(url: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, body, _ = http("GET", url + "/api/health", timeout=5)
            if status == 200:
                return body
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url}/api/health did not answer within {timeout} s")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def live_server(index_dir):
    """The real server over the session index, shared by the browser tests."""
    server = start_server(["--index", str(index_dir), "--corpus", str(CORPUS)])
    yield server
    server.stop()

"""Hardening: generated requests never get a 5xx and always match the OpenAPI description;
a rebuild while serving is swapped in atomically and every answer stays verbatim."""

from __future__ import annotations

import json
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from conftest_web import app, client  # noqa: F401
from schema_check import errors as schema_errors

FUZZ = hypothesis_settings(max_examples=700, deadline=None, derandomize=True,
                           suppress_health_check=[HealthCheck.too_slow,
                                                  HealthCheck.function_scoped_fixture])

json_scalars = st.none() | st.booleans() | st.integers(-10**12, 10**12) \
    | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                           max_leaves=12)
questions = st.text(max_size=80) | st.sampled_from([
    "Who is China's Vice Minister of Commerce?", "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>', "مرحبا كيف حالك؟", "🔋⚡ how much?", "x" * 600,
    "\u202eWhat\u202c is 24%?", "a\x00b", "\x07\x1b[31m"])
top_ks = st.none() | json_values | st.integers(-5, 15)
bodies = st.fixed_dictionaries({"question": questions}, optional={"top_k": top_ks}) \
    | st.dictionaries(st.sampled_from(["question", "top_k", "q", "extra"]), json_values,
                      max_size=3) | json_values


@pytest.fixture(scope="module")
def spec(app):  # noqa: F811
    return app.test_client().get("/api/openapi.json").get_json()


def check(spec, path, method, response):
    assert response.status_code < 500, (path, response.get_data(as_text=True)[:300])
    responses = spec["paths"][path][method]["responses"]
    entry = responses.get(str(response.status_code)) or responses.get("default")
    assert entry, f"{method} {path} status {response.status_code} is not documented"
    schema = entry["content"]["application/json"]["schema"]
    assert schema_errors(response.get_json(), schema, spec) == []


@FUZZ
@given(body=bodies)
def test_fuzz_post_ask(client, spec, body):  # noqa: F811
    check(spec, "/api/ask", "post", client.post("/api/ask", json=body))


@FUZZ
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
       content_type=st.sampled_from(["application/json", "application/json; charset=utf-8",
                                     "text/plain", "application/x-www-form-urlencoded", ""]))
def test_fuzz_raw_bodies(client, spec, raw, content_type):  # noqa: F811
    check(spec, "/api/ask", "post", client.post("/api/ask", data=raw,
                                                content_type=content_type or None))


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["q", "top_k", "x", "question"]),
                              st.text(max_size=30), max_size=3))
def test_fuzz_get_ask(client, spec, params):  # noqa: F811
    check(spec, "/api/ask", "get", client.get("/api/ask", query_string=params))


@FUZZ
@given(doc_id=st.text(min_size=1, max_size=60) | st.sampled_from([
    "../corpus/article.txt", "..%2farticle.txt", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/etc/passwd",
    "....//....//etc/passwd", "article.txt/../../x", "C:\\Windows\\win.ini", "article.txt%00"]))
def test_fuzz_document_ids_never_escape_the_corpus(client, spec, doc_id):  # noqa: F811
    response = client.get("/api/documents/" + doc_id)
    assert response.status_code < 500
    if response.status_code == 200:  # only documents of the loaded index, by exact id
        body = response.get_json()
        assert body["doc_id"] in client.application.extensions["qa"].current().store.documents
        assert "root:" not in body["text"]
    elif response.status_code != 308:
        assert response.mimetype == "application/json"


def test_a_ten_megabyte_body_is_413_and_nothing_is_read(client):  # noqa: F811
    response = client.post("/api/ask", data=b"{" + b" " * (10 * 1024 * 1024) + b"}",
                           content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


# -- rebuilding while serving ------------------------------------------------------------------

VERSIONS = {
    "a": "Tariffs\n\nThe reciprocal tariff rate is 24% this year. Exports reached 48 billion "
         "dollars in August.\n",
    "b": "Tariffs\n\nThe fentanyl tariff rate was 10% last year, after a long review. Exports "
         "fell to 55 billion dollars by September.\n",
}


def test_rebuild_while_serving_swaps_atomically(tmp_path, embedder):
    from qa.config import Settings
    from qa.documents.loading import corpus_fingerprint
    from qa.pipeline import LivePipeline, Pipeline
    from qa.store.indexing import build_index
    from qa.web import create_app

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    fingerprints = {}
    for name, text in VERSIONS.items():
        (corpus / "doc.txt").write_text(text, encoding="utf-8")
        fingerprints[corpus_fingerprint(corpus)] = text
    (corpus / "doc.txt").write_text(VERSIONS["a"], encoding="utf-8")
    build_index(corpus, index, embedder)
    settings = Settings.from_env(environ={}, corpus_dir=corpus, index_dir=index)
    live = LivePipeline(Pipeline.load(settings, embedder=embedder))
    flask_app = create_app(live)

    stop = threading.Event()
    problems, seen = [], []

    def ask_in_a_loop():
        client = flask_app.test_client()
        n = 0
        while not stop.is_set():
            n += 1  # a new question each time: answered, not served from the cache
            response = client.post("/api/ask",
                                   json={"question": f"What was the tariff rate ({n})?"})
            if response.status_code != 200:
                problems.append(response.get_data(as_text=True))
                continue
            record = response.get_json()
            text = fingerprints.get(record["index"]["fingerprint"])
            if text is None:
                problems.append(f"unknown fingerprint {record['index']['fingerprint']}")
                continue
            seen.append(record["index"]["fingerprint"])
            spans = ([record["answer"]] if record["answer"] else []) + record["evidence"] \
                + record["alternatives"]
            for span in spans:
                if text[span["start"]:span["end"]] != span["text"]:
                    problems.append(f"not verbatim: {span}")

    asker = threading.Thread(target=ask_in_a_loop)
    asker.start()
    try:
        for version in ["b", "a", "b", "a"]:
            (corpus / "doc.txt").write_text(VERSIONS[version], encoding="utf-8")
            build_index(corpus, index, embedder)
            deadline = time.monotonic() + 20
            while live.current().store.documents["doc.txt"].text != VERSIONS[version]:
                assert time.monotonic() < deadline, "the rebuilt index was never swapped in"
                time.sleep(0.05)
    finally:
        stop.set()
        asker.join()
    assert problems == []
    assert len(set(seen)) == 2 and len(seen) > 20


def serving_version_a(tmp_path, embedder):
    """(corpus folder, index folder, LivePipeline) of an index built from VERSIONS["a"]."""
    from qa.config import Settings
    from qa.pipeline import LivePipeline, Pipeline
    from qa.store.indexing import build_index
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "doc.txt").write_text(VERSIONS["a"], encoding="utf-8")
    build_index(corpus, index, embedder)
    settings = Settings.from_env(environ={}, corpus_dir=corpus, index_dir=index)
    live = LivePipeline(Pipeline.load(settings, embedder=embedder))
    return corpus, index, live


def test_the_first_request_after_a_rebuild_is_answered_from_it_and_logged(tmp_path, embedder,
                                                                           caplog):
    import logging

    from qa.store.indexing import build_index

    corpus, index, live = serving_version_a(tmp_path, embedder)
    old = live.current().store.fingerprint
    (corpus / "doc.txt").write_text(VERSIONS["b"], encoding="utf-8")
    build_index(corpus, index, embedder)
    with caplog.at_level(logging.INFO, logger="qa"):
        answer = live.current().ask("What was the fentanyl tariff rate?")  # no waiting
    new = live.current().store.fingerprint
    assert new != old and answer.fingerprint == new
    switches = [r.getMessage() for r in caplog.records if "switched" in r.getMessage()]
    assert len(switches) == 1
    assert old in switches[0] and new in switches[0] and "1 documents" not in switches[0]
    assert "(1 document, " in switches[0]


def test_a_corrupt_rebuild_keeps_the_old_index_serving(tmp_path, embedder):
    corpus, index, live = serving_version_a(tmp_path, embedder)
    before = live.current()
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["files"]["sentences.json"] = "0" * 64
    (index / "manifest.json").write_text(json.dumps(manifest))
    for _ in range(20):
        assert live.current() is before
        time.sleep(0.05)
    answer = live.current().ask("What is the tariff rate?")
    assert answer.fingerprint == before.store.fingerprint
    cited = answer.evidence[0]
    assert VERSIONS["a"][cited.start:cited.end] == cited.text


# -- one record everywhere, and safe defaults -----------------------------------------------------

def test_cli_json_and_api_give_the_same_record(client, pipeline, capsys, monkeypatch):  # noqa: F811
    import qa.pipeline
    from qa import cli
    monkeypatch.setattr(qa.pipeline, "load_query_encoder", lambda *a, **k: pipeline.embedder)
    question = "How much lithium battery output did China report for 2024?"
    assert cli.main(["ask", question, "--json", "--index", str(pipeline.settings.index_dir)]) == 0
    from_cli = json.loads(capsys.readouterr().out)
    from_api = client.post("/api/ask", json={"question": question}).get_json()
    for record in (from_cli, from_api):
        record.pop("took_ms"), record.pop("cached")
    assert from_cli == from_api


def test_a_corrupt_index_is_rebuilt_when_asked(tmp_path, embedder):
    from qa.config import Settings
    from qa.errors import IndexCorrupt
    from qa.pipeline import Pipeline
    from qa.store.indexing import build_index

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "doc.txt").write_text(VERSIONS["a"], encoding="utf-8")
    build_index(corpus, index, embedder)
    faiss_file = index / "sentences.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:64])
    settings = Settings.from_env(environ={}, corpus_dir=corpus, index_dir=index)
    with pytest.raises(IndexCorrupt, match="rebuild"):
        Pipeline.load(settings, embedder=embedder)
    rebuilt = Pipeline.load(settings, embedder=embedder, rebuild=True)  # what make serve does
    assert rebuilt.store.documents["doc.txt"].text == VERSIONS["a"]


def test_security_defaults(pipeline):
    from qa.config import Settings
    from qa.web import create_app
    defaults = Settings.from_env(environ={})
    assert defaults.host == "127.0.0.1"
    assert defaults.max_body_bytes <= 64 * 1024
    flask_app = create_app(pipeline)
    assert flask_app.debug is False and flask_app.config["MAX_CONTENT_LENGTH"] == \
        defaults.max_body_bytes
    response = flask_app.test_client().get("/")
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"):
        assert header in response.headers

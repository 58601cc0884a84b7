"""The JSON API contract, with Flask's test client: answers, errors, documents, headers, and
the OpenAPI description checked against the app's routes and real responses."""

from __future__ import annotations

import json
import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from conftest_web import CORPUS, app, client, fake_app, verbatim_problems  # noqa: F401
from qa.types import Document
from qa.web import SECURITY_HEADERS
from schema_check import check_schema_keywords, errors as schema_errors

QUESTION = "Who is China's Vice Minister of Commerce?"
RECORD_KEYS = ["question", "answered", "reason", "caveat", "refused_by", "confidence", "support",
               "answer", "evidence", "alternatives", "index", "took_ms", "cached"]


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    assert "Traceback" not in body["error"]["message"]
    return body["error"]


# -- asking ---------------------------------------------------------------------------------

def test_post_ask_returns_the_answer_record(client, pipeline):
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    record = response.get_json()
    assert list(record) == RECORD_KEYS
    assert record["question"] == QUESTION
    assert record["index"]["fingerprint"] == pipeline.store.fingerprint
    assert 0 <= record["confidence"] <= 1
    if record["answered"]:
        assert record["answer"] is not None and record["reason"] is None
    else:
        assert record["answer"] is None and record["reason"]
    assert record["evidence"], "an answer record always cites evidence or closest passages"


@pytest.mark.parametrize("question", [
    QUESTION,
    "What energy density threshold did the battery controls cover?",
    "How much lithium battery output did China report for 2024?",
    "What was China's lithium battery production in 2023?",
    "When do the controls take effect?",
])
def test_every_span_is_verbatim_document_text(client, pipeline, question):
    record = client.post("/api/ask", json={"question": question, "top_k": 5}).get_json()
    assert verbatim_problems(record, pipeline.store.documents) == []


def test_get_ask_gives_the_same_record_as_post(client):
    posted = client.post("/api/ask", json={"question": QUESTION, "top_k": 2}).get_json()
    response = client.get("/api/ask", query_string={"q": QUESTION, "top_k": "2"})
    assert response.status_code == 200
    got = response.get_json()
    posted.pop("took_ms"), got.pop("took_ms")
    assert got.pop("cached") is True  # the same question, asked again: not read again
    posted.pop("cached")
    assert got == posted


@pytest.mark.parametrize("top_k", [1, 4, 10])
def test_top_k_bounds_the_evidence(client, top_k):
    record = client.post("/api/ask", json={"question": QUESTION, "top_k": top_k}).get_json()
    assert 1 <= len(record["evidence"]) <= top_k


def test_json_is_utf8_not_escaped(client):
    response = client.post("/api/ask", json={"question": "Who is China’s Vice Minister?"})
    assert response.status_code == 200
    assert "’".encode() in response.data


# -- client errors --------------------------------------------------------------------------

BAD_BODIES = [
    ({}, "bad_question"),
    ({"question": ""}, "bad_question"),
    ({"question": "   \n\t "}, "bad_question"),
    ({"question": "?!"}, "bad_question"),
    ({"question": None}, "bad_question"),
    ({"question": 42}, "bad_question"),
    ({"question": ["who"]}, "bad_question"),
    ({"question": {"text": "who"}}, "bad_question"),
    ({"question": "a" * 501}, "bad_question"),
    ({"question": "who\x00is"}, "bad_question"),
    ({"question": QUESTION, "top_k": 0}, "bad_top_k"),
    ({"question": QUESTION, "top_k": -1}, "bad_top_k"),
    ({"question": QUESTION, "top_k": 11}, "bad_top_k"),
    ({"question": QUESTION, "top_k": 10**9}, "bad_top_k"),
    ({"question": QUESTION, "top_k": 10**100}, "bad_top_k"),
    ({"question": QUESTION, "top_k": "3"}, "bad_top_k"),
    ({"question": QUESTION, "top_k": True}, "bad_top_k"),
    ({"question": QUESTION, "top_k": 2.5}, "bad_top_k"),
    ({"question": QUESTION, "top_k": None}, "bad_top_k"),
    ({"question": QUESTION, "top_k": [3]}, "bad_top_k"),
    ({"question": QUESTION, "extra": 1}, "unknown_field"),
    ({"q": QUESTION}, "unknown_field"),
]


@pytest.mark.parametrize("body,code", BAD_BODIES, ids=[repr(b)[:40] for b, _ in BAD_BODIES])
def test_bad_bodies_are_400(client, body, code):
    error = error_of(client.post("/api/ask", json=body), 400)
    assert error["code"] == code


RAW_BODIES = [
    (b"", "malformed_json"),
    (b"{", "malformed_json"),
    (b'{"question": }', "malformed_json"),
    (b'{"question": "who"', "malformed_json"),
    (b"{'question': 'who'}", "malformed_json"),
    (b'{"question": "\xff\xfe who"}', "malformed_json"),
    (b"\xef\xbb\xbf" + json.dumps({"question": QUESTION}).encode(), "malformed_json"),
    (b"[" * 7000 + b"]" * 7000, "malformed_json"),
    (b'{"question": ' + b"[" * 3000 + b"]" * 3000 + b"}", "malformed_json"),
    (b'{"question": 1' + b"0" * 5000 + b"}", "malformed_json"),
    (b"[]", "invalid_body"),
    (b'["who is it?"]', "invalid_body"),
    (b'"who is it?"', "invalid_body"),
    (b"3", "invalid_body"),
    (b"null", "invalid_body"),
    (b'{"question": "\\ud800 who is it?"}', "bad_question"),
    (b'{"question": "Who?", "top_k": NaN}', "bad_top_k"),
    (b'{"question": "Who?", "top_k": 1e400}', "bad_top_k"),
]


@pytest.mark.parametrize("raw,code", RAW_BODIES, ids=[repr(r)[:40] for r, _ in RAW_BODIES])
def test_malformed_json_is_400(client, raw, code):
    response = client.post("/api/ask", data=raw, content_type="application/json")
    assert error_of(response, 400)["code"] == code


@pytest.mark.parametrize("query,code", [
    ({}, "bad_question"),
    ({"q": ""}, "bad_question"),
    ({"q": "   "}, "bad_question"),
    ({"q": "x" * 501}, "bad_question"),
    ({"q": QUESTION, "top_k": "0"}, "bad_top_k"),
    ({"q": QUESTION, "top_k": "-1"}, "bad_top_k"),
    ({"q": QUESTION, "top_k": "11"}, "bad_top_k"),
    ({"q": QUESTION, "top_k": "1000000000"}, "bad_top_k"),
    ({"q": QUESTION, "top_k": "9" * 5000}, "bad_top_k"),
    ({"q": QUESTION, "top_k": "three"}, "bad_top_k"),
    ({"q": QUESTION, "top_k": "2.0"}, "bad_top_k"),
    ({"q": QUESTION, "top_k": ""}, "bad_top_k"),
    ({"q": QUESTION, "question": QUESTION}, "unknown_field"),
    ({"q": [QUESTION, QUESTION]}, "bad_request"),
])
def test_bad_query_strings_are_400(client, query, code):
    assert error_of(client.get("/api/ask", query_string=query), 400)["code"] == code


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx"])
def test_post_without_json_content_type_is_415(client, content_type):
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = client.post("/api/ask", data=json.dumps({"question": QUESTION}), headers=headers)
    assert error_of(response, 415)["code"] == "unsupported_media_type"


def test_json_with_charset_parameter_is_accepted(client):
    response = client.post("/api/ask", data=json.dumps({"question": QUESTION}),
                           content_type="application/json; charset=utf-8")
    assert response.status_code == 200


def test_body_over_the_limit_is_413(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 16 * 1024
    body = json.dumps({"question": "a" * limit})
    response = client.post("/api/ask", data=body, content_type="application/json")
    assert error_of(response, 413)["code"] == "payload_too_large"


@pytest.mark.parametrize("method,path", [
    ("put", "/api/ask"), ("delete", "/api/ask"), ("patch", "/api/ask"),
    ("post", "/api/health"), ("post", "/api/documents"), ("delete", "/api/documents/article.txt"),
    ("post", "/api/openapi.json"),
])
def test_wrong_method_is_405_with_allow(client, method, path):
    response = getattr(client, method)(path)
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/nope", "/api/ask/", "/api/health/x",
                                  "/api/documents/", "/api/%00"])
def test_unknown_api_paths_are_json_404(client, path):
    assert error_of(client.get(path), 404)["code"] == "not_found"


def test_unknown_page_paths_are_html_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "404" in response.get_data(as_text=True)


@given(body=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["question", "top_k", "x"]) | st.text(max_size=5), inner, max_size=3),
    max_leaves=8))
@hypothesis_settings(max_examples=60, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_json_body_gives_a_server_error(client, body):
    response = client.post("/api/ask", data=json.dumps(body), content_type="application/json")
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        error_of(response, 400)


@given(question=st.text(max_size=80), top_k=st.text(max_size=4))
@hypothesis_settings(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_query_string_gives_a_server_error(client, question, top_k):
    response = client.get("/api/ask", query_string={"q": question, "top_k": top_k})
    assert response.status_code in (200, 400), response.get_data(as_text=True)


def test_unexpected_errors_are_logged_json_500_without_details(pipeline, caplog):
    def broken(question, top_k=None):
        raise RuntimeError("secret internal detail")
    client = fake_app(pipeline, ask=broken).test_client()
    with caplog.at_level(logging.ERROR):
        response = client.post("/api/ask", json={"question": QUESTION})
    error = error_of(response, 500)
    assert error["code"] == "internal_error"
    assert "secret" not in response.get_data(as_text=True)
    assert "secret internal detail" in caplog.text  # logged with its traceback
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    page = client.get("/", query_string={"q": QUESTION})
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "secret" not in page.get_data(as_text=True)


# -- health and documents -------------------------------------------------------------------

def test_health(client, pipeline):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    manifest = pipeline.store.manifest
    assert body == {"status": "ok", "documents": len(pipeline.store.documents),
                    "passages": len(pipeline.store.passages),
                    "index": {"fingerprint": manifest["corpus_fingerprint"],
                              "built_at": manifest["built_at"], "model": manifest["model"]}}


def test_documents_list_and_detail(client, pipeline):
    listed = client.get("/api/documents").get_json()
    assert listed == [{"doc_id": d.doc_id, "title": d.title, "date": d.date,
                       "author": d.author, "publisher": d.publisher, "format": "text",
                       "file_name": d.doc_id,
                       "pages": None, "length": len(d.text)}
                      for d in pipeline.store.documents.values()]
    assert {(d["date"], d["publisher"]) for d in listed} == {("Oct 31, 2025", "BAKTH")}
    for item in listed:
        response = client.get(f"/api/documents/{item['doc_id']}")
        assert response.status_code == 200
        document = pipeline.store.documents[item["doc_id"]]
        assert response.get_json() == {"doc_id": document.doc_id, "title": document.title,
                                        "date": document.date, "author": document.author,
                                        "publisher": document.publisher,
                                        "format": "text", "file_name": document.doc_id,
                                        "pages": None, "metadata": document.metadata,
                                        "text": document.text, "length": len(document.text),
                                        "page_starts": []}


def test_document_ids_may_contain_slashes_and_odd_characters(pipeline):
    documents = [Document("news/2025/a b&c.txt", "Text one.", "One", {"lang": "en"}),
                 Document("ünï/cödé.md", "Text two.", "Two")]
    client = fake_app(pipeline, documents=documents).test_client()
    assert [d["doc_id"] for d in client.get("/api/documents").get_json()] == \
        [d.doc_id for d in documents]
    body = client.get("/api/documents/news/2025/a%20b%26c.txt").get_json()
    assert body["doc_id"] == "news/2025/a b&c.txt" and body["metadata"] == {"lang": "en"}
    assert client.get("/api/documents/%C3%BCn%C3%AF/c%C3%B6d%C3%A9.md").status_code == 200
    assert client.get("/api/documents/news/2025").status_code == 404


TRAVERSALS = [
    "../corpus/article.txt",
    "../../../../etc/passwd",
    "%2e%2e%2fcorpus%2farticle.txt",
    "%2e%2e/%2e%2e/etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%252e%252e%252fetc%252fpasswd",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    str(CORPUS / "article.txt"),
    "corpus/article.txt",
    "./article.txt",
    "article.txt/",
    "article.txt%00",
    "..\\corpus\\article.txt",
    "C:\\Windows\\win.ini",
]


@pytest.mark.parametrize("doc_id", TRAVERSALS)
def test_path_traversal_is_404(client, doc_id):
    api = client.get(f"/api/documents/{doc_id}")
    assert error_of(api, 404)["code"] in ("not_found", "document_not_found")
    page = client.get(f"/documents/{doc_id}")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Vice Minister" not in page.get_data(as_text=True)


# -- headers --------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("get", "/"), ("get", "/?q=Who+is+the+minister%3F"), ("get", "/documents/article.txt"),
    ("get", "/static/style.css"), ("get", "/static/app.js"), ("get", "/api/health"),
    ("get", "/api/documents"), ("get", "/api/openapi.json"), ("get", "/api/nope"),
    ("get", "/nope"), ("post", "/api/ask"), ("put", "/api/ask"), ("get", "/api/ask"),
])
def test_security_headers_on_every_response(client, method, path):
    response = getattr(client, method)(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, path)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy


# -- the OpenAPI description ----------------------------------------------------------------

@pytest.fixture(scope="module")
def spec(app):
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    for name, schema in document["components"]["schemas"].items():
        check_schema_keywords(schema, document, name)
    return document


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_openapi_documents_every_api_route(app, spec):
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.rule == "/api" or rule.rule.startswith("/api/"):
            methods = {m.lower() for m in rule.methods} - {"head", "options"}
            routes.setdefault(openapi_path(rule.rule), set()).update(methods)
    documented = {path: set(item) for path, item in spec["paths"].items()}
    assert routes == documented
    assert spec["openapi"].startswith("3.")
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation["responses"], (path, method)
            assert "500" in operation["responses"]


def response_schema(spec, path: str, method: str, status: int) -> dict:
    responses = spec["paths"][path][method]["responses"]
    entry = responses.get(str(status)) or responses.get("default")
    assert entry, f"{method.upper()} {path} does not document status {status}"
    return entry["content"]["application/json"]["schema"]


def assert_matches(spec, path, method, response):
    schema = response_schema(spec, path, method, response.status_code)
    assert schema_errors(response.get_json(), schema, spec) == []


REAL_REQUESTS = [
    ("/api/ask", "post", {"json": {"question": QUESTION}}),
    ("/api/ask", "post", {"json": {"question": "What was China's lithium battery production "
                                               "in 2023?", "top_k": 10}}),
    ("/api/ask", "post", {"json": {"question": "Which football team won the 1998 cup?"}}),
    ("/api/ask", "post", {"json": {"question": ""}}),
    ("/api/ask", "post", {"json": {"question": QUESTION, "top_k": 0}}),
    ("/api/ask", "post", {"data": "{", "content_type": "application/json"}),
    ("/api/ask", "post", {"data": "question=x", "content_type": "text/plain"}),
    ("/api/ask", "post", {"data": "x" * 20000, "content_type": "application/json"}),
    ("/api/ask", "get", {"query_string": {"q": QUESTION, "top_k": "1"}}),
    ("/api/ask", "get", {"query_string": {"top_k": "1"}}),
    ("/api/health", "get", {}),
    ("/api/documents", "get", {}),
    ("/api/documents/{doc_id}", "get", {"doc_id": "article.txt"}),
    ("/api/documents/{doc_id}", "get", {"doc_id": "../etc/passwd"}),
    ("/api/openapi.json", "get", {}),
]


@pytest.mark.parametrize("path,method,kwargs", REAL_REQUESTS,
                         ids=[f"{m} {p} {str(k)[:30]}" for p, m, k in REAL_REQUESTS])
def test_real_responses_match_the_openapi_schemas(client, spec, path, method, kwargs):
    kwargs = dict(kwargs)
    url = path.replace("{doc_id}", kwargs.pop("doc_id", ""))
    response = getattr(client, method)(url, **kwargs)
    assert_matches(spec, path, method, response)


def test_wrong_method_responses_match_the_schema(client, spec):
    response = client.delete("/api/health")
    assert response.status_code == 405
    assert_matches(spec, "/api/health", "get", response)  # 405 is documented on every operation


def test_request_schema_agrees_with_the_api(client, spec):
    schema = spec["paths"]["/api/ask"]["post"]["requestBody"]["content"]["application/json"][
        "schema"]
    assert schema_errors({"question": QUESTION, "top_k": 3}, schema, spec) == []
    assert schema_errors({"question": QUESTION}, schema, spec) == []
    for body, _ in BAD_BODIES:
        if body.get("question") in ("   \n\t ", "?!", "who\x00is"):
            continue  # rules a JSON schema cannot express (documented in the description)
        assert schema_errors(body, schema, spec), body

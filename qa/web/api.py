"""The JSON API: /api/ask, /api/health, /api/documents, /api/openapi.json.

Every error is `{"error": {"code": str, "message": str}}` with a 4xx status for anything a
client can send; see qa/web/openapi.py for the description served at /api/openapi.json.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import BadRequest, NotFound, UnsupportedMediaType

from ..errors import BadQuestion, QAError
from ..pipeline import validate_question, validate_top_k
from .current import get_pipeline
from .openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api")

ASK_FIELDS = ("question", "top_k")
GET_ASK_PARAMS = ("q", "top_k")
_DIGITS = re.compile(r"[0-9]{1,6}")


def error_response(status: int, code: str, message: str):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def client_error(code: str, message: str, exc_class=BadRequest):
    """Abort with a 4xx whose JSON body carries `code` (see _error_code in __init__)."""
    exc = exc_class(message)
    exc.qa_code = code
    raise exc


@bp.route("/ask", methods=["GET", "POST"])
def ask():
    if request.method == "POST":
        question, top_k = _ask_from_json()
    else:
        question, top_k = _ask_from_query()
    return jsonify(answer_record(question, top_k))


def answer_record(question, top_k) -> dict:
    """Validate, ask the pipeline, return the answer record; BadRequest for bad input."""
    pipeline = get_pipeline()
    settings = pipeline.settings
    try:
        question = validate_question(question, settings.max_question_chars)
        question.encode("utf-8")  # lone surrogates ("\ud800" in JSON) cannot be answered
    except BadQuestion as exc:
        client_error("bad_question", str(exc))
    except UnicodeEncodeError:
        client_error("bad_question", "question is not valid Unicode text")
    if top_k is not None:
        try:
            top_k = validate_top_k(top_k, settings.max_top_k)
        except BadQuestion as exc:
            client_error("bad_top_k", str(exc))
    try:
        return pipeline.ask(question, top_k=top_k).to_dict()
    except BadQuestion as exc:
        client_error("bad_question", str(exc))
    except QAError as exc:  # e.g. the model could not run: not the client's fault
        raise RuntimeError(f"{exc.code}: {exc}") from exc


def _ask_from_json():
    if request.mimetype != "application/json":
        client_error("unsupported_media_type",
                     "send the question as JSON with Content-Type: application/json",
                     UnsupportedMediaType)
    raw = request.get_data(cache=False)  # 413 above MAX_CONTENT_LENGTH
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        message = str(exc) if not isinstance(exc, RecursionError) else "nested too deeply"
        client_error("malformed_json", f"the request body is not valid UTF-8 JSON: {message}")
    if not isinstance(body, dict):
        client_error("invalid_body", "the request body must be a JSON object such as "
                                     '{"question": "...", "top_k": 3}')
    unknown = sorted(set(body) - set(ASK_FIELDS))
    if unknown:
        client_error("unknown_field", f"unknown field(s) {', '.join(map(repr, unknown))}; "
                                      f"allowed: {', '.join(ASK_FIELDS)}")
    if "question" not in body:
        client_error("bad_question", "question is missing")
    top_k = body.get("top_k")
    if "top_k" in body and top_k is None:
        client_error("bad_top_k", "top_k must be an integer, or left out")
    return body["question"], top_k


def _ask_from_query():
    unknown = sorted(set(request.args) - set(GET_ASK_PARAMS))
    if unknown:
        client_error("unknown_field", f"unknown parameter(s) {', '.join(map(repr, unknown))}; "
                                      f"allowed: {', '.join(GET_ASK_PARAMS)}")
    for name in GET_ASK_PARAMS:
        if len(request.args.getlist(name)) > 1:
            client_error("bad_request", f"parameter {name!r} is given more than once")
    question = request.args.get("q")
    if question is None:
        client_error("bad_question", "question is missing: pass it as ?q=...")
    top_k = request.args.get("top_k")
    if top_k is not None:
        if not _DIGITS.fullmatch(top_k):
            client_error("bad_top_k", "top_k must be an integer from 1 to "
                                      f"{get_pipeline().settings.max_top_k}")
        top_k = int(top_k)
    return question, top_k


@bp.get("/health")
def health():
    store = get_pipeline().store
    manifest = store.manifest
    return jsonify({
        "status": "ok",
        "documents": len(store.documents),
        "passages": len(store.passages),
        "index": {"fingerprint": manifest.get("corpus_fingerprint"),
                  "built_at": manifest.get("built_at"),
                  "model": manifest.get("model")},
    })


@bp.get("/documents")
def documents():
    return jsonify([document_summary(d) for d in get_pipeline().store.documents.values()])


def document_summary(document) -> dict:
    """What /api/documents lists about a document."""
    return {"doc_id": document.doc_id, "title": document.title, "date": document.date,
            "author": document.author, "publisher": document.publisher,
            "format": document.format,
            "file_name": PurePosixPath(document.doc_id).name,
            "pages": len(document.pages) or None, "length": len(document.text)}


@bp.get("/documents/<path:doc_id>")
def document(doc_id: str):
    found = find_document(doc_id)
    return jsonify({**document_summary(found), "metadata": found.metadata,
                    "text": found.text, "page_starts": list(found.pages)})


def find_document(doc_id: str):
    """The loaded document with this id, else 404. Never touches the file system."""
    found = get_pipeline().store.documents.get(doc_id)
    if found is None:
        raise _not_found(doc_id)
    return found


def _not_found(doc_id: str) -> NotFound:
    exc = NotFound(f"no document with id {doc_id!r}; GET /api/documents lists them")
    exc.qa_code = "document_not_found"
    return exc


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(get_pipeline().settings))


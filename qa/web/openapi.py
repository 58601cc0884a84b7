"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

tests/test_api.py keeps it true: every /api route of the app must be described here, and real
responses must validate against these schemas.
"""

from __future__ import annotations

from .. import __version__


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _json(_ref("Error"), description)


NULLABLE_STRING = {"type": ["string", "null"]}
OFFSET = {"type": "integer", "minimum": 0,
          "description": "Offset in Unicode code points into the document text."}

PAGE = {"type": ["integer", "null"], "minimum": 1,
        "description": "1-based page of the start offset in a paged document (PDF), else null."}

FILE_FIELDS = {
    "format": {"type": "string", "enum": ["text", "markdown", "html", "pdf", "docx"],
               "description": "The format the text was extracted from."},
    "file_name": {"type": "string", "description": "The original file's name."},
    "pages": {"type": ["integer", "null"], "minimum": 1,
              "description": "Page count of a paged document (PDF), else null."},
}

DATE_AND_PUBLISHER = {
    "date": {**NULLABLE_STRING, "description": "From the metadata file, else from a dateline "
                                               "such as 'Oct 31, 2025 | BAKTH'."},
    "author": {**NULLABLE_STRING, "description": "Who wrote it: from the metadata file, else "
                                                 "the file's own (a PDF's or .docx's Author, "
                                                 "a page's byline, Markdown front matter)."},
    "publisher": {**NULLABLE_STRING, "description": "From the metadata file, else the site "
                                                    "name or the dateline's byline."},
}


def openapi_document(settings) -> dict:
    max_top_k = settings.max_top_k
    max_chars = settings.max_question_chars
    question_error = _error(
        "Bad request: missing, empty or over-long question; bad top_k; malformed JSON; "
        "a body that is not a JSON object; unknown fields or parameters.")
    schemas = {
        "AskRequest": {
            "type": "object",
            "required": ["question"],
            "additionalProperties": False,
            "properties": {
                "question": {"type": "string", "minLength": 1, "maxLength": max_chars,
                             "description": "The question; surrounding space is ignored. "
                                            "It must contain a letter or digit."},
                "top_k": {"type": "integer", "minimum": 1, "maximum": max_top_k,
                          "description": f"Evidence passages to return (default "
                                         f"{settings.top_k})."},
            },
        },
        "AnswerSpan": {
            "type": "object",
            "required": ["text", "doc_id", "start", "end", "page"],
            "additionalProperties": False,
            "description": "The extracted answer: text == document.text[start:end].",
            "properties": {"text": {"type": "string"}, "doc_id": {"type": "string"},
                           "start": OFFSET, "end": OFFSET, "page": PAGE},
        },
        "Alternative": {
            "type": "object",
            "required": ["text", "doc_id", "start", "end", "page", "confidence"],
            "additionalProperties": False,
            "description": "Another answer candidate: text == document.text[start:end].",
            "properties": {"text": {"type": "string"}, "doc_id": {"type": "string"},
                           "start": OFFSET, "end": OFFSET, "page": PAGE,
                           "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
        },
        "Citation": {
            "type": "object",
            "required": ["doc_id", "title", "section", "start", "end", "text", "score", "page"],
            "additionalProperties": False,
            "description": "A supporting sentence or passage: text == document.text[start:end].",
            "properties": {"doc_id": {"type": "string"}, "title": {"type": "string"},
                           "section": NULLABLE_STRING, "start": OFFSET, "end": OFFSET,
                           "text": {"type": "string"}, "score": {"type": "number"},
                           "page": PAGE},
        },
        "AnswerRecord": {
            "type": "object",
            "required": ["question", "answered", "reason", "caveat", "refused_by", "confidence",
                         "support", "answer", "evidence", "alternatives", "index", "took_ms",
                         "cached"],
            "additionalProperties": False,
            "description": "An answer with its evidence, or an abstention (answered false, "
                           "answer null, reason set, evidence = the closest passages).",
            "properties": {
                "question": {"type": "string"},
                "answered": {"type": "boolean"},
                "reason": {**NULLABLE_STRING,
                           "description": "Why no answer was given (null when answered)."},
                "caveat": {**NULLABLE_STRING,
                           "description": "When answered: what to check before trusting it "
                                          "(a year, number or name of the question that the "
                                          "answer's own sentence does not mention); else null."},
                "refused_by": {"enum": ["confidence", "constraint", "no_passage", None],
                               "description": "Why it was refused: the best span's confidence "
                                              "is below the threshold; the closest passages "
                                              "lack or contradict what the question names; no "
                                              "passage is close. Null when answered."},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1,
                               "description": "The calibrated probability that the best span "
                                              "is right (of the refused best span, when "
                                              "refused)."},
                "support": {"enum": ["well supported", "supported", "weakly supported",
                                     "not supported"],
                            "description": "The confidence in words, from the calibrated "
                                           "caution levels: at least the strict level's "
                                           "threshold, the balanced one's, the lenient one's, "
                                           "or below all three."},
                "answer": {"oneOf": [_ref("AnswerSpan"), {"type": "null"}]},
                "evidence": {"type": "array", "items": _ref("Citation")},
                "alternatives": {"type": "array", "items": _ref("Alternative")},
                "index": {"type": "object", "required": ["fingerprint"],
                          "additionalProperties": False,
                          "properties": {"fingerprint": {"type": "string"}}},
                "took_ms": {"type": "number", "minimum": 0},
                "cached": {"type": "boolean",
                           "description": "True when this is the stored answer to the same "
                                          "question asked earlier of the same index."},
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "documents", "passages", "index"],
            "additionalProperties": False,
            "properties": {
                "status": {"type": "string", "enum": ["ok"]},
                "documents": {"type": "integer", "minimum": 0},
                "passages": {"type": "integer", "minimum": 0},
                "index": {"type": "object", "required": ["fingerprint", "built_at", "model"],
                          "additionalProperties": False,
                          "properties": {"fingerprint": {"type": "string"},
                                         "built_at": {"type": "string",
                                                      "description": "UTC, ISO 8601"},
                                         "model": {"type": "string"}}},
            },
        },
        "DocumentSummary": {
            "type": "object",
            "required": ["doc_id", "title", "date", "author", "publisher", *FILE_FIELDS,
                         "length"],
            "additionalProperties": False,
            "properties": {"doc_id": {"type": "string"}, "title": {"type": "string"},
                           **DATE_AND_PUBLISHER, **FILE_FIELDS,
                           "length": {"type": "integer", "minimum": 0,
                                      "description": "Length of the text in code points."}},
        },
        "Document": {
            "type": "object",
            "required": ["doc_id", "title", "date", "author", "publisher", *FILE_FIELDS,
                         "metadata",
                         "text", "length", "page_starts"],
            "additionalProperties": False,
            "properties": {"doc_id": {"type": "string"}, "title": {"type": "string"},
                           **DATE_AND_PUBLISHER, **FILE_FIELDS,
                           "metadata": {"type": "object",
                                        "description": "From <file>.meta.json, if any."},
                           "text": {"type": "string",
                                    "description": "The text extracted from the file (for "
                                                   ".txt, its exact text): what offsets "
                                                   "index and answers are spans of."},
                           "length": {"type": "integer", "minimum": 0},
                           "page_starts": {"type": "array", "items": OFFSET,
                                           "description": "Offset where each page begins "
                                                          "(empty when not paged)."}},
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": False,
            "properties": {"error": {
                "type": "object", "required": ["code", "message"], "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "description":
                             "Machine-readable: bad_question, bad_top_k, malformed_json, "
                             "invalid_body, unknown_field, bad_request, not_found, "
                             "document_not_found, method_not_allowed, payload_too_large, "
                             "unsupported_media_type, internal_error."},
                    "message": {"type": "string", "description": "What is wrong, for people."},
                }}},
        },
    }
    common_errors = {
        "405": _error("Method not allowed (the Allow header lists the allowed ones)."),
        "500": _error("Unexpected server error (logged; no details are returned)."),
    }
    answer_ok = _json(_ref("AnswerRecord"), "The answer record.")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Document-grounded question answering",
            "version": __version__,
            "description": "Extractive answers with citations from the loaded documents, or "
                           "an abstention with the closest passages. All bodies are UTF-8 "
                           "JSON; all offsets count Unicode code points. Errors, including 404 "
                           "for unknown paths under /api, have the Error schema.",
        },
        "paths": {
            "/api/ask": {
                "post": {
                    "operationId": "askPost",
                    "summary": "Answer a question",
                    "requestBody": {"required": True, "content": {
                        "application/json": {"schema": _ref("AskRequest")}}},
                    "responses": {
                        "200": answer_ok,
                        "400": question_error,
                        "413": _error(f"Body larger than {settings.max_body_bytes} bytes."),
                        "415": _error("Content-Type is not application/json."),
                        **common_errors,
                    },
                },
                "get": {
                    "operationId": "askGet",
                    "summary": "Answer a question given in the query string",
                    "parameters": [
                        {"name": "q", "in": "query", "required": True,
                         "schema": {"type": "string", "minLength": 1, "maxLength": max_chars}},
                        {"name": "top_k", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 1, "maximum": max_top_k}},
                    ],
                    "responses": {"200": answer_ok, "400": question_error, **common_errors},
                },
            },
            "/api/health": {"get": {
                "operationId": "health",
                "summary": "Service and index status",
                "responses": {"200": _json(_ref("Health"), "Loaded and ready."),
                              **common_errors},
            }},
            "/api/documents": {"get": {
                "operationId": "listDocuments",
                "summary": "The loaded documents",
                "responses": {"200": _json({"type": "array", "items": _ref("DocumentSummary")},
                                           "Every loaded document."),
                              **common_errors},
            }},
            "/api/documents/{doc_id}": {"get": {
                "operationId": "getDocument",
                "summary": "One document with its full text",
                "parameters": [{"name": "doc_id", "in": "path", "required": True,
                                "description": "The document id as listed by /api/documents; "
                                               "it may contain '/'.",
                                "schema": {"type": "string"}}],
                "responses": {"200": _json(_ref("Document"), "The document."),
                              "404": _error("No loaded document has this id."),
                              **common_errors},
            }},
            "/api/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This description",
                "responses": {"200": {"description": "OpenAPI 3.1 document.",
                                      "content": {"application/json": {
                                          "schema": {"type": "object"}}}},
                              **common_errors},
            }},
        },
        "components": {"schemas": schemas},
    }

"""The web service: an application factory in the style of Flask's tutorial (flaskr).

`create_app(pipeline, settings)` returns a Flask app with two blueprints:

- `qa.web.api`   the JSON API under /api (ask, health, documents, openapi.json)
- `qa.web.pages` the HTML form at / and the document pages at /documents/<doc_id>

The web layer only translates HTTP into pipeline calls: it never reads corpus files and holds
no state besides the one loaded pipeline (app.extensions["qa"], swapped when the index is
rebuilt). Nothing happens at import time.
"""

from __future__ import annotations

import logging

from flask import Flask, request
from werkzeug.exceptions import HTTPException, InternalServerError

from ..config import Settings
from .current import EXTENSION, get_pipeline  # noqa: F401  (qa.web.get_pipeline)

logger = logging.getLogger(__name__)

# No inline scripts or styles anywhere: every script and style sheet is a file under /static.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def create_app(pipeline=None, settings: Settings | None = None,
               config: dict | None = None) -> Flask:
    """The web application for `pipeline` (loaded from `settings` when not given).

    `config` overrides app.config keys, e.g. QA_EXAMPLES (the example questions on the form).
    """
    if settings is None:
        settings = pipeline.settings if pipeline is not None else Settings.from_env()
    if pipeline is None:
        from ..pipeline import Pipeline
        pipeline = Pipeline.load(settings)

    app = Flask(__name__)
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        QA_EXAMPLES=None,  # None: derived from the loaded documents (see pages.example_questions)
        QA_MAX_LISTED_DOCUMENTS=12,
    )
    if config:
        app.config.from_mapping(config)
    app.json.ensure_ascii = False  # UTF-8 JSON, not \u escapes
    app.json.sort_keys = False     # keep the answer record in its documented order
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    # "//etc/passwd" must not be redirected to "/etc/passwd": unknown paths are plain 404s.
    app.url_map.merge_slashes = False
    from ..pipeline import LivePipeline
    app.extensions[EXTENSION] = pipeline if isinstance(pipeline, LivePipeline) \
        else LivePipeline(pipeline)

    from . import api, pages
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(Exception, _handle_unexpected_error)
    app.after_request(_add_security_headers)
    return app


def wants_json() -> bool:
    """API paths answer errors in JSON; every other path gets an HTML page."""
    return request.path == "/api" or request.path.startswith("/api/")


def _handle_http_error(exc: HTTPException):
    if wants_json():
        from .api import error_response
        response = error_response(exc.code or 500, _error_code(exc), exc.description or exc.name)
        # keep headers such as Allow (405)
        for key, value in exc.get_headers():
            if key.lower() != "content-type":
                response.headers[key] = value
        return response
    from .pages import error_page
    response = error_page(exc.code or 500, exc.name, exc.description)
    for key, value in exc.get_headers():
        if key.lower() != "content-type":
            response.headers[key] = value
    return response


def _handle_unexpected_error(exc: Exception):
    # Log with the traceback; the client gets a short message and no internals.
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return _handle_http_error(InternalServerError(
        "the server failed to handle this request; the error has been logged"))


def _error_code(exc: HTTPException) -> str:
    explicit = getattr(exc, "qa_code", None)
    if explicit:
        return explicit
    return {
        400: "bad_request", 404: "not_found", 405: "method_not_allowed",
        413: "payload_too_large", 415: "unsupported_media_type", 500: "internal_error",
    }.get(exc.code, exc.name.lower().replace(" ", "_"))


def _add_security_headers(response):
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response

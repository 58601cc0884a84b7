"""The loaded pipeline of the app serving the current request, for the blueprints (as flaskr's
db.py gives its views the database): create_app puts a LivePipeline in
app.extensions[EXTENSION], and each request reads the newest index from it once."""

from __future__ import annotations

from flask import current_app, g

EXTENSION = "qa"


def get_pipeline():
    """The pipeline of the current app (the newest loaded index, see LivePipeline).

    Fixed for the whole request, so one response never mixes two index versions.
    """
    if "qa_pipeline" not in g:
        g.qa_pipeline = current_app.extensions[EXTENSION].current()
    return g.qa_pipeline

"""HTML pages: the question form at / and the document pages at /documents/<doc_id>.

Everything is rendered on the server (the form uses method=get, so `/?q=...` is a shareable
answer page); static/app.js only shows a busy state while the next page loads. User text is
escaped by Jinja's autoescape; highlighted text is passed as separate escaped pieces.
"""

from __future__ import annotations

import bisect
from pathlib import PurePosixPath

from flask import Blueprint, current_app, render_template, request, url_for
from werkzeug.exceptions import BadRequest

from .current import get_pipeline
from .api import answer_record, find_document

bp = Blueprint("pages", __name__)

# Example questions for the bundled article, each shown only when the loaded documents contain
# its anchor phrase. Set app.config["QA_EXAMPLES"] (a list of questions) to choose others.
DEFAULT_EXAMPLES = (
    ("What energy density threshold did the battery controls cover?", "energy density"),
    ("Who is China's Vice Minister of Commerce?", "Vice Minister of Commerce"),
    ("How much lithium battery output did China report for 2024?", "lithium battery production"),
    ("What was China's lithium battery production in 2023?", "lithium battery production"),
)


def example_questions(pipeline) -> list[str]:
    """The default examples whose anchor phrase occurs in a loaded document."""
    texts = [d.text.casefold() for d in pipeline.store.documents.values()]
    return [question for question, anchor in DEFAULT_EXAMPLES
            if any(anchor.casefold() in text for text in texts)]


def _examples() -> list[str]:
    configured = current_app.config.get("QA_EXAMPLES")
    if configured is not None:
        return list(configured)
    cache = current_app.extensions.setdefault("qa.examples", {})
    if "derived" not in cache:
        cache["derived"] = example_questions(get_pipeline())
    return cache["derived"]


def _loaded_documents() -> dict:
    documents = list(get_pipeline().store.documents.values())
    shown = documents[:current_app.config["QA_MAX_LISTED_DOCUMENTS"]]
    return {"count": len(documents), "shown": shown, "more": len(documents) - len(shown)}


@bp.get("/")
def index():
    pipeline = get_pipeline()
    question = request.args.get("q", "")
    result, error, status = None, None, 200
    if question.strip():
        try:
            result = present(answer_record(question, None))
        except BadRequest as exc:
            error, status = exc.description, 400
    return render_template(
        "index.html", question=question, result=result, error=error,
        examples=_examples(), documents=_loaded_documents(),
        max_chars=pipeline.settings.max_question_chars), status


@bp.get("/documents/<path:doc_id>")
def document(doc_id: str):
    found = find_document(doc_id)  # 404 unless it is a loaded document
    span = _span_argument(len(found.text))
    sentences = [s for s in get_pipeline().store.sentences if s.doc_id == found.doc_id]
    supporting = next(((s.start, s.end) for s in sentences
                       if span and s.start <= span[0] and span[1] <= s.end), None)
    return render_template(
        "document.html", document=found, span=span, length=len(found.text),
        pieces=document_pieces(found.text, span, found.pages, sentence=supporting,
                               headings=[(s.start, s.end) for s in sentences
                                         if s.kind == "heading"],
                               indexed=[(s.start, s.end) for s in sentences]),
        file_name=PurePosixPath(found.doc_id).name,
        cited_page=found.page_at(span[0]) if span else None)


def document_pieces(text: str, span, pages, sentence=None, headings=(), indexed=None) -> list:
    """The text cut where its look changes: pieces {"text", "mark" (inside the highlighted
    span), "cite" (the first marked piece), "page" (the page that starts here, or None),
    "classes" (of an unmarked piece: "support" inside the supporting `sentence`, "heading"
    inside one of `headings`, "unindexed" for text outside every `indexed` range, such as a
    breadcrumb or a share bar the segmenter left out)}. Joined, the pieces' texts are the
    document text. Ranges are (start, end) offsets."""
    bounds = {0, len(text), *pages}
    for a, b in [*(([sentence] if sentence else [])), *headings, *(indexed or ())]:
        bounds.update((a, b))
    if span:  # the span stays one piece (split only where a page starts inside it)
        bounds = {x for x in bounds if not span[0] < x < span[1]} | set(span) | \
            {x for x in pages if span[0] < x < span[1]}
    cuts = sorted(x for x in bounds if 0 <= x <= len(text))
    starts = {offset: number for number, offset in enumerate(pages, 1)}
    headings, indexed_ranges = sorted(headings), sorted(indexed or ())

    def inside(ranges, a, b) -> bool:
        i = bisect.bisect_right(ranges, (a, len(text) + 1)) - 1
        return i >= 0 and ranges[i][0] <= a and b <= ranges[i][1]

    pieces = []
    for a, b in zip(cuts, cuts[1:] or [len(text)]):
        marked = bool(span) and span[0] <= a and b <= span[1]
        classes = []
        if not marked:
            if sentence and sentence[0] <= a and b <= sentence[1]:
                classes.append("support")
            if inside(headings, a, b):
                classes.append("heading")
            if indexed is not None and text[a:b].strip() and not inside(indexed_ranges, a, b):
                classes.append("unindexed")
        pieces.append({"text": text[a:b], "mark": marked, "page": starts.get(a),
                       "cite": marked and a == span[0], "classes": " ".join(classes)})
    for offset in sorted(starts):  # pages starting at the very end (blank last pages)
        if offset == len(text) and text:
            pieces.append({"text": "", "mark": False, "cite": False, "page": starts[offset],
                           "classes": ""})
    return pieces


def _span_argument(length: int):
    """(start, end) from ?start=&end= when both are valid offsets with start < end."""
    start, end = request.args.get("start", ""), request.args.get("end", "")
    if not (start.isdigit() and end.isdigit() and len(start) < 12 and len(end) < 12):
        return None
    start, end = int(start), int(end)
    return (start, end) if 0 <= start < end <= length else None


def document_link(doc_id: str, start: int, end: int) -> str:
    return url_for("pages.document", doc_id=doc_id, start=start, end=end, _anchor="cite")


def present(record: dict) -> dict:
    """What the page shows for an answer record (all text still unescaped)."""
    passages = [{**cite, "link": document_link(cite["doc_id"], cite["start"], cite["end"])}
                for cite in record["evidence"]]
    view = {"record": record, "answered": record["answered"], "reason": record["reason"],
            "caveat": record.get("caveat"),
            "confidence": round(100 * record["confidence"]), "took_ms": record["took_ms"],
            "support_label": record["support"], "cached": record["cached"],
            "has_candidate": bool(record["alternatives"]), "passages": passages}
    if not record["answered"] or record["answer"] is None:
        view["answered"] = False
        return view
    span = record["answer"]
    support = _supporting_text(span, record["evidence"])
    a, b = span["start"] - support["start"], span["end"] - support["start"]
    view.update({
        "answer": span,
        "support": support,
        "support_pieces": (support["text"][:a], support["text"][a:b], support["text"][b:]),
        "link": document_link(span["doc_id"], span["start"], span["end"]),
        "alternatives": [{**alt, "link": document_link(alt["doc_id"], alt["start"], alt["end"])}
                         for alt in record["alternatives"]
                         if (alt["doc_id"], alt["start"], alt["end"])
                         != (span["doc_id"], span["start"], span["end"])],
    })
    return view


def _supporting_text(span: dict, evidence: list[dict]) -> dict:
    """The cited sentence that holds the answer: the first evidence item containing it, else
    the store's sentence around it, else the answer's own line of the document."""
    for cite in evidence:
        if (cite["doc_id"] == span["doc_id"] and cite["start"] <= span["start"]
                and span["end"] <= cite["end"]):
            return cite
    store = get_pipeline().store
    document = store.documents[span["doc_id"]]
    for sentence in store.sentences:
        if (sentence.doc_id == span["doc_id"] and sentence.start <= span["start"]
                and span["end"] <= sentence.end):
            return {"doc_id": sentence.doc_id, "title": document.title,
                    "section": sentence.section, "start": sentence.start,
                    "end": sentence.end, "text": sentence.text}
    text = document.text
    start = text.rfind("\n", 0, span["start"]) + 1
    end = text.find("\n", span["end"])
    end = len(text) if end < 0 else end
    return {"doc_id": document.doc_id, "title": document.title, "section": None,
            "start": start, "end": end, "text": text[start:end]}


def error_page(status: int, name: str, description: str | None):
    html = render_template("error.html", status=status, name=name, description=description)
    return current_app.response_class(html, status=status, mimetype="text/html")

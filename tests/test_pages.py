"""The HTML pages, rendered on the server: the form, answers at /?q=, escaping, documents."""

from __future__ import annotations

import html
import re

import pytest
from markupsafe import escape

from conftest_web import app, client, fake_app  # noqa: F401
from qa.types import Answer, Citation, Document, Span

QUESTION = "Who is China's Vice Minister of Commerce?"
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'


def page(client, path, status=200, **kwargs) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def element_html(body: str, element_id: str) -> str:
    """The inner HTML of the element with this id (our templates do not nest its tag)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', body, re.S)
    assert match, f"no element #{element_id}"
    return match.group(2)


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def only_our_script(body: str) -> bool:
    return re.findall(r"<script\b[^>]*>", body) == [
        '<script src="/static/app.js" defer></script>'[:-len("</script>")]]


def test_form_renders(client, pipeline):
    body = page(client, "/")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in body
    form = re.search(r"<form\b[^>]*>", body).group(0)
    assert 'method="get"' in form and 'action="/"' in form
    assert re.search(r'<input[^>]*\bname="q"', body)
    assert re.search(r"<button[^>]*type=\"submit\"", body)
    assert 'id="result"' not in body
    assert only_our_script(body)
    # the loaded documents are named, with links to them
    assert "Searching 1 document" in body
    for document in pipeline.store.documents.values():
        assert html.escape(document.title, quote=True) in body or document.title in body
        assert f'href="/documents/{document.doc_id}"' in body


def test_examples_link_to_server_rendered_answers(client):
    body = page(client, "/")
    links = re.findall(r'<li><a href="(/\?q=[^"]+)">', body)
    assert len(links) == 4
    for link in links[:1]:
        assert 'id="result"' in page(client, html.unescape(link))


def test_examples_can_be_configured(pipeline):
    client = fake_app(pipeline, config={"QA_EXAMPLES": ["What is <b>this</b>?"]}).test_client()
    body = page(client, "/")
    assert "What is &lt;b&gt;this&lt;/b&gt;?" in body and "Vice Minister" not in body


def test_question_in_the_url_renders_the_answer(client, pipeline):
    record = client.post("/api/ask", json={"question": QUESTION}).get_json()
    body = page(client, "/", query_string={"q": QUESTION})
    assert f'value="{escape(QUESTION)}"' in body
    if not record["answered"]:
        assert "Not found in the documents" in body
        return
    span = record["answer"]
    assert text_of(element_html(body, "answer")) == span["text"]
    support = element_html(body, "support")
    marked = re.findall(r"<mark>(.*?)</mark>", support, re.S)
    assert [text_of(m) for m in marked] == [span["text"]]
    # the supporting sentence is the document text around the answer, verbatim
    document = pipeline.store.documents[span["doc_id"]].text
    assert text_of(support) in document
    link = html.unescape(re.search(r'<a id="cite-link" href="([^"]+)"', body).group(1))
    assert link == f"/documents/{span['doc_id']}?start={span['start']}&end={span['end']}#cite"
    citation = text_of(element_html(body, "cite-link"))
    assert f"characters {span['start']}–{span['end']}" in citation
    assert pipeline.store.documents[span["doc_id"]].title in citation


def abstention(pipeline):
    """An abstention record built from real passages (the reader decides when it abstains)."""
    passages = pipeline.store.passages[:2]

    def ask(question, top_k=None):
        evidence = [Citation(p.doc_id, pipeline.store.documents[p.doc_id].title, p.section,
                             p.start, p.end, p.text, 0.5) for p in passages]
        return Answer(question=question, answered=False, reason="no sentence <i>says</i> so",
                      confidence=0.1, answer=None, evidence=evidence, alternatives=[],
                      fingerprint=pipeline.store.fingerprint)
    return ask, passages


def test_no_answer_shows_reason_and_closest_passages(pipeline):
    ask, passages = abstention(pipeline)
    client = fake_app(pipeline, ask=ask).test_client()
    body = page(client, "/", query_string={"q": "What was the output in 2023?"})
    assert "Not found in the documents" in body
    assert text_of(element_html(body, "reason")) == "no sentence <i>says</i> so"
    assert "<i>says</i>" not in body
    for passage in passages:
        link = f"/documents/{passage.doc_id}?start={passage.start}&amp;end={passage.end}#cite"
        assert f'href="{link}"' in body
    assert 'id="answer"' not in body


def test_answer_outside_its_evidence_still_shows_a_marked_sentence(pipeline):
    sentence = next(s for s in pipeline.store.sentences if "Li Chenggang" in s.text)
    start = sentence.start + sentence.text.index("Li Chenggang")

    def ask(question, top_k=None):
        span = Span("Li Chenggang", sentence.doc_id, start, start + 12, 0.9, sentence.index)
        return Answer(question, True, None, 0.9, span, [], [], pipeline.store.fingerprint)
    body = page(fake_app(pipeline, ask=ask).test_client(), "/", query_string={"q": QUESTION})
    assert text_of(element_html(body, "support")) == sentence.text
    assert "<mark>Li Chenggang</mark>" in body


@pytest.mark.parametrize("payload", [SCRIPT, ATTRIBUTE, "</title><script>alert(1)</script>",
                                     "{{ 7*7 }} ' \" & <b>bold</b>"])
def test_user_text_is_escaped(client, payload):
    body = page(client, "/", query_string={"q": payload})
    assert payload not in body
    assert "<img" not in body and "<b>bold" not in body
    assert only_our_script(body)
    assert str(escape(payload)) in body  # shown as text in the question box


def test_escaping_of_document_text_title_and_answer(pipeline):
    text = 'Intro.\n\nThe <script>alert(1)</script> tag & "quotes" are text.\nEnd.'
    evil = Document("evil/<doc>.txt", text, '<img src=x onerror=alert(1)> title',
                    date="<img src=x>", publisher="<b>pub</b>")
    start = text.index("<script>")

    def ask(question, top_k=None):
        span = Span("<script>alert(1)</script>", evil.doc_id, start, start + 25, 0.9, 0)
        cite = Citation(evil.doc_id, evil.title, "<b>sec</b>", 8, text.index("\nEnd"),
                        text[8:text.index("\nEnd")], 0.9)
        return Answer(question, True, None, 0.9, span, [cite], [], "f")
    client = fake_app(pipeline, documents=[evil], ask=ask).test_client()
    for body in (page(client, "/", query_string={"q": "what tag?"}),
                 page(client, "/documents/evil/%3Cdoc%3E.txt",
                      query_string={"start": start, "end": start + 25})):
        assert "<script>alert" not in body and "<img" not in body and "<b>sec" not in body
        assert "<b>pub" not in body
        assert only_our_script(body)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_bad_questions_render_the_form_with_a_message(client):
    body = page(client, "/", status=400, query_string={"q": "x" * 501})
    assert "the limit is 500" in text_of(element_html(body, "error"))
    assert '<form' in body
    body = page(client, "/", query_string={"q": "   "})
    assert 'id="error"' not in body and 'id="result"' not in body


def test_document_page_highlights_the_cited_span(client, pipeline):
    document = next(iter(pipeline.store.documents.values()))
    sentence = pipeline.store.sentences[3]
    body = page(client, f"/documents/{document.doc_id}",
                query_string={"start": sentence.start, "end": sentence.end})
    assert html.unescape(element_html(body, "cite")) == sentence.text
    assert body.count("<mark") == 1
    article = element_html(body, "doc-text")
    assert html.unescape(re.sub(r"</?(mark|span)[^>]*>", "", article)) == document.text
    assert "\n" in article  # line breaks are kept (and shown by white-space: pre-wrap)
    css = client.get("/static/style.css").get_data(as_text=True)
    assert re.search(r"\.doc-text\s*{[^}]*white-space:\s*pre-wrap", css)


def test_document_page_and_list_show_date_and_publisher(client):
    for body in (page(client, "/documents/article.txt"), page(client, "/")):
        assert "BAKTH · Oct 31, 2025 · article.txt" in body


@pytest.mark.parametrize("query", [{}, {"start": "5"}, {"start": "10", "end": "5"},
                                   {"start": "0", "end": "99999999"}, {"start": "-1", "end": "4"},
                                   {"start": "a", "end": "b"}, {"start": "3", "end": "3"},
                                   {"start": "9" * 400, "end": "9" * 401}])
def test_document_page_ignores_invalid_spans(client, query):
    body = page(client, "/documents/article.txt", query_string=query)
    assert "<mark" not in body


def test_unknown_document_page_is_404(client):
    body = page(client, "/documents/nope.txt", status=404)
    assert "nope.txt" in body and "<form" not in body


def test_static_files_are_served(client):
    for name, kind in (("style.css", "text/css"), ("app.js", "text/javascript"),
                       ("favicon.svg", "image/svg+xml")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and response.mimetype == kind
        response.close()


def test_an_answer_with_a_caveat_shows_what_to_check(pipeline):
    sentence = next(s for s in pipeline.store.sentences if "Li Chenggang" in s.text)
    start = sentence.start + sentence.text.index("Li Chenggang")
    caveats = {"Who led it in 2024?": "the sentence it is taken from does not mention <b>2024</b>",
               QUESTION: None}

    def ask(question, top_k=None):
        span = Span("Li Chenggang", sentence.doc_id, start, start + 12, 0.9, sentence.index)
        return Answer(question, True, None, 0.9, span, [], [], pipeline.store.fingerprint,
                      caveat=caveats[question])
    client = fake_app(pipeline, ask=ask).test_client()
    body = page(client, "/", query_string={"q": "Who led it in 2024?"})
    assert text_of(element_html(body, "caveat")) == \
        "Note: the sentence it is taken from does not mention <b>2024</b>."
    assert "<b>2024</b>" not in body
    assert 'id="caveat"' not in page(client, "/", query_string={"q": QUESTION})

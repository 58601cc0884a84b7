"""Web pages, PDFs, Word files and Markdown: the text extracted from each, the furniture left
out, sections and pages, the same answers as from corpus/article.txt, and offsets that always
index the extracted text."""

from __future__ import annotations

import importlib.util
import io
import re
import shutil

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from qa.documents.formats import extract, one_line
from qa.documents.formats.pdf import _joint
from qa.documents.loading import read_corpus
from qa.documents.segmentation import make_passages, split_sentences

from conftest import CORPUS, ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "formats"
ARTICLE = (CORPUS / "article.txt").read_text(encoding="utf-8")
TITLE = "China and U.S. Reach Consensus, Suspends Lithium Battery Trade Controls for One Year"
SECTIONS = ["01 Sino-U.S. Economic Consensus", "02 The Original Control Policy",
            "03 China’s Industrial Advantages", "04 America’s Supply Chain Vulnerabilities",
            "05 Impact of The Suspension"]
# Page furniture each fixture carries around the article; none of it may be indexed or cited
FURNITURE = {
    "article.html": ["Home", "About us", "Contact", "Previous Post", "Next Post",
                     "Related posts", "sodium-ion line", "All rights reserved", "Privacy policy"],
    "article.pdf": ["Lithium battery news", "Page 1 of 2", "Page 2 of 2"],
    "article.docx": ["Lithium battery news", "Previous Post"],
}
# The article's body without its breadcrumb and "Previous Post" lines, whitespace collapsed
BODY = one_line(ARTICLE.replace("Home>News >", "").replace("Previous Post Previous Next Post",
                                                             ""))


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_fixtures_module():
    spec = importlib.util.spec_from_file_location("make_fixtures",
                                                  ROOT / "scripts" / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the fixtures ---------------------------------------------------------------------------------

def test_the_script_writes_the_committed_fixtures(tmp_path):
    written = make_fixtures_module().write_all(tmp_path)
    for path in written:
        committed = ROOT / "tests" / "fixtures" / path.relative_to(tmp_path)
        assert committed.is_file(), f"{committed} is not committed"
        if committed.parent.name == "formats":
            assert extract(path.suffix, path.read_bytes()) == \
                extract(committed.suffix, committed.read_bytes()), path.name
    assert sum(p.stat().st_size for p in written) < 100_000  # small


# -- what each format gives --------------------------------------------------------------------

@pytest.mark.parametrize("name", ["article.html", "article.pdf", "article.docx"])
def test_the_article_is_extracted_whole_and_without_its_furniture(name):
    extracted = extract(name[name.rindex("."):], fixture(name))
    # the web page shows its dateline as metadata (<time>), which gives the date instead
    expected = BODY.replace("Oct 31, 2025 |BAKTH ", "") if name == "article.html" else BODY
    assert one_line(extracted.text) == expected
    for furniture in FURNITURE[name]:
        assert furniture not in extracted.text, furniture
    assert extracted.title == TITLE
    assert extracted.dropped, "the build line says what was dropped"


def test_web_page_sections_title_and_date_come_from_its_markup():
    extracted = extract(".html", fixture("article.html"))
    assert extracted.format == "html" and extracted.pages == ()
    assert [s.name for s in extracted.sections] == [TITLE] + SECTIONS
    assert all(extracted.text[s.start:s.end] == s.name for s in extracted.sections)
    assert (extracted.date, extracted.publisher) == ("2025-10-31", "BAKTH")
    assert any("Previous Post" in d for d in extracted.dropped)


def test_pdf_records_its_two_pages_and_mends_hyphenation():
    extracted = extract(".pdf", fixture("article.pdf"))
    assert extracted.format == "pdf" and len(extracted.pages) == 2
    assert extracted.pages[0] == 0 and 0 < extracted.pages[1] < len(extracted.text)
    second = extracted.text[extracted.pages[1]:]
    assert second.startswith("And these batteries were exactly what the control covered.")
    assert extracted.sections is None  # headings are found from the lines, as for .txt
    # the typesetter hyphenated words at line ends; none of those breaks is left
    assert not re.search(r"[a-z]-\s", extracted.text)
    assert any("line-end hyphen" in d for d in extracted.dropped)
    assert any("on every page" in d for d in extracted.dropped)


@pytest.mark.parametrize("before,after,joint", [
    ("the manufac-", "turing equipment", ("", True)),        # a hyphenation: mended
    ("lithium-", "ion batteries", ("-", False)),             # a compound, seen elsewhere
    ("mid-to-", "high-end vehicles", ("-", False)),          # a part has its own hyphen
    ("Sino-", "U.S. relations", ("-", False)),               # a capital after it
    ("in 2024-", "25 it rose", ("-", False)),                # not letters
    ("an ordinary line", "goes on", (" ", None)),
])
def test_line_end_hyphens_are_mended_only_where_they_split_a_word(before, after, joint):
    words = {"manufacturing", "lithium-ion"}
    assert _joint(before, after, words) == joint


def test_docx_heading_styles_become_sections_and_headers_are_left_out():
    extracted = extract(".docx", fixture("article.docx"))
    assert extracted.format == "docx"
    assert [(s.name, s.level) for s in extracted.sections] == \
        [(TITLE, 0)] + [(name, 1) for name in SECTIONS]
    # the paragraphs are the article's, character for character
    paragraphs = [p for p in re.split(r"\n\s*\n", ARTICLE) if p.strip()][1:-1]
    assert extracted.text == "\n\n".join(p.strip() for p in paragraphs)
    assert extracted.dropped == ("header 'BAKTH — Lithium battery news'",
                                 "footer 'Previous Post | Next Post'")


def test_markdown_headings_are_sections_and_markup_is_stripped():
    source = (b"---\ntitle: Given Title\ndate: 2025-10-31\n---\n# The *Report*\n\n"
              b"Output rose **40%** in [2024](http://x.example) to `940 GWh`,\nsaid Li.\n\n"
              b"## Tables\n\n| Year | Output |\n|---|---|\n| 2023 | 887 GWh |\n\n"
              b"![chart](chart.png)\n\n<div>raw html</div>\n\n- one item\n- two *items*\n")
    extracted = extract(".md", source)
    assert extracted.text == ("The Report\n\nOutput rose 40% in 2024 to 940 GWh, said Li.\n\n"
                              "Tables\n\nYear | Output\n\n2023 | 887 GWh\n\none item\n\n"
                              "two items")
    assert [(s.name, s.level) for s in extracted.sections] == [("The Report", 1), ("Tables", 2)]
    assert (extracted.title, extracted.date) == ("Given Title", "2025-10-31")
    assert "front matter" in extracted.dropped
    assert any("chart.png" in d for d in extracted.dropped)


def test_text_files_are_read_exactly():
    raw = "Title\r\n\r\nA line.\xa0 Two  spaces.\r\n".encode()
    extracted = extract(".txt", raw)
    assert extracted.text == raw.decode() and extracted.sections is None


# -- the same answers, from every format --------------------------------------------------------

QUESTIONS = [
    "Who is China's Vice Minister of Commerce?",
    "What energy density threshold did the battery controls cover?",
    "How much lithium battery output did China report for 2024?",
    "Which country replaced the United States as the largest export market for Chinese "
    "lithium-ion batteries?",
    "What was the year-on-year increase in the number of lithium-ion battery exports?",
    "Who is the director of the Energy, Economy, and Security Project?",
]


@pytest.fixture(scope="module")
def format_pipelines(tmp_path_factory, embedder, pipeline):
    """One index per fixture (the session index holds corpus/article.txt)."""
    from qa.config import Settings
    from qa.pipeline import Pipeline
    from qa.store.indexing import build_index
    out = {}
    for name in FURNITURE:
        corpus = tmp_path_factory.mktemp(name.replace(".", "-")) / "corpus"
        corpus.mkdir()
        shutil.copy(FIXTURES / name, corpus / name)
        index = corpus.parent / "index"
        build_index(corpus, index, embedder)
        settings = Settings.from_env(environ={}, corpus_dir=corpus, index_dir=index)
        out[name] = Pipeline.load(settings, embedder=embedder)
    return out


@pytest.mark.parametrize("question", QUESTIONS)
def test_each_format_gives_the_answer_the_text_file_gives(format_pipelines, pipeline,
                                                          question):
    from conftest_web import verbatim_problems
    expected = pipeline.ask(question).to_dict()
    for name, format_pipeline in format_pipelines.items():
        record = format_pipeline.ask(question).to_dict()
        assert record["answered"] == expected["answered"], name
        if expected["answered"]:
            assert record["answer"]["text"] == expected["answer"]["text"], name
        else:  # the same spans, refused alike
            assert [a["text"] for a in record["alternatives"]] == \
                [a["text"] for a in expected["alternatives"]], name
        assert verbatim_problems(record, format_pipeline.store.documents) == [], name
        cited = ([record["answer"]["text"]] if record["answer"] else []) + \
            [c["text"] for c in record["evidence"]] + [a["text"] for a in record["alternatives"]]
        for furniture in FURNITURE[name]:
            assert not any(furniture in text for text in cited), (name, furniture)


def test_furniture_is_never_indexed(format_pipelines):
    for name, format_pipeline in format_pipelines.items():
        store = format_pipeline.store
        for furniture in FURNITURE[name]:
            assert not any(furniture in s.text for s in store.sentences), (name, furniture)
        # and what the index serves is the extracted text the offsets index
        document = store.documents[name]
        assert all(document.text[s.start:s.end] == s.text for s in store.sentences)


def test_a_pdf_citation_names_its_page(format_pipelines):
    from qa.cli import format_answer
    pdf = format_pipelines["article.pdf"]
    answer = pdf.ask("Who is the director of the Energy, Economy, and Security Project?")
    document = pdf.store.documents["article.pdf"]
    assert answer.answered and answer.answer.page == 2 == document.page_at(answer.answer.start)
    assert answer.evidence[0].page == 2
    assert all(c.page == document.page_at(c.start) for c in answer.evidence)
    assert ", p. 2, article.pdf characters" in format_answer(answer, pdf)
    first = pdf.ask("Who is China's Vice Minister of Commerce?")
    assert first.answer.page == 1
    html_answer = format_pipelines["article.html"].ask("Who is China's Vice Minister of "
                                                       "Commerce?")
    assert html_answer.answer.page is None and html_answer.to_dict()["answer"]["page"] is None


def test_the_api_and_the_document_page_serve_the_extracted_text(format_pipelines):
    from qa.web import create_app
    pdf = format_pipelines["article.pdf"]
    client = create_app(pdf).test_client()
    document = pdf.store.documents["article.pdf"]
    body = client.get("/api/documents/article.pdf").get_json()
    assert body["text"] == document.text and body["format"] == "pdf"
    assert body["pages"] == 2 and body["page_starts"] == list(document.pages)
    assert body["file_name"] == "article.pdf"
    listed = client.get("/api/documents").get_json()
    assert listed[0]["format"] == "pdf" and listed[0]["pages"] == 2
    start = document.pages[1] + 4
    page = client.get(f"/documents/article.pdf?start={start}&end={start + 10}")
    html_text = page.get_data(as_text=True)
    assert 'id="page-1"' in html_text and 'id="page-2"' in html_text
    assert "extracted from PDF, 2 pages (article.pdf)" in html_text
    assert "highlighted: p. 2, characters" in html_text
    article = re.search(r'<article class="doc-text" id="doc-text">(.*?)</article>', html_text,
                        re.S).group(1)
    import html
    assert html.unescape(re.sub(r"<[^>]+>", "", article)) == document.text
    answer_page = client.get("/", query_string={"q": "Who is the director of the Energy, "
                                                     "Economy, and Security Project?"})
    assert ", p. 2, characters" in answer_page.get_data(as_text=True)


# -- the verbatim property, for every format -------------------------------------------------------

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789éü’%", min_size=1,
                max_size=12)
# a sentence starts with a capital: "0." or "1." at the start of a line is a Markdown list
SENTENCE = st.tuples(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8),
                     st.lists(WORDS, max_size=13)).map(lambda t: " ".join([t[0], *t[1]]) + ".")
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=4).map(" ".join)
HEADING = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=9),
                   min_size=1, max_size=5).map(lambda w: " ".join(w).capitalize())
BLOCKS = st.lists(st.tuples(st.booleans(), HEADING, PARAGRAPH), min_size=1, max_size=6)


def render(suffix: str, blocks) -> bytes:
    """A file of this format holding headings and paragraphs."""
    import html as html_lib
    if suffix == ".md":
        return "\n\n".join(f"## {h}\n\n{p}" if with_heading else p
                           for with_heading, h, p in blocks).encode()
    if suffix == ".html":
        body = "".join((f"<h2>{html_lib.escape(h)}</h2>" if with_heading else "")
                       + f"<p>{html_lib.escape(p)}</p>" for with_heading, h, p in blocks)
        return (f"<html><head><title>Doc</title></head><body><nav><a href='/'>Home</a></nav>"
                f"<article>{body}</article></body></html>").encode()
    if suffix == ".docx":
        import docx
        document = docx.Document()
        for with_heading, h, p in blocks:
            if with_heading:
                document.add_heading(h, level=2)
            document.add_paragraph(p)
        buffer = io.BytesIO()
        document.save(buffer)
        return buffer.getvalue()
    if suffix == ".pdf":
        module = make_fixtures_module()
        from reportlab.pdfgen import canvas
        buffer = io.BytesIO()
        pdf = canvas.Canvas(buffer, invariant=1)
        y = 800
        for with_heading, h, p in blocks:
            lines = ([h] if with_heading else []) + module.wrap(p, "Helvetica", 10, 450)
            for line in lines:
                if y < 60:
                    pdf.showPage()
                    y = 800
                pdf.setFont("Helvetica", 10)
                pdf.drawString(60, y, line)
                y -= 12
            y -= 8
        pdf.showPage()
        pdf.save()
        return buffer.getvalue()
    return "\n\n".join(f"{h}\n\n{p}" if with_heading else p
                       for with_heading, h, p in blocks).encode()


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html", ".docx", ".pdf"])
@hsettings(max_examples=25, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture,
                                  HealthCheck.too_slow])
@given(blocks=BLOCKS)
def test_offsets_always_index_the_extracted_text(tmp_path, suffix, blocks):
    path = tmp_path / f"doc{suffix}"
    path.write_bytes(render(suffix, blocks))
    load = read_corpus(tmp_path)
    if load.skipped:  # a page trafilatura finds no main text in is refused, never misread
        assert suffix == ".html" and "no main text" in load.skipped[0].reason
        return
    (document,) = load.documents
    text = document.text
    sentences = split_sentences(document)
    for sentence in sentences:
        assert text[sentence.start:sentence.end] == sentence.text
    for passage in make_passages(document, sentences):
        assert text[passage.start:passage.end] == passage.text
    for section in document.sections or ():
        assert text[section.start:section.end] == section.name
    assert list(document.pages) == sorted(document.pages)
    assert all(0 <= p <= len(text) for p in document.pages)
    if suffix == ".html" or any("on every page" in d for d in load.dropped[document.doc_id]):
        return  # main-text extraction and running-line removal may leave some words out
    # every word of every paragraph is there, in order
    flat = one_line(text)
    position = 0
    for _, _, paragraph in blocks:
        for word in paragraph.split():
            found = flat.find(word.rstrip("."), position)
            assert found >= 0, (word, flat)
            position = found


# -- what web pages and file metadata used to lose ---------------------------------------------

PAGES = ROOT / "tests" / "fixtures" / "pages"


def test_a_web_page_keeps_its_byline_as_text_and_its_author_as_metadata():
    extracted = extract(".html", (PAGES / "ferry.html").read_bytes())
    assert "By Maria Okafor, November 14, 2025" in extracted.text.splitlines()
    assert (extracted.author, extracted.publisher, extracted.date) == \
        ("Maria Okafor", "Harbour Herald", "2025-11-14")
    assert [s.name for s in extracted.sections][1:] == ["1. Timetable", "2. Fares"]
    for furniture in ("Home", "Sport", "Share", "All rights reserved"):
        assert furniture not in extracted.text


def test_a_manual_keeps_the_headings_and_terms_its_extractor_dropped():
    """DocBook's HTML: numbered, anchored chapter headings and <dt> terms, which the
    main-text extractor takes for a table of contents; the table of contents stays out."""
    extracted = extract(".html", (PAGES / "manual.html").read_bytes())
    names = [s.name for s in extracted.sections]
    assert names[1:] == ["Chapter 1. Introduction", "Chapter 2. Users and Groups"]
    assert all(extracted.text[s.start:s.end] == s.name for s in extracted.sections)
    lines = [line for line in extracted.text.splitlines() if line]
    # each term right before its definition, where the page has it
    for term, definition in (("postgres", "The database server"), ("backup", "Backup and")):
        assert lines[lines.index(term) + 1].startswith(definition)
    assert "1. Introduction" not in lines and "Table of Contents" not in extracted.text


def test_author_is_read_as_the_author_in_every_format(tmp_path):
    import docx
    document = docx.Document()
    document.core_properties.author = "Greenvale Cooperative"
    document.add_paragraph("The cooperative sold 1,200 tonnes of apples in 2024.")
    buffer = io.BytesIO()
    document.save(buffer)
    word = extract(".docx", buffer.getvalue())
    assert (word.author, word.publisher) == ("Greenvale Cooperative", None)
    assert extract(".pdf", fixture("article.pdf")).author == "BAKTH"  # its Info /Author
    markdown = extract(".md", b"---\nauthor: Ann Lee\npublisher: The Gazette\n---\n# T\n\nText.\n")
    assert (markdown.author, markdown.publisher) == ("Ann Lee", "The Gazette")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "apples.docx").write_bytes(buffer.getvalue())
    (corpus / "notes.txt").write_text("Apples. They grow.\n", encoding="utf-8")
    (corpus / "notes.txt.meta.json").write_text('{"author": "Bo Chen"}', encoding="utf-8")
    documents = {d.doc_id: d for d in read_corpus(corpus).documents}
    assert documents["apples.docx"].author == "Greenvale Cooperative"
    assert documents["apples.docx"].publisher is None
    assert documents["notes.txt"].author == "Bo Chen"


def test_a_byline_is_found_by_a_question_about_the_author(tmp_path, embedder):
    from qa.config import Settings
    from qa.documents.segmentation import BYLINE_MEANING, search_text
    from qa.pipeline import Pipeline
    from qa.store.indexing import build_index
    assert search_text("By Maria Okafor, November 14, 2025", None, "Maria Okafor").endswith(
        f"({BYLINE_MEANING})")
    assert search_text("By 2030 the ferry will run daily.", None, "Maria Okafor") == \
        "By 2030 the ferry will run daily."
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(PAGES / "ferry.html", corpus / "ferry.html")
    build_index(corpus, index, embedder)
    settings = Settings.from_env(environ={}, corpus_dir=corpus, index_dir=index)
    answer = Pipeline.load(settings, embedder=embedder).ask("Who wrote the ferry article?")
    assert answer.evidence[0].text == "By Maria Okafor, November 14, 2025"
    best = answer.answer if answer.answered else answer.alternatives[0]
    assert best.text == "Maria Okafor"  # answered, or the span shown first when refused

"""Corpus loading: which files, their ids, metadata, fingerprints and clear errors."""

import json
from pathlib import Path

import pytest

from qa.documents.loading import corpus_fingerprint, load_corpus, read_corpus
from qa.errors import CorpusError


def test_recursive_txt_and_md_with_relative_ids(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("Alpha text.", encoding="utf-8")
    (tmp_path / "sub" / "b.md").write_text("# Beta\n\nBeta text.", encoding="utf-8")
    (tmp_path / "ignored.csv").write_text("x", encoding="utf-8")
    docs = {d.doc_id: d for d in load_corpus(tmp_path)}
    assert set(docs) == {"a.txt", "sub/b.md"}
    assert docs["sub/b.md"].title == "Beta"


def test_metadata_file_sets_title_without_touching_text(tmp_path):
    (tmp_path / "a.txt").write_text("Home>News >\n\nBody text.", encoding="utf-8")
    (tmp_path / "a.txt.meta.json").write_text(json.dumps({"title": "Given", "publisher": "P"}))
    (doc,) = load_corpus(tmp_path)
    assert doc.title == "Given" and doc.metadata["publisher"] == "P"
    assert doc.text == "Home>News >\n\nBody text."


def test_derived_title_skips_boilerplate(tmp_path):
    (tmp_path / "a.txt").write_text("Home>News >\n\nReal Title\n\nBody.", encoding="utf-8")
    assert load_corpus(tmp_path)[0].title == "Real Title"


def test_a_text_that_starts_with_a_paragraph_is_named_by_its_file(tmp_path):
    """Its first sentence is no title: the name of the file says what the text is about (and
    the reader's constraint check counts the title's words as stated by every passage)."""
    (tmp_path / "Super_Bowl_50.txt").write_text(
        "The Panthers stayed at the San Jose Marriott.\n\nThe Broncos practiced at Stanford.",
        encoding="utf-8")
    (tmp_path / "b.txt").write_text("# A Markdown Title\n\nBody.", encoding="utf-8")
    titles = {d.doc_id: d.title for d in load_corpus(tmp_path)}
    assert titles == {"Super_Bowl_50.txt": "Super Bowl 50", "b.txt": "A Markdown Title"}


def test_date_and_publisher_come_from_the_dateline_unless_the_metadata_says(tmp_path):
    text = "Home>News >\n\nA Headline\n\nOct 31, 2025 |BAKTH\n\nBody text."
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "b.txt").write_text(text, encoding="utf-8")
    (tmp_path / "b.txt.meta.json").write_text(json.dumps({"publisher": "Given"}))
    (tmp_path / "c.txt").write_text("A Headline\n\nNo dateline, 2025 here.", encoding="utf-8")
    docs = {d.doc_id: d for d in load_corpus(tmp_path)}
    assert (docs["a.txt"].date, docs["a.txt"].publisher) == ("Oct 31, 2025", "BAKTH")
    assert (docs["b.txt"].date, docs["b.txt"].publisher) == ("Oct 31, 2025", "Given")
    assert (docs["c.txt"].date, docs["c.txt"].publisher) == (None, None)
    assert docs["a.txt"].text == text


def test_article_is_bundled_byte_for_byte():
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    shared = root.parent / "shared" / "article.txt"
    if not shared.exists():
        pytest.skip("../shared/article.txt is not beside this checkout")
    assert (root / "corpus" / "article.txt").read_bytes() == shared.read_bytes()


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match=r"no \.txt, \.md, \.html/\.htm, \.pdf or \.docx"):
        load_corpus(tmp_path)
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CorpusError, match="not UTF-8"):
        load_corpus(tmp_path)


def test_fingerprint_follows_content(tmp_path):
    (tmp_path / "a.txt").write_text("One.", encoding="utf-8")
    first = corpus_fingerprint(tmp_path)
    assert corpus_fingerprint(tmp_path) == first
    (tmp_path / "a.txt").write_text("Two.", encoding="utf-8")
    assert corpus_fingerprint(tmp_path) != first


# -- other formats, and files that cannot be indexed --------------------------------------------

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NAVIGATION_ONLY = (b"<html><head><title>Site</title></head><body><header><nav><ul>"
                   b"<li><a href='/'>Home</a></li><li><a href='/news'>News</a></li>"
                   b"<li><a href='/about'>About us</a></li></ul></nav></header>"
                   b"<div class='menu'><a href='/a'>Products</a> <a href='/b'>Services</a> "
                   b"<a href='/c'>Careers</a></div><footer><p>&copy; 2025 Example Corp.</p>"
                   b"<a href='/privacy'>Privacy</a></footer></body></html>")


def bad_corpus(tmp_path, name, data):
    """A corpus of one good text file and one bad file; the reasons by path."""
    (tmp_path / "good.txt").write_text("A good document. It is indexed.", encoding="utf-8")
    (tmp_path / name).write_bytes(data)
    return tmp_path


def reasons(corpus, **kwargs) -> dict:
    load = read_corpus(corpus, **kwargs)
    assert [d.doc_id for d in load.documents] == ["good.txt"], "the rest is still indexed"
    return {s.path: s.reason for s in load.skipped}


@pytest.mark.parametrize("name,data,reason", [
    ("secret.pdf", (FIXTURES / "unreadable" / "encrypted.pdf").read_bytes(),
     "is encrypted: save a copy without the password"),
    ("scan.pdf", (FIXTURES / "unreadable" / "scanned.pdf").read_bytes(),
     "has no extractable text; OCR it first"),
    ("cut.pdf", (FIXTURES / "formats" / "article.pdf").read_bytes()[:4000],
     "is truncated or corrupt"),
    ("fake.pdf", b"<html>not a pdf</html>", "is not a PDF (no %PDF header)"),
    ("cut.docx", (FIXTURES / "formats" / "article.docx").read_bytes()[:5000],
     "is not a valid .docx"),
    ("notes.rtf", b"{\\rtf1 hello}", "unknown format '.rtf'"),
    ("README", b"no suffix", "unknown format '(no suffix)'"),
    ("menu.html", NAVIGATION_ONLY, "has no main text (only navigation, menus or footers)"),
    ("latin1.txt", "café".encode("latin-1"), "is not UTF-8 text"),
])
def test_a_file_that_cannot_be_indexed_gets_one_line_naming_why(tmp_path, name, data, reason):
    found = reasons(bad_corpus(tmp_path, name, data))
    assert list(found) == [name]
    assert reason in found[name] and "\n" not in found[name]


def test_a_file_over_the_size_limit_is_skipped(tmp_path):
    corpus = bad_corpus(tmp_path, "big.txt", b"Big words. " * 2000)
    found = reasons(corpus, max_file_bytes=10_000)
    assert "over the 0.01 MB limit" in found["big.txt"] and "--max-file-mb" in found["big.txt"]
    assert len(read_corpus(corpus, max_file_bytes=None).documents) == 2


def test_links_that_leave_the_corpus_folder_are_refused_unread(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("The vault code is 1234.", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("A good document.", encoding="utf-8")
    (corpus / "inner.txt").symlink_to(corpus / "good.txt")  # stays inside: read
    (corpus / "leak.txt").symlink_to(outside / "secret.txt")
    (corpus / "folder").symlink_to(outside, target_is_directory=True)
    (corpus / "good.txt.meta.json").write_text("{}", encoding="utf-8")
    load = read_corpus(corpus)
    assert sorted(d.doc_id for d in load.documents) == ["good.txt", "inner.txt"]
    found = {s.path: s.reason for s in load.skipped}
    assert set(found) == {"leak.txt", "folder"}
    assert all("outside the corpus folder: refused" in r for r in found.values())
    assert all("vault" not in d.text for d in load.documents)
    before = corpus_fingerprint(corpus)
    (outside / "secret.txt").write_text("Changed outside.", encoding="utf-8")
    assert corpus_fingerprint(corpus) == before  # not even hashed


def test_companion_files_are_neither_documents_nor_reported(tmp_path):
    (tmp_path / "a.txt").write_text("Text.", encoding="utf-8")
    (tmp_path / "gold.jsonl").write_text("{}\n", encoding="utf-8")
    (tmp_path / ".hidden.pdf").write_bytes(b"junk")
    load = read_corpus(tmp_path)
    assert [d.doc_id for d in load.documents] == ["a.txt"] and load.skipped == []


def test_a_bad_metadata_file_skips_only_its_document(tmp_path):
    (tmp_path / "a.txt").write_text("Text.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Other.", encoding="utf-8")
    (tmp_path / "b.txt.meta.json").write_text("{broken", encoding="utf-8")
    load = read_corpus(tmp_path)
    assert [d.doc_id for d in load.documents] == ["a.txt"]
    assert "b.txt.meta.json is not valid JSON" in load.skipped[0].reason


def test_every_format_is_loaded_from_subfolders(tmp_path):
    import shutil
    (tmp_path / "web").mkdir()
    (tmp_path / "reports" / "2025").mkdir(parents=True)
    shutil.copy(FIXTURES / "formats" / "article.html", tmp_path / "web" / "page.htm")
    shutil.copy(FIXTURES / "formats" / "article.pdf", tmp_path / "reports" / "2025" / "a.pdf")
    shutil.copy(FIXTURES / "formats" / "article.docx", tmp_path / "reports" / "a.docx")
    (tmp_path / "notes.md").write_text("# Notes\n\nSome *notes*.", encoding="utf-8")
    (tmp_path / "a.txt").write_text("Text.", encoding="utf-8")
    docs = {d.doc_id: d for d in load_corpus(tmp_path)}
    assert {k: d.format for k, d in docs.items()} == {
        "a.txt": "text", "notes.md": "markdown", "reports/2025/a.pdf": "pdf",
        "reports/a.docx": "docx", "web/page.htm": "html"}
    assert docs["notes.md"].text == "Notes\n\nSome notes."
    assert len(docs["reports/2025/a.pdf"].pages) == 2
    assert docs["web/page.htm"].date == "2025-10-31"
    assert docs["reports/a.docx"].date == "Oct 31, 2025"  # from its dateline, as for .txt

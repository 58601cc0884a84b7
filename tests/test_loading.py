"""Corpus loading: which files, their ids, metadata, fingerprints and clear errors."""

import json

import pytest

from qa.errors import CorpusError
from qa.loading import corpus_fingerprint, load_corpus


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
    with pytest.raises(CorpusError, match="no .txt or .md"):
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

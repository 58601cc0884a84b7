"""Rebuilding: only changed texts are embedded again, the ONNX exports are kept when nothing
they depend on changed, `build` reports per document and per skipped file, and --strict."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest

from qa.store.document_store import FORMAT_VERSION, DocumentStore
from qa.store.embedding_cache import CACHE_FILE, EmbeddingCache
from qa.store.indexing import build_index

from conftest import ROOT

DOCS = {
    "a.txt": "Alpha Report\n\nThe plant in Leipzig makes 40 GWh a year. It opened in 2021. "
             "Its owner is Kofi Berg.\n",
    "b.txt": "Beta Report\n\nThe line in Porto makes 12 GWh a year. It opened in 2019. "
             "Its owner is Rosa Sato.\n",
}


class CountingEmbedder:
    """The session embedder, counting the texts it embeds."""

    def __init__(self, embedder):
        self.inner, self.texts = embedder, []
        self.name, self.dimension, self.identity = embedder.name, embedder.dimension, \
            embedder.identity

    def encode(self, texts, batch_size=64):
        self.texts += list(texts)
        return self.inner.encode(texts)

    def query_encoder_export(self, check_texts):
        return self.inner.query_encoder_export(check_texts)


@pytest.fixture()
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_changed_file_is_the_only_one_embedded_again(corpus, tmp_path, embedder):
    index = tmp_path / "index"
    counting = CountingEmbedder(embedder)
    first = build_index(corpus, index, counting)
    assert first.embedded == first.texts == len(counting.texts) > 0
    counting.texts.clear()
    (corpus / "b.txt").write_text(DOCS["b.txt"].replace("Rosa Sato", "Ines Haddad"),
                                  encoding="utf-8")
    second = build_index(corpus, index, counting)
    store = DocumentStore.load(index, corpus)
    changed = [s for s in store.sentences if "Ines Haddad" in s.text]
    changed_passages = [p for p in store.passages if "Ines Haddad" in p.text]
    # the changed sentence and the passages holding it, nothing of a.txt
    assert sorted(counting.texts) == sorted([s.text for s in changed]
                                            + [p.text for p in changed_passages])
    assert second.embedded == len(counting.texts) == 1 + len(changed_passages)
    assert not any("Leipzig" in t for t in counting.texts)
    # the reused vectors are the ones a full build computes
    fresh = tmp_path / "fresh"
    build_index(corpus, fresh, embedder)
    again = DocumentStore.load(fresh, corpus)
    n = store.sentence_index.ntotal
    assert np.allclose(store.sentence_index.reconstruct_n(0, n),
                       again.sentence_index.reconstruct_n(0, n), atol=1e-5)
    counting.texts.clear()
    third = build_index(corpus, index, counting)
    assert third.embedded == 0 and counting.texts == []
    assert set(third.reused_exports) == {"query_encoder.onnx", "reader.onnx"}


def test_a_cache_of_another_model_or_a_damaged_one_is_not_used(corpus, tmp_path, embedder):
    index = tmp_path / "index"
    build_index(corpus, index, embedder)
    assert EmbeddingCache.load(index, embedder.identity).vectors
    assert EmbeddingCache.load(index, "another-model:0").vectors == {}
    (index / CACHE_FILE).write_bytes(b"not a cache")
    assert EmbeddingCache.load(index, embedder.identity).vectors == {}
    report = build_index(corpus, index, embedder)
    assert report.embedded == report.texts  # all embedded again; the index is fine
    DocumentStore.load(index, corpus)
    assert CACHE_FILE not in json.loads((index / "manifest.json").read_text())["files"]


def test_an_index_of_the_previous_format_is_refused_with_the_fix(corpus, tmp_path, embedder):
    from qa.errors import IndexCorrupt
    index = tmp_path / "index"
    build_index(corpus, index, embedder)
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION - 1
    (index / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorrupt, match="rebuild it with `python -m qa build`"):
        DocumentStore.load(index)


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_elsewhere():
    from qa.progress import Progress
    plain, out = io.StringIO(), io.StringIO()
    progress = Progress(stream=plain, out=out, bar=False)
    assert list(progress.steps(range(3), "reading")) == [0, 1, 2]
    progress.note("a.txt: text, ...")
    counter = progress.count("embedding", 10)
    counter.update(10)
    counter.close()
    assert plain.getvalue() == "reading: 3/3\nembedding: 10/10\n"
    assert out.getvalue() == "a.txt: text, ...\n"
    bar = io.StringIO()
    progress = Progress(stream=bar, out=io.StringIO(), bar=True)
    assert list(progress.steps(range(3), "reading")) == [0, 1, 2]
    assert "reading" in bar.getvalue() and "\r" in bar.getvalue()  # drawn by tqdm
    assert Progress(stream=io.StringIO()).bar is False  # not a terminal


def test_build_prints_a_line_per_document_and_per_skipped_file(run, tmp_path):
    corpus = tmp_path / "c"
    shutil.copytree(ROOT / "tests" / "fixtures" / "formats", corpus)
    shutil.copy(ROOT / "corpus" / "article.txt", corpus / "article.txt")
    shutil.copy(ROOT / "tests" / "fixtures" / "unreadable" / "scanned.pdf", corpus / "scan.pdf")
    (corpus / "notes.rtf").write_bytes(b"{\\rtf1}")
    code, out, err = run("build", "--corpus", str(corpus), "--index", str(tmp_path / "i"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("article.docx: docx, 8,713 characters, 50 sentences, "
                               "5 sections, no pages; dropped: header 'BAKTH")
    assert lines[2].startswith("article.pdf: pdf, ") and ", 2 pages; dropped: " in lines[2]
    assert "'Page 1 of 2' on every page" in lines[2]
    assert lines[3].startswith("article.txt: text, ") and "'Home>News >'" in lines[3]
    assert lines[4].startswith("indexed 4 documents, ") and "2 file(s) skipped" in lines[4]
    assert "skipped notes.rtf: unknown format '.rtf'" in err
    assert "skipped scan.pdf: has no extractable text; OCR it first" in err
    assert "Traceback" not in err
    code, out, err = run("build", "--strict", "--corpus", str(corpus), "--index",
                         str(tmp_path / "j"))
    assert code == 2 and not (tmp_path / "j").exists()
    assert err.splitlines()[-1].startswith("error: 2 file(s) could not be indexed")
    code, _, err = run("build", "--max-file-mb", "0.01", "--corpus", str(corpus), "--index",
                       str(tmp_path / "k"))
    assert code == 0 and "skipped article.docx: is 0.0415 MB, over the 0.01 MB limit" in err


def test_the_reader_precision_setting_picks_the_export_and_a_change_rebuilds(corpus, tmp_path,
                                                                             embedder):
    from qa.config import Settings
    from qa.pipeline import Pipeline
    index = tmp_path / "index"
    floating = Settings.from_env(environ={"QA_READER_PRECISION": "float32"},
                                 corpus_dir=corpus, index_dir=index)
    assert floating.reader_int8 is False
    Pipeline.load(floating, embedder=embedder, rebuild=True)
    manifest = json.loads((index / "manifest.json").read_text())
    assert manifest["reader"]["int8"] is False
    quantized = Settings.from_env(environ={"QA_READER_PRECISION": "int8"},
                                  corpus_dir=corpus, index_dir=index)
    pipeline = Pipeline.load(quantized, embedder=embedder, rebuild=True)  # rebuilt: int8 now
    manifest = json.loads((index / "manifest.json").read_text())
    assert manifest["reader"]["int8"] is True and manifest["reader"]["int8_recipe"]
    assert pipeline.ask("Where is the plant that opened in 2021?").answer.text == "Leipzig"
    with pytest.raises(ValueError, match="QA_READER_PRECISION='fp16'.*int8 or float32"):
        Settings.from_env(environ={"QA_READER_PRECISION": "fp16"})

"""Build an index folder from a corpus folder: load, segment, embed, store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import logging

from .calibration import Calibration
from .embedding import QUERY_ENCODER_FILE, Embedder
from .errors import ModelUnavailable
from .loading import load_corpus
from .segmentation import make_passages, split_sentences
from .reader_model import READER_ONNX, reader_export
from .store import DocumentStore

logger = logging.getLogger(__name__)


@dataclass
class BuildReport:
    documents: int
    sentences: int
    passages: int
    fingerprint: str
    index_dir: Path
    seconds: float


def segment_corpus(documents) -> tuple[list, list]:
    """Sentences and passages of all documents, numbered across the corpus."""
    sentences, passages = [], []
    for document in documents:
        doc_sentences = split_sentences(document, first_index=len(sentences))
        passages.extend(make_passages(document, doc_sentences, first_index=len(sentences)))
        sentences.extend(doc_sentences)
    return sentences, passages


def build_store(corpus_dir: Path, embedder: Embedder) -> DocumentStore:
    """An in-memory store for every document of `corpus_dir`."""
    documents = load_corpus(corpus_dir)
    sentences, passages = segment_corpus(documents)
    sentence_vectors = embedder.encode([s.text for s in sentences])
    passage_vectors = embedder.encode([p.text for p in passages])
    return DocumentStore.build(documents, sentences, passages, sentence_vectors,
                               passage_vectors, embedder.name, corpus_dir)


def build_index(corpus_dir: Path, index_dir: Path, embedder: Embedder,
                query_encoder: bool = True) -> BuildReport:
    """Build the store for `corpus_dir` and write it atomically to `index_dir`, with the ONNX
    query encoder and span reader, each checked against torch (skipped, with a warning, if ONNX
    is unavailable; `query_encoder=False` skips both)."""
    import time
    started = time.perf_counter()
    store = build_store(corpus_dir, embedder)
    extra_files = {}
    if query_encoder:
        try:
            path, diff = embedder.query_encoder_export([s.text for s in store.sentences])
            extra_files[QUERY_ENCODER_FILE] = path
            store.manifest["query_encoder"] = {"file": QUERY_ENCODER_FILE, "runtime": "onnx",
                                               "max_abs_diff_vs_torch": diff}
        except (ImportError, ModelUnavailable) as exc:
            logger.warning("no ONNX query encoder (%s): questions will use torch", exc)
        try:
            record = reader_export([p.text for p in store.passages[:8]],
                                   int8=Calibration.load().int8)
            extra_files[READER_ONNX] = record.pop("path")
            store.manifest["reader"] = {"file": READER_ONNX, "runtime": "onnx", **record}
        except (ImportError, ModelUnavailable) as exc:
            logger.warning("no ONNX reader (%s): reading will use torch", exc)
    store.save(index_dir, extra_files=extra_files)
    counts = store.manifest["counts"]
    return BuildReport(counts["documents"], counts["sentences"], counts["passages"],
                       store.fingerprint, Path(index_dir), time.perf_counter() - started)

"""Build an index folder from a corpus folder: load, segment, embed, store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .embedding import Embedder
from .loading import load_corpus
from .segmentation import make_passages, split_sentences
from .store import DocumentStore


@dataclass
class BuildReport:
    documents: int
    sentences: int
    passages: int
    fingerprint: str
    index_dir: Path
    seconds: float


def build_store(corpus_dir: Path, embedder: Embedder) -> DocumentStore:
    """An in-memory store for every document of `corpus_dir`."""
    documents = load_corpus(corpus_dir)
    sentences, passages = [], []
    for document in documents:
        doc_sentences = split_sentences(document, first_index=len(sentences))
        passages.extend(make_passages(document, doc_sentences, first_index=len(sentences)))
        sentences.extend(doc_sentences)
    sentence_vectors = embedder.encode([s.text for s in sentences])
    passage_vectors = embedder.encode([p.text for p in passages])
    return DocumentStore.build(documents, sentences, passages, sentence_vectors,
                               passage_vectors, embedder.name, corpus_dir)


def build_index(corpus_dir: Path, index_dir: Path, embedder: Embedder) -> BuildReport:
    """Build the store for `corpus_dir` and write it atomically to `index_dir`."""
    import time
    started = time.perf_counter()
    store = build_store(corpus_dir, embedder)
    store.save(index_dir)
    counts = store.manifest["counts"]
    return BuildReport(counts["documents"], counts["sentences"], counts["passages"],
                       store.fingerprint, Path(index_dir), time.perf_counter() - started)

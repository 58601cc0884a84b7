"""The question-answering pipeline: question -> retrieval -> reading -> answer record.

`Pipeline.load(settings)` is the one loaded object the CLI and the web service share.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path

from .config import Settings
from .errors import BadQuestion, IndexCorrupt, IndexMissing, IndexStale, QAError
from .models.embedding import Embedder, load_query_encoder
from .models.reader_model import load_reader_model, reader_is_current, served_int8
from .reader.confidence import READ_DEPTH, Calibration
from .reader.reading import Reader
from .retrieval import HybridRetriever
from .store.backends import open_store, store_signature
from .store.document_store import DocumentStore
from .types import Answer


def validate_question(question, max_chars: int) -> str:
    """The question stripped of surrounding space; BadQuestion names what is wrong."""
    if question is None:
        raise BadQuestion("question is missing")
    if not isinstance(question, str):
        raise BadQuestion(f"question must be a string, not {type(question).__name__}")
    if "\x00" in question:
        raise BadQuestion("question contains a null byte")
    if any("\ud800" <= ch <= "\udfff" for ch in question):
        raise BadQuestion("question is not valid Unicode (it holds a lone surrogate)")
    question = question.strip()
    if not question:
        raise BadQuestion("question is empty")
    if len(question) > max_chars:
        raise BadQuestion(f"question is {len(question)} characters long; the limit is {max_chars}")
    if not any(ch.isalnum() for ch in question):
        raise BadQuestion("question has no words in it")
    return question


def validate_top_k(top_k, maximum: int) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, int):
        raise BadQuestion(f"top_k must be an integer from 1 to {maximum}")
    if not 1 <= top_k <= maximum:
        raise BadQuestion(f"top_k must be from 1 to {maximum}, not {top_k}")
    return top_k


def cite_pages(answer: Answer, documents: dict) -> Answer:
    """The answer with the page of each span and citation set, for documents with pages."""
    for item in [answer.answer, *answer.alternatives, *answer.evidence]:
        if item is not None:
            item.page = documents[item.doc_id].page_at(item.start)
    return answer


class Pipeline:
    """Answers questions from one loaded index."""

    def __init__(self, store: DocumentStore, embedder, settings: Settings, reader_model=None,
                 calibration: Calibration | None = None):
        """`store`: a DocumentStore or a QdrantStore (the same interface); `embedder` is
        anything with `encode_query(text) -> unit vector` (Embedder, or the ONNX query
        encoder); `reader_model` defaults to the index folder's ONNX reader and
        `calibration` to the one shipped with the reader's weights."""
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.retriever = HybridRetriever(store)
        self.reader = Reader(store, reader_model or load_reader_model(
                                 settings.index_dir, settings.model_threads or 0),
                             calibration or Calibration.load(),
                             min_confidence=settings.min_confidence, caution=settings.caution)
        # Answers to repeated questions. It lives and dies with this pipeline, so a rebuilt
        # index (a new Pipeline) never serves an answer of the old one.
        self._cache: OrderedDict[tuple, Answer] = OrderedDict()
        self._cache_lock = threading.Lock()

    @classmethod
    def load(cls, settings: Settings, embedder: Embedder | None = None,
             rebuild: bool = False) -> "Pipeline":
        """Load the index of `settings`; with `rebuild`, (re)build it first when missing, stale
        or corrupt. Questions are embedded by `embedder` if given, else by the index's ONNX
        query encoder (torch when the index has none)."""
        corpus_dir = settings.corpus_dir if rebuild else None
        query_embedder = embedder
        try:  # the store first: a missing or stale index is reported before the model loads
            store = open_store(settings, corpus_dir)
            if rebuild and not reader_is_current(store.manifest,
                                                 int8=served_int8(settings.reader_int8)):
                raise IndexStale("the reader was retrained (or its precision changed) since "
                                 "the index was built")
        except (IndexMissing, IndexStale, IndexCorrupt):
            if not rebuild:
                raise
            from .store.indexing import build_index
            embedder = embedder or Embedder(settings.model_path)
            build_index(settings.corpus_dir, settings.index_dir, embedder,
                        max_file_bytes=settings.max_file_bytes, int8=settings.reader_int8,
                        settings=settings)
            store = open_store(settings, settings.corpus_dir)
        return cls(store, query_embedder or load_query_encoder(settings.index_dir,
                                                                settings.model_path), settings)

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        """The answer record for one question (validated first)."""
        started = time.perf_counter()
        question = validate_question(question, self.settings.max_question_chars)
        top_k = validate_top_k(self.settings.top_k if top_k is None else top_k,
                               self.settings.max_top_k)
        key = (question, top_k)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is not None:
            return dataclasses.replace(cached, took_ms=(time.perf_counter() - started) * 1000)
        vector = self.embedder.encode_query(question)
        retrieved = self.retriever.retrieve(vector, question, k=max(READ_DEPTH, top_k))
        answer = cite_pages(self.reader.read(question, vector, retrieved, top_k=top_k),
                            self.store.documents)
        answer.took_ms = (time.perf_counter() - started) * 1000
        if self.settings.cache_size > 0:
            with self._cache_lock:
                self._cache[key] = answer
                while len(self._cache) > self.settings.cache_size:
                    self._cache.popitem(last=False)
        return dataclasses.replace(answer)

    @property
    def index_dir(self) -> Path:
        return Path(self.settings.index_dir)


logger = logging.getLogger(__name__)


class LivePipeline:
    """The serving pipeline, swapped for a new one when its index folder is rebuilt (or, with
    QA_STORE=qdrant, when a build moves the collection alias).

    `current()` costs one stat of the manifest (one alias lookup on Qdrant) at most every
    `check_every` seconds. A rebuild
    (written beside the old index, then renamed in) is loaded in a background thread while
    requests keep using the old pipeline; then one reference assignment swaps them. An index
    that fails to load (stale, corrupt, mid-swap) is logged and the old one keeps serving.
    """

    def __init__(self, pipeline: Pipeline, check_every: float = 1.0):
        self._pipeline = pipeline
        self.check_every = check_every
        self._signature = self._manifest_signature()
        self._checked = time.monotonic()
        self._reloading = threading.Lock()

    @property
    def settings(self) -> Settings:
        return self._pipeline.settings

    def current(self) -> Pipeline:
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            self._checked = now
            signature = self._manifest_signature()
            if signature is not None and signature != self._signature \
                    and self._reloading.acquire(blocking=False):
                threading.Thread(target=self._reload, args=(signature,), daemon=True,
                                 name="qa-index-reload").start()
        return self._pipeline

    def _reload(self, signature) -> None:
        try:
            old = self._pipeline
            fresh = Pipeline.load(old.settings, embedder=old.embedder)
            self._pipeline = fresh
            self._signature = signature
            logger.info("loaded the rebuilt index %s (fingerprint %s)", old.index_dir,
                        fresh.store.fingerprint)
        except QAError as exc:
            logger.warning("kept the loaded index: the rebuilt one did not load (%s)", exc)
        finally:
            self._reloading.release()

    def _manifest_signature(self):
        """The index folder's manifest identity, or the collection Qdrant's alias points at."""
        return store_signature(self._pipeline.settings)

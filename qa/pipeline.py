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
from .text import counted
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


def index_needs_build(settings: Settings) -> str | None:
    """Why the index of `settings` must be (re)built before serving (missing, stale, corrupt,
    or built with other reader weights), or None when it is current."""
    try:
        require_current_reader(open_store(settings, settings.corpus_dir), settings)
    except (IndexMissing, IndexStale, IndexCorrupt) as exc:
        return str(exc).split(":")[0]
    return None


def require_current_reader(store, settings: Settings) -> None:
    """IndexStale unless the store's index was built with the served reader and precision."""
    if not reader_is_current(store.manifest, int8=served_int8(settings.reader_int8)):
        raise IndexStale("the reader was retrained (or its precision changed) since the index "
                         "was built")


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
                             min_confidence=settings.min_confidence, caution=settings.caution,
                             early_exit=settings.early_exit)
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
            if rebuild:
                require_current_reader(store, settings)
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
            return dataclasses.replace(cached, took_ms=(time.perf_counter() - started) * 1000,
                                       cached=True)
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


REMOTE_CHECK_SECONDS = 1.0  # how often a server-side store (Qdrant's alias) is asked


class LivePipeline:
    """The serving pipeline, swapped for a new one when its index folder is rebuilt (or, with
    QA_STORE=qdrant, when a build moves the collection alias).

    `current()` checks the store on every call: a stat of the index manifest (microseconds),
    or with Qdrant the alias, at most once a second (`REMOTE_CHECK_SECONDS`: a network call). A
    rebuild is written beside the old index and renamed in (or built into a new collection and
    the alias moved), so a change means a complete new index: the first request that sees it
    loads it while the others wait, and every request from then on is answered from it. An
    index that fails to load (stale, corrupt) is logged once and the old one keeps serving
    until the store changes again.
    """

    def __init__(self, pipeline: Pipeline):
        self._pipeline = pipeline
        self._signature = self._manifest_signature()
        self._refused = None  # the signature of a rebuilt index that did not load
        self._reloading = threading.Lock()
        self._checked = time.monotonic()

    @property
    def settings(self) -> Settings:
        return self._pipeline.settings

    def current(self) -> Pipeline:
        if self.settings.store != "files":
            now = time.monotonic()
            if now - self._checked < REMOTE_CHECK_SECONDS:
                return self._pipeline
            self._checked = now
        signature = self._manifest_signature()
        if signature is not None and signature not in (self._signature, self._refused):
            with self._reloading:  # one load; requests arriving meanwhile wait for it
                if signature not in (self._signature, self._refused):
                    self._reload(signature)
        return self._pipeline

    def _reload(self, signature) -> None:
        old = self._pipeline
        try:
            fresh = Pipeline.load(old.settings, embedder=old.embedder)
        except QAError as exc:
            self._refused = signature
            logger.warning("kept the loaded index %s: the rebuilt one did not load (%s)",
                           old.store.fingerprint, exc)
            return
        self._pipeline = fresh
        self._signature = signature
        counts = fresh.store.manifest.get("counts", {})
        logger.info("switched to the rebuilt index in %s: fingerprint %s -> %s (%s, %s)",
                    old.index_dir, old.store.fingerprint, fresh.store.fingerprint,
                    counted(len(fresh.store.documents), "document"),
                    counted(counts.get("sentences", len(fresh.store.sentences)), "sentence"))

    def _manifest_signature(self):
        """The index folder's manifest identity, or the collection Qdrant's alias points at."""
        return store_signature(self._pipeline.settings)

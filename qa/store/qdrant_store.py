"""The store on Qdrant: the same searches and fetches as DocumentStore, served by a collection.

One point a sentence (id = sentence id) with four named vectors: `sentence` and `passage` (the
MiniLM vectors, dot product on unit vectors) and `sentence_terms` and `passage_terms` (sparse:
the project's own stems, qa/text.py, as term ids). Qdrant applies the IDF (the sparse vectors'
IDF modifier, the same formula as bm25s: ln(1 + (N - df + 0.5) / (df + 0.5))); each stored term
weight is BM25's saturated term frequency, tf / (tf + k1 (1 - b + b dl / avgdl)), computed here
as bm25s does, and a query term's weight is how often the question holds it. The sparse dot
product is then the BM25 score of bm25s, up to float rounding. The payload holds the sentence
and its passage; a second collection (`<name>-meta`) holds the manifest, the term vocabulary and
the documents.

A build writes a new collection named after the corpus fingerprint, then moves the alias
(Settings.qdrant_collection) to it in one call; replicas watch the alias (`signature`) and load
the new collection. A replaced collection is marked retired and dropped by a later build once
Settings.qdrant_grace_s has passed, so a replica still reading it keeps answering meanwhile.

Each process keeps one client per server or local path (`client_for`): local mode's `:memory:`
is a database per client, and a local folder is locked by the client that opened it.
"""

from __future__ import annotations

import atexit
import secrets
import threading
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..documents.loading import corpus_fingerprint
from ..documents.segmentation import search_texts
from ..errors import IndexCorrupt, IndexMissing, IndexStale, StoreUnavailable
from ..text import content_stems
from ..types import Document, Passage, Sentence
from .document_store import FORMAT_VERSION

DENSE = {"sentence": "sentence", "passage": "passage"}
SPARSE = {"sentence": "sentence_terms", "passage": "passage_terms"}
# bm25s's defaults (BM25(): k1=1.5, b=0.75, method "lucene"), which the file store uses
K1, B = 1.5, 0.75
META_SUFFIX = "-meta"
MANIFEST_ID = 0
BATCH = 256  # points a request

_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()
_local_lock = threading.RLock()


def _models():
    try:
        from qdrant_client import models
    except ImportError as exc:
        raise StoreUnavailable("QA_STORE=qdrant needs the Qdrant client: run `make install` "
                               "(or `pip install qdrant-client`), or set QA_STORE=files") from exc
    return models


@atexit.register
def _close_clients() -> None:
    """Close the clients before the interpreter tears down (local mode writes on close)."""
    with _clients_lock:
        for client in _clients.values():
            try:
                client.close()
            except Exception:
                pass
        _clients.clear()


def client_for(settings):
    """The process's client for the configured server (QA_QDRANT_URL) or local path
    (QA_QDRANT_PATH, `:memory:` included)."""
    _models()
    from qdrant_client import QdrantClient
    if settings.qdrant_url:
        key = ("url", settings.qdrant_url)
    elif settings.qdrant_path:
        key = ("path", settings.qdrant_path)
    else:
        raise StoreUnavailable("QA_STORE=qdrant needs QA_QDRANT_URL (a server, e.g. "
                               "http://qdrant-0:6333) or QA_QDRANT_PATH (local mode: a folder, "
                               "or :memory:)")
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            try:
                if key[0] == "url":
                    client = QdrantClient(url=key[1], timeout=30, check_compatibility=False)
                elif key[1] == ":memory:":
                    client = QdrantClient(location=":memory:")
                else:
                    client = QdrantClient(path=key[1])
            except Exception as exc:  # a locked or unreadable local folder, a bad URL
                raise StoreUnavailable(f"cannot open Qdrant at {key[1]!r} ({_short(exc)}): "
                                       "check QA_QDRANT_URL / QA_QDRANT_PATH (a local folder "
                                       "is usable by one process at a time)") from exc
            _clients[key] = client
    return client


def _where(settings) -> str:
    return settings.qdrant_url or f"local mode at {settings.qdrant_path}"


def _short(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


class _Calls:
    """Client calls with errors turned into one-line StoreUnavailable naming the fix."""

    def __init__(self, client, settings):
        self.client, self.settings = client, settings
        # local mode is plain Python objects shared by the request threads: one call at a time
        self.lock = _local_lock if not settings.qdrant_url else None

    def __getattr__(self, name):
        method = getattr(self.client, name)

        def call(*args, **kwargs):
            try:
                if self.lock is None:
                    return method(*args, **kwargs)
                with self.lock:
                    return method(*args, **kwargs)
            except (ValueError, KeyError):
                raise  # local mode's "not found": the caller says what is missing
            except Exception as exc:
                if getattr(exc, "status_code", None) == 404:  # a server's "not found"
                    raise ValueError(_short(exc)) from exc
                raise StoreUnavailable(
                    f"Qdrant ({_where(self.settings)}) did not answer {name} ({_short(exc)}): "
                    "check that it is running and QA_QDRANT_URL, or set QA_STORE=files") from exc
        return call


def alias_target(settings) -> str | None:
    """The collection the alias points at, or None when there is no alias yet."""
    calls = _Calls(client_for(settings), settings)
    for alias in calls.get_aliases().aliases:
        if alias.alias_name == settings.qdrant_collection:
            return alias.collection_name
    return None


def signature(settings):
    """What changes when a build moves the alias (for the serving replicas' reload check)."""
    try:
        return alias_target(settings)
    except StoreUnavailable:
        return None


class QdrantStore:
    """Everything retrieval and reading need: the texts in memory, the searches on Qdrant."""

    def __init__(self, calls: _Calls, collection: str, documents: list[Document],
                 sentences: list[Sentence], passages: list[Passage], manifest: dict,
                 vocabulary: list[str]):
        self.calls = calls
        self.collection = collection
        self.documents = {d.doc_id: d for d in documents}
        self.sentences = sentences
        self.passages = passages
        self.manifest = manifest
        self.term_ids = {t: i for i, t in enumerate(vocabulary)}

    @property
    def fingerprint(self) -> str:
        return self.manifest["corpus_fingerprint"]

    # -- search ----------------------------------------------------------------------------
    def dense_search(self, vector: np.ndarray, k: int, level: str = "sentence"):
        """(ids, inner products) of the k nearest sentences or passages, ties by id."""
        query = np.asarray(vector, dtype=np.float32).reshape(-1).tolist()
        return self._top(query, DENSE[level], k)

    def similarities(self, vector: np.ndarray, sentence_ids: list[int]) -> np.ndarray:
        """Inner products of a (unit) vector with the given sentences' stored vectors."""
        ids = [int(i) for i in sentence_ids]
        if not ids:
            return np.zeros(0, dtype=np.float32)
        records = self.calls.retrieve(self.collection, ids, with_payload=False,
                                      with_vectors=[DENSE["sentence"]])
        by_id = {r.id: r.vector[DENSE["sentence"]] for r in records}
        stored = np.asarray([by_id[i] for i in ids], dtype=np.float32)
        return stored @ np.asarray(vector, dtype=np.float32).reshape(-1)

    def lexical_search(self, query_stems: list[str], k: int, level: str = "sentence"):
        """(ids, BM25 scores) of the k best sentences or passages holding a query stem."""
        query = self._query_terms(query_stems)
        if query is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return self._top(query, SPARSE[level], k)

    def lexical_scores(self, query_stems: list[str], ids, level: str = "sentence"):
        """BM25 scores of the given sentences or passages (0: no query stem)."""
        ids = [int(i) for i in ids]
        query = self._query_terms(query_stems)
        out = np.zeros(len(ids), dtype=np.float32)
        if query is None or not ids:
            return out
        models = _models()
        hits = self.calls.query_points(
            self.collection, query=query, using=SPARSE[level], limit=len(ids),
            query_filter=models.Filter(must=[models.HasIdCondition(has_id=ids)]),
            with_payload=False).points
        scores = {p.id: p.score for p in hits}
        return np.asarray([scores.get(i, 0.0) for i in ids], dtype=np.float32)

    def _query_terms(self, stems: list[str]):
        counts = Counter(self.term_ids[t] for t in stems if t in self.term_ids)
        if not counts:
            return None
        indices = sorted(counts)
        return _models().SparseVector(indices=indices, values=[float(counts[i]) for i in indices])

    def _top(self, query, using: str, k: int):
        """The k best points, best first, ties by id: asks for more than k until every point
        tied with the k-th is in (the engine breaks ties its own way)."""
        limit = max(2 * k, k + 8)
        while True:
            points = self.calls.query_points(self.collection, query=query, using=using,
                                             limit=limit, with_payload=False).points
            scores = np.asarray([p.score for p in points], dtype=np.float32)
            if len(points) < limit or k == 0 or scores[min(k, len(points)) - 1] > scores[-1]:
                break
            limit *= 4
        ids = np.asarray([p.id for p in points], dtype=np.int64)
        order = np.lexsort((ids, -scores))[:k]
        return ids[order], scores[order]

    # -- persistence -----------------------------------------------------------------------
    @classmethod
    def load(cls, settings, corpus_dir=None, check_stale: bool = True) -> "QdrantStore":
        """The collection the alias points at; IndexMissing, IndexStale or IndexCorrupt with
        the fix, StoreUnavailable when Qdrant cannot be reached."""
        calls = _Calls(client_for(settings), settings)
        alias = settings.qdrant_collection
        collection = alias_target(settings)
        build = f"`QA_STORE=qdrant python -m qa build` (collection alias {alias!r})"
        if collection is None:
            raise IndexMissing(f"no collection {alias!r} in Qdrant ({_where(settings)}): build "
                               f"it with {build}")
        try:
            meta = calls.retrieve(collection + META_SUFFIX, [MANIFEST_ID], with_payload=True)
        except ValueError:
            meta = []
        if not meta:
            raise IndexCorrupt(f"collection {collection!r} has no manifest in Qdrant "
                               f"({_where(settings)}): rebuild it with {build}")
        manifest = dict(meta[0].payload["manifest"])
        vocabulary = meta[0].payload["vocabulary"]
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexCorrupt(f"collection {collection!r} has format "
                               f"{manifest.get('format_version')}, this version reads "
                               f"{FORMAT_VERSION}: rebuild it with {build}")
        if check_stale:
            corpus = Path(corpus_dir) if corpus_dir else Path(manifest["corpus_dir"])
            if corpus.is_dir() and corpus_fingerprint(corpus) != manifest["corpus_fingerprint"]:
                raise IndexStale(f"the corpus in {str(corpus)!r} changed since collection "
                                 f"{collection!r} was built: rebuild with `QA_STORE=qdrant "
                                 f"python -m qa build --corpus {corpus}`")
        documents = [Document.from_dict(p.payload["document"])
                     for p in _scroll(calls, collection + META_SUFFIX) if p.id != MANIFEST_ID]
        sentences, passages = [], []
        for point in sorted(_scroll(calls, collection), key=lambda p: p.id):
            sentences.append(Sentence(**point.payload["sentence"]))
            p = point.payload["passage"]
            passages.append(Passage(**{**p, "sentence_ids": tuple(p["sentence_ids"])}))
        counts = manifest["counts"]
        if len(sentences) != counts["sentences"] or len(documents) != counts["documents"]:
            raise IndexCorrupt(f"collection {collection!r} holds {len(sentences)} sentences and "
                               f"{len(documents)} documents, its manifest says "
                               f"{counts['sentences']} and {counts['documents']}: rebuild it "
                               f"with {build}")
        manifest["collection"] = collection
        return cls(calls, collection, documents, sentences, passages, manifest, vocabulary)


def _scroll(calls: _Calls, collection: str):
    offset = None
    while True:
        points, offset = calls.scroll(collection, limit=1000, offset=offset, with_payload=True,
                                      with_vectors=False)
        yield from points
        if offset is None:
            return


def bm25_weights(token_lists: list[list[str]], term_ids: dict[str, int]):
    """Each text's sparse vector: term ids and BM25's saturated term frequency, as bm25s
    computes it (document length and its average over the texts)."""
    lengths = np.array([len(tokens) for tokens in token_lists])
    average = lengths.mean()
    out = []
    for tokens, length in zip(token_lists, lengths):
        counts = Counter(term_ids[t] for t in tokens)
        indices = sorted(counts)
        tf = np.array([counts[i] for i in indices], dtype=np.float32)
        weights = tf / (K1 * ((1 - B) + B * length / average) + tf)
        out.append((indices, weights.astype(np.float32).tolist()))
    return out


def write_collection(settings, store, extra_manifest: dict | None = None) -> str:
    """Write an in-memory DocumentStore (qa/store/document_store.py) to a new collection, move
    the alias to it, retire the one it replaces and drop those retired longer than the grace
    period. Returns the new collection's name."""
    models = _models()
    calls = _Calls(client_for(settings), settings)
    alias = settings.qdrant_collection
    documents = list(store.documents.values())
    sentences, passages = store.sentences, store.passages
    if len(passages) != len(sentences):
        raise IndexCorrupt("a passage is expected for every sentence (passage i centred on "
                           "sentence i): rebuild")
    n = len(sentences)
    name = f"{alias}-{store.fingerprint}-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(2)}"
    tokens = {level: [content_stems(t) or [""] for t in search_texts(documents, texts)]
              for level, texts in (("sentence", sentences), ("passage", passages))}
    vocabulary = sorted({t for level in tokens.values() for text in level for t in text})
    term_ids = {t: i for i, t in enumerate(vocabulary)}
    sparse = {level: bm25_weights(tokens[level], term_ids) for level in tokens}
    dense = {"sentence": store.sentence_index.reconstruct_n(0, n),
             "passage": store.passage_index.reconstruct_n(0, n)}
    dimension = int(dense["sentence"].shape[1])
    calls.create_collection(
        name, vectors_config={DENSE[level]: models.VectorParams(size=dimension,
                                                                distance=models.Distance.DOT)
                              for level in DENSE},
        sparse_vectors_config={SPARSE[level]: models.SparseVectorParams(
            modifier=models.Modifier.IDF) for level in SPARSE},
        shard_number=settings.qdrant_shards, replication_factor=settings.qdrant_replicas)
    calls.create_collection(name + META_SUFFIX, vectors_config={},
                            replication_factor=settings.qdrant_replicas)
    for start in range(0, n, BATCH):
        points = []
        for i in range(start, min(n, start + BATCH)):
            vectors = {DENSE[level]: dense[level][i].tolist() for level in DENSE}
            for level in SPARSE:
                indices, values = sparse[level][i]
                vectors[SPARSE[level]] = models.SparseVector(indices=indices, values=values)
            points.append(models.PointStruct(id=i, vector=vectors, payload={
                "sentence": asdict(sentences[i]), "passage": asdict(passages[i])}))
        calls.upsert(name, points, wait=True)
    manifest = {**store.manifest, **(extra_manifest or {}), "store": "qdrant",
                "collection": name, "alias": alias}
    # the documents first, the manifest last: a collection without one is an unfinished build
    for start in range(0, len(documents), 16):
        calls.upsert(name + META_SUFFIX, [
            models.PointStruct(id=MANIFEST_ID + 1 + j, vector={},
                               payload={"document": asdict(d)})
            for j, d in enumerate(documents[start:start + 16], start=start)], wait=True)
    calls.upsert(name + META_SUFFIX, [models.PointStruct(
        id=MANIFEST_ID, vector={}, payload={"manifest": manifest, "vocabulary": vocabulary})],
        wait=True)
    previous = alias_target(settings)
    actions = [models.CreateAliasOperation(create_alias=models.CreateAlias(
        collection_name=name, alias_name=alias))]
    if previous is not None:
        actions.insert(0, models.DeleteAliasOperation(
            delete_alias=models.DeleteAlias(alias_name=alias)))
    calls.update_collection_aliases(change_aliases_operations=actions)  # one atomic call
    if previous is not None:
        calls.set_payload(previous + META_SUFFIX, {"retired_at": time.time()},
                          points=[MANIFEST_ID], wait=True)
    drop_retired(settings)
    return name


def drop_retired(settings, now: float | None = None) -> list[str]:
    """Drop this alias's collections retired longer ago than the grace period."""
    calls = _Calls(client_for(settings), settings)
    now = time.time() if now is None else now
    live = alias_target(settings)
    dropped = []
    alias = settings.qdrant_collection
    prefix = alias + "-"
    for c in calls.get_collections().collections:
        name = c.name
        if not name.startswith(prefix) or name.endswith(META_SUFFIX) or name == live:
            continue
        try:
            meta = calls.retrieve(name + META_SUFFIX, [MANIFEST_ID],
                                  with_payload=["retired_at", "manifest"])
        except ValueError:
            continue
        if not meta or meta[0].payload.get("manifest", {}).get("alias") != alias:
            continue  # unfinished, or another alias's that shares the prefix
        retired = meta[0].payload.get("retired_at")
        if retired is not None and now - retired >= settings.qdrant_grace_s:
            calls.delete_collection(name)
            calls.delete_collection(name + META_SUFFIX)
            dropped.append(name)
    return dropped

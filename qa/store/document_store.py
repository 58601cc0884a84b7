"""The document store: sentences, passages, their FAISS and BM25 indexes, and the manifest.

Retrievers read from a store and never touch files; another backend
replaces this class by offering the same attributes and the same searches: `dense_search` and
`lexical_search` (top k, ids and scores out), and the fetches by id that the retriever and the
reader need for specific sentences, `similarities` and `lexical_scores`. No search returns a
score for every sentence, which no distributed engine would serve.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import bm25s
import faiss
import numpy as np

from ..documents.loading import corpus_fingerprint
from ..documents.segmentation import search_texts
from ..errors import IndexCorrupt, IndexMissing, IndexStale
from ..hashing import file_sha256
from ..text import content_stems
from ..types import Document, Passage, Sentence

# 2: documents carry date and publisher; 3: the span reader, no token vectors; 4: documents
# carry their format, page starts and sections (PDF, HTML, DOCX, Markdown); 5: a dateline is
# indexed with what it means (segmentation.search_texts); 6: documents carry their author, and
# web pages keep their bylines and the headings their extractor dropped
FORMAT_VERSION = 6
MANIFEST = "manifest.json"
# Above this many vectors, search an HNSW graph instead of scanning every vector.
APPROXIMATE_FROM = 50_000


class DocumentStore:
    """Everything retrieval and reading need, loaded once and shared read-only."""

    def __init__(self, documents: list[Document], sentences: list[Sentence],
                 passages: list[Passage], sentence_index: faiss.Index,
                 passage_index: faiss.Index, sentence_bm25: bm25s.BM25,
                 passage_bm25: bm25s.BM25, manifest: dict):
        self.documents = {d.doc_id: d for d in documents}
        self.sentences = sentences
        self.passages = passages
        self.sentence_index = sentence_index
        self.passage_index = passage_index
        self.sentence_bm25 = sentence_bm25
        self.passage_bm25 = passage_bm25
        self.manifest = manifest

    @property
    def fingerprint(self) -> str:
        return self.manifest["corpus_fingerprint"]

    # -- search ----------------------------------------------------------------------------
    def dense_search(self, vector: np.ndarray, k: int, level: str = "sentence"):
        """(ids, inner products) of the k nearest sentences or passages."""
        index = self.sentence_index if level == "sentence" else self.passage_index
        k = min(k, index.ntotal)
        scores, ids = index.search(vector.reshape(1, -1).astype(np.float32), k)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def similarities(self, vector: np.ndarray, sentence_ids: list[int]) -> np.ndarray:
        """Inner products of a (unit) vector with the given sentences' vectors."""
        ids = np.asarray(sentence_ids, dtype=np.int64)
        if not len(ids):
            return np.zeros(0, dtype=np.float32)
        stored = self.sentence_index.reconstruct_batch(ids)
        return stored @ np.asarray(vector, dtype=np.float32).reshape(-1)

    def lexical_search(self, query_stems: list[str], k: int,
                       level: str = "sentence") -> tuple[np.ndarray, np.ndarray]:
        """(ids, BM25 scores) of the k best sentences or passages for the query stems, best
        first, ties by id; only those holding a query stem (score > 0)."""
        scores = self._bm25_scores(query_stems, level)
        if scores is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")[:k]
        order = order[scores[order] > 0]
        return order.astype(np.int64), scores[order]

    def lexical_scores(self, query_stems: list[str], ids,
                       level: str = "sentence") -> np.ndarray:
        """BM25 scores of the given sentences or passages for the query stems (0: no stem)."""
        ids = np.asarray(ids, dtype=np.int64)
        scores = self._bm25_scores(query_stems, level)
        if scores is None:
            return np.zeros(len(ids), dtype=np.float32)
        return scores[ids]

    def _bm25_scores(self, query_stems: list[str], level: str) -> np.ndarray | None:
        """BM25 of every sentence or passage (None when no stem is in the vocabulary)."""
        bm25 = self.sentence_bm25 if level == "sentence" else self.passage_bm25
        known = [t for t in query_stems if t in bm25.vocab_dict]
        return bm25.get_scores(known) if known else None

    # -- persistence -----------------------------------------------------------------------
    @classmethod
    def build(cls, documents, sentences, passages, sentence_vectors, passage_vectors,
              model_name: str, corpus_dir: Path) -> "DocumentStore":
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": model_name,
            "dimension": int(sentence_vectors.shape[1]),
            "counts": {"documents": len(documents), "sentences": len(sentences),
                       "passages": len(passages)},
            "corpus_dir": str(Path(corpus_dir).resolve()),
            "corpus_fingerprint": corpus_fingerprint(corpus_dir),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        return cls(documents, sentences, passages, _vector_index(sentence_vectors),
                   _vector_index(passage_vectors), _bm25(search_texts(documents, sentences)),
                   _bm25(search_texts(documents, passages)), manifest)

    def save(self, index_dir: Path, extra_files: dict[str, Path] | None = None,
             exports_only: bool = False) -> None:
        """Write to a temporary folder beside `index_dir`, then swap it in atomically.

        `extra_files` (name -> source path) are copied in and checksummed with the rest.
        `exports_only`: write only those and the manifest (the store itself went to Qdrant).
        """
        index_dir = Path(index_dir)
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-", dir=index_dir.parent))
        try:
            if not exports_only:
                _write_json(tmp / "documents.json", [asdict(d) for d in self.documents.values()])
                _write_json(tmp / "sentences.json", [asdict(s) for s in self.sentences])
                _write_json(tmp / "passages.json", [asdict(p) for p in self.passages])
                faiss.write_index(self.sentence_index, str(tmp / "sentences.faiss"))
                faiss.write_index(self.passage_index, str(tmp / "passages.faiss"))
                self.sentence_bm25.save(str(tmp / "sentences.bm25"), show_progress=False)
                self.passage_bm25.save(str(tmp / "passages.bm25"), show_progress=False)
            for name, source in (extra_files or {}).items():
                try:  # a hard link costs nothing; the source is never written again
                    os.link(source, tmp / name)
                except OSError:
                    shutil.copyfile(source, tmp / name)
            self.manifest["files"] = {p.relative_to(tmp).as_posix(): file_sha256(p)
                                      for p in sorted(tmp.rglob("*")) if p.is_file()}
            _write_json(tmp / MANIFEST, self.manifest)
            _swap_in(tmp, index_dir)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, index_dir: Path, corpus_dir: Path | None = None,
             check_stale: bool = True) -> "DocumentStore":
        """Load and verify an index; raise IndexMissing, IndexCorrupt or IndexStale with the fix."""
        index_dir = Path(index_dir)
        manifest_path = index_dir / MANIFEST
        if not manifest_path.is_file():
            raise IndexMissing(f"no index at {str(index_dir)!r}: build it with "
                               f"`python -m qa build --index {index_dir}`")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            files = manifest["files"]
            if manifest.get("format_version") != FORMAT_VERSION:
                raise IndexCorrupt(f"index at {str(index_dir)!r} has format "
                                   f"{manifest.get('format_version')}, this version reads "
                                   f"{FORMAT_VERSION}: rebuild it with `python -m qa build`")
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupt(f"the manifest of {str(index_dir)!r} is unreadable ({exc}): "
                               "rebuild with `python -m qa build`") from exc
        if manifest.get("store") == "qdrant":
            raise IndexMissing(f"{str(index_dir)!r} holds only the model exports of a Qdrant "
                               "build: set QA_STORE=qdrant (and QA_QDRANT_URL or "
                               "QA_QDRANT_PATH), or build a file index with `QA_STORE=files "
                               "python -m qa build`")
        for name, digest in files.items():
            path = index_dir / name
            if not path.is_file():
                raise IndexCorrupt(f"index file {name} is missing from {str(index_dir)!r}: "
                                   "rebuild with `python -m qa build`")
            if file_sha256(path) != digest:
                raise IndexCorrupt(f"index file {name} in {str(index_dir)!r} does not match its "
                                   "checksum: rebuild with `python -m qa build`")
        if check_stale:
            corpus = Path(corpus_dir) if corpus_dir else Path(manifest["corpus_dir"])
            if corpus.is_dir():
                current = corpus_fingerprint(corpus)
                if current != manifest["corpus_fingerprint"]:
                    raise IndexStale(f"the corpus in {str(corpus)!r} changed since the index was "
                                     "built: rebuild with `python -m qa build --corpus "
                                     f"{corpus} --index {index_dir}`")
        try:
            documents = [Document.from_dict(d) for d in _read_json(index_dir / "documents.json")]
            sentences = [Sentence(**s) for s in _read_json(index_dir / "sentences.json")]
            passages = [Passage(**{**p, "sentence_ids": tuple(p["sentence_ids"])})
                        for p in _read_json(index_dir / "passages.json")]
            store = cls(documents, sentences, passages,
                        faiss.read_index(str(index_dir / "sentences.faiss")),
                        faiss.read_index(str(index_dir / "passages.faiss")),
                        bm25s.BM25.load(str(index_dir / "sentences.bm25"), show_progress=False),
                        bm25s.BM25.load(str(index_dir / "passages.bm25"), show_progress=False),
                        manifest)
        except Exception as exc:
            raise IndexCorrupt(f"index at {str(index_dir)!r} could not be read ({exc}): "
                               "rebuild with `python -m qa build`") from exc
        if store.sentence_index.ntotal != len(sentences):
            raise IndexCorrupt("sentence vectors and sentences disagree in number: rebuild")
        return store


def _vector_index(vectors: np.ndarray) -> faiss.Index:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if len(vectors) >= APPROXIMATE_FROM:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 256  # recall@10 0.94 vs 0.88 at 64 (docs/BENCHMARKS.md), still < 1 ms
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    return index


def _bm25(texts: list[str]) -> bm25s.BM25:
    bm25 = bm25s.BM25()
    bm25.index([content_stems(t) or [""] for t in texts], show_progress=False)
    return bm25


def _write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")


def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _swap_in(tmp: Path, index_dir: Path) -> None:
    """Replace `index_dir` by `tmp` so that readers see the old or the new index, never a mix."""
    if not index_dir.exists():
        os.rename(tmp, index_dir)
        return
    old = index_dir.with_name(f".{index_dir.name}.old-{os.getpid()}-{time.time_ns()}")
    os.rename(index_dir, old)
    os.rename(tmp, index_dir)
    shutil.rmtree(old, ignore_errors=True)

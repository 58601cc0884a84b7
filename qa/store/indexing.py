"""Build an index folder from a corpus folder: load, segment, embed, store."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..documents.formats import excerpt
from ..documents.loading import CorpusLoad, SkippedFile, read_corpus, require_documents
from ..documents.segmentation import boilerplate_lines, make_passages, search_texts, split_sentences
from ..errors import CorpusError, CorpusIncomplete, ModelUnavailable
from ..hashing import file_sha256
from ..text import counted
from ..models.embedding import QUERY_ENCODER_FILE, Embedder
from ..models.reader_model import READER_ONNX, reader_export, reader_is_current, served_int8
from .document_store import MANIFEST, DocumentStore
from .embedding_cache import EmbeddingCache

logger = logging.getLogger(__name__)

DROPPED_SHOWN = 4  # dropped pieces quoted in a document's build line


@dataclass
class DocumentReport:
    """What the build made of one document (one line of `qa build`)."""

    doc_id: str
    format: str
    characters: int
    sentences: int
    sections: int
    pages: int
    dropped: tuple[str, ...]

    def line(self) -> str:
        shown = ", ".join(self.dropped[:DROPPED_SHOWN])
        if len(self.dropped) > DROPPED_SHOWN:
            shown += f" and {len(self.dropped) - DROPPED_SHOWN} more"
        return (f"{self.doc_id}: {self.format}, {counted(self.characters, 'character')}, "
                f"{counted(self.sentences, 'sentence')}, {counted(self.sections, 'section')}, "
                f"{counted(self.pages, 'page') if self.pages else 'no pages'}; "
                f"dropped: {shown or 'nothing'}")


@dataclass
class BuildReport:
    documents: int
    sentences: int
    passages: int
    fingerprint: str
    index_dir: Path
    seconds: float
    skipped: list[SkippedFile] = field(default_factory=list)
    details: list[DocumentReport] = field(default_factory=list)
    embedded: int = 0   # texts (sentences and passages) this build embedded
    texts: int = 0      # texts it has vectors for (the rest came from the embedding cache)
    reused_exports: list[str] = field(default_factory=list)  # ONNX files kept from the old index
    target: str = ""    # where the store went: the index folder, or the Qdrant collection


def segment_corpus(documents) -> tuple[list, list]:
    """Sentences and passages of all documents, numbered across the corpus."""
    sentences, passages = [], []
    for document in documents:
        doc_sentences = split_sentences(document, first_index=len(sentences))
        passages.extend(make_passages(document, doc_sentences, first_index=len(sentences)))
        sentences.extend(doc_sentences)
    return sentences, passages


def document_reports(load: CorpusLoad, sentences) -> list[DocumentReport]:
    """One DocumentReport per loaded document: counts, and what was left out (by extraction,
    and the boilerplate lines segmentation never indexes)."""
    by_doc: dict[str, list] = {}
    for sentence in sentences:
        by_doc.setdefault(sentence.doc_id, []).append(sentence)
    reports = []
    for document in load.documents:
        own = by_doc.get(document.doc_id, [])
        dropped = load.dropped.get(document.doc_id, ()) + tuple(
            excerpt(line) for line in boilerplate_lines(document))
        reports.append(DocumentReport(
            document.doc_id, document.format, len(document.text),
            sum(1 for s in own if s.kind == "sentence"),
            len({s.section for s in own if s.section is not None}),
            len(document.pages), dropped))
    return reports


def build_store(corpus_dir: Path, embedder: Embedder, max_file_bytes: int | None = None,
                strict: bool = False, progress=None, cache: EmbeddingCache | None = None):
    """An in-memory store for every document of `corpus_dir` that can be read, with the
    corpus load and the per-document reports. With `strict`, CorpusIncomplete if any file
    could not be read. Vectors come from `cache` where it has them."""
    if max_file_bytes is None:
        from ..config import Settings
        max_file_bytes = Settings().max_file_bytes
    load = read_corpus(corpus_dir, max_file_bytes, progress)
    if strict and load.skipped:
        first = load.skipped[0]
        raise CorpusIncomplete(f"{len(load.skipped)} file(s) could not be indexed (first: "
                               f"{first}) and --strict was given: the index was not written")
    require_documents(load, corpus_dir)
    sentences, passages = segment_corpus(load.documents)
    require_text(load, sentences, corpus_dir)
    reports = document_reports(load, sentences)
    if progress:
        for report in reports:
            progress.note(report.line())
    texts = search_texts(load.documents, sentences + passages)
    if cache is None:
        vectors = embedder.encode(texts)
    else:
        counter = progress.count("embedding", cache.missing(texts)) if progress else None
        vectors = cache.encode(embedder, texts, counter)
        if counter:
            counter.close()
    store = DocumentStore.build(load.documents, sentences, passages,
                                vectors[:len(sentences)], vectors[len(sentences):],
                                embedder.name, corpus_dir)
    return store, load, reports


def require_text(load, sentences, corpus_dir: Path) -> None:
    """CorpusError naming the files when the corpus's documents hold no sentence at all (empty
    or blank files, or pages without text)."""
    if sentences:
        return
    names = [d.doc_id for d in load.documents]
    shown = ", ".join(names[:3]) + (f" (and {len(names) - 3} more)" if len(names) > 3 else "")
    one = len(names) == 1
    raise CorpusError(f"corpus folder {str(corpus_dir)!r} holds no text to index: {shown} "
                      f"{'is' if one else 'are'} empty or blank; add text to "
                      f"{'it' if one else 'them'}")


def build_index(corpus_dir: Path, index_dir: Path, embedder: Embedder,
                query_encoder: bool = True, max_file_bytes: int | None = None,
                strict: bool = False, progress=None, int8: bool | None = None,
                settings=None) -> BuildReport:
    """Build the store for `corpus_dir` and write it atomically to `index_dir`, with the ONNX
    query encoder and span reader, each checked against torch (skipped, with a warning, if ONNX
    is unavailable; `query_encoder=False` skips both).

    Vectors of texts the previous index in `index_dir` already embedded with the same model are
    reused (qa/store/embedding_cache.py), and so are its ONNX exports when the model and the
    reader's weights are unchanged. `progress` (qa/progress.py) reports files, skipped files,
    one line per document and the embedding. `int8`: the span reader's precision (None: as
    calibration chose). `settings` with `store="qdrant"`: the store goes to a new Qdrant
    collection and the alias moves to it (qa/store/qdrant_store.py); `index_dir` then keeps
    only the ONNX exports and the embedding cache, which every serving replica needs too."""
    started = time.perf_counter()
    qdrant = settings is not None and settings.store == "qdrant"
    if qdrant:  # a bad setting or an unreachable server fails before the embedding work
        from .qdrant_store import alias_target
        alias_target(settings)
    identity = getattr(embedder, "identity", None)
    cache = EmbeddingCache.load(index_dir, identity) if identity else None
    store, load, reports = build_store(corpus_dir, embedder, max_file_bytes, strict, progress,
                                       cache)
    if identity:
        store.manifest["model_identity"] = identity
    extra_files, reused = {}, []
    if query_encoder:
        previous = _previous_manifest(index_dir)
        kept = _reusable(index_dir, previous, QUERY_ENCODER_FILE)
        if kept and identity and previous.get("model_identity") == identity \
                and previous.get("query_encoder"):
            extra_files[QUERY_ENCODER_FILE] = kept
            store.manifest["query_encoder"] = previous["query_encoder"]
            reused.append(QUERY_ENCODER_FILE)
        else:
            try:
                path, diff = embedder.query_encoder_export([s.text for s in store.sentences])
                extra_files[QUERY_ENCODER_FILE] = path
                store.manifest["query_encoder"] = {"file": QUERY_ENCODER_FILE,
                                                   "runtime": "onnx",
                                                   "max_abs_diff_vs_torch": diff}
            except (ImportError, ModelUnavailable) as exc:
                logger.warning("no ONNX query encoder (%s): questions will use torch", exc)
        int8 = served_int8(int8)
        kept = _reusable(index_dir, previous, READER_ONNX)
        if kept and reader_is_current(previous, int8=int8):
            extra_files[READER_ONNX] = kept
            store.manifest["reader"] = previous["reader"]
            reused.append(READER_ONNX)
        else:
            try:
                record = reader_export([p.text for p in store.passages[:8]], int8=int8)
                extra_files[READER_ONNX] = record.pop("path")
                store.manifest["reader"] = {"file": READER_ONNX, "runtime": "onnx", **record}
            except (ImportError, ModelUnavailable) as exc:
                logger.warning("no ONNX reader (%s): reading will use torch", exc)
    target = str(index_dir)
    if qdrant:
        from .qdrant_store import write_collection
        collection = write_collection(settings, store)
        store.manifest.update(store="qdrant", collection=collection)
        target = f"Qdrant collection {collection} (alias {settings.qdrant_collection!r})"
    store.save(index_dir, extra_files=extra_files, exports_only=qdrant)
    if cache is not None:
        cache.save(index_dir)
    counts = store.manifest["counts"]
    return BuildReport(counts["documents"], counts["sentences"], counts["passages"],
                       store.fingerprint, Path(index_dir), time.perf_counter() - started,
                       skipped=load.skipped, details=reports,
                       embedded=cache.embedded if cache else counts["sentences"]
                       + counts["passages"],
                       texts=counts["sentences"] + counts["passages"], reused_exports=reused,
                       target=target)


def _previous_manifest(index_dir: Path) -> dict:
    """The manifest of the index being replaced, or {} if there is none readable."""
    try:
        manifest = json.loads((Path(index_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _reusable(index_dir: Path, previous: dict, name: str) -> Path | None:
    """The previous index's file `name` if it is there and matches its checksum."""
    path = Path(index_dir) / name
    digest = (previous.get("files") or {}).get(name)
    if not digest or not path.is_file():
        return None
    try:
        return path if file_sha256(path) == digest else None
    except OSError:
        return None

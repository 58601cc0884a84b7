"""Load a corpus folder into Documents: every .txt, .md, .html/.htm, .pdf and .docx file,
recursively, its text extracted by the reader of its format (qa/documents/formats/).

A file that cannot be indexed (unknown format, over the size limit, encrypted, scanned, corrupt,
a link leaving the folder, ...) is skipped with a one-line reason; the rest is still loaded.
Nothing outside the corpus folder is read.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CorpusError
from ..types import Document
from . import formats
from .formats import ExtractionError
from .lines import derive_dateline, is_boilerplate, is_heading

DOCUMENT_SUFFIXES = formats.SUFFIXES
METADATA_SUFFIX = ".meta.json"
# Files kept beside the documents that are not documents: never indexed, never reported.
COMPANION_FILES = frozenset({"gold.jsonl"})


@dataclass(frozen=True)
class SkippedFile:
    """A corpus file that was not indexed, and why (one line, with the fix)."""

    path: str      # relative to the corpus folder, with '/'
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class CorpusLoad:
    """What reading a corpus folder gave: the documents, the files skipped, and per document
    what extraction left out (navigation, running headers, ...)."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    dropped: dict[str, tuple[str, ...]] = field(default_factory=dict)


def scan_corpus(corpus_dir: Path) -> tuple[list[Path], list[SkippedFile]]:
    """The document files of a corpus folder in a stable order, and the files refused without
    being read: unknown formats, and links that lead out of the folder (or nowhere)."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder {str(corpus_dir)!r} does not exist: "
                          f"pass --corpus with a folder of {formats.SUPPORTED} files")
    root = corpus_dir.resolve()
    found, refused = [], []
    for folder, subfolders, names in os.walk(corpus_dir):  # never follows links to folders
        folder = Path(folder)
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in list(subfolders):
            path = folder / name
            if path.is_symlink():
                if not _inside(path, root):
                    refused.append(SkippedFile(_relative(path, corpus_dir),
                                               "a link to a folder outside the corpus folder: "
                                               "refused (copy the files in instead)"))
        for name in sorted(names):
            path = folder / name
            if name.startswith(".") or name in COMPANION_FILES or name.endswith(METADATA_SUFFIX):
                continue
            relative = _relative(path, corpus_dir)
            if path.is_symlink() and not _inside(path, root):
                refused.append(SkippedFile(relative, "a link to a file outside the corpus "
                                                     "folder: refused (copy the file in instead)"))
            elif not path.is_file():
                refused.append(SkippedFile(relative, "a broken link or not a regular file"))
            elif path.suffix.lower() not in DOCUMENT_SUFFIXES:
                refused.append(SkippedFile(relative, f"unknown format "
                                                     f"{path.suffix or '(no suffix)'!r}: the "
                                                     f"corpus takes {formats.SUPPORTED}"))
            else:
                found.append(path)
    found.sort(key=lambda p: _relative(p, corpus_dir))
    return found, refused


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The document files of a corpus folder, in a stable order."""
    return scan_corpus(corpus_dir)[0]


def corpus_fingerprint(corpus_dir: Path) -> str:
    """A hash over the relative paths and bytes of every document and metadata file."""
    digest = hashlib.sha256()
    root = Path(corpus_dir).resolve()
    for path in corpus_files(corpus_dir):
        digest.update(path.relative_to(corpus_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
        meta = _metadata_path(path)
        if meta.is_file() and _inside(meta, root):
            digest.update(hashlib.sha256(meta.read_bytes()).digest())
    return digest.hexdigest()[:16]


def read_corpus(corpus_dir: Path, max_file_bytes: int | None = None,
                progress=None) -> CorpusLoad:
    """Every document of the folder that can be read, and a reason for each that cannot.
    `doc_id` is the path relative to the folder, with '/'. `progress` (qa/progress.py), if
    given, is stepped once per file and told of each skipped one."""
    corpus_dir = Path(corpus_dir)
    paths, refused = scan_corpus(corpus_dir)
    load = CorpusLoad(skipped=list(refused))
    root = corpus_dir.resolve()
    for skipped in refused:
        if progress:
            progress.skipped(skipped)
    for path in (progress.steps(paths, "reading") if progress else paths):
        doc_id = path.relative_to(corpus_dir).as_posix()
        try:
            document, dropped = read_document(path, doc_id, root, max_file_bytes)
        except (ExtractionError, CorpusError) as exc:
            skipped = SkippedFile(doc_id, str(exc))
        except Exception as exc:  # a file no reader expected must not stop the others
            skipped = SkippedFile(doc_id, f"could not be read ({type(exc).__name__}: "
                                          f"{formats.one_line(str(exc))[:100]})")
        else:
            load.documents.append(document)
            load.dropped[doc_id] = dropped
            continue
        load.skipped.append(skipped)
        if progress:
            progress.skipped(skipped)
    return load


def load_corpus(corpus_dir: Path, max_file_bytes: int | None = None) -> list[Document]:
    """Every document of the folder that can be read; CorpusError if there is none."""
    load = read_corpus(corpus_dir, max_file_bytes)
    require_documents(load, corpus_dir)
    return load.documents


def require_documents(load: CorpusLoad, corpus_dir: Path) -> None:
    """CorpusError naming the problem when a corpus load has no document."""
    if load.documents:
        return
    if not load.skipped:
        raise CorpusError(f"corpus folder {str(corpus_dir)!r} holds no {formats.SUPPORTED} "
                          "files")
    shown = "; ".join(str(s) for s in load.skipped[:3])
    more = f" (and {len(load.skipped) - 3} more)" if len(load.skipped) > 3 else ""
    raise CorpusError(f"corpus folder {str(corpus_dir)!r} holds no file that could be "
                      f"indexed: {shown}{more}")


def read_document(path: Path, doc_id: str, root: Path,
                  max_file_bytes: int | None = None) -> tuple[Document, tuple[str, ...]]:
    """One file as a Document, and what its extraction left out; ExtractionError or
    CorpusError (a bad metadata file) with the reason when it cannot be indexed."""
    size = path.stat().st_size
    if max_file_bytes is not None and size > max_file_bytes:
        raise ExtractionError(f"is {_megabytes(size)}, over the {_megabytes(max_file_bytes)} "
                              "limit: raise --max-file-mb / QA_MAX_FILE_MB, or split it")
    extracted = formats.extract(path.suffix, path.read_bytes())
    metadata = read_metadata(path, root)
    text = extracted.text
    title = str(metadata.get("title") or extracted.title or derive_title(text, path))
    date, publisher = derive_dateline(text)
    document = Document(
        doc_id=doc_id, text=text, title=title, metadata=metadata,
        date=_text_or_none(metadata.get("date")) or extracted.date or date,
        publisher=_text_or_none(metadata.get("publisher")) or extracted.publisher or publisher,
        author=_text_or_none(metadata.get("author")) or extracted.author,
        format=extracted.format, pages=extracted.pages, sections=extracted.sections)
    return document, extracted.dropped


def read_metadata(path: Path, root: Path | None = None) -> dict:
    """Metadata from `<file>.meta.json` beside the document, if present (and, when `root` is
    given, inside it)."""
    meta_path = _metadata_path(path)
    if not meta_path.is_file() or (root is not None and not _inside(meta_path, root)):
        return {}
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorpusError(f"its {meta_path.name} is not valid JSON ({exc}): fix or delete it"
                          ) from exc
    if not isinstance(metadata, dict):
        raise CorpusError(f"its {meta_path.name} must hold a JSON object")
    return metadata


def derive_title(text: str, path: Path) -> str:
    """The first line (past page furniture) when it reads as a heading, else the file name: a
    text that starts with a paragraph is named by its file, not by its first sentence."""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if not line or is_boilerplate(line):
            continue
        if is_heading(line):
            return line
        break
    return path.stem.replace("_", " ")


def _text_or_none(value) -> str | None:
    return str(value) if value not in (None, "") else None


def _metadata_path(path: Path) -> Path:
    return path.with_name(path.name + METADATA_SUFFIX)


def _inside(path: Path, root: Path) -> bool:
    """Whether `path`, links resolved, lies inside the folder `root` (already resolved)."""
    return Path(os.path.realpath(path)).is_relative_to(root)


def _relative(path: Path, corpus_dir: Path) -> str:
    return path.relative_to(corpus_dir).as_posix()


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.3g} MB"

"""Load a corpus folder into Documents: every .txt and .md file, recursively, read as UTF-8."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import CorpusError
from .types import Document

DOCUMENT_SUFFIXES = (".txt", ".md")
METADATA_SUFFIX = ".meta.json"


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The document files of a corpus folder, in a stable order."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder {str(corpus_dir)!r} does not exist: "
                          "pass --corpus with a folder of .txt/.md files")
    return sorted(p for p in corpus_dir.rglob("*")
                  if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts))


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks (index files, model weights)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def corpus_fingerprint(corpus_dir: Path) -> str:
    """A hash over the relative paths and bytes of every document and metadata file."""
    digest = hashlib.sha256()
    for path in corpus_files(corpus_dir):
        digest.update(path.relative_to(corpus_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
        meta = _metadata_path(path)
        if meta.is_file():
            digest.update(hashlib.sha256(meta.read_bytes()).digest())
    return digest.hexdigest()[:16]


def load_corpus(corpus_dir: Path) -> list[Document]:
    """Every document of the folder. `doc_id` is the path relative to the folder, with '/'."""
    corpus_dir = Path(corpus_dir)
    documents = []
    for path in corpus_files(corpus_dir):
        doc_id = path.relative_to(corpus_dir).as_posix()
        try:
            # newline="" keeps "\r\n" as it is, so offsets index the exact file text
            with open(path, encoding="utf-8", newline="") as handle:
                text = handle.read()
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{doc_id} is not UTF-8 text ({exc.reason} at byte {exc.start}): "
                              "convert it to UTF-8 or remove it from the corpus") from exc
        metadata = read_metadata(path)
        title = str(metadata.get("title") or derive_title(text, path))
        date, publisher = derive_dateline(text)
        documents.append(Document(doc_id=doc_id, text=text, title=title, metadata=metadata,
                                  date=_text_or_none(metadata.get("date")) or date,
                                  publisher=_text_or_none(metadata.get("publisher")) or publisher))
    if not documents:
        raise CorpusError(f"corpus folder {str(corpus_dir)!r} holds no .txt or .md files")
    return documents


def read_metadata(path: Path) -> dict:
    """Metadata from `<file>.meta.json` beside the document, if present."""
    meta_path = _metadata_path(path)
    if not meta_path.is_file():
        return {}
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{meta_path} is not valid JSON ({exc}): fix or delete it") from exc
    if not isinstance(metadata, dict):
        raise CorpusError(f"{meta_path} must hold a JSON object")
    return metadata


def derive_title(text: str, path: Path) -> str:
    """A title from the first heading-like line, else from the file name."""
    from .segmentation import is_boilerplate
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line and not is_boilerplate(line) and len(line) <= 200:
            return line
    return path.stem.replace("_", " ")


def derive_dateline(text: str, lines: int = 8) -> tuple[str | None, str | None]:
    """Date and publisher (byline) from a dateline among the first few lines ("Oct 31, 2025 |
    BAKTH"), else (None, None)."""
    from .segmentation import is_boilerplate, parse_dateline
    seen = 0
    for line in text.splitlines():
        if is_boilerplate(line):
            continue
        found = parse_dateline(line)
        if found:
            return found
        seen += 1
        if seen == lines:
            break
    return None, None


def _text_or_none(value) -> str | None:
    return str(value) if value not in (None, "") else None


def _metadata_path(path: Path) -> Path:
    return path.with_name(path.name + METADATA_SUFFIX)

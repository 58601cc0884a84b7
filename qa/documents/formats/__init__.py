"""Text extraction, one module per file format. Each turns a file's bytes into an Extracted
record (qa/types.py): the citable text, its sections and page starts, and what was dropped.

A format's library is imported only when a file of that format is read, so loading an index
to serve it never imports them.
"""

from __future__ import annotations

import importlib
import re

from ...errors import QAError
from ...types import Extracted, Section

# suffix -> module of this package that reads it
READERS = {
    ".txt": "plain",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "webpage",
    ".htm": "webpage",
    ".pdf": "pdf",
    ".docx": "word",
}
SUFFIXES = tuple(READERS)
SUPPORTED = ".txt, .md, .html/.htm, .pdf or .docx"


class ExtractionError(QAError):
    """A file that cannot be indexed; the message is the reason, without the file name."""

    code = "unreadable_file"


def extract(suffix: str, data: bytes) -> Extracted:
    """The text of a file of this suffix, or ExtractionError saying why there is none."""
    module = READERS.get(suffix.lower())
    if module is None:
        raise ExtractionError(f"unknown format {suffix or '(no suffix)'!r}: "
                              f"the corpus takes {SUPPORTED}")
    return importlib.import_module(f"{__name__}.{module}").extract(data)


def decode_utf8(data: bytes) -> str:
    """The file's text, or ExtractionError if it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExtractionError(f"is not UTF-8 text ({exc.reason} at byte {exc.start}): "
                              "convert it to UTF-8") from exc


def one_line(text: str) -> str:
    """Whitespace (line breaks included) collapsed to single spaces, ends stripped."""
    return re.sub(r"\s+", " ", text).strip()


def excerpt(text: str, limit: int = 40) -> str:
    """A short quotation of dropped text for the build report."""
    text = one_line(text)
    return repr(text if len(text) <= limit else text[:limit - 1] + "…")


def join_blocks(blocks: list[tuple[str, int | None]]) -> tuple[str, tuple]:
    """The text of blocks (text, heading level or None) separated by blank lines, and the
    Sections of its headings."""
    parts, sections, offset = [], [], 0
    for text, level in blocks:
        if not text:
            continue
        if parts:
            parts.append("\n\n")
            offset += 2
        if level is not None:
            sections.append(Section(text, level, offset, offset + len(text)))
        parts.append(text)
        offset += len(text)
    return "".join(parts), tuple(sections)

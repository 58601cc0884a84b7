"""Word (.docx): the body's paragraphs and tables in document order; paragraphs in a heading
style ("Heading 1".."Heading 9", "Title") become sections. Page headers and footers are left
out.

python-docx (MIT, maintained) reads the package and its styles, including style inheritance
("My Heading" based on "Heading 2"); reading word/document.xml by hand would miss those.
"""

from __future__ import annotations

import io
import re
import zipfile

from ...types import Extracted
from . import ExtractionError, excerpt, join_blocks, one_line

CELL_SEPARATOR = " | "
HEADING_STYLE_RE = re.compile(r"^heading\s*(\d)$", re.I)


def extract(data: bytes) -> Extracted:
    """Paragraphs separated by blank lines (line breaks inside a paragraph kept), table rows
    as lines with their cells joined by " | "."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ExtractionError("is not a valid .docx (not a zip package): it is corrupt, "
                              "truncated or password-protected; save it again from Word")
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = _blocks(document)
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ExtractionError(f"is not a readable .docx ({one_line(str(exc))[:80]}): "
                              "save it again from Word") from exc
    text, sections = join_blocks(blocks)
    title = one_line(document.core_properties.title or "") or next(
        (s.name for s in sections if s.level == 0), None)
    return Extracted(text=text, format="docx", title=title,
                     author=one_line(document.core_properties.author or "") or None,
                     sections=sections, dropped=_headers_and_footers(document))


def _blocks(document) -> list[tuple[str, int | None]]:
    """(text, heading level or None) of each paragraph and table row of the body."""
    from docx.table import Table
    blocks = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                cells = _unique_cells(row)
                blocks.append((CELL_SEPARATOR.join(one_line(c.text) for c in cells), None))
            continue
        level = _heading_level(item.style)
        text = item.text
        blocks.append((one_line(text), level) if level is not None
                      else ("\n".join(line.strip() for line in text.strip().splitlines()),
                            None))
    return blocks


def _heading_level(style) -> int | None:
    """0 for the Title style, n for "Heading n" or a style based on it, else None."""
    while style is not None:
        name = (style.name or "").strip()
        if name.lower() == "title":
            return 0
        match = HEADING_STYLE_RE.match(name)
        if match:
            return int(match.group(1))
        style = style.base_style
    return None


def _unique_cells(row) -> list:
    """The cells of a row, each merged cell once."""
    out = []
    for cell in row.cells:
        if not any(cell._tc is seen._tc for seen in out):
            out.append(cell)
    return out


def _headers_and_footers(document) -> tuple[str, ...]:
    """The page header and footer texts, which are not part of the body."""
    found = []
    for section in document.sections:
        for part, name in ((section.header, "header"), (section.footer, "footer")):
            text = one_line(" ".join(p.text for p in part.paragraphs))
            if text and f"{name} {excerpt(text)}" not in found:
                found.append(f"{name} {excerpt(text)}")
    return tuple(found)

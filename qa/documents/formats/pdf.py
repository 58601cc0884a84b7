"""PDF (.pdf): the text layer, page by page, with the offset where each page starts (so a
citation names its page). Wrapped lines are joined into paragraphs, words hyphenated at line
ends are mended, and lines repeated at the top or bottom of every page (running headers,
"Page 3 of 9" footers) are dropped.

pdfminer.six (MIT, pure Python, maintained) decodes fonts and encodings and groups characters
into lines and lines into text boxes by their geometry; that layout analysis is what turns a
PDF's positioned glyphs into paragraphs, and it would be most of the work to write by hand.
(PyMuPDF is faster but AGPL.)
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from dataclasses import dataclass

from ...types import Extracted
from . import ExtractionError, excerpt, one_line

EDGE_LINES = 2            # lines at the top and at the bottom of a page that may be furniture
SENTENCE_END = tuple('.!?:;"”’)')
HYPHENATED_END_RE = re.compile(r"([\w’'-]*\w)-$")
FIRST_WORD_RE = re.compile(r"^([\w’'-]+)")
WORD_RE = re.compile(r"[\w’'-]+")


@dataclass
class Line:
    """One line of text of a page, with what tells paragraphs apart."""

    text: str
    page: int
    box: int      # the text box (pdfminer's paragraph guess) it belongs to
    font: tuple   # (font name, size) of most of its characters


def extract(data: bytes) -> Extracted:
    """Paragraphs separated by blank lines; page starts recorded where each page's text
    begins (inside a paragraph when one runs on to the next page)."""
    if b"%PDF-" not in data[:1024]:
        raise ExtractionError("is not a PDF (no %PDF header): it is corrupt or misnamed")
    (title, author), pages = _read(data)
    lines = [line for page in pages for line in page]
    if not any(line.text.strip() for line in lines):
        raise ExtractionError("has no extractable text; OCR it first (it looks scanned)")
    kept, dropped = _drop_running_lines(pages)
    words = {w.lower() for line in kept for w in WORD_RE.findall(line.text)}
    text, starts, mended = _paragraphs(kept, len(pages), words)
    if mended:
        dropped.append(f"{mended} line-end hyphen{'s' if mended > 1 else ''}")
    return Extracted(text=text, format="pdf", title=title, author=author, pages=starts,
                     dropped=tuple(dropped))


def _read(data: bytes) -> tuple[tuple[str | None, str | None], list[list[Line]]]:
    """The document's (title, author) from its metadata (None where it has none) and the lines
    of every page."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams, LTChar, LTTextBox, LTTextLine
    from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser
    from pdfminer.utils import decode_text

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # font warnings are not ours to fix
    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)), password="")
        found = {"Title": None, "Author": None}
        for info in document.info:
            for key in found:
                value = info.get(key)
                if isinstance(value, bytes):
                    found[key] = one_line(decode_text(value)) or None
                elif isinstance(value, str):
                    found[key] = one_line(value) or None
        manager = PDFResourceManager()
        device = PDFPageAggregator(manager, laparams=LAParams())
        interpreter = PDFPageInterpreter(manager, device)
        pages = []
        for number, page in enumerate(PDFPage.create_pages(document), 1):
            interpreter.process_page(page)
            lines = []
            boxes = [b for b in device.get_result() if isinstance(b, LTTextBox)]
            for box_number, box in enumerate(boxes):
                for line in box:
                    if not isinstance(line, LTTextLine) or not line.get_text().strip():
                        continue
                    fonts = Counter((c.fontname, round(c.size, 1)) for c in line
                                    if isinstance(c, LTChar))
                    lines.append(Line(one_line(line.get_text()), number, box_number,
                                      fonts.most_common(1)[0][0] if fonts else ("", 0)))
            pages.append(lines)
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise ExtractionError("is encrypted: save a copy without the password") from exc
    except ExtractionError:
        raise
    except Exception as exc:  # pdfminer raises many kinds (PSEOF, PDFSyntaxError, KeyError..)
        reason = str(exc) or type(exc).__name__
        raise ExtractionError(f"is truncated or corrupt ({one_line(reason)[:80]}): "
                              "export or download it again") from exc
    if not pages:
        raise ExtractionError("has no pages")
    return (found["Title"], found["Author"]), pages


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower())


def _drop_running_lines(pages: list[list[Line]]) -> tuple[list[Line], list[str]]:
    """The lines without those repeated (numbers aside) among the first or last EDGE_LINES of
    every page; and a description of what was dropped. A one-page PDF keeps everything."""
    if len(pages) < 2:
        return [line for page in pages for line in page], []
    edges = [{_furniture_key(l.text) for l in page[:EDGE_LINES] + page[-EDGE_LINES:]}
             for page in pages]
    running = set.intersection(*edges)
    kept, dropped = [], []
    for page in pages:
        edge = page[:EDGE_LINES] + page[-EDGE_LINES:]
        for line in page:
            if any(line is e for e in edge) and _furniture_key(line.text) in running:
                continue
            kept.append(line)
    for key in sorted(running):
        sample = next(l.text for page in pages for l in page if _furniture_key(l.text) == key)
        dropped.append(f"{excerpt(sample)} on every page")
    return kept, dropped


def _paragraphs(lines: list[Line], page_count: int, words: set[str]):
    """(text, page starts, hyphens mended): lines of one box and font make a paragraph; a
    paragraph that does not end a sentence runs on into a next page starting in lower case."""
    paragraphs: list[list[Line]] = []
    for line in lines:
        previous = paragraphs[-1][-1] if paragraphs else None
        same = previous is not None and (
            (line.page == previous.page and line.box == previous.box
             and line.font == previous.font)
            or (line.page == previous.page + 1 and line.font == previous.font
                and not previous.text.endswith(SENTENCE_END) and line.text[:1].islower()))
        if same:
            paragraphs[-1].append(line)
        else:
            paragraphs.append([line])
    out, starts, mended, offset = [], [], 0, 0
    for paragraph in paragraphs:
        if out:
            out.append("\n\n")
            offset += 2
        piece = ""
        for i, line in enumerate(paragraph):
            if i:
                joint, hyphen = _joint(piece, line.text, words)
                piece = piece[:-1] + joint if hyphen is not None else piece + joint
                mended += bool(hyphen)
            while len(starts) < line.page:
                starts.append(offset + len(piece))
            piece += line.text
        out.append(piece)
        offset += len(piece)
    while len(starts) < page_count:
        starts.append(offset)
    return "".join(out), tuple(starts), mended


def _joint(before: str, after: str, words: set[str]) -> tuple[str, bool | None]:
    """What goes between two lines of a paragraph: (text, True) when the hyphen ending
    `before` is a line-end hyphenation to remove, (text, False) when it is a real hyphen
    kept, (" ", None) when the line does not end in a hyphen. The document's own words
    decide first ("manufacturing" or "lithium-ion" elsewhere); a part with a hyphen of its
    own keeps it; otherwise the hyphen is taken for a hyphenation."""
    end, start = HYPHENATED_END_RE.search(before), FIRST_WORD_RE.match(after)
    if not end or not start:
        return " ", None
    head, tail = end.group(1), start.group(1)
    if not (head[-1].isalpha() and tail[0].islower()):
        return "-", False
    joined, hyphenated = (head + tail).lower(), f"{head}-{tail}".lower()
    if joined in words:
        return "", True
    if hyphenated in words or "-" in head or "-" in tail:
        return "-", False
    return "", True

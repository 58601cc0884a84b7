"""Web pages (.html, .htm): the main text, without navigation, menus, footers or "related
posts"; h1-h3 become sections, and the title, date and site name come from the metadata.

trafilatura (Apache-2.0, maintained) finds the main content by the page's structure and text
density, with readability and jusText as fallbacks, and reads dates from the meta tags and
markup (htmldate). A hand-written rule set (drop <nav>, <footer>, ...) misses the menus and
"related posts" blocks that pages put in plain <div>s.
"""

from __future__ import annotations

import re

import lxml.html
import trafilatura
from lxml import etree

from ...types import Extracted
from . import ExtractionError, excerpt, join_blocks, one_line

SECTION_LEVELS = (1, 2, 3)  # h1-h3 name sections; h4-h6 are kept as ordinary lines
CELL_SEPARATOR = " | "
# Elements whose text the page shows as a block of its own (for the report of what was dropped)
SOURCE_BLOCKS = frozenset("p li dt dd h1 h2 h3 h4 h5 h6 td th caption figcaption blockquote "
                          "pre a button label summary".split())
NAVIGATION_LEFTOVER_WORDS = 3  # a block with fewer words outside link texts is navigation


def extract(data: bytes) -> Extracted:
    """The main text of the page as blocks separated by blank lines."""
    try:
        page = lxml.html.document_fromstring(data)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"is not a readable HTML page ({exc})") from exc
    for element in page.xpath("//script|//style|//noscript|//template"):
        element.drop_tree()
    found = trafilatura.bare_extraction(
        data, with_metadata=True, include_formatting=True, include_tables=True,
        include_comments=False, include_images=False, include_links=False,
        date_extraction_params={"extensive_search": False, "original_date": True})
    if found is None or found.body is None or not len(found.body):
        raise ExtractionError("has no main text (only navigation, menus or footers)")
    blocks = []
    _blocks(found.body, blocks)
    link_texts = sorted({one_line(a.text_content()) for a in page.iter("a")} - {""},
                        key=len, reverse=True)
    if all(level is not None or _is_navigation(text, link_texts) for text, level in blocks):
        raise ExtractionError("has no main text (only navigation, menus or footers)")
    title = one_line(found.title or "") or None
    if title and not (blocks and blocks[0][1] is not None and blocks[0][0] == title):
        blocks.insert(0, (title, 1))
    text, sections = join_blocks(blocks)
    return Extracted(text=text, format="html", title=title, date=found.date,
                     publisher=found.sitename or found.author, sections=sections,
                     dropped=_dropped(page, text))


def _blocks(element, out: list) -> None:
    """(text, heading level or None) for each block of trafilatura's XML body, in order."""
    for child in element:
        tag = child.tag
        if tag == "head":
            level = int((child.get("rend") or "h2")[1:] or 2)
            out.append((one_line(_text(child)), level if level in SECTION_LEVELS else None))
        elif tag == "list":
            for item in child.iterchildren("item"):
                out.append((one_line(_text(item, skip="list")), None))
                _blocks(item, out)  # nested lists
        elif tag == "table":
            for row in child.iter("row"):
                out.append((CELL_SEPARATOR.join(one_line(_text(c)) for c in row.iter("cell")),
                            None))
        elif tag == "quote" and len(child) and all(c.tag in ("p", "list", "quote")
                                                    for c in child):
            _blocks(child, out)
        elif tag not in ("graphic",):
            out.append((one_line(_text(child)), None))


def _text(element, skip: str | None = None) -> str:
    """The text of an element and its descendants (but not those under a `skip` child)."""
    parts = [element.text or ""]
    for child in element:
        if child.tag != skip:
            parts.append(" " if child.tag == "lb" else _text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _is_navigation(text: str, link_texts: list[str]) -> bool:
    """Whether a block is (almost) nothing but the texts of the page's links."""
    for link in link_texts:
        text = text.replace(link, " ")
    return len(re.findall(r"\w+", text)) < NAVIGATION_LEFTOVER_WORDS


def _dropped(page, text: str) -> tuple[str, ...]:
    """The page's text blocks that the main text leaves out, each quoted once."""
    flat, seen, out = one_line(text), set(), []
    for element in page.iter(*SOURCE_BLOCKS):
        block = one_line(element.text_content())
        if block and block not in seen and block not in flat:
            seen.add(block)
            out.append(excerpt(block))
    return tuple(out)

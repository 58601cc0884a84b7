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
# What the main-text extractor drops that people ask about: headings (a manual's "Chapter 1.
# Introduction", numbered and anchored, reads to it like a table of contents), definition terms
# (the "root" of "root: the superuser"), and a byline or dateline beside the article.
HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")
BYLINE_MARK = re.compile(r"byline|author|dateline|posted|pubdate|published", re.I)
OUTSIDE_MAIN = re.compile(r"\b(toc|nav|navbar|menu|breadcrumbs?|sidebar|footer|comments?|share|"
                          r"related|social|cookie)\b", re.I)
RECOVERED_MAX_CHARS = 300
BYLINE_LEAD = 8  # source blocks before the main text in which a byline is still recovered


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
    blocks = _recover_dropped(page, blocks)
    link_texts = sorted({one_line(a.text_content()) for a in page.iter("a")} - {""},
                        key=len, reverse=True)
    if all(level is not None or _is_navigation(text, link_texts) for text, level in blocks):
        raise ExtractionError("has no main text (only navigation, menus or footers)")
    title = one_line(found.title or "") or None
    if title and not (blocks and blocks[0][1] is not None and blocks[0][0] == title):
        blocks.insert(0, (title, 1))
    text, sections = join_blocks(blocks)
    return Extracted(text=text, format="html", title=title, date=found.date,
                     author=_author(found.author),
                     publisher=one_line(found.sitename or "") or None, sections=sections,
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


def _recover_dropped(page, blocks: list) -> list:
    """`blocks` with the headings, definition terms and bylines of the page that the extractor
    left out put back where the page has them (before the main-text block that follows them in
    the page). Anything in navigation, a table of contents, a footer or a share bar, or made of
    link texts only, stays out."""
    source = [(element, one_line(element.text_content()))
              for element in page.iter(*SOURCE_BLOCKS, "address")
              if element.tag not in ("a", "button", "label", "summary")]
    source = [(element, text) for element, text in source if text]
    keys = [_match_key(text) for _, text in source]
    matched, j = [], 0  # the source position of each extracted block (None: not found)
    for text, _ in blocks:
        key, found = _match_key(text), None
        for position in range(j, min(len(source), j + 400)):
            if key and (keys[position] == key or (len(key) >= 30 and (
                    keys[position].startswith(key[:30]) or key.startswith(keys[position][:30])
                    and len(keys[position]) >= 30))):
                found = position
                break
        matched.append(found)
        if found is not None:
            j = found + 1
    positions = [p for p in matched if p is not None]
    if not positions:
        return blocks
    flat = _match_key(" ".join(text for text, _ in blocks))
    kept = {_match_key(text) for text, _ in blocks}
    inserts: dict[int, list] = {}
    for position, (element, text) in enumerate(source):
        level = _recoverable(element, text)
        if level is False or not positions[0] - BYLINE_LEAD <= position <= positions[-1]:
            continue
        if position < positions[0] and level is not None:
            continue  # only a byline is taken from before the main text
        key = _match_key(text)
        if position in positions or key in kept or (len(key) >= 40 and key in flat):
            continue  # already in the main text (a short line only as a block of its own)
        before = next((i for i, p in enumerate(matched) if p is not None and p > position),
                      len(blocks))
        inserts.setdefault(before, []).append((text, level))
    out = []
    for i, block in enumerate(blocks + [None]):
        out.extend(inserts.get(i, []))
        if block is not None:
            out.append(block)
    return out


def _recoverable(element, text: str):
    """The heading level (1-3: a section; None: an ordinary line) of a dropped element worth
    putting back, or False."""
    if len(text) > RECOVERED_MAX_CHARS:
        return False
    tag = element.tag
    marks = " ".join(element.get(a) or "" for a in ("class", "id", "itemprop", "rel"))
    is_byline = tag == "address" or bool(BYLINE_MARK.search(marks))
    if tag not in HEADING_TAGS and tag != "dt" and not is_byline:
        return False
    for ancestor in element.iterancestors():
        if ancestor.tag in ("nav", "footer", "aside", "form"):
            return False
        ancestor_marks = " ".join(ancestor.get(a) or "" for a in ("class", "id", "role"))
        if OUTSIDE_MAIN.search(ancestor_marks):
            return False
    unlinked = text
    for link in element.iter("a"):
        if link.get("href"):
            unlinked = unlinked.replace(one_line(link.text_content()), " ")
    if not re.search(r"[^\W\d_]", unlinked):
        return False  # a table-of-contents entry: its words are all a link's
    if tag in HEADING_TAGS:
        level = int(tag[1])
        return level if level in SECTION_LEVELS else None
    return None


MONTH_OR_NUMBER = re.compile(r"\d|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)"
                             r"[a-z]*\.?$", re.I)


def _author(found: str | None) -> str | None:
    """The extractor's author field ("Maria Okafor; November" from "By Maria Okafor, November
    14, 2025") without the pieces of a date."""
    names = [one_line(part) for part in (found or "").split(";")]
    names = [name for name in names if name and not MONTH_OR_NUMBER.search(name)]
    return "; ".join(names) or None


def _match_key(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text).strip().casefold()


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

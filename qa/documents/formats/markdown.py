"""Markdown (.md): `#` headings become sections; the citable text is the rendered words, with
the markup (emphasis, link targets, images, HTML, front matter) stripped.

markdown-it-py parses CommonMark (plus tables) into block and inline tokens, so nested
emphasis, links, code spans, setext headings and lists are read as a Markdown renderer reads
them; a hand-written strip of `*`, `#` and `[...](...)` would get each of those wrong.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from ...types import Extracted
from . import decode_utf8, excerpt, join_blocks, one_line

FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
FRONT_MATTER_FIELD_RE = re.compile(r"^(title|date|author|publisher)\s*:\s*(.+?)\s*$", re.M | re.I)
CELL_SEPARATOR = " | "


def extract(data: bytes) -> Extracted:
    """Blocks of rendered text separated by blank lines; headings on lines of their own."""
    source = decode_utf8(data)
    fields, dropped = {}, []
    front = FRONT_MATTER_RE.match(source)
    if front:
        fields = {k.lower(): v.strip("'\"") for k, v in FRONT_MATTER_FIELD_RE.findall(front[1])}
        source = source[front.end():]
        dropped.append("front matter")
    blocks, row = [], []
    tokens = MarkdownIt("commonmark").enable("table").parse(source)
    for i, token in enumerate(tokens):
        if token.type == "inline":
            opener = tokens[i - 1]
            text = _inline_text(token, dropped)
            if opener.type in ("th_open", "td_open"):
                row.append(text)
            elif opener.type == "heading_open":
                blocks.append((one_line(text), int(opener.tag[1])))
            else:
                blocks.append((re.sub(r"[ \t]+", " ", text).strip(), None))
        elif token.type == "tr_close":
            blocks.append((CELL_SEPARATOR.join(row), None))
            row = []
        elif token.type in ("fence", "code_block"):
            blocks.append((token.content.strip("\n"), None))
        elif token.type == "html_block":
            dropped.append(f"HTML {excerpt(token.content)}")
    text, sections = join_blocks(blocks)
    return Extracted(text=text, format="markdown", title=fields.get("title"),
                     date=fields.get("date"),
                     author=fields.get("author"), publisher=fields.get("publisher"),
                     sections=sections, dropped=tuple(dropped))


def _inline_text(token, dropped: list[str]) -> str:
    """The words of an inline token: text and code spans, soft breaks as spaces, hard breaks
    as line breaks; images and inline HTML left out."""
    out = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type == "softbreak":
            out.append(" ")
        elif child.type == "hardbreak":
            out.append("\n")
        elif child.type == "image":
            dropped.append(f"image {excerpt(child.attrs.get('src', ''))}")
        elif child.type == "html_inline":
            dropped.append(f"HTML {excerpt(child.content)}")
    return "".join(out)

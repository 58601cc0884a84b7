"""Plain text (.txt): the file's exact text, offsets into it unchanged ("\r\n" kept)."""

from __future__ import annotations

from ...types import Extracted
from . import decode_utf8


def extract(data: bytes) -> Extracted:
    """The UTF-8 text as it is; headings are found later, line by line."""
    return Extracted(text=decode_utf8(data), format="text")

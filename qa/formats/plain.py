"""Plain text (.txt): the file's exact text, offsets into it unchanged ("\r\n" kept)."""

from __future__ import annotations

from ..types import Extracted
from . import ExtractionError


def extract(data: bytes) -> Extracted:
    """The UTF-8 text as it is; headings are found later, line by line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExtractionError(f"is not UTF-8 text ({exc.reason} at byte {exc.start}): "
                              "convert it to UTF-8") from exc
    return Extracted(text=text, format="text")

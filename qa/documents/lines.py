"""The line tests that loading and segmentation share: page furniture (breadcrumbs, navigation),
headings, and a document's dateline (its date and byline).

Loading names a document by its first heading line and dates it by its dateline; segmentation
leaves the furniture out of the sentences, starts sections at headings and indexes the dateline
with what it means.
"""

from __future__ import annotations

import re

MONTHS = frozenset("jan feb mar apr may jun jul aug sep sept oct nov dec january february march "
                   "april june july august september october november december".split())
HEADING_MAX_WORDS = 15
SENTENCE_END = tuple('.!?:;"”’)\'')
NAVIGATION_WORDS = frozenset("home news previous next post posts share menu search login "
                             "subscribe back top related tags print email".split())
BREADCRUMB_RE = re.compile(r"^\s*[\w ]+\s*>(\s*[\w ]*\s*>?)*\s*$")
NUMBERED_HEADING_RE = re.compile(r"^\s*(#{1,6}\s+|\d{1,2}(\.\d+)*[.)]?\s+)\S")
# A dateline: "Oct 31, 2025 |BAKTH", "31 October 2025 - Reuters", "2025-10-31"
DATELINE_RE = re.compile(
    r"^\s*(?P<date>(?P<m1>[A-Za-z]{3,9})\.? \d{1,2}, \d{4}|\d{1,2} (?P<m2>[A-Za-z]{3,9})\.? \d{4}"
    r"|\d{4}-\d{2}-\d{2})\s*(?:[|·•—–-]\s*(?P<byline>[^|·•]{1,60}?))?\s*$")


def is_boilerplate(line: str) -> bool:
    """Page furniture such as breadcrumbs ("Home>News >") and navigation ("Previous Post")."""
    stripped = line.strip()
    if not stripped:
        return True
    if BREADCRUMB_RE.match(stripped):
        return True
    words = re.findall(r"[A-Za-z]+", stripped)
    return bool(words) and len(words) <= 8 and all(w.lower() in NAVIGATION_WORDS for w in words)


def is_heading(line: str) -> bool:
    """A short line that does not end like a sentence, or a numbered / markdown heading."""
    stripped = line.strip()
    if NUMBERED_HEADING_RE.match(stripped) and len(stripped.split()) <= HEADING_MAX_WORDS \
            and not stripped.endswith((".", "?", "!")):
        return True
    return len(stripped.split()) <= HEADING_MAX_WORDS and not stripped.endswith(SENTENCE_END)


def parse_dateline(line: str) -> tuple[str, str | None] | None:
    """(date, byline or None) if the line is a dateline, else None."""
    match = DATELINE_RE.match(line)
    if not match:
        return None
    month = (match.group("m1") or match.group("m2") or "").lower()
    if month and month not in MONTHS:
        return None
    return match.group("date"), match.group("byline") or None


def derive_dateline(text: str, lines: int = 8) -> tuple[str | None, str | None]:
    """Date and publisher (byline) from a dateline among the first few lines ("Oct 31, 2025 |
    BAKTH"), else (None, None)."""
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

"""Typed records that flow between the pipeline stages."""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Section:
    """A heading of an extracted document: its line is `text[start:end]`, and it names the
    section of what follows, up to the next heading of any level."""

    name: str
    level: int  # 1 for h1 / "#" / "Heading 1"; 0 for a document title style
    start: int
    end: int


@dataclass(frozen=True)
class Extracted:
    """What a format reader got out of one file: the citable text and where things are in it.

    `text` is what the index stores and serves; every offset refers to it."""

    text: str
    format: str                                  # "text", "markdown", "html", "pdf", "docx"
    title: str | None = None                     # from the file's own metadata, if it has any
    date: str | None = None
    author: str | None = None                    # who wrote it (a byline, the file's Author)
    publisher: str | None = None                 # who published it (a site, a news agency)
    sections: tuple[Section, ...] | None = None  # None: headings are guessed from the lines
    pages: tuple[int, ...] = ()                  # offset where each page starts (paged formats)
    dropped: tuple[str, ...] = ()                # what was left out, for people to read


@dataclass(frozen=True)
class Document:
    """One corpus file: the text extracted from it (for .txt, the exact file text) and its
    metadata (which never alters the text)."""

    doc_id: str
    text: str
    title: str
    metadata: dict[str, Any] = field(default_factory=dict)
    date: str | None = None       # from the metadata file, else from a dateline in the text
    publisher: str | None = None
    author: str | None = None     # from the metadata file, else from the file's own metadata
    format: str = "text"
    pages: tuple[int, ...] = ()   # offset of the start of each page; empty when not paged
    sections: tuple[Section, ...] | None = None  # known headings; None: found by segmentation

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding `offset`, or None for a document without pages."""
        if not self.pages:
            return None
        return max(1, bisect.bisect_right(self.pages, offset))

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> "Document":
        """The inverse of `dataclasses.asdict` (what the index stores)."""
        sections = value.get("sections")
        return cls(**{**value, "pages": tuple(value.get("pages") or ()),
                      "sections": None if sections is None
                      else tuple(Section(**s) for s in sections)})


@dataclass(frozen=True)
class Sentence:
    """A sentence (or heading line) with exact character offsets into its document."""

    index: int
    doc_id: str
    start: int
    end: int
    text: str
    section: str | None
    kind: str = "sentence"  # "sentence" | "heading"


@dataclass(frozen=True)
class Passage:
    """A short window of consecutive sentences of one section."""

    index: int
    doc_id: str
    start: int
    end: int
    text: str
    section: str | None
    sentence_ids: tuple[int, ...]


@dataclass
class Citation:
    """Where a piece of text comes from: `text == document.text[start:end]`."""

    doc_id: str
    title: str
    section: str | None
    start: int
    end: int
    text: str
    score: float
    page: int | None = None  # 1-based page of `start` in a paged document (PDF)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Span:
    """An extracted answer candidate with its confidence and supporting sentence."""

    text: str
    doc_id: str
    start: int
    end: int
    confidence: float
    sentence_id: int
    page: int | None = None  # 1-based page of `start` in a paged document (PDF)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "doc_id": self.doc_id, "start": self.start,
                "end": self.end, "page": self.page, "confidence": round(self.confidence, 4)}


@dataclass
class Answer:
    """The answer record returned by the CLI, the API and the evaluation report."""

    question: str
    answered: bool
    reason: str | None
    confidence: float
    answer: Span | None
    evidence: list[Citation]
    alternatives: list[Span]
    fingerprint: str
    took_ms: float = 0.0
    caveat: str | None = None  # answered, but its own sentence lacks what the question names
    # why it was refused: "confidence" (below the threshold), "constraint" (the passages lack
    # or contradict what the question names, whatever the confidence), "no_passage"; None if
    # answered
    refused_by: str | None = None
    # the confidence in words (qa.reader.confidence.SUPPORT_LABELS), from the calibrated levels
    support: str = "not supported"
    cached: bool = False  # the answer to an identical earlier question, not read again

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answered": self.answered,
            "reason": self.reason,
            "caveat": self.caveat,
            "refused_by": self.refused_by,
            "confidence": round(self.confidence, 4),
            "support": self.support,
            "answer": None if self.answer is None else {
                k: v for k, v in self.answer.to_dict().items() if k != "confidence"},
            "evidence": [c.to_dict() for c in self.evidence],
            "alternatives": [a.to_dict() for a in self.alternatives],
            "index": {"fingerprint": self.fingerprint},
            "took_ms": round(self.took_ms, 2),
            "cached": self.cached,
        }

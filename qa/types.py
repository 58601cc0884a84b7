"""Typed records that flow between the pipeline stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One corpus file: its exact text and metadata (which never alters the text)."""

    doc_id: str
    text: str
    title: str
    metadata: dict[str, Any] = field(default_factory=dict)
    date: str | None = None       # from the metadata file, else from a dateline in the text
    publisher: str | None = None


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

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "doc_id": self.doc_id, "start": self.start,
                "end": self.end, "confidence": round(self.confidence, 4)}


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answered": self.answered,
            "reason": self.reason,
            "confidence": round(self.confidence, 4),
            "answer": None if self.answer is None else {
                k: v for k, v in self.answer.to_dict().items() if k != "confidence"},
            "evidence": [c.to_dict() for c in self.evidence],
            "alternatives": [a.to_dict() for a in self.alternatives],
            "index": {"fingerprint": self.fingerprint},
            "took_ms": round(self.took_ms, 2),
        }

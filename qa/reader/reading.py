"""The reader: from retrieved sentences to an exact answer span with its citation, or "not found".

The best `READ_DEPTH` retrieved sentences are read with their neighbours (their passages;
overlapping ones are merged into one window). The span reader (qa/models/reader_model.py)
scores every token of every window (each window run on its own) as the answer's start or end,
and each window's [CLS] as "no answer here". The best start/end pairs become candidate spans,
widened to whole words with their brackets and quotation marks paired; a calibrated model
(qa/reader/confidence.py) turns each one's scores, how its sentence relates to the question, and
the question's years, numbers and names that neither its window nor its document's lead states
(the lead names once what later sentences take as read), into the probability that it is
right. The reader answers with the best candidate when that probability reaches the threshold
learned with it (and, when calibration chose the hard rule, its window or lead states
everything the question pins down, and its window never only the opposite of a word it asks
with).

Nothing is generated: every span is `document.text[start:end]` of the window's document.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..documents.segmentation import ABBREVIATIONS, heading_label, lead_texts
from ..models.reader_model import WindowLogits
from ..retrieval import RetrievedSentence
from ..store.document_store import DocumentStore
from ..text import content_stems
from ..types import Answer, Citation, Span
from .confidence import READ_DEPTH, Calibration
from .constraints import (asked_type, contradicted, country_forms, missing_from, specifics,
                          type_mismatch)

MAX_WINDOW_SENTENCES = 5  # overlapping passages merge into one window up to this size
MAX_ANSWER_TOKENS = 30
TOP_TOKENS = 20  # start and end tokens paired per window
SPANS_PER_WINDOW = 3
# Brackets and quotation marks a span keeps paired, and how far (characters, on the same line) a
# span may grow to take in the partner of one it holds.
PAIRED_MARKS = {"(": ")", "[": "]", "{": "}", "“": "”"}
CLOSING_MARKS = {close: open_ for open_, close in PAIRED_MARKS.items()}
MARK_REACH = 60


@dataclass
class Window:
    """Consecutive sentences of one document, read as one piece: `text` is
    `document.text[start:end]`, and `rank` the best retrieval rank among its sentences."""

    doc_id: str
    start: int
    end: int
    text: str
    sentence_ids: tuple[int, ...]
    rank: int
    labels: tuple[tuple[int, int], ...] = ()  # its headings' numbering ("01 "), window offsets


@dataclass
class Candidate:
    """A span of a window with the reader's scores; `start`/`end` are document offsets."""

    window: Window
    start: int
    end: int
    score: float      # start + end logit
    null: float       # the window's "no answer" logit
    log_prob: float   # log P(start) + log P(end), softmax over the window's tokens and [CLS]
    missing: list[str]
    confidence: float = 0.0
    opposed: list[tuple[str, str]] = field(default_factory=list)  # (asked, what the window says)
    sentence_id: int = -1    # the sentence the span starts in
    similarity: float = 0.0  # embedding similarity of the question and that sentence
    coverage: float = 0.0    # share of the question's content words that sentence holds
    echo: float = 0.0        # share of the span's content words that the question holds
    sentence_missing: list[str] = field(default_factory=list)  # `missing`, for that sentence
    #                                                            and its document's title
    sentence_opposed: list[tuple[str, str]] = field(default_factory=list)  # `opposed`, for it
    type_mismatch: bool = False  # not the kind of answer asked for (a level for a change, ...)


def windows_for(store: DocumentStore, retrieved: list[RetrievedSentence],
                depth: int = READ_DEPTH) -> list[Window]:
    """The passages of the best `depth` retrieved sentences, overlapping ones merged, in the
    order of their best sentence."""
    groups: list[dict] = []
    for hit in retrieved[:depth]:
        passage = store.passages[hit.sentence_id]
        ids = set(passage.sentence_ids)
        for g in groups:
            if g["doc"] == passage.doc_id and g["ids"] & ids and \
                    len(g["ids"] | ids) <= MAX_WINDOW_SENTENCES:
                g["ids"] |= ids
                break
        else:
            groups.append({"doc": passage.doc_id, "ids": ids, "rank": hit.rank})
    out = []
    for g in groups:
        ids = tuple(sorted(g["ids"]))
        start, end = store.sentences[ids[0]].start, store.sentences[ids[-1]].end
        text = store.documents[g["doc"]].text[start:end]
        headings = [store.sentences[i] for i in ids if store.sentences[i].kind == "heading"]
        labels = tuple((h.start - start, h.start - start + n) for h in headings
                       if (n := heading_label(h.text)))
        out.append(Window(g["doc"], start, end, text, ids, g["rank"], labels))
    return out


def widen_to_words(text: str, a: int, b: int) -> tuple[int, int]:
    """[a, b) grown so that it neither starts nor ends inside a word (word pieces), then
    without separators (",;:" and spaces) at either end."""
    while a > 0 and text[a - 1].isalnum() and text[a].isalnum():
        a -= 1
    while b < len(text) and text[b - 1].isalnum() and text[b].isalnum():
        b += 1
    return _strip_separators(text, a, b)


def _strip_separators(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and (text[a].isspace() or text[a] in ",;:"):
        a += 1
    while b > a and (text[b - 1].isspace() or text[b - 1] in ",;:"):
        b -= 1
    return a, b


def _opens(text: str, i: int) -> bool:
    """Whether the mark at i opens (a straight quote opens after an even number on its line)."""
    if text[i] in PAIRED_MARKS or text[i] in CLOSING_MARKS:
        return text[i] in PAIRED_MARKS
    return text.count('"', text.rfind("\n", 0, i) + 1, i) % 2 == 0


def _partner(text: str, i: int, reach: int) -> int | None:
    """Where the bracket or quotation mark at i is paired, on its line within `reach`."""
    mark, forward = text[i], _opens(text, i)
    other = (PAIRED_MARKS if forward else CLOSING_MARKS).get(mark, '"')
    steps = range(i + 1, min(len(text), i + 1 + reach)) if forward else \
        range(i - 1, max(-1, i - 1 - reach), -1)
    depth = 0
    for j in steps:
        if text[j] == "\n":
            return None
        if text[j] == mark and mark != '"':
            depth += 1
        elif text[j] == other:
            if depth == 0:
                return j
            depth -= 1
    return None


def _unpaired(text: str, a: int, b: int) -> list[int]:
    """Where [a, b) holds a bracket or quotation mark whose partner it does not hold (a straight
    quote opens or closes by its place on the line: see _opens)."""
    stack, out = [], []
    for i in range(a, b):
        if text[i] not in PAIRED_MARKS and text[i] not in CLOSING_MARKS and text[i] != '"':
            continue
        if _opens(text, i):
            stack.append(i)
        elif stack and text[stack[-1]] == CLOSING_MARKS.get(text[i], '"'):
            stack.pop()
        else:
            out.append(i)
    return sorted(out + stack)


def balance_marks(text: str, a: int, b: int, reach: int = MARK_REACH) -> tuple[int, int]:
    """[a, b) with its brackets and quotation marks paired: an unpaired one at either end is
    dropped ('60 percent"' becomes "60 percent"); inside, a bracket that opens an aside is cut
    off with it ("523 km (325" becomes "523 km"), any other mark takes in its partner on the
    same line within `reach` characters ("Article 17(3" becomes "Article 17(3)", 'a "silly
    argument' becomes 'a "silly argument"'). Also drops a sentence's final period (one after an
    abbreviation such as "U.S." stays)."""
    lo, hi = a, b
    a, b = _strip_separators(text, a, b)
    kept: set[int] = set()  # marks left as they are: their partner is out of reach, or was
    taken: set[int] = set()  # taken in once already (dropped again since: don't go round)
    for _ in range(hi - lo + 4 * reach):  # each pass drops, takes in or keeps a mark
        marks = [i for i in _unpaired(text, a, b) if i not in kept]
        if not a < b or not marks:
            break
        i = marks[0]
        if i == a or not any(ch.isalnum() for ch in text[a:i]):
            a = i + 1
        elif i == b - 1:
            b -= 1
        elif text[i] in PAIRED_MARKS and text[i - 1].isspace():
            b = i
        elif (j := _partner(text, i, reach)) is not None and lo - reach <= j < hi + reach \
                and j not in taken:
            taken.add(j)
            a, b = min(a, j), max(b, j + 1)
        else:
            kept.add(i)
        a, b = _strip_separators(text, a, b)
    if b - a > 1 and text[b - 1] == "." and text[b - 2].isalnum():
        word = re.search(r"[\w.]*$", text[a:b - 1]).group().lower()
        if "." not in word and word not in ABBREVIATIONS and len(word) > 1:
            b -= 1
    return (a, b) if a < b else (lo, hi)


def log_softmax_with_cls(logits: np.ndarray, cls: float) -> np.ndarray:
    top = max(float(logits.max(initial=cls)), cls)
    total = top + math.log(float(np.exp(logits - top).sum()) + math.exp(cls - top))
    return logits - total


def window_candidates(window: Window, logits: WindowLogits, question: str, context: str,
                      per_window: int = SPANS_PER_WINDOW,
                      required: list[tuple[str, str]] | None = None,
                      lead: str = "") -> list[Candidate]:
    """The best start/end pairs of a window (start <= end, at most MAX_ANSWER_TOKENS apart),
    as whole-word document spans. `context`: what the window stands in (see
    Reader.context_of); `required`: the question's specifics, if already found; `lead`: its
    document's lead, which may state them too."""
    n = len(logits.start)
    if n == 0:
        return []
    cls_start = cls_end = logits.null / 2  # only the sum is used below
    log_start = log_softmax_with_cls(logits.start, cls_start)
    log_end = log_softmax_with_cls(logits.end, cls_end)
    starts = np.argsort(-logits.start)[:TOP_TOKENS]
    ends = np.argsort(-logits.end)[:TOP_TOKENS]
    pairs = [(float(logits.start[s] + logits.end[e]), int(s), int(e))
             for s in starts for e in ends if 0 <= e - s < MAX_ANSWER_TOKENS]
    pairs.sort(reverse=True)
    out, seen = [], set()
    missing = missing_from(specifics(question) if required is None else required,
                           f"{context}\n{lead}")
    opposed = contradicted(question, context)
    for score, s, e in pairs:
        a, b = balance_marks(window.text, *widen_to_words(
            window.text, int(logits.spans[s][0]), int(logits.spans[e][1])))
        if not window.text[a:b].strip() or (a, b) in seen or \
                any(la <= a and b <= lb for la, lb in window.labels):
            continue
        seen.add((a, b))
        out.append(Candidate(window, window.start + a, window.start + b, score, logits.null,
                             float(log_start[s] + log_end[e]), missing, opposed=opposed))
        if len(out) >= per_window:
            break
    return out


def _said_not_asked(opposed: list[tuple[str, str]]) -> str:
    return ", ".join(f"'{said}', not '{asked}'" for asked, said in opposed)


def refusal_reason(best: Candidate) -> str:
    """What the best candidate's window, or else its sentence, lacks or contradicts, in words a
    user can check."""
    if best.missing:
        return "the closest passages do not mention " + ", ".join(best.missing)
    if best.opposed:
        return "the closest passages say " + _said_not_asked(best.opposed)
    if best.sentence_missing:
        return "the sentence closest to an answer does not mention " + \
            ", ".join(best.sentence_missing)
    if best.sentence_opposed:
        return "the sentence closest to an answer says " + _said_not_asked(best.sentence_opposed)
    return "no passage states this clearly enough"


def caveat_of(best: Candidate) -> str | None:
    """What a user should check before trusting an answer: a year, number or name of the
    question that the answer's own sentence lacks (its window states it elsewhere, so the
    sentence may be about something else), or an opposite that sentence states."""
    if best.sentence_missing:
        return ("the sentence it is taken from does not mention " +
                ", ".join(best.sentence_missing) + "; check that it is about that")
    if best.sentence_opposed:
        return "the sentence it is taken from says " + _said_not_asked(best.sentence_opposed)
    return None


class Reader:
    """Extracts the best-supported span from retrieved sentences, or abstains."""

    def __init__(self, store: DocumentStore, model, calibration: Calibration,
                 min_confidence: float | None = None, depth: int | None = None,
                 caution: str | None = None, early_exit: bool = True):
        """`model` has `logits(question, windows) -> list[WindowLogits]` (qa/models/reader_model.py);
        `caution` picks one of the calibrated thresholds (None: the default level's),
        `min_confidence` overrides it, and `depth` the calibrated number of retrieved
        sentences read; `early_exit`: answer from the best-retrieved window alone when that is
        confident enough (see Calibration.exit_confidence)."""
        self.store = store
        self.model = model
        self.calibration = calibration
        self.threshold = calibration.threshold_for(caution) if min_confidence is None \
            else min_confidence
        self.depth = calibration.depth if depth is None else depth
        self.exit_confidence = calibration.exit_confidence if early_exit else None
        self.leads = lead_texts(store.documents, store.sentences)
        country_forms()  # the constraint check's table, built here rather than by a question

    def context_of(self, window: Window) -> str:
        """The text a window stands in: its document's title, its section and itself."""
        document = self.store.documents[window.doc_id]
        section = self.store.sentences[window.sentence_ids[0]].section or ""
        return f"{document.title}\n{section}\n{window.text}"

    def score(self, question: str, vector: np.ndarray, windows: list[Window],
              logits: list[WindowLogits]):
        """The best spans of these windows (read into `logits`) and their calibration feature
        rows (what the confidence model reads; calibration fits it on the same rows), as if they
        were all the windows read. `vector`: the question's embedding."""
        required = specifics(question)
        out = []
        for window, window_logits in zip(windows, logits):
            out += window_candidates(window, window_logits, question, self.context_of(window),
                                     required=required, lead=self.leads.get(window.doc_id, ""))
        if not out:
            return out, np.zeros((0, len(self.calibration.features)), dtype=np.float32)
        self._relate(question, vector, out, required)
        best = max(c.score for c in out)
        null_min = min(w.null for w in logits)
        rows = np.array([Calibration.features_of(c, best, null_min) for c in out],
                        dtype=np.float32)
        return out, rows

    def _relate(self, question: str, vector: np.ndarray, candidates: list[Candidate],
                required: list[tuple[str, str]]) -> None:
        """Set each candidate's sentence and how that sentence and the span relate to the
        question; `required`: the question's specifics."""
        asked = set(content_stems(question))
        kind = asked_type(question)
        for c in candidates:
            c.sentence_id = self._sentence_of(c)
        ids = sorted({c.sentence_id for c in candidates})
        similarity = dict(zip(ids, self.store.similarities(vector, ids).tolist()))
        coverage = {i: len(asked & set(content_stems(self.store.sentences[i].text)))
                    / max(1, len(asked)) for i in ids}
        lacks = {}
        for i in ids:
            sentence = self.store.sentences[i]
            title = self.store.documents[sentence.doc_id].title
            lacks[i] = (missing_from(required, f"{title}\n{sentence.text}"),
                        contradicted(question, sentence.text))
        for c in candidates:
            said = set(content_stems(self.store.documents[c.window.doc_id].text[c.start:c.end]))
            c.similarity = float(similarity[c.sentence_id])
            c.coverage = coverage[c.sentence_id]
            c.echo = len(said & asked) / len(said) if said else 0.0
            c.sentence_missing, c.sentence_opposed = lacks[c.sentence_id]
            if kind is not None:
                sentence = self.store.sentences[c.sentence_id]
                text = self.store.documents[c.window.doc_id].text
                before = text[max(sentence.start, c.start - 40):c.start]
                c.type_mismatch = type_mismatch(kind, text[c.start:c.end], before)

    def _sentence_of(self, c: Candidate) -> int:
        return next((i for i in c.window.sentence_ids
                     if self.store.sentences[i].start <= c.start < self.store.sentences[i].end),
                    c.window.sentence_ids[0])

    def candidates(self, question: str, vector: np.ndarray,
                   retrieved: list[RetrievedSentence]) -> list[Candidate]:
        """Every window's best spans with their confidence, best first. With an early exit,
        the best-retrieved window is read first, and its spans alone are returned when the
        best of them would be answered at a confidence of at least `exit_confidence`: the
        other windows are read only when it is not."""
        windows = windows_for(self.store, retrieved, self.depth)
        exit_at = self.exit_confidence
        if exit_at is None or len(windows) < 2:
            logits = self.model.logits(question, [w.text for w in windows])
        else:
            logits = self.model.logits(question, [windows[0].text])
            first = self._ranked(*self.score(question, vector, windows[:1], logits))
            if first and first[0].confidence >= max(exit_at, self.threshold) and \
                    not self._ruled_out(first[0]):
                return first
            logits += self.model.logits(question, [w.text for w in windows[1:]])
        return self._ranked(*self.score(question, vector, windows, logits))

    def _ranked(self, out: list[Candidate], rows: np.ndarray) -> list[Candidate]:
        for c, p in zip(out, self.calibration.probabilities(rows) if out else []):
            c.confidence = float(p)
        out.sort(key=lambda c: -c.confidence)
        return out

    def _ruled_out(self, best: Candidate) -> bool:
        """Whether the hard rule refuses this candidate: its window lacks a year, number or name
        the question states, or states the opposite of a word it asks with."""
        return self.calibration.refuse_missing and bool(best.missing or best.opposed)

    def read(self, question: str, vector: np.ndarray, retrieved: list[RetrievedSentence],
             top_k: int = 3) -> Answer:
        """The answer record: the best span if it is confident enough, else the reason and the
        closest passages. `vector`: the question's embedding (what retrieval searched with)."""
        ranked = self.candidates(question, vector, retrieved)
        if not ranked:
            return self._answer(question, retrieved, [], top_k, answered=False,
                                reason="no passage of the documents is close to this question",
                                refused_by="no_passage")
        best = ranked[0]
        low = best.confidence < self.threshold
        ruled = self._ruled_out(best)
        if low or ruled:
            why = refusal_reason(best)
            if low:
                why += (f" (confidence {100 * best.confidence:.0f}% is below the "
                        f"{100 * self.threshold:.0f}% needed to answer)")
            return self._answer(question, retrieved, ranked, top_k, answered=False, reason=why,
                                refused_by="constraint" if ruled else "confidence")
        return self._answer(question, retrieved, ranked, top_k, answered=True, reason=None,
                            caveat=caveat_of(best))

    # -- the record ----------------------------------------------------------------------------
    def _answer(self, question: str, retrieved, ranked: list[Candidate], top_k: int,
                answered: bool, reason, caveat: str | None = None,
                refused_by: str | None = None) -> Answer:
        """Answer (if any), evidence sentences (the answer's own first), and alternative spans
        (when abstaining, the spans it would have given, unconfirmed)."""
        spans, seen = [], set()
        for c in ranked:
            span = self._span(c)
            key = re.sub(r"[\W_]+$", "", span.text.lower())  # "tall" and "tall." are one
            if key in seen:
                continue
            seen.add(key)
            spans.append(span)
            if len(spans) > top_k:
                break
        evidence: list[Citation] = []
        cited: set[int] = set()
        if ranked:
            first = spans[0].sentence_id
            evidence.append(self._citation(first, ranked[0].confidence))
            cited.add(first)
        for hit in retrieved:
            if len(evidence) >= top_k:
                break
            if hit.sentence_id not in cited:
                evidence.append(self._citation(hit.sentence_id, hit.fused))
                cited.add(hit.sentence_id)
        confidence = ranked[0].confidence if ranked else 0.0
        answer = spans[0] if answered else None
        alternatives = spans[1:top_k + 1] if answered else spans[:top_k]
        return Answer(question, answered, reason, confidence, answer, evidence, alternatives,
                      self.store.fingerprint, caveat=caveat, refused_by=refused_by,
                      support=self.calibration.support(confidence))

    def _span(self, c: Candidate) -> Span:
        text = self.store.documents[c.window.doc_id].text[c.start:c.end]
        return Span(text, c.window.doc_id, c.start, c.end, c.confidence, c.sentence_id)

    def _citation(self, sentence_id: int, score: float) -> Citation:
        sentence = self.store.sentences[sentence_id]
        document = self.store.documents[sentence.doc_id]
        return Citation(sentence.doc_id, document.title, sentence.section, sentence.start,
                        sentence.end, document.text[sentence.start:sentence.end],
                        round(float(score), 4))

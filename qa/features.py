"""Features of answer candidates, sentences and final answers, shared by reading and training."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .candidates import Candidate, Word, candidates_of, words_of
from .questions import QuestionAnalysis
from .retrieval import RetrievedSentence
from .text import content_stems

# How well a candidate type fits an expected answer type (hand-set prior; the ranker learns the rest).
COMPATIBLE = {
    "person": {"name": 1.0, "phrase": 0.2},
    "entity": {"name": 1.0, "phrase": 0.5, "list": 0.3},
    "location": {"name": 1.0, "phrase": 0.2},
    "date": {"date": 1.0, "year": 1.0, "duration": 0.2},
    "count": {"count": 1.0, "quantity": 0.8, "money": 0.3, "percent": 0.3, "duration": 0.5},
    "quantity": {"quantity": 1.0, "count": 0.7, "money": 0.7, "percent": 0.7, "duration": 0.5},
    "percent": {"percent": 1.0},
    "money": {"money": 1.0, "quantity": 0.5, "count": 0.4},
    "duration": {"duration": 1.0, "date": 0.4, "count": 0.3},
    "reason": {"phrase": 0.6, "list": 0.3},
    "description": {"phrase": 0.6, "list": 0.3},
    "thing": {"phrase": 0.8, "name": 0.6, "list": 0.6, "count": 0.2, "quantity": 0.3,
              "money": 0.3, "percent": 0.3, "date": 0.3, "year": 0.3},
}
PREPOSITIONS = frozenset("in on at by from to of for with as into during than".split())


@dataclass
class SentenceView:
    """A sentence prepared for reading: its words and candidates (computed once, cached)."""

    words: list[Word]
    stems: list[str]
    candidates: list[Candidate]
    stem_set: frozenset = field(default_factory=frozenset)


@lru_cache(maxsize=20_000)
def sentence_view(text: str) -> SentenceView:
    words = words_of(text)
    stems = [w.stem for w in words]
    return SentenceView(words, stems, candidates_of(text, words), frozenset(stems))


SPAN_FEATURES = (
    ["compat", "in_question", "all_in_question", "log_dist", "no_match", "left_match",
     "right_match", "local_overlap", "log_len", "len1", "len_gt6", "head_match", "cap_ratio",
     "starts_sentence", "ends_sentence", "after_prep", "after_by", "after_comma",
     "before_comma", "in_quotes", "has_modifier",
     # the prior above, split by whether the question names its answer type
     "typed*compat", "typed*mismatch", "untyped*name", "untyped*phrase", "untyped*list",
     "untyped*figure", "untyped*local_overlap"]
)
UNTYPED_QUESTIONS = ("thing", "description", "reason")
FIGURES = frozenset(("percent", "money", "date", "year", "duration", "count", "quantity"))


def span_features(q: QuestionAnalysis, text: str, view: SentenceView) -> np.ndarray:
    """One row of SPAN_FEATURES per candidate of the sentence."""
    words, cands = view.words, view.candidates
    qset = set(q.stems)
    matched = [i for i, s in enumerate(view.stems) if s in qset]
    rows = np.zeros((len(cands), len(SPAN_FEATURES)), dtype=np.float32)
    typed = q.answer_type not in UNTYPED_QUESTIONS
    compat = COMPATIBLE[q.answer_type]
    n_q = max(1, len(qset))
    for r, c in enumerate(cands):
        inside = view.stems[c.first:c.last + 1]
        content = [s for s, w in zip(inside, words[c.first:c.last + 1]) if not w.stop]
        in_q = sum(1 for s in content if s in qset) / max(1, len(content))
        outside = [i for i in matched if i < c.first or i > c.last]
        if outside:
            dist = min(c.first - i if i < c.first else i - c.last for i in outside)
        else:
            dist = len(words)
        left = sum(1 for i in outside if c.first - 5 <= i < c.first)
        right = sum(1 for i in outside if c.last < i <= c.last + 5)
        window = set(view.stems[max(0, c.first - 10):c.first]) | \
            set(view.stems[c.last + 1:c.last + 11])
        length = c.last - c.first + 1
        prev = words[c.first - 1] if c.first > 0 else None
        span_words = words[c.first:c.last + 1]
        fit = compat.get(c.kind, 0.0)
        local = len(qset & window) / n_q
        rows[r, :] = (
            fit, in_q, float(in_q >= 1.0), math.log1p(dist),
            float(not outside), left, right, local, math.log1p(length),
            float(length == 1), float(length > 6),
            float(bool(q.head_stems) and (span_words[-1].stem in q.head_stems or (
                c.last + 1 < len(words) and words[c.last + 1].stem in q.head_stems))),
            sum(w.capital for w in span_words) / length,
            float(c.first == 0), float(c.last == len(words) - 1),
            float(prev is not None and prev.lower in PREPOSITIONS),
            float(prev is not None and prev.lower == "by"),
            float(prev is not None and prev.break_after and text[prev.end:prev.end + 1] == ","),
            float(text[c.end:c.end + 1] == ","),
            float(text[max(0, c.start - 1):c.start] in "“\"'‘" and c.start > 0),
            float(c.first < c.last and span_words[0].lower in ("about", "around", "approximately",
                                                                "nearly", "almost", "over",
                                                                "more", "less", "at", "up")),
            typed * fit, float(typed and fit == 0.0),
            float(not typed and c.kind == "name"), float(not typed and c.kind == "phrase"),
            float(not typed and c.kind == "list"), float(not typed and c.kind in FIGURES),
            float(not typed) * local,
        )
    return rows


SENTENCE_FEATURES = ["dense", "dense_passage", "lexical", "lexical_passage", "fused",
                     "inv_rank", "overlap", "idf_overlap", "passage_idf_overlap", "bigrams",
                     "best_span", "type_present", "missing_specifics", "heading"]


def sentence_features(q: QuestionAnalysis, hit: RetrievedSentence, view: SentenceView,
                      passage_stems: frozenset, idf: dict, best_span: float,
                      type_present: float, missing_specifics: float,
                      is_heading: bool) -> np.ndarray:
    qset = set(q.stems)
    total_idf = sum(idf.get(s, 1.0) for s in qset) or 1.0
    overlap = len(qset & view.stem_set) / max(1, len(qset))
    idf_overlap = sum(idf.get(s, 1.0) for s in qset & view.stem_set) / total_idf
    passage_overlap = sum(idf.get(s, 1.0) for s in qset & passage_stems) / total_idf
    q_bigrams = set(zip(q.stems, q.stems[1:]))
    s_bigrams = set(zip(view.stems, view.stems[1:]))
    return np.array([
        hit.dense, hit.dense_passage, hit.lexical, hit.lexical_passage, hit.fused * 60,
        1.0 / (1 + hit.rank), overlap, idf_overlap, passage_overlap,
        min(3, len(q_bigrams & s_bigrams)), best_span, type_present, missing_specifics,
        float(is_heading)], dtype=np.float32)


CONFIDENCE_FEATURES = ["sentence_logit", "span_logit", "span_share", "sentence_margin",
                       "missing_specifics", "missing_idf", "max_missing_idf", "compat",
                       "typed_question"]


def missing_specifics(q: QuestionAnalysis, context: str) -> float:
    """Fraction of the question's numbers and names that its answer's context does not contain."""
    if not q.specifics:
        return 0.0
    low = context.lower().replace("’", "'")
    missing = sum(1 for t in q.specifics if not re.search(rf"(?<!\w){re.escape(t)}", low))
    return missing / len(q.specifics)


def idf_table(texts: list[str]) -> dict[str, float]:
    """Inverse document frequency of each stem over the given texts."""
    df: dict[str, int] = {}
    for text in texts:
        for s in set(content_stems(text)):
            df[s] = df.get(s, 0) + 1
    n = len(texts)
    return {s: math.log(1 + n / d) for s, d in df.items()}

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
    # each word's content stems as the question's are computed ("lithium-ion" -> lithium, ion;
    # "U.S" -> u), so that matching a word against the question is consistent
    parts: list[tuple[str, ...]] = field(default_factory=list)


@lru_cache(maxsize=20_000)
def sentence_view(text: str) -> SentenceView:
    words = words_of(text)
    stems = [w.stem for w in words]
    parts = [tuple(content_stems(w.text)) for w in words]
    stem_set = frozenset(stems) | frozenset(p for ps in parts for p in ps)
    return SentenceView(words, stems, candidates_of(text, words), stem_set, parts)


def _question_hits(view: SentenceView, qset: set) -> tuple[list[bool], list[bool]]:
    """Per word: does any of its stems occur in the question; do all of them."""
    any_hit = [bool(ps) and any(p in qset for p in ps) for ps in view.parts]
    all_hit = [bool(ps) and all(p in qset for p in ps) for ps in view.parts]
    return any_hit, all_hit


SPAN_FEATURES = (
    ["compat", "in_question", "all_in_question", "log_dist", "no_match", "left_match",
     "right_match", "local_overlap", "log_len", "len1", "len_gt6", "head_match", "cap_ratio",
     "starts_sentence", "ends_sentence", "after_prep", "after_by", "after_comma",
     "before_comma", "in_quotes", "has_modifier",
     # the prior above, split by whether the question names its answer type
     "typed*compat", "typed*mismatch", "untyped*name", "untyped*phrase", "untyped*list",
     "untyped*figure", "untyped*local_overlap",
     # alignment of the candidate's neighbourhood with the question's words
     "left_adjacent", "right_adjacent", "left_window", "right_window", "both_sides",
     "tail_of_name", "appositive", "starts_stop", "ends_stop", "head_inside",
     "plain_name", "person*plain_name", "untyped*cap_ratio", "log_dist_x_typed",
     # soft matching on token vectors (qa/alignment.py), filled in by the reader
     "soft_local", "soft_in_question"]
)
SOFT_SPAN_COLUMNS = (SPAN_FEATURES.index("soft_local"), SPAN_FEATURES.index("soft_in_question"))
UNTYPED_QUESTIONS = ("thing", "description", "reason")
FIGURES = frozenset(("percent", "money", "date", "year", "duration", "count", "quantity"))


def span_features(q: QuestionAnalysis, text: str, view: SentenceView) -> np.ndarray:
    """One row of SPAN_FEATURES per candidate of the sentence."""
    words, cands = view.words, view.candidates
    qset = set(q.stems)
    any_hit, all_hit = _question_hits(view, qset)
    matched = [i for i, h in enumerate(any_hit) if h]
    rows = np.zeros((len(cands), len(SPAN_FEATURES)), dtype=np.float32)
    typed = q.answer_type not in UNTYPED_QUESTIONS
    compat = COMPATIBLE[q.answer_type]
    n_q = max(1, len(qset))
    for r, c in enumerate(cands):
        content = [i for i in range(c.first, c.last + 1) if view.parts[i]]
        in_q = sum(1 for i in content if all_hit[i]) / max(1, len(content))
        outside = [i for i in matched if i < c.first or i > c.last]
        if outside:
            dist = min(c.first - i if i < c.first else i - c.last for i in outside)
        else:
            dist = len(words)
        left = sum(1 for i in outside if c.first - 5 <= i < c.first)
        right = sum(1 for i in outside if c.last < i <= c.last + 5)
        window = {p for ps in view.parts[max(0, c.first - 10):c.first] for p in ps} | \
            {p for ps in view.parts[c.last + 1:c.last + 11] for p in ps}
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
            *_alignment(view, qset, c, n_q, any_hit),
            float(c.kind == "name" and c.first >= 2 and words[c.first - 1].lower in ("of", "and")
                  and words[c.first - 2].capital),
            float(prev is not None and text[prev.end:prev.end + 1] == ","
                  and text[c.end:c.end + 1] == ","),
            float(span_words[0].stop), float(span_words[-1].stop),
            float(any(w.stem in q.head_stems for w in span_words)),
            plain := float(c.kind == "name" and all(w.capital for w in span_words)
                           and 2 <= length <= 3),
            float(q.answer_type == "person") * plain,
            float(not typed) * (sum(w.capital for w in span_words) / length),
            float(typed) * math.log1p(dist),
            0.0, 0.0,  # soft_local, soft_in_question: set by the reader (qa/reading.py)
        )
    return rows


def _nearest_content(words: list[Word], start: int, step: int, limit: int = 3) -> int | None:
    i, seen = start, 0
    while 0 <= i < len(words) and seen < limit:
        if not words[i].stop:
            return i
        i += step
        seen += 1
    return None


def _alignment(view: SentenceView, qset: set, c: Candidate, n_q: int, hit: list) -> tuple:
    """Do the words right around the candidate repeat the question's words?"""
    words, parts = view.words, view.parts
    left_i = _nearest_content(words, c.first - 1, -1)
    right_i = _nearest_content(words, c.last + 1, 1)
    left_adj = float(left_i is not None and hit[left_i])
    right_adj = float(right_i is not None and hit[right_i])
    left_w = len(qset & {p for ps in parts[max(0, c.first - 4):c.first] for p in ps}) / n_q
    right_w = len(qset & {p for ps in parts[c.last + 1:c.last + 5] for p in ps}) / n_q
    return left_adj, right_adj, left_w, right_w, float(left_adj > 0 and right_adj > 0)


SENTENCE_FEATURES = ["dense", "dense_passage", "lexical", "lexical_passage", "fused",
                     "inv_rank", "overlap", "idf_overlap", "passage_idf_overlap", "bigrams",
                     "best_span", "type_present", "missing_specifics", "heading",
                     "max_idf_hit", "missing_max_idf", "compactness", "log_words",
                     "soft_overlap"]


def sentence_features(q: QuestionAnalysis, hit: RetrievedSentence, view: SentenceView,
                      passage_stems: frozenset, idf: dict, best_span: float,
                      type_present: float, missing_specifics: float,
                      is_heading: bool, soft_overlap: float = 0.0) -> np.ndarray:
    qset = set(q.stems)
    total_idf = sum(idf.get(s, 1.0) for s in qset) or 1.0
    overlap = len(qset & view.stem_set) / max(1, len(qset))
    idf_overlap = sum(idf.get(s, 1.0) for s in qset & view.stem_set) / total_idf
    passage_overlap = sum(idf.get(s, 1.0) for s in qset & passage_stems) / total_idf
    q_bigrams = set(zip(q.stems, q.stems[1:]))
    seq = [p for ps in view.parts for p in ps]
    s_bigrams = set(zip(seq, seq[1:]))
    top_idf = max(idf.values(), default=1.0) or 1.0
    hits = qset & view.stem_set
    max_hit = max((idf.get(s, top_idf) for s in hits), default=0.0) / top_idf
    max_missing = max((idf.get(s, top_idf) for s in qset - view.stem_set), default=0.0) / top_idf
    # how tightly the question's words cluster in the sentence: matched stems / window width
    positions = [i for i, ps in enumerate(view.parts) if any(p in qset for p in ps)]
    compact = (len(positions) / (positions[-1] - positions[0] + 1)) if positions else 0.0
    return np.array([
        hit.dense, hit.dense_passage, hit.lexical, hit.lexical_passage, hit.fused * 60,
        1.0 / (1 + hit.rank), overlap, idf_overlap, passage_overlap,
        min(3, len(q_bigrams & s_bigrams)), best_span, type_present, missing_specifics,
        float(is_heading), max_hit, max_missing, compact, math.log1p(len(view.words)),
        soft_overlap], dtype=np.float32)


CONFIDENCE_FEATURES = ["sentence_logit", "span_logit", "span_share", "sentence_margin",
                       "missing_specifics", "missing_idf", "max_missing_idf", "compat",
                       "typed_question", "sent_missing_specifics", "number_conflict",
                       "name_conflict", "sent_missing_idf", "n_missing", "answer_type_in_sentence",
                       "neural_span", "neural_best", "neural_null"]
# The second stage (the neural span scorer reads the first stage's best sentences): a span's
# first-stage logit, the scorer's log P(start) + log P(end), whether it is the scorer's pick;
NEURAL_SPAN_FEATURES = ["span_logit", "neural", "neural_top"]
# a sentence's first-stage logit, the scorer's best raw logit in it, that logit's gap to the
# best of the sentences read, the sentence's best second-stage span logit, and how far the
# scorer's "no answer here" logit is above its best span.
NEURAL_SENTENCE_FEATURES = ["sentence_logit", "neural_best", "neural_gap", "best_span",
                            "neural_null"]


def missing_terms(q: QuestionAnalysis, context: str) -> list[str]:
    """The question's numbers and names that its answer's context does not contain."""
    low = context.lower().replace("’", "'")
    return [t for t in q.specifics if not re.search(rf"(?<![^\W\d]){re.escape(t)}", low)]


def missing_specifics(q: QuestionAnalysis, context: str) -> float:
    """Fraction of the question's numbers and names that its answer's context does not contain."""
    if not q.specifics:
        return 0.0
    return len(missing_terms(q, context)) / len(q.specifics)


def specific_conflicts(q: QuestionAnalysis, sentence: str, context: str) -> tuple[float, float]:
    """Near misses: a number (or name) the question asks about is absent from the answer's context
    while the sentence states a different one (another year, figure, country ...)."""
    low = context.lower().replace("’", "'")
    missing = [t for t in q.specifics if not re.search(rf"(?<![^\W\d]){re.escape(t)}", low)]
    if not missing:
        return 0.0, 0.0
    numbers = [t for t in missing if t[0].isdigit()]
    names = [t for t in missing if not t[0].isdigit()]
    number_conflict = float(bool(numbers) and bool(re.search(r"\d", sentence)))
    name_conflict = float(bool(names) and bool(re.search(r"(?<!^)(?<![.!?] )\b[A-Z][a-z]+", sentence)))
    return number_conflict, name_conflict


def idf_table(texts: list[str]) -> dict[str, float]:
    """Inverse document frequency of each stem over the given texts."""
    df: dict[str, int] = {}
    for text in texts:
        for s in set(content_stems(text)):
            df[s] = df.get(s, 0) + 1
    n = len(texts)
    return {s: math.log(1 + n / d) for s, d in df.items()}

"""The reader: from retrieved sentences, pick the answering sentence and the shortest span in it.

Three small linear models (weights in reader_weights.json, learned by scripts/train_reader.py
on ../shared/bench/train only) score candidate spans, sentences, and the final answer's chance
of being right. Nothing is generated: every span is `document.text[start:end]`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .alignment import TokenVectors, align, word_of_tokens
from .features import (CONFIDENCE_FEATURES, NEURAL_SENTENCE_FEATURES, NEURAL_SPAN_FEATURES,
                       SENTENCE_FEATURES, SOFT_SPAN_COLUMNS,
                       SPAN_FEATURES, SentenceView, idf_table, missing_specifics, missing_terms,
                       sentence_features, sentence_view, span_features, specific_conflicts)
from .questions import QuestionAnalysis, analyse
from .retrieval import RetrievedSentence
from .span_scorer import NO_SCORE, TokenScores
from .store import DocumentStore
from .text import content_stems
from .types import Answer, Citation, Span

WEIGHTS_PATH = Path(__file__).with_name("reader_weights.json")
NO_SPAN = -12.0
READ_DEPTH = 10  # retrieved sentences the reader examines (training uses the same number)
NEURAL_DEPTH = 3  # of those, the first stage's best, which the span scorer reads
ALIGNMENT_CACHE = 4096  # sentences whose soft-matching inputs stay in memory (~60 KB each)
UNTYPED = ("thing", "description", "reason")


@dataclass
class LinearModel:
    features: list[str]
    coef: np.ndarray
    intercept: float

    @classmethod
    def from_dict(cls, d: dict, expected: list[str]) -> "LinearModel":
        if list(d["features"]) != list(expected):
            raise ValueError("reader weights do not match the feature set: "
                             "retrain with scripts/train_reader.py")
        return cls(list(d["features"]), np.asarray(d["coef"], dtype=np.float32),
                   float(d["intercept"]))

    def logits(self, rows: np.ndarray) -> np.ndarray:
        return rows @ self.coef + self.intercept


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


@dataclass
class ReadSentence:
    """A retrieved sentence after reading: its span logits and sentence logit."""

    hit: RetrievedSentence
    view: SentenceView
    span_logits: np.ndarray
    span_compat: np.ndarray
    features: np.ndarray
    logit: float
    context: str
    # set by the second stage: per candidate, the span scorer's log P(start) + log P(end); its
    # best raw start+end logit in this sentence; its "no answer here" logit minus that best
    neural: np.ndarray | None = None
    neural_best: float = 2 * NO_SCORE
    neural_null: float = 0.0


def soft_alignment(store: DocumentStore, q_content: TokenVectors | None, sentence_id: int,
                   view: SentenceView, cache: dict | None = None):
    """(sentence soft overlap, per-candidate soft neighbourhood, per-candidate similarity to
    the question), or None without token vectors. `cache` keeps each sentence's inputs."""
    if q_content is None or store.token_vectors is None:
        return None
    inputs = cache.get(sentence_id) if cache is not None else None
    if inputs is None:
        tokens = store.sentence_tokens(sentence_id)
        starts = np.array([w.start for w in view.words], dtype=np.int64)
        ends = np.array([w.end for w in view.words], dtype=np.int64)
        inputs = (tokens, word_of_tokens(tokens.spans, starts, ends),
                  np.array([c.first for c in view.candidates], dtype=np.int64),
                  np.array([c.last for c in view.candidates], dtype=np.int64))
        if cache is not None and len(cache) < ALIGNMENT_CACHE:
            cache[sentence_id] = inputs
    tokens, token_word, firsts, lasts = inputs
    return align(q_content, tokens, token_word, len(view.words), firsts, lasts)


def neural_scores(scores: TokenScores | None, view: SentenceView) -> tuple[np.ndarray, float]:
    """The span scorer's (per-candidate log-probability, best raw logit) for a sentence;
    flat stand-ins without a scorer."""
    if scores is None:
        return np.full(len(view.candidates), 2 * NO_SCORE, dtype=np.float32), 2 * NO_SCORE
    return scores.candidate_scores(np.array([c.start for c in view.candidates], dtype=np.int64),
                                   np.array([c.end for c in view.candidates], dtype=np.int64))


def span_rows(q: QuestionAnalysis, text: str, view: SentenceView, soft) -> np.ndarray:
    """SPAN_FEATURES of every candidate, soft-matching columns included."""
    rows = span_features(q, text, view)
    if soft is not None:
        rows[:, SOFT_SPAN_COLUMNS[0]] = soft[1]
        rows[:, SOFT_SPAN_COLUMNS[1]] = soft[2]
    return rows


def neural_span_rows(span_logits: np.ndarray, neural: np.ndarray) -> np.ndarray:
    """NEURAL_SPAN_FEATURES of every candidate of a sentence."""
    top = (neural >= neural.max()).astype(np.float32) if len(neural) else neural
    return np.column_stack([span_logits, neural, top]).astype(np.float32)


def attach_neural(read: list["ReadSentence"], token_scores: dict) -> None:
    """Set each sentence's neural scores from its TokenScores (by sentence id)."""
    for r in read:
        scores = token_scores[r.hit.sentence_id]
        r.neural, r.neural_best = neural_scores(scores, r.view)
        r.neural_null = scores.null - r.neural_best


def second_stage_rows(top: list["ReadSentence"], span_model: "LinearModel"):
    """For first-stage sentences with neural scores attached: each one's second-stage span
    logits, and the NEURAL_SENTENCE_FEATURES rows of all of them."""
    best_anywhere = max(r.neural_best for r in top)
    span_logits, rows = [], []
    for r in top:
        if len(r.span_logits):
            logits = np.where(r.span_logits <= NO_SPAN, NO_SPAN,
                              span_model.logits(neural_span_rows(r.span_logits, r.neural)))
            best_span = float(logits.max())
        else:
            logits, best_span = r.span_logits, NO_SPAN
        span_logits.append(logits)
        rows.append([r.logit, r.neural_best / 10.0, (r.neural_best - best_anywhere) / 10.0,
                     best_span, r.neural_null / 10.0])
    return span_logits, np.array(rows, dtype=np.float32).reshape(-1, len(NEURAL_SENTENCE_FEATURES))


class Reader:
    """Extracts the best-supported span from retrieved sentences, or abstains."""

    def __init__(self, store: DocumentStore, min_confidence: float | None = None,
                 weights: dict | None = None, span_scorer=None):
        """`span_scorer` (qa/span_scorer.py) scores answer starts and ends token by token;
        without one the reader ranks candidates by its other features only."""
        self.store = store
        self.span_scorer = span_scorer
        if weights is None:
            weights = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
        self.weights = weights
        self.span_model = LinearModel.from_dict(weights["span"], SPAN_FEATURES)
        self.sentence_model = LinearModel.from_dict(weights["sentence"], SENTENCE_FEATURES)
        self.confidence_model = LinearModel.from_dict(weights["confidence"], CONFIDENCE_FEATURES)
        # the second stage (absent while training the first)
        self.span_neural_model = self.sentence_neural_model = None
        if "span_neural" in weights and "sentence_neural" in weights:
            self.span_neural_model = LinearModel.from_dict(weights["span_neural"],
                                                           NEURAL_SPAN_FEATURES)
            self.sentence_neural_model = LinearModel.from_dict(weights["sentence_neural"],
                                                               NEURAL_SENTENCE_FEATURES)
        self.threshold = float(weights["threshold"] if min_confidence is None else min_confidence)
        # "sentence": the best sentence's best span; "joint": best sentence+span score (learned)
        self.selection = weights.get("selection", "sentence")
        self.idf = idf_table([s.text for s in store.sentences])
        self.max_idf = max(self.idf.values(), default=1.0)
        self._context_stems: dict[int, frozenset] = {}
        self._alignment_inputs: dict[int, tuple] = {}  # per sentence, for soft matching

    # -- stages ----------------------------------------------------------------------------
    def context_of(self, sentence_id: int) -> str:
        """The text an answer's sentence stands in: its passage, section heading and title."""
        sentence = self.store.sentences[sentence_id]
        passage = self.store.passages[sentence_id]
        title = self.store.documents[sentence.doc_id].title
        return f"{title}\n{sentence.section or ''}\n{passage.text}"

    def context_stems(self, sentence_id: int) -> frozenset:
        if sentence_id not in self._context_stems:
            self._context_stems[sentence_id] = frozenset(content_stems(self.context_of(sentence_id)))
        return self._context_stems[sentence_id]

    def token_scores(self, q: QuestionAnalysis, read: list[ReadSentence]) -> dict:
        """The span scorer's token scores of the sentences in `read`, by sentence id."""
        if self.span_scorer is None or not read:
            return {}
        ids = [r.hit.sentence_id for r in read]
        scores = self.span_scorer.score(q.text, [self.store.sentences[i].text for i in ids])
        return dict(zip(ids, scores))

    def read_sentences(self, q: QuestionAnalysis, retrieved: list[RetrievedSentence],
                       question_tokens: TokenVectors | None = None,
                       token_scores: dict | None = None) -> list[ReadSentence]:
        """Span and sentence logits for every retrieved sentence, best sentence first.

        First stage: the linear models score every retrieved sentence and its candidates.
        Second stage: the neural span scorer reads the first stage's best NEURAL_DEPTH
        sentences, and two small models combine its scores with the first stage's.
        `question_tokens` (the question's token vectors) turn on soft word matching when the
        store has token vectors of its sentences. `token_scores` (sentence id -> TokenScores)
        replace the reader's own span scorer (training passes out-of-fold scores).
        """
        q_content = question_tokens.content(q.text) if question_tokens is not None else None
        out = [self._first_stage(q, hit, q_content) for hit in retrieved]
        out.sort(key=lambda r: -r.logit)
        top = out[:NEURAL_DEPTH]
        if token_scores is None:
            token_scores = self.token_scores(q, top) if self.span_neural_model is not None \
                else {}
        if self.span_neural_model is not None and top and \
                all(r.hit.sentence_id in token_scores for r in top):
            self._second_stage(top, token_scores)
            top.sort(key=lambda r: -r.logit)
            out[:NEURAL_DEPTH] = top
        return out

    def _first_stage(self, q: QuestionAnalysis, hit: RetrievedSentence, q_content) -> ReadSentence:
        sentence = self.store.sentences[hit.sentence_id]
        view = sentence_view(sentence.text)
        soft = soft_alignment(self.store, q_content, hit.sentence_id, view,
                              self._alignment_inputs)
        if view.candidates:
            rows = span_rows(q, sentence.text, view, soft)
            logits = self.span_model.logits(rows)
            in_question = rows[:, SPAN_FEATURES.index("all_in_question")] > 0
            logits = np.where(in_question, NO_SPAN, logits)
            compat = rows[:, 0]
            best = float(logits.max())
            type_present = float(np.where(in_question, 0.0, compat).max())
        else:
            logits, compat = np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32)
            best, type_present = NO_SPAN, 0.0
        context = self.context_of(hit.sentence_id)
        feats = sentence_features(q, hit, view, self.context_stems(hit.sentence_id),
                                  self.idf, best, type_present,
                                  missing_specifics(q, context),
                                  sentence.kind == "heading",
                                  soft[0] if soft is not None else 0.0)
        logit = float(self.sentence_model.logits(feats[None, :])[0])
        return ReadSentence(hit, view, logits, compat, feats, logit, context)

    def _second_stage(self, top: list[ReadSentence], token_scores: dict) -> None:
        """Rescore `top` in place with the span scorer's token scores."""
        attach_neural(top, token_scores)
        span_logits, rows = second_stage_rows(top, self.span_neural_model)
        for r, logits, logit in zip(top, span_logits, self.sentence_neural_model.logits(rows)):
            r.span_logits, r.logit = logits, float(logit)

    def confidence_features(self, q: QuestionAnalysis, read: list[ReadSentence],
                            best: ReadSentence, span_index: int) -> np.ndarray:
        logits = best.span_logits
        shifted = np.exp(logits - logits.max())
        share = float(shifted[span_index] / shifted.sum())
        margin = best.logit - (read[1].logit if len(read) > 1 else -10.0)
        qset = set(q.stems)
        context = self.context_stems(best.hit.sentence_id)
        missing = [s for s in qset if s not in context]
        total = sum(self.idf.get(s, self.max_idf) for s in qset) or 1.0
        missing_idf = sum(self.idf.get(s, self.max_idf) for s in missing) / total
        max_missing = max((self.idf.get(s, self.max_idf) for s in missing), default=0.0)
        sentence = self.store.sentences[best.hit.sentence_id].text
        in_sentence = best.view.stem_set
        sent_missing_idf = sum(self.idf.get(s, self.max_idf) for s in qset
                               if s not in in_sentence) / total
        number_conflict, name_conflict = specific_conflicts(q, sentence, best.context)
        return np.array([best.logit, float(logits[span_index]), share, margin,
                         best.features[SENTENCE_FEATURES.index("missing_specifics")],
                         missing_idf, max_missing / self.max_idf,
                         float(best.span_compat[span_index]),
                         float(q.answer_type not in UNTYPED),
                         missing_specifics(q, sentence), number_conflict, name_conflict,
                         sent_missing_idf, min(3.0, float(len(missing))),
                         best.features[SENTENCE_FEATURES.index("type_present")],
                         (float(best.neural[span_index]) if best.neural is not None
                          else 2 * NO_SCORE) / 10.0, best.neural_best / 10.0,
                         best.neural_null / 10.0],
                        dtype=np.float32)

    # -- the whole step ----------------------------------------------------------------------
    def read(self, question: str, retrieved: list[RetrievedSentence], top_k: int = 3,
             question_tokens: TokenVectors | None = None) -> Answer:
        q = analyse(question)
        read = self.read_sentences(q, retrieved, question_tokens)
        ranked = self._ranked_spans(q, read)
        if not ranked:
            return self._answer(question, read, ranked, top_k, answered=False,
                                reason="no sentence in the documents holds a candidate answer")
        confidence, best_read, _ = ranked[0]
        if confidence < self.threshold:
            missing = missing_terms(q, best_read.context)
            why = (f"the closest passages do not mention {', '.join(missing)}" if missing else
                   "no sentence in the documents states this clearly enough")
            return self._answer(question, read, ranked, top_k, answered=False,
                                reason=f"{why} (confidence {confidence:.2f} is below "
                                       f"{self.threshold:.2f})")
        return self._answer(question, read, ranked, top_k, answered=True, reason=None)

    def _answer(self, question, read, ranked, top_k, answered: bool, reason) -> Answer:
        """The record: answer (if any), evidence sentences, ranked alternative spans.

        When abstaining, the spans it would have given come back as (unconfirmed) alternatives,
        and the evidence holds the closest sentences.
        """
        spans, seen = [], set()
        for conf, r, i in ranked:
            span = self._span(r, i, conf)
            key = span.text.lower()
            if key in seen:
                continue
            seen.add(key)
            spans.append(span)
            if len(spans) > top_k:
                break
        confidence = ranked[0][0] if ranked else 0.0
        first = ranked[0][1] if ranked else (read[0] if read else None)
        evidence = [self._citation(first)] if first is not None else []
        for r in read:
            if len(evidence) >= top_k:
                break
            if r is not first:
                evidence.append(self._citation(r))
        answer = spans[0] if answered else None
        alternatives = spans[1:top_k + 1] if answered else spans[:top_k]
        return Answer(question, answered, reason, confidence, answer, evidence, alternatives,
                      self.store.fingerprint)

    @staticmethod
    def pick(read: list[ReadSentence], selection: str = "sentence", sentences: int = 3):
        """(sentence, candidate index) of the answer under a selection rule, or None."""
        best, best_key = None, None
        for r in read[:sentences]:
            if not len(r.span_logits):
                continue
            i = int(np.argmax(r.span_logits))
            if selection == "sentence":
                return r, i
            key = r.logit + float(r.span_logits[i])
            if best_key is None or key > best_key:
                best, best_key = (r, i), key
        return best

    def _ranked_spans(self, q: QuestionAnalysis, read: list[ReadSentence],
                      sentences: int = 3, per_sentence: int = 3):
        """(confidence, sentence, candidate index) for the best spans of the best sentences."""
        ranked = []
        for r in read[:sentences]:
            if not len(r.span_logits):
                continue
            order = np.argsort(-r.span_logits)[:per_sentence]
            for i in order:
                if r.span_logits[i] <= NO_SPAN:
                    continue
                feats = self.confidence_features(q, read, r, int(i))
                conf = sigmoid(float(self.confidence_model.logits(feats[None, :])[0]))
                key = (r.logit, float(r.span_logits[i])) if self.selection == "sentence" \
                    else (r.logit + float(r.span_logits[i]), 0.0)
                ranked.append((key, conf, r, int(i)))
        # The sentence model's best sentence first, then its spans by the span model (the sentence
        # model already sees the best span score); the confidence model only decides whether to
        # answer with the top one.
        ranked.sort(key=lambda t: (-t[0][0], -t[0][1]))
        return [(conf, r, i) for _, conf, r, i in ranked]

    def _span(self, r: ReadSentence, index: int, confidence: float) -> Span:
        sentence = self.store.sentences[r.hit.sentence_id]
        cand = r.view.candidates[index]
        start, end = sentence.start + cand.start, sentence.start + cand.end
        text = self.store.documents[sentence.doc_id].text[start:end]
        return Span(text, sentence.doc_id, start, end, confidence, sentence.index)

    def _citation(self, r: ReadSentence) -> Citation:
        sentence = self.store.sentences[r.hit.sentence_id]
        unit = sentence
        document = self.store.documents[sentence.doc_id]
        return Citation(sentence.doc_id, document.title, sentence.section, unit.start, unit.end,
                        document.text[unit.start:unit.end], round(sigmoid(r.logit), 4))

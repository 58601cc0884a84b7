"""Cloze questions made from the train corpus's own sentences, to give the span scorer more
examples than the 466 train questions (self-supervised: no label is used).

For a sentence and one of its typed candidate spans (a figure, a date, a name or a short
phrase), the question is the sentence around the span with the span removed and a wh-word
for its type put in its place or at the front, with a few words dropped so that it cannot be
answered by copying: "The Normans gave their name to Normandy, a region in France." with
"Normandy" becomes "what did Normans gave their name to, region in France?" or "Normans gave
their name to what, a region in France?". Its answer is the span, in that sentence. A second
kind of example pairs such a question with the most similar other sentence of the document
that lacks the span, whose answer is [CLS] ("no answer here").

This follows the cloze-translation idea of unsupervised extractive QA (Lewis et al., 2019,
"Unsupervised Question Answering by Cloze Translation"), in its simplest, rule-based form.
"""

from __future__ import annotations

import random

from qa.candidates import CANDIDATE_TYPES, candidates_of, words_of
from qa.text import content_stems

WH = {"percent": ["what percentage", "what share"], "money": ["how much money", "how much"],
      "date": ["when", "on what date"], "year": ["when", "in what year"],
      "duration": ["how long", "for how long"], "count": ["how many", "what number of"],
      "quantity": ["how much", "what amount"], "name": ["who", "what", "which"],
      "phrase": ["what", "which"], "list": ["what", "which"]}
FIGURES = frozenset(CANDIDATE_TYPES[:7])
MAX_ANSWER_WORDS = 5
PER_SENTENCE = 3       # answers taken from one sentence
WINDOW = 8             # words kept on each side of the answer
DROP = 0.15            # chance of dropping a word that does not touch the answer
NEGATIVE_EVERY = 3     # one "no answer here" example per this many positives


def answer_spans(sentence: str, rng: random.Random) -> list:
    """Up to PER_SENTENCE candidates to ask about: figures and names first, then short
    phrases; none overlapping another."""
    words = words_of(sentence)
    found = [c for c in candidates_of(sentence, words)
             if c.last - c.first < MAX_ANSWER_WORDS and c.kind != "list"
             and not any(words[i].break_after for i in range(c.first, c.last))]
    rng.shuffle(found)
    found.sort(key=lambda c: 0 if c.kind in FIGURES else 1 if c.kind == "name" else 2)
    chosen: list = []
    for c in found:
        if all(c.last < o.first or c.first > o.last for o in chosen):
            chosen.append(c)
        if len(chosen) == PER_SENTENCE:
            break
    return chosen


def cloze_question(sentence: str, candidate, rng: random.Random) -> str:
    """A question whose answer is `candidate` (see the module docstring)."""
    words = words_of(sentence)
    wh = rng.choice(WH[candidate.kind])
    left = [w.text for i, w in enumerate(words[max(0, candidate.first - WINDOW):candidate.first])
            if i == candidate.first - max(0, candidate.first - WINDOW) - 1 or rng.random() > DROP]
    right = [w.text for i, w in enumerate(words[candidate.last + 1:candidate.last + 1 + WINDOW])
             if i == 0 or rng.random() > DROP]
    if rng.random() < 0.5:
        text = " ".join([wh] + left + right)
    else:
        text = " ".join(left + [wh] + right)
    return text.rstrip(" .,;:") + "?"


def synthetic_examples(sentences: list, seed: int = 0) -> list[dict]:
    """Training examples {id, question, sentence, start, end, sources} from `sentences`
    (segmented Sentence objects). `sources` are the indexes of the sentences an example was
    made from, so that a fold can leave out the sentences of its held-out questions."""
    rng = random.Random(seed)
    stems = [set(content_stems(s.text)) for s in sentences]
    out: list[dict] = []
    positives = 0
    for i, sentence in enumerate(sentences):
        for c in answer_spans(sentence.text, rng):
            question = cloze_question(sentence.text, c, rng)
            answer = sentence.text[c.start:c.end]
            if set(content_stems(answer)) <= set(content_stems(question)):
                continue  # the sentence repeats the answer next to itself
            out.append({"id": f"synthetic-{i}-{c.start}", "question": question,
                        "sentence": sentence.text, "start": c.start, "end": c.end,
                        "sources": (i,)})
            positives += 1
            if positives % NEGATIVE_EVERY:
                continue
            q_stems = set(content_stems(question))
            others = [j for j, s in enumerate(sentences)
                      if j != i and s.doc_id == sentence.doc_id and answer not in s.text]
            if others:
                j = max(others, key=lambda j: (len(q_stems & stems[j]), -abs(j - i)))
                out.append({"id": f"synthetic-{i}-{c.start}-no", "question": question,
                            "sentence": sentences[j].text, "start": None, "end": None,
                            "sources": (i, j)})
    return out

"""Training examples for the span reader, made from SQuAD-format paragraphs.

Each example is (question, window, answer character span or None). A window is a short run of
consecutive sentences of one paragraph, as the reader sees a retrieved sentence with its
neighbours. "None" (no answer in this window) comes from these sources:

- SQuAD 2.0's own unanswerable questions, paired with the window most like them;
- answerable questions paired with the window of their article most like the question that does
  not hold the answer (what retrieval returns when it misses);
- near-misses: an answerable question whose year, number or name is swapped for another of the
  same kind from its article, paired with the window that answers the original question;
- SQuAD 2.0's other near-miss recipes (`opposite_share`, `negated_share`; `qa train` asks for
  1 and 0.2): a word of the question turned into its opposite that the window never states
  ("largest" asked as "smallest"), and the question negated ("What didn't the Normans build?").
- near-misses within the window (`window_swap_share`; 0 unless asked for, not yet trained on):
  a year, number or name of the answer's sentence swapped for another that the window states
  in another sentence, which the constraint check cannot catch ("exports to Germany" where the
  window names Germany beside a global figure).
- near-misses within the sentence (`sentence_swap_share`; 0 unless asked for, not yet trained
  on): a year, number or name of the answer's sentence swapped for another of the same kind
  that the same sentence states, the answer's own included, so the roles are swapped ("Which
  country replaced Germany?" asked of "Germany replaced the United States").

Only the learning data (../shared/squad, ../shared/bench/train) may be passed in here.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path

from ..documents.segmentation import sentence_splitter
from ..reader.constraints import LOWER_WORD_RE, OPPOSITE, missing_from, specifics

@dataclass(frozen=True)
class Example:
    """One reader example: `answer` is (start, end) in `window`, or None for "no answer"."""

    qid: str
    question: str
    window: str
    answer: tuple[int, int] | None
    kind: str  # "answer" | "unanswerable" | "retrieved" | "swapped" | "window_swapped" |
    #            "sentence_swapped" | "opposite" | "negated"


@dataclass
class Paragraph:
    title: str
    context: str
    sentences: list[tuple[int, int]]
    qas: list[dict]


def read_squad(path: Path) -> list[Paragraph]:
    """Paragraphs of a SQuAD-format jsonl(.gz) file, split into sentences our way."""
    opener = gzip.open if str(path).endswith(".gz") else open
    splitter = sentence_splitter()
    out = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            p = json.loads(line)
            spans = list(splitter.span_tokenize(p["context"])) or [(0, len(p["context"]))]
            out.append(Paragraph(p["title"], p["context"], spans, p["qas"]))
    return out


# One of the two articles with SQuAD 2.0 unanswerable questions: held out so that confidence is
# calibrated on real near-misses (the other one trains the reader).
CALIBRATION_ARTICLES = frozenset({"Spectre_(2015_film)"})


def held_out(title: str, share: float = 0.04) -> bool:
    """Articles kept out of training to calibrate confidence on: CALIBRATION_ARTICLES and a
    fixed share of the rest, chosen by the title's hash."""
    if title in CALIBRATION_ARTICLES:
        return True
    digest = int(hashlib.sha1(title.encode("utf-8")).hexdigest(), 16)
    return (digest % 10_000) / 10_000 < share


def v2_calibration(title: str) -> bool:
    """Articles of ../shared/squad/v2-extra.jsonl.gz kept out of the reader's training to fit
    the confidence model on (a third, chosen by the title's hash: 6 of its 15); the rest teach
    the reader its abstention."""
    return int(hashlib.sha1(title.encode("utf-8")).hexdigest(), 16) % 3 == 0


# The abstention stage's mix of near-misses drawn from answerable questions (as `qa train`).
ABSTENTION_SHARES = dict(retrieved_share=0.5, swapped_share=0.8, opposite_share=1.0,
                         negated_share=0.2)


def abstention_examples(v2_paragraphs: list[Paragraph], squad_paragraphs: list[Paragraph],
                        seed: int = 0, squad_count: int = 3000) -> list[Example]:
    """The abstention stage's examples: every question of the v2-extra training articles (their
    real unanswerable near-misses, each with its two most similar windows, and their answerable
    ones with the usual near-misses drawn from them), and one answerable question (with the same
    near-misses) from each of `squad_count` SQuAD v1.1 paragraphs drawn at random, so that the
    spans do not get worse while the reader learns to refuse."""
    drawn = list(squad_paragraphs)
    random.Random(seed).shuffle(drawn)
    examples = make_examples(v2_paragraphs, seed=seed, per_paragraph=100, **ABSTENTION_SHARES)
    examples += make_examples(drawn[:squad_count], seed=seed + 1, per_paragraph=1,
                              **ABSTENTION_SHARES)
    random.Random(seed).shuffle(examples)
    return examples


def sentence_of(paragraph: Paragraph, char: int) -> int:
    for i, (a, b) in enumerate(paragraph.sentences):
        if char < b:
            return i
    return len(paragraph.sentences) - 1


def answer_sentence_range(paragraph: Paragraph, start: int, end: int) -> tuple[int, int]:
    """The first and last sentence (indexes) of the paragraph holding [start, end)."""
    return sentence_of(paragraph, start), sentence_of(paragraph, max(start, end - 1))


def window_text(paragraph: Paragraph, lo: int, hi: int) -> tuple[str, int]:
    """Sentences lo..hi (inclusive) as one slice of the paragraph, and its start offset."""
    a, b = paragraph.sentences[lo][0], paragraph.sentences[hi][1]
    return paragraph.context[a:b], a


def answer_window(paragraph: Paragraph, start: int, end: int, rng: random.Random,
                  radius: int = 1):
    """A window of up to 2*radius+1 sentences holding [start, end), the answer at a random
    position in it (a retrieved neighbour of the answer's sentence reads the same window)."""
    first, last = answer_sentence_range(paragraph, start, end)
    n = len(paragraph.sentences)
    size = max(2 * radius + 1, last - first + 1)
    lo = rng.randint(max(0, last - size + 1), first)
    hi = min(n - 1, lo + size - 1)
    return window_text(paragraph, lo, hi)


def centred_answer_window(paragraph: Paragraph, start: int, end: int, radius: int = 1) -> str:
    """The sentences holding [start, end) with up to `radius` neighbours on each side."""
    first, last = answer_sentence_range(paragraph, start, end)
    lo, hi = max(0, first - radius), min(len(paragraph.sentences) - 1, last + radius)
    return window_text(paragraph, lo, hi)[0]


def windows_of(paragraph: Paragraph, radius: int = 1) -> list[tuple[str, int, int]]:
    """Every sentence's centred window: (text, first sentence, last sentence)."""
    n = len(paragraph.sentences)
    out = []
    for i in range(n):
        lo, hi = max(0, i - radius), min(n - 1, i + radius)
        out.append((window_text(paragraph, lo, hi)[0], lo, hi))
    return out


def bears(text: str, answers: list[str]) -> bool:
    low = text.lower()
    return any(a.strip() and a.strip().lower() in low for a in answers)


def swap_specific(question: str, window: str, pool: dict[str, list[str]],
                  rng: random.Random) -> str | None:
    """The question with one year, number or name that `window` states replaced by another of
    the same kind from `pool` that `window` does not hold; None if there is no such swap.
    (`window` may be the answer's sentence only, with a pool from the rest of its window.)"""
    options = [(k, s) for k, s in specifics(question) if s in window]
    rng.shuffle(options)
    low = window.lower()
    for kind, old in options:
        candidates = [c for c in pool.get(kind, ()) if c != old and c.lower() not in low
                      and c.lower() not in question.lower()]
        if candidates:
            new = rng.choice(candidates)
            return question.replace(old, new, 1)
    return None


def swap_within_sentence(question: str, sentence: str, rng: random.Random,
                         answer: str = "") -> str | None:
    """The question with one year, number or name that `sentence` states replaced by another of
    the same kind that `sentence` also states and the question does not, `answer` (its text in
    the sentence) included even at the sentence's start: SQuAD 2.0's role swaps, "Which
    country replaced Germany?" asked of "Germany replaced the United States". None if there is
    no such swap. Names sharing a word (or a form of one) with the swapped one are not
    candidates ("Platonic" for "Plato")."""
    options = [(k, s) for k, s in specifics(question) if s in sentence]
    rng.shuffle(options)
    stated = pool_of([sentence])
    bare = re.sub(r"^(?:the|a|an)\s+", "", answer.strip(), flags=re.IGNORECASE)
    for kind, s in specifics(bare, skip_first=False):
        if (kind != "name" or len(s) > 3) and s not in stated[kind]:
            stated[kind].append(s)
    asked = question.lower()
    for kind, old in options:
        candidates = [c for c in stated.get(kind, ()) if c.lower() not in asked
                      and old.lower() not in c.lower() and c.lower() not in old.lower()
                      and missing_from([(kind, c)], old) and missing_from([(kind, old)], c)]
        if candidates:
            return with_article(question, old, rng.choice(candidates), sentence)
    return None


def with_article(question: str, old: str, new: str, sentence: str) -> str:
    """The question with `old` (and a "the" before it) replaced by `new`, with "the" before it
    where `sentence` writes it so ("replaced the United States" → "replaced Germany")."""
    the = "the " if re.search(r"\bthe\s+" + re.escape(new), sentence, re.IGNORECASE) else ""
    return re.sub(r"(?:\bthe\s+)?" + re.escape(old), lambda _: the + new, question, count=1)


# Opposites for making training near-misses: constraints.OPPOSITE (those the service's rule
# trusts in any context) and everyday ones that usually, not always, flip what is asked.
TRAINING_OPPOSITE = dict(OPPOSITE)
for _pair in ("first last", "most least", "before after", "won lost", "win lose", "more less",
              "early late", "began ended", "rise fall", "rose fell", "major minor",
              "above below", "top bottom", "ancient modern", "common rare", "successful failed",
              "popular unpopular", "strong weak", "large small", "high low", "many few"):
    _a, _b = _pair.split()
    TRAINING_OPPOSITE.setdefault(_a, _b)
    TRAINING_OPPOSITE.setdefault(_b, _a)
NEGATED = {"did": "didn't", "does": "doesn't", "do": "don't", "was": "wasn't", "were": "weren't",
           "is": "isn't", "are": "aren't", "has": "hasn't", "have": "haven't", "had": "hadn't",
           "can": "can't", "could": "couldn't", "would": "wouldn't", "will": "won't"}
AUXILIARY_RE = re.compile(r"\b(?:" + "|".join(NEGATED) + r")\b")
NEGATION_RE = re.compile(r"\b(?:not|never|no|none|nor)\b|n't\b", re.IGNORECASE)


def opposite_question(question: str, window: str) -> str | None:
    """The question with one lower-case word turned into its opposite, where the window states
    the word and never its opposite (SQuAD 2.0's antonym near-miss); None if none applies."""
    stated = set(re.findall(r"[a-z]+", window.lower()))
    for match in LOWER_WORD_RE.finditer(question):  # as constraints.contradicted reads it
        word = match.group()
        other = TRAINING_OPPOSITE.get(word)
        if other and word in stated and other not in stated:
            return question[:match.start()] + other + question[match.end():]
    return None


def negated_question(question: str) -> str | None:
    """The question with its first auxiliary verb negated ("What didn't the Normans build?");
    None when it is already negative or has no auxiliary."""
    if NEGATION_RE.search(question):
        return None
    match = AUXILIARY_RE.search(question)
    if match is None:
        return None
    return question[:match.start()] + NEGATED[match.group()] + question[match.end():]


def article_pool(paragraphs: list[Paragraph]) -> dict[str, list[str]]:
    """The years, numbers and names (longer than 3 characters) that the paragraphs state."""
    return pool_of([p.context for p in paragraphs])


def pool_of(texts: list[str]) -> dict[str, list[str]]:
    """The years, numbers and names (longer than 3 characters) that the texts state, by kind."""
    pool: dict[str, set] = {"year": set(), "number": set(), "name": set()}
    for text in texts:
        for kind, s in specifics(text):
            if kind != "name" or len(s) > 3:
                pool[kind].add(s)
    return {k: sorted(v) for k, v in pool.items()}


def answer_sentences(paragraph: Paragraph, start: int, end: int) -> str:
    """The sentence(s) of the paragraph holding [start, end)."""
    first, last = answer_sentence_range(paragraph, start, end)
    return paragraph.context[paragraph.sentences[first][0]:paragraph.sentences[last][1]]


class WordOverlap:
    """Ranks a fixed list of texts by idf-weighted word overlap with a question (the texts'
    words and idf are found once, then shared by every question of the article)."""

    def __init__(self, texts: list[str]):
        self.words = [set(re.findall(r"\w+", t.lower())) for t in texts]
        df: dict[str, int] = {}
        for ws in self.words:
            for w in ws:
                df[w] = df.get(w, 0) + 1
        n = len(texts)
        self.idf = {w: math.log((n + 1) / k) for w, k in df.items()}

    def ranked(self, question: str) -> list[int]:
        """Indexes of the texts, best overlap first."""
        q = set(re.findall(r"\w+", question.lower()))
        # fsum: the same total in any order (a set's order changes with each process's hash
        # seed, and a plain sum's last bits with it, which broke ties differently)
        scores = [math.fsum(self.idf[w] for w in q & ws) for ws in self.words]
        return sorted(range(len(self.words)), key=lambda i: -scores[i])


def most_similar(question: str, candidates: list[str]) -> list[int]:
    """Indexes of `candidates` by word overlap with the question (idf-weighted), best first."""
    return WordOverlap(candidates).ranked(question)


def make_examples(paragraphs: list[Paragraph], seed: int = 0, per_paragraph: int = 2,
                  retrieved_share: float = 0.35, swapped_share: float = 0.3,
                  unanswerable_windows: int = 2, opposite_share: float = 0.0,
                  negated_share: float = 0.0, window_swap_share: float = 0.0,
                  sentence_swap_share: float = 0.0) -> list[Example]:
    """Reader examples from `paragraphs` (see the module docstring), in a seeded order.

    `per_paragraph` answerable questions at most are taken from each paragraph (more articles
    and paragraphs for the same training time); of those, `retrieved_share` also get a
    retrieved-negative example, `swapped_share` a swapped near-miss, `opposite_share` an
    opposite-word near-miss (where one applies), `negated_share` a negated one and
    `window_swap_share` a near-miss within the window and `sentence_swap_share` one within the
    answer's sentence (where one applies).
    """
    rng = random.Random(seed)
    by_title: dict[str, list[Paragraph]] = {}
    for p in paragraphs:
        by_title.setdefault(p.title, []).append(p)
    out: list[Example] = []
    for title in sorted(by_title):
        article = by_title[title]
        pool = article_pool(article)
        article_windows = [w for p in article for w, _, _ in windows_of(p)]
        article_overlap = WordOverlap(article_windows)
        for p in article:
            answerable = [q for q in p.qas if not q.get("is_impossible") and q["answers"]]
            rng.shuffle(answerable)
            for q in answerable[:per_paragraph]:
                a = q["answers"][0]
                start, end = a["answer_start"], a["answer_start"] + len(a["text"])
                if p.context[start:end] != a["text"]:
                    continue
                window, offset = answer_window(p, start, end, rng)
                out.append(Example(q["id"], q["question"], window,
                                   (start - offset, end - offset), "answer"))
                answers = [x["text"] for x in q["answers"]]
                if rng.random() < retrieved_share:
                    for i in article_overlap.ranked(q["question"])[:20]:
                        text = article_windows[i]
                        if not bears(text, answers) and text not in window \
                                and window not in text:
                            out.append(Example(q["id"], q["question"], text, None,
                                               "retrieved"))
                            break
                if rng.random() < swapped_share:
                    swapped = swap_specific(q["question"], window, pool, rng)
                    if swapped is not None:
                        out.append(Example(q["id"] + ":swap", swapped, window, None, "swapped"))
                # drawn only when asked for, so the default examples stay as they were
                if opposite_share and rng.random() < opposite_share:
                    flipped = opposite_question(q["question"], window)
                    if flipped is not None:
                        out.append(Example(q["id"] + ":opp", flipped, window, None, "opposite"))
                if negated_share and rng.random() < negated_share:
                    negated = negated_question(q["question"])
                    if negated is not None:
                        out.append(Example(q["id"] + ":neg", negated, window, None, "negated"))
                if window_swap_share and rng.random() < window_swap_share:
                    # stated in the answer's sentence, swapped for what the window states
                    # elsewhere: the window still holds every specific of the question
                    swapped = swap_specific(q["question"], answer_sentences(p, start, end),
                                            pool_of([window]), rng)
                    if swapped is not None:
                        out.append(Example(q["id"] + ":wswap", swapped, window, None,
                                           "window_swapped"))
                if sentence_swap_share and rng.random() < sentence_swap_share:
                    swapped = swap_within_sentence(q["question"],
                                                   answer_sentences(p, start, end), rng,
                                                   a["text"])
                    if swapped is not None:
                        out.append(Example(q["id"] + ":sswap", swapped, window, None,
                                           "sentence_swapped"))
            windows = windows_of(p)
            for q in p.qas:
                if not q.get("is_impossible"):
                    continue
                texts = [w for w, _, _ in windows]
                for i in most_similar(q["question"], texts)[:unanswerable_windows]:
                    out.append(Example(q["id"], q["question"], texts[i], None, "unanswerable"))
    rng.shuffle(out)
    return out


def bench_paragraphs(folder: Path) -> list[Paragraph]:
    """../shared/bench/train as paragraphs: each corpus file's blank-line paragraphs, with the
    gold questions whose answer (and evidence hint) lies in them."""
    splitter = sentence_splitter()
    gold = [json.loads(line) for line in (folder / "gold.jsonl").read_text("utf-8").splitlines()
            if line.strip()]
    out = []
    for path in sorted((folder / "corpus").glob("*.txt")):
        for block in re.split(r"\n\s*\n", path.read_text("utf-8")):
            block = block.strip()
            if not block:
                continue
            spans = list(splitter.span_tokenize(block))
            out.append(Paragraph(path.stem, block, spans, []))
    for item in gold:
        evidence = (item.get("evidence") or "").strip()
        home = next((p for p in out if evidence and evidence[:80] in p.context), None)
        if home is None:
            continue
        if item["answers"]:
            for text in item["answers"]:
                k = home.context.find(text)
                if k >= 0:
                    home.qas.append({"id": item["id"], "question": item["question"],
                                     "answers": [{"text": text, "answer_start": k}]})
                    break
        else:
            home.qas.append({"id": item["id"], "question": item["question"], "answers": [],
                             "is_impossible": True})
    return out

"""Near-miss questions made from answerable train questions: the same question about another
year, number or name, which the documents therefore (almost always) do not answer.

"Who won Super Bowl 50 in 2016?" becomes "Who won Super Bowl 50 in 2014?" when 2016 is in the
question's supporting sentence and 2014 is nowhere in its document; a name of the supporting
sentence is swapped for another name the document states elsewhere. SQuAD 2.0 wrote many of its
unanswerable questions this way; the issue asks the reader to refuse exactly these ("a figure
for another year, another country"). Each near miss keeps its original's id with a suffix, so
that it falls in the same fold, and is unanswerable (no answers). Nothing but the train
questions and the train corpus is used.
"""

from __future__ import annotations

import random
import re

SUFFIX = "~near-miss"
NUMBER_RE = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})*(?:\.\d+)?(?![\w.,]?\d)(?!\w)")
NAME_RE = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][a-z]+(?: (?:of |de |the )?[A-Z][a-z]+)*")
YEAR_SHIFTS = (-1, 1, -2, 2, -3, 3, -5, 5, -10, 10)


def original_id(question_id: str) -> str:
    """The id of the question a near miss was made from (itself for any other question)."""
    return question_id.split(SUFFIX, 1)[0]


def _numbers(question: str, evidence: str, document: str) -> list[tuple[int, int, str]]:
    """(start, end, replacement) for each number of the question that its evidence states."""
    out = []
    for m in NUMBER_RE.finditer(question):
        value = m.group()
        if not re.search(rf"(?<![\w.,]){re.escape(value)}(?![\w]|[.,]\d)", evidence):
            continue
        plain = value.replace(",", "")
        if "." in plain:
            options = [f"{float(plain) * f:.{len(plain.split('.')[1])}f}" for f in (2, 0.5, 3)]
        elif len(plain) == 4 and plain[:2] in ("15", "16", "17", "18", "19", "20"):
            options = [str(int(plain) + d) for d in YEAR_SHIFTS]
        else:
            n = int(plain)
            options = [str(v) for v in (n + 1, n - 1, n * 2, n + 10) if v > 0 and v != n]
        for option in options:
            if option not in document:
                out.append((m.start(), m.end(), option))
                break
    return out


def _names(question: str, evidence: str, known: list[str],
           rng: random.Random) -> list[tuple[int, int, str]]:
    """(start, end, replacement) for each name of the question that its evidence states: a
    name the same document states elsewhere (a plausible swap: another team, another country)
    that neither the evidence nor the question contains."""
    pool = [n for n in known if n not in evidence and n not in question]
    if not pool:
        return []
    return [(m.start(), m.end(), rng.choice(pool)) for m in NAME_RE.finditer(question)
            if m.group() in evidence]


def near_miss_questions(items: list[dict], documents: list[str], seed: int = 0) -> list[dict]:
    """At most one near miss per answerable question whose supporting sentence (its
    `evidence`, found in one of `documents`) states a number or name of the question that its
    answers do not contain."""
    rng = random.Random(seed)
    evidence_of, document_of = {}, {}
    for item in items:
        evidence = (item.get("evidence") or "").strip()
        found = next((d for d in documents if evidence and evidence in d), None)
        if item["answers"] and found is not None:
            evidence_of[item["id"]], document_of[item["id"]] = evidence, found
    names_by_document: dict[str, set[str]] = {}
    for key, evidence in evidence_of.items():
        names_by_document.setdefault(document_of[key], set()).update(
            m.group() for m in NAME_RE.finditer(evidence))
    out = []
    for item in items:
        if item["id"] not in evidence_of:
            continue
        evidence, document = evidence_of[item["id"]], document_of[item["id"]]
        options = _numbers(item["question"], evidence, document) + _names(
            item["question"], evidence, sorted(names_by_document[document]), rng)
        options = [(a, b, r) for a, b, r in options
                   if not any(item["question"][a:b] in answer for answer in item["answers"])]
        if not options:
            continue
        a, b, replacement = rng.choice(options)
        question = item["question"][:a] + replacement + item["question"][b:]
        out.append({"id": item["id"] + SUFFIX, "question": question, "answers": [],
                    "evidence": ""})
    return out

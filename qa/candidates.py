"""Answer candidates of a sentence: typed spans (figures, dates, names, phrases, lists)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import STOPWORDS, normalize, stem

CANDIDATE_TYPES = ("percent", "money", "date", "year", "duration", "count", "quantity",
                   "name", "phrase", "list")

MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december"
    .split(), 1)}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())})
MONTHS["sept"] = 9
NUMBER_WORDS = frozenset("one two three four five six seven eight nine ten eleven twelve "
                         "thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty "
                         "thirty forty fifty sixty seventy eighty ninety hundred dozen half "
                         "several".split())
SCALE_WORDS = frozenset("hundred thousand million billion trillion".split())
CURRENCY_WORDS = frozenset("dollar dollars usd yuan rmb euro euros pound pounds yen "
                           "rupees francs marks".split())
CURRENCY_SIGNS = "$€£¥"
TIME_UNITS = frozenset("year years month months week weeks day days hour hours minute minutes "
                       "second seconds decade decades century centuries".split())
MODIFIERS = ("about", "around", "approximately", "nearly", "almost", "over", "more than",
             "less than", "at least", "up to", "roughly", "some", "exceeded", "exceeding")
CONNECTORS = frozenset("of and the for de du la von van & on".split())
PUNCT_STRIP = "\"'“”‘’()[]{},.;:!?*"
BREAK_AFTER = re.compile(r"[,;:.!?)\]”\"]$")


@dataclass(frozen=True)
class Word:
    start: int   # offsets into the sentence text, surrounding punctuation excluded
    end: int
    text: str
    lower: str
    stem: str
    capital: bool
    numeric: bool
    stop: bool
    break_after: bool   # punctuation follows the word (a phrase should not run past it)


@dataclass(frozen=True)
class Candidate:
    start: int  # word-aligned offsets into the sentence text
    end: int
    first: int  # word indexes [first, last]
    last: int
    kind: str


def words_of(sentence: str) -> list[Word]:
    out = []
    for match in re.finditer(r"\S+", sentence):
        raw = match.group()
        lead = len(raw) - len(raw.lstrip(PUNCT_STRIP))
        core = raw.strip(PUNCT_STRIP)
        if not core:
            continue
        start = match.start() + lead
        end = start + len(core)
        # a percent sign or currency sign is part of the figure
        lower = normalize(core).lower()
        out.append(Word(start, end, core, lower, stem(re.sub(r"'s$", "", lower)),
                        core[0].isupper() or (core[0] in CURRENCY_SIGNS),
                        bool(re.search(r"\d", core)) or lower in NUMBER_WORDS,
                        lower in STOPWORDS,
                        bool(BREAK_AFTER.search(raw)) or raw.endswith((",", ";", ":"))))
    return out


def candidates_of(sentence: str, words: list[Word] | None = None,
                  max_phrase_words: int = 14) -> list[Candidate]:
    """Typed candidate spans of one sentence, without duplicates."""
    words = words if words is not None else words_of(sentence)
    found: dict[tuple[int, int], str] = {}

    def add(first: int, last: int, kind: str) -> None:
        if first < 0 or last >= len(words) or first > last:
            return
        key = (first, last)
        if key not in found or CANDIDATE_TYPES.index(kind) < CANDIDATE_TYPES.index(found[key]):
            found[key] = kind

    n = len(words)
    for i, w in enumerate(words):
        # -- figures ------------------------------------------------------------------------
        if w.numeric:
            kind, last = _figure(words, i)
            add(i, last, kind)
            if last > i:
                add(i, i, "count" if kind not in ("date", "year", "percent") else kind)
                if words[i + 1].lower in SCALE_WORDS:
                    add(i, i + 1, kind if kind in ("money", "count") else "count")
            first = _modifier_start(words, i)
            if first < i:
                add(first, last, kind)
        if w.lower in MONTHS and (w.capital or len(w.lower) > 3):
            last = i
            if i + 1 < n and re.fullmatch(r"\d{1,2}(st|nd|rd|th)?", words[i + 1].lower):
                last = i + 1
                if i + 2 < n and re.fullmatch(r"\d{4}", words[i + 2].lower):
                    last = i + 2
            elif i + 1 < n and re.fullmatch(r"\d{4}", words[i + 1].lower):
                last = i + 1
            add(i, last, "date")
            # "from January to August 2025" / "January-August"
            if last + 2 < n and words[last + 1].lower in ("to", "through", "until") \
                    and words[last + 2].lower in MONTHS:
                end = last + 2
                if end + 1 < n and re.fullmatch(r"\d{4}", words[end + 1].lower):
                    end += 1
                add(i, end, "date")
        if re.fullmatch(r"1[0-9]{3}|20[0-9]{2}", w.lower) and i + 2 < n \
                and words[i + 1].lower in ("and", "to") and \
                re.fullmatch(r"1[0-9]{3}|20[0-9]{2}", words[i + 2].lower):
            add(i, i + 2, "date")
            if i > 0 and words[i - 1].lower in ("between", "from"):
                add(i - 1, i + 2, "date")
        # -- names --------------------------------------------------------------------------
        if w.capital and not w.stop and not (i == 0 and w.lower in STOPWORDS) \
                and (i == 0 or not words[i - 1].capital or words[i - 1].break_after
                     or words[i - 1].lower.endswith("'s")):
            last = i
            j = i
            while not words[j].break_after and not words[j].lower.endswith("'s"):
                k = j + 1
                gap = 0
                while k < n and words[k].lower in CONNECTORS and gap < 2 and not words[k].capital:
                    if words[k].break_after:
                        break
                    k += 1
                    gap += 1
                if k < n and words[k].capital and not (gap == 0 and words[k].lower in STOPWORDS):
                    j = k
                    last = j
                else:
                    break
            add(i, last, "name")
            # without a connector tail ("Ministry of Commerce and X" -> both parts)
            for k in range(i, last):
                if words[k].lower in ("and", "&") and k > i:
                    add(i, k - 1, "name")
                    add(k + 1, last, "name")
                if words[k].lower.endswith("'s"):
                    add(k + 1, last, "name")
    # -- phrases: runs of content words, joined by "of"/"and"/commas into longer phrases -----
    runs = _content_runs(words)
    for a, b in runs:
        add(a, b, "phrase")
        if b > a and words[a].lower in _LEADING_ADVERBS:
            add(a + 1, b, "phrase")
    for r, (a, b) in enumerate(runs):
        end = b
        joined = 0
        for a2, b2 in runs[r + 1:]:
            between = [x.lower for x in words[end + 1:a2]]
            if (between in (["of"], ["and"], ["or"], ["for"], ["in"]) or (
                    len(between) == 2 and between[0] in _JOINERS and between[1] in _DETERMINERS)) \
                    and not words[end].break_after:
                kind = "phrase" if between[0] in ("of", "for", "in", "on", "to", "by",
                                                  "from", "with") else "list"
            elif between in ([], ["and"], ["or"]) and words[end].break_after \
                    and words[end].text[-0:] and _comma_after(sentence, words[end]):
                kind = "list"
            else:
                break
            if b2 - a + 1 > max_phrase_words:
                break
            end = b2
            joined += 1
            add(a, end, kind)
    return [Candidate(words[a].start, words[b].end, a, b, kind)
            for (a, b), kind in sorted(found.items())]


_JOINERS = frozenset("of and or for in on to by from with".split())
_DETERMINERS = frozenset("the a an its their his her our this these those".split())
_LEADING_ADVERBS = frozenset("very extremely highly currently previously originally jointly "
                             "temporarily significantly precisely exactly mainly".split())


def _comma_after(sentence: str, word: Word) -> bool:
    return sentence[word.end:word.end + 1] == ","


def _content_runs(words: list[Word]) -> list[tuple[int, int]]:
    runs = []
    start = None
    for i, w in enumerate(words):
        if w.stop or w.lower in CONNECTORS:
            if start is not None:
                runs.append((start, i - 1))
                start = None
            continue
        if start is None:
            start = i
        if w.break_after:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(words) - 1))
    return runs


def _figure(words: list[Word], i: int) -> tuple[str, int]:
    """The type of the figure at word i and the index of its last word (scale and unit kept)."""
    w = words[i]
    n = len(words)
    low = w.lower
    if low.endswith("%"):
        return "percent", i
    if i + 1 < n and words[i + 1].lower in ("percent", "per") and not w.break_after:
        return "percent", i + 1 if words[i + 1].lower == "percent" else min(i + 2, n - 1)
    if re.fullmatch(r"1[0-9]{3}|20[0-9]{2}", low):
        return "year", i
    if low[0] in CURRENCY_SIGNS:
        last = i + 1 if i + 1 < n and words[i + 1].lower in SCALE_WORDS and not w.break_after \
            else i
        return "money", last
    last = i
    if not w.break_after and i + 1 < n and words[i + 1].lower in SCALE_WORDS:
        last = i + 1
    # unit words: currency ("billion US dollars"), time ("one year"), or a short unit/noun
    j = last + 1
    if not words[last].break_after and j < n:
        nxt = words[j]
        if nxt.lower in ("us", "u.s") and j + 1 < n and words[j + 1].lower in CURRENCY_WORDS:
            return "money", j + 1
        if nxt.lower in CURRENCY_WORDS:
            return "money", j
        if nxt.lower in TIME_UNITS:
            return "duration", j
        if not nxt.stop and not nxt.numeric and not nxt.capital and len(nxt.lower) <= 12:
            return "quantity", j
    if re.fullmatch(r"\d+(?:[.,]\d+)*[A-Za-z/]+", w.text):  # 300Wh/kg, 1170GWh
        return "quantity", last
    return "count", last


def _modifier_start(words: list[Word], i: int) -> int:
    for modifier in MODIFIERS:
        parts = modifier.split()
        k = i - len(parts)
        if k >= 0 and [w.lower for w in words[k:i]] == parts \
                and not any(w.break_after for w in words[k:i]):
            return k
    return i

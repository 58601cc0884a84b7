"""What a question pins down: the years, numbers and names it states, and the words it asks with
whose opposite a passage may state instead.

A passage that lacks one of them probably answers a different question (another year, another
country, another product): the reader counts such misses, and training makes near-miss questions
by swapping one of them for another of the same kind. A passage that says "largest" where the
question asks for the "smallest", and never says "smallest", answers the opposite question
(SQuAD 2.0's antonym near-misses).
"""

from __future__ import annotations

import re
from functools import cache

YEAR_RE = re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b")
NUMBER_RE = re.compile(r"(?<![\w.,])\d[\d,]*(?:\.\d+)?(?![\w])")
# A run of capitalised words (a name), "of"/"the"/"de" allowed inside.
NAME_RE = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'’-]*)*")
LEADING_WORDS = frozenset("what which who whom whose when where why how in on at by for from "
                          "the a an is was are were did do does during after before "
                          "according".split())
SENTENCE_START = ".!?\"“:"


def specifics(text: str, skip_first: bool = True) -> list[tuple[str, str]]:
    """(kind, string) of the years, numbers and names in a text, kind being "year", "number"
    or "name". With `skip_first`, a name's first word is dropped at the start of the text or
    of a sentence, where a capital says nothing."""
    found = [("year", m.group()) for m in YEAR_RE.finditer(text)]
    years = {s for _, s in found}
    found += [("number", m.group()) for m in NUMBER_RE.finditer(text) if m.group() not in years]
    for m in NAME_RE.finditer(text):
        name = m.group()
        words = name.split()
        if skip_first and (m.start() == 0 or
                           text[max(0, m.start() - 4):m.start()].rstrip()[-1:] in SENTENCE_START):
            words = words[1:]
            if not words:
                continue
            name = " ".join(words)
        if words and words[0].lower() not in LEADING_WORDS:
            found.append(("name", name))
    return found


def _name_words(name: str) -> list[str]:
    """A name's words, lower case, without possessives, split at hyphens ("January-September")."""
    words = [re.sub(r"['’]s?$", "", w) for w in re.findall(r"[\w'’]+", name.lower())]
    return [w for w in words if w and w not in ("of", "the", "de")]


def _word_stated(word: str, words: set[str]) -> bool:
    """The word, or a form sharing its stem ("Chinese"/"China", "American"/"America")."""
    if word in words:
        return True
    if len(word) < 6:
        return False
    stem = word[:max(4, len(word) - 3)]
    return any(w.startswith(stem) for w in words)


def missing_specifics(question: str, context: str) -> list[str]:
    """The question's years, numbers and names that `context` does not state (a name counts as
    stated when each of its words, or a form of it, is there, in any order; a number ignores
    thousands commas)."""
    return missing_from(specifics(question), context)


# A dotted abbreviation ("U.S.", "e.g."), and a run of capitalised words whose initials make
# an initialism ("United States", "Ministry of Commerce"; the small words inside are skipped).
DOTTED_RE = re.compile(r"(?<![\w.])(?:[A-Za-z]\.){2,}")
ALL_CAPITALS_RE = re.compile(r"\b[A-Z]{2,6}\b")
CAPITALISED_RUN_RE = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:(?:of|and|the|for|de)\s+)*[A-Z][\w'’-]*)+")


def _initials(name: str) -> str:
    """'United States' -> 'us'; 'Ministry of Commerce' -> 'mc' (lower case)."""
    return "".join(w[0] for w in re.findall(r"[\w'’-]+", name) if w[0].isupper()).lower()


def _abbreviations(context: str) -> tuple[set[str], set[str]]:
    """The abbreviations a context writes (lower case: each dotted one without its dots, "U.S."
    as "us", and each in capitals, "EU") and those it spells out (the initials of each run of
    capitalised words and of its parts: "The European Union" spells "teu" and "eu")."""
    written = {m.group().replace(".", "").lower() for m in DOTTED_RE.finditer(context)}
    written |= {w.lower() for w in ALL_CAPITALS_RE.findall(context)}
    spelled = set()
    for m in CAPITALISED_RUN_RE.finditer(context):
        initials = _initials(m.group())
        spelled |= {initials[i:j] for i in range(len(initials))
                    for j in range(i + 2, len(initials) + 1)}
    return written, spelled


def _abbreviation_stated(value: str, parts: list[str],
                         abbreviations: tuple[set[str], set[str]]) -> bool:
    """Whether a name whose words (`parts`) are not all there is stated another way: an
    abbreviation by the same one written otherwise or the words it abbreviates ("US" by "U.S."
    or "United States"); a name of several capitalised words by its initials written as an
    abbreviation ("United States" by "U.S." or "US", not by "Upper Silesia")."""
    written, spelled = abbreviations
    compact = value.replace(".", "")
    if compact.isupper() and compact.isalpha() and 2 <= len(compact) <= 6:
        return compact.lower() in written or compact.lower() in spelled
    initials = _initials(value)
    return len(initials) >= 2 and len(parts) >= 2 and initials in written


@cache
def country_forms() -> tuple[dict[str, frozenset[int]],
                             dict[int, tuple[tuple[bool, tuple[str, ...]], ...]]]:
    """Each way of naming a country, lower case, with the countries it names (indexes), and
    each country's forms as (is a code of capitals, its words): (False, ("united", "states")),
    (True, ("us",)). The forms are the name, the demonym, the alternative spellings and the
    last part of a formal name ("America") from the countryinfo package's data, and, as a form
    that states the country only, its capital; empty if the package is missing. Built once a process (the
    reader builds it at start-up, not the first question)."""
    try:
        from countryinfo import all_countries
    except ImportError:
        return {}, {}
    ids_of: dict[str, set[int]] = {}
    capitals: dict[int, str] = {}
    tails: list[tuple[int, list[str]]] = []
    for i, country in enumerate(all_countries()):
        names = [f for f in (country.name(), country.demonym(), *country.alt_spellings())
                 if f and f.isascii() and len(f) >= 2]
        for form in names:
            ids_of.setdefault(form.lower(), set()).add(i)
        tails.append((i, [f.rsplit(" of ", 1)[1] for f in names if " of " in f]))
        try:
            capital = country.capital()
        except (KeyError, AttributeError):
            capital = None
        if isinstance(capital, str) and capital.isascii():  # a few list several: left out
            capitals[i] = capital
    # a formal name "... of X" is also written as X ("United States of America" as "America"),
    # unless X names another country ("Republic of China" is not written "China")
    for i, names in tails:
        for tail in names:
            if ids_of.get(tail.lower(), {i}) == {i}:
                ids_of.setdefault(tail.lower(), set()).add(i)
    forms_of: dict[int, list[tuple[bool, tuple[str, ...]]]] = {}
    for form, ids in ids_of.items():
        code = len(form) <= 3 and form.isalpha()
        entry = (code, (form,) if code else tuple(_name_words(form)))
        for i in ids:
            forms_of.setdefault(i, []).append(entry)
    # a capital stands for its country in the news ("Beijing announced"): it states the
    # country, though a country never states its capital (the city is not looked up here)
    for i, capital in capitals.items():
        words = tuple(w for w in _name_words(capital) if len(w) > 1)  # "Washington D.C."
        if words:
            forms_of.setdefault(i, []).append((False, words))
    return ({form: frozenset(ids) for form, ids in ids_of.items()},
            {i: tuple(forms) for i, forms in forms_of.items()})


def _country_stated(value: str, words: set[str], written: set[str]) -> bool:
    """Whether a name of a country (`value`: "American", "United States", "USA") is stated by
    another of its forms: a form of words by all of them ("America" by "United States of
    America"; a word also in the plural, "Americans"), a code of capitals by the
    same written as an abbreviation ("US" by "U.S." or "US", never by the word "us")."""
    ids_of, forms_of = country_forms()
    for i in ids_of.get(value.lower(), ()):
        for code, parts in forms_of[i]:
            if code:
                if parts[0] in written:
                    return True
            elif parts and all(p in words or p + "s" in words for p in parts):
                return True
    return False


def missing_from(required: list[tuple[str, str]], context: str) -> list[str]:
    """missing_specifics for a question's `specifics`, found once and checked against several
    contexts."""
    low = context.lower()
    # whole words, hyphenated ones, and the letters of a unit glued to its number ("826GWh"),
    # each also without a possessive
    words = set(re.findall(r"[\w'’]+", low)) | set(re.findall(r"[\w'’-]+", low)) | \
        set(re.findall(r"(?<=\d)[^\W\d_]+", low))
    words |= {re.sub(r"['’]s?$", "", w) for w in words}  # "Levi's" states "Levi", as _name_words
    digits = low.replace(",", "")
    abbreviations = None  # found when a name's words are not all there
    missing = []
    for kind, value in required:
        if kind == "name":
            parts = _name_words(value)
            if len(value) < 2 or not parts:
                continue
            if all(_word_stated(p, words) for p in parts):
                continue
            if abbreviations is None:
                abbreviations = _abbreviations(context)
            if _abbreviation_stated(value, parts, abbreviations):
                continue
            # a country named another way ("American" by "U.S."), as the whole name or as the
            # words of it the context lacks ("American officials")
            unstated = [p for p in parts if not _word_stated(p, words)]
            if _country_stated(value, words, abbreviations[0]) or all(
                    _country_stated(p, words, abbreviations[0]) for p in unstated):
                continue
            missing.append(value)
        elif value.replace(",", "").lower() not in digits:
            missing.append(value)
    return missing


# Opposites that stay opposites in any context: superlatives and comparatives of polar
# adjectives, directions, and polar terms. Written by hand from general usage and never fitted
# to a question set. Left out on purpose: words whose other senses are common ("lose a player
# to injury", "the late king", "high school", "at least", "the first ... since"), function
# words ("more", "most", "many", "before", "after") and verbs of change in their plain forms.
OPPOSITES = """largest smallest|biggest smallest|highest lowest|earliest latest|longest shortest
oldest youngest|fastest slowest|strongest weakest|best worst|maximum minimum|larger smaller
higher lower|older younger|increase decrease|increased decreased|increasing decreasing
north south|east west|northern southern|eastern western|northernmost southernmost
easternmost westernmost|import export|imports exports|imported exported|private public
legal illegal|male female|positive negative|accepted rejected|allowed banned
internal external|inner outer|upper lower|cheap expensive|cheapest costliest
successful unsuccessful|popular unpopular|ancient modern|primary secondary|major minor
wettest driest|hottest coldest|warmest coldest|richest poorest"""
OPPOSITE: dict[str, str] = {}
for _pair in re.split(r"[|\n]", OPPOSITES):
    _a, _b = _pair.split()
    OPPOSITE.setdefault(_a, _b)
    OPPOSITE.setdefault(_b, _a)
LOWER_WORD_RE = re.compile(r"(?<![\w'’-])[a-z]+(?![\w'’-])")


def contradicted(question: str, context: str) -> list[tuple[str, str]]:
    """(asked, stated) pairs: a word of the question whose opposite `context` states while never
    stating the word itself. Only lower-case words count ("North Korea" states no "north")."""
    asked = [w for w in LOWER_WORD_RE.findall(question) if w in OPPOSITE]
    if not asked:
        return []
    stated = set(LOWER_WORD_RE.findall(context))
    out = []
    for word in asked:
        if word not in stated and OPPOSITE[word] in stated and \
                (word, OPPOSITE[word]) not in out:
            out.append((word, OPPOSITE[word]))
    return out


# -- what kind of answer the question asks for ---------------------------------------------------
# A change asked as a quantity ("How much did exports grow?", "By what percentage did it rise?")
# wants the change ("26.75%", "an increase of 3 million"), not the level ("55.38 billion").
CHANGE_WORDS = (r"grow|grew|grown|growth|rise|rose|risen|increas\w*|decreas\w*|declin\w*|drop\w*|"
                r"fall|fell|fallen|shr[iu]nk\w*|gain\w*|jump\w*|climb\w*|surg\w*|expand\w*|"
                r"expansion|chang\w*|doubl\w*|tripl\w*|halv\w*|up|down|plung\w*|soar\w*|"
                r"slump\w*|contract\w*|reduc\w*|cut")
CHANGE_RE = re.compile(rf"\b(?:{CHANGE_WORDS})\b", re.IGNORECASE)
QUANTITY_ASKED_RE = re.compile(
    r"\b(?:how\s+(?:much|many|far|long|large|big|high|low|old|fast|tall|often)|by\s+what|"
    r"what\s+(?:percent\w*|share|proportion|amount|number|rate|fraction|portion|size|sum|"
    r"total|value|price|cost|level))\b", re.IGNORECASE)
PERCENT_ASKED_RE = re.compile(r"\b(?:percent\w*|per\s+cent|proportion|share|fraction)\b|%",
                              re.IGNORECASE)
TIME_ASKED_RE = re.compile(r"^\W*(?:when|(?:in\s+)?(?:what|which)\s+(?:year|decade|century|"
                           r"month|date|day|period))\b", re.IGNORECASE)
NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                r"forty|fifty|hundred|hundreds|thousand|thousands|million|millions|billion|"
                r"billions|trillion|dozen|dozens|half|third|quarter|twice|single|double|triple|"
                r"several|few|many|most|all|none|no|once")
QUANTITY_RE = re.compile(rf"\d|\b(?:{NUMBER_WORDS})\b", re.IGNORECASE)
PERCENT_RE = re.compile(r"%|\bper\s?cent\b|\bpercent\w*|\b(?:half|third|quarter|"
                        r"thirds|quarters|fifth|tenth)\b", re.IGNORECASE)
# a change stated just before a span: "an increase of", "rose by", "up" (not "rose to": a level)
CHANGE_BEFORE_RE = re.compile(rf"\b(?:{CHANGE_WORDS})(?:\s+(?:by|of|about|around|nearly|almost|"
                              r"over|some|more\s+than|less\s+than))*\s*$", re.IGNORECASE)
TIME_RE = re.compile(r"\d|\b(?:january|february|march|april|may|june|july|august|september|"
                     r"october|november|december|spring|summer|autumn|fall|winter|century|"
                     r"centuries|decade|decades|year|years|ago|age|era|period|reign|war|"
                     r"dynasty|today|yesterday|now|then|later|early|late|mid)\b",
                     re.IGNORECASE)


def asked_type(question: str) -> str | None:
    """The kind of answer a question asks for, where its words say so: "change" (how much
    something grew or fell), "percent", "quantity", "time"; None for anything else."""
    if TIME_ASKED_RE.search(question):
        return "time"
    if not QUANTITY_ASKED_RE.search(question):
        return None
    if CHANGE_RE.search(question):
        return "change"
    return "percent" if PERCENT_ASKED_RE.search(question) else "quantity"


def type_mismatch(asked: str | None, span: str, before: str = "") -> bool:
    """Whether a span cannot be the kind of answer asked for: no date or time word when a time
    is asked, no quantity when a quantity is, no share when a percentage is, and for a change
    neither a share nor a change stated with it (`before`: the words just before the span in its
    sentence, "a year-on-year increase of" before "26.75%")."""
    if asked is None:
        return False
    if asked == "time":
        return not TIME_RE.search(span)
    if not QUANTITY_RE.search(span):
        return True
    if asked == "percent":
        return not PERCENT_RE.search(span)
    if asked == "change":
        return not (PERCENT_RE.search(span) or CHANGE_RE.search(span) or
                    CHANGE_BEFORE_RE.search(before))
    return False

"""What a question asks for: its expected answer type and the words that pin it down."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import QUESTION_WORDS, STOPWORDS, content_stems, normalize, stem

# Expected answer types. Candidates carry types from the same vocabulary.
ANSWER_TYPES = ("person", "entity", "location", "date", "count", "quantity", "percent",
                "money", "duration", "reason", "description", "thing")

_RULES: list[tuple[str, str]] = [
    (r"\b(what|which) (percentage|percent|proportion|share|fraction)\b|\bwhat percent|\bwhat % ", "percent"),
    (r"\bhow many (years|months|weeks|days|hours|minutes|decades|centuries)\b", "duration"),
    (r"\bhow long\b|\bfor how long\b|\bwhat (period|duration)\b", "duration"),
    (r"\bhow many\b|\bwhat number of\b|\bwhat (is|was|are|were) the (total )?number of\b|\bhow old\b|\bwhat age\b", "count"),
    (r"\bhow much (money|did .* cost|does .* cost)|\b(what|which) (price|cost|value|revenue|amount of money)\b"
     r"|\b(dollars|yuan|euros|pounds|worth)\b", "money"),
    (r"\bhow (much|large|big|high|fast|far|heavy|tall)\b|\b(what|which) (threshold|level|rate|amount|growth|increase|decrease|"
     r"figure|number|size|density|capacity|volume|output|total|quantity|weight|speed|score)\b"
     r"|\bby how much\b", "quantity"),
    (r"\bwhen\b|\b(what|which) (year|date|month|day|decade|century|time|season)\b|\bwhat "
     r"(year|date)\b|\bin what year\b|\bsince when\b", "date"),
    (r"\bwho\b|\bwhom\b|\bwhose\b|\b(what|which) (person|man|woman|official|minister|king|"
     r"president|leader|player|quarterback|coach|director|ceo|author|singer|duke|ruler|"
     r"emperor|general|bishop|pope|analyst|spokesperson|representative)\b", "person"),
    (r"\bwhere\b|\b(what|which) (country|countries|city|cities|state|place|location|region|"
     r"continent|market|venue|stadium|town|island|area|nation|province|capital)\b", "location"),
    (r"\b(what|which) (company|companies|organization|organisation|organizations|organisations|agency|agencies|authority|authorities|ministries|team|teams|ministry|"
     r"department|network|group|firm|institution|body|network|newspaper|publisher|outlet|"
     r"network|university|party|league|conference|brand|channel|project|act|law|program|"
     r"programme|announcement|rule|policy)\b", "entity"),
    (r"\bwhy\b|\bwhat (caused|causes|reason)\b|\bfor what reason\b", "reason"),
    (r"\bhow (did|does|do|was|were|is|are|can|could|will|would)\b", "description"),
]
# "which Chinese official", "what energy density threshold": up to two modifiers between the
# wh-word and the noun that names the answer's type (but never an auxiliary verb: "what did the
# president say" does not ask for a person).
_MODS = r"(?:(?!(?:did|does|do|is|was|were|are|has|have|had|will|would|can|could|should|the|a|an)\b)[\w\-']+ ){0,2}"
_COMPILED = [(re.compile(p.replace(r"(what|which) (", r"(what|which) " + _MODS + "("),
                         re.IGNORECASE), t) for p, t in _RULES]
_AUX = frozenset("did does do is was were are has have had will would can could should may might "
                 "must".split())

WH_WORDS = ("what", "which", "who", "whom", "whose", "when", "where", "why", "how")


@dataclass(frozen=True)
class QuestionAnalysis:
    text: str
    answer_type: str
    wh: str
    stems: tuple[str, ...]          # content stems (what lexical matching uses)
    head_stems: tuple[str, ...]     # stems of the noun right after "what/which" (the answer's class)
    specifics: tuple[str, ...]      # numbers and capitalised names the answer's sentence must share


def analyse(question: str) -> QuestionAnalysis:
    """Classify the question and extract the words that any answer's context must match."""
    text = normalize(question)
    lower = text.lower()
    answer_type = "thing"
    for pattern, kind in _COMPILED:
        if pattern.search(lower):
            answer_type = kind
            break
    words = re.findall(r"[A-Za-z]+", lower)
    wh = next((w for w in words if w in WH_WORDS), "other")
    head = re.search(r"\b(?:what|which)\s+(?:kind of |kinds of |type of |types of |sort of )?"
                     r"((?:[a-z\-]+\s*){1,3})", lower)
    head_stems: tuple[str, ...] = ()
    if head:
        group = []
        for word in head.group(1).split():
            if word in STOPWORDS or word in QUESTION_WORDS or word in _AUX:
                break
            group.append(stem(word))
        head_stems = tuple(group)
    return QuestionAnalysis(question, answer_type, wh, tuple(content_stems(text)), head_stems,
                            tuple(specific_terms(text)))


def specific_terms(text: str) -> list[str]:
    """Numbers, years and capitalised names of a question (not its first word)."""
    out = []
    for match in re.finditer(r"\d+(?:[.,]\d+)*|[A-Z][\w\-]*(?:'s)?", text):
        token = match.group()
        if match.start() == 0 or token.lower() in STOPWORDS or token.lower() in QUESTION_WORDS:
            continue
        token = re.sub(r"'s$", "", token)
        out.append(token.lower())
    return out

"""Word-level text helpers shared by indexing, retrieval and reading: tokens, stems, stopwords."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .nltk_parts import nltk_module

# Words, numbers with inner separators (1,170 / 3.003 / 24%), and single symbols.
TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)*%?|[^\W_]+(?:['’\-][^\W_]+)*|[^\w\s]", re.UNICODE)
WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)

# English function words (NLTK's stopword list needs a download, so we keep our own).
STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before
being below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out over
own same she should so some such than that the their theirs them themselves then there these they
this those through to too under until up very was we were what when where which while who whom why
will with would you your yours yourself yourselves s t did does doing done according per whose
among although while since once despite within without upon toward towards across along around
behind beyond near via though however thus therefore moreover yet also it's its may might must
shall can't cannot won't don't didn't doesn't isn't wasn't weren't hasn't haven't hadn't
""".split())

QUESTION_WORDS = frozenset("what which who whom whose when where why how".split())

_stemmer = nltk_module("nltk.stem.porter").PorterStemmer()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Porter stem of a lower-cased word."""
    return _stemmer.stem(word.lower())


def normalize(text: str) -> str:
    """Unicode-normalised text with typographic quotes made plain (for matching, never for output)."""
    text = unicodedata.normalize("NFKC", text)
    return text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')


def tokens(text: str) -> list[str]:
    """Lower-cased word and number tokens."""
    return [t.lower() for t in TOKEN_RE.findall(normalize(text)) if t[0].isalnum()]


def content_stems(text: str) -> list[str]:
    """Stems of the content words of a text: what lexical matching compares."""
    out = []
    for tok in tokens(text):
        for part in re.split(r"[-']", tok):
            if part and part not in STOPWORDS and part not in QUESTION_WORDS:
                out.append(stem(part))
    return out


def token_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the tokens of `text` (offsets into `text` itself)."""
    return [m.span() for m in TOKEN_RE.finditer(text)]


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """'1 document', '2 documents' (`plural` for irregular nouns)."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"

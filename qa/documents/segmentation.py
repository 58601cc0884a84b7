"""Split documents into sections, sentences and passages, each with exact character offsets."""

from __future__ import annotations

import re
from functools import lru_cache

from ..nltk_parts import nltk_module
from ..types import Document, Passage, Sentence
from .lines import derive_dateline, is_boilerplate, is_heading, parse_dateline

# Abbreviations Punkt must not end a sentence on (lower case, without the final period).
# Hyphenated forms such as "Sino-U.S." are covered by their last part ("u.s").
ABBREVIATIONS = frozenset("""
mr mrs ms dr prof sr jr st mt ft vs etc e.g i.e u.s u.k u.n u.s.a e.u no nos vol fig figs
jan feb mar apr jun jul aug sep sept oct nov dec inc ltd co corp dept gov gen col lt sgt capt
rev approx est ca pp op cf al ed eds univ assn bros
""".split())

# A longer "sentence" (a line without sentence punctuation: a list, a table row, a transcript)
# is cut into pieces of at most this many words, at a clause boundary where there is one: the
# embedding model reads 256 tokens, and the reader a window of three sentences in 256.
SENTENCE_MAX_WORDS = 100
CLAUSE_END = tuple(",;:)]—–")
LEAD_MAX_CHARS = 1200


@lru_cache(maxsize=1)
def sentence_splitter():
    """NLTK's PunktSentenceTokenizer with our own abbreviation list (NLTK's trained models need
    a download)."""
    punkt = nltk_module("nltk.tokenize.punkt")
    params = punkt.PunktParameters()
    params.abbrev_types = set(ABBREVIATIONS)
    return punkt.PunktSentenceTokenizer(params)


# What a document's dateline means, said in the words people ask about it with: a line such as
# "Oct 31, 2025 |BAKTH" shares no word with "When was this article published?".
DATELINE_MEANING = "the date this article, story or document was published"
BYLINE_MEANING = "its byline: the author, writer, outlet or source it is credited to"


BYLINE_RE = re.compile(r"^\s*(?:by|written by|words by|text by|reported by|author:)\s+\S",
                       re.I)


def is_byline(text: str, author: str) -> bool:
    """Whether `text` is a short "By <author> ..." line naming one of `author` ("A; B")."""
    return len(text) <= 200 and bool(BYLINE_RE.match(text)) and any(
        name.strip() and name.strip() in text for name in author.split(";"))


def search_texts(documents, pieces) -> list[str]:
    """What retrieval matches each sentence or passage by (its vectors and lexical index): its
    text, and for its document's own dateline also what the line means. Answers and citations
    always use the text itself."""
    dates = {d.doc_id: derive_dateline(d.text)[0] for d in documents}
    authors = {d.doc_id: d.author for d in documents}
    return [search_text(p.text, dates[p.doc_id], authors[p.doc_id]) for p in pieces]


def search_text(text: str, dateline_date: str | None, author: str | None = None) -> str:
    """`text`, with what it means when it is the dateline of that date (a date line elsewhere
    in the document says less) or the byline of the document's `author`."""
    if author and is_byline(text, author):
        return f"{text} ({BYLINE_MEANING})"
    found = parse_dateline(text) if dateline_date else None
    if not found or found[0] != dateline_date:
        return text
    meaning = f"{text} ({DATELINE_MEANING}"
    return meaning + (f"; {BYLINE_MEANING})" if found[1] else ")")


# A heading's numbering: "01 ", "2.1 ", "3. ", "4) ", "## "; not a plain count ("10 Ways").
HEADING_LABEL_RE = re.compile(r"^\s*(#{1,6}|0\d|\d{1,2}(?:\.\d+)+\.?|\d{1,2}[.)])\s+(?=\S)")


def lead_texts(documents, sentences: list[Sentence]) -> dict[str, str]:
    """Each document's lead: its first line of body text, in whole sentences up to
    LEAD_MAX_CHARS. An article names there, once, the year, place and people that its later
    sentences take as read ("Super Bowl 50 ... for the 2015 season")."""
    leads: dict[str, list[Sentence]] = {}
    closed: set[str] = set()
    for sentence in sentences:
        doc_id = sentence.doc_id
        if sentence.kind != "sentence" or doc_id in closed:
            continue
        lead = leads.get(doc_id)
        if lead is None:
            leads[doc_id] = [sentence]
        elif lead[-1].index + 1 == sentence.index and \
                "\n" not in documents[doc_id].text[lead[-1].end:sentence.start] and \
                sentence.end - lead[0].start <= LEAD_MAX_CHARS:
            lead.append(sentence)
        else:
            closed.add(doc_id)
    return {doc_id: documents[doc_id].text[lead[0].start:lead[-1].end]
            for doc_id, lead in leads.items()}


def heading_label(line: str) -> int:
    """The length of a heading's numbering, 0 if it has none: page structure, like
    boilerplate, never an answer."""
    match = HEADING_LABEL_RE.match(line)
    return match.end() if match else 0


def heading_name(line: str) -> str:
    return line.strip().lstrip("#").strip()


def boilerplate_lines(document: Document) -> list[str]:
    """The non-empty lines of a document that are never indexed as page furniture."""
    return [line.strip() for line in document.text.splitlines()
            if line.strip() and is_boilerplate(line)]


def split_sentences(document: Document, first_index: int = 0) -> list[Sentence]:
    """Sentences and heading lines of a document, in order; boilerplate lines are left out.
    The headings are the document's known sections when its format has them (HTML, Markdown,
    DOCX), else the lines that look like headings."""
    text = document.text
    splitter = sentence_splitter()
    sentences: list[Sentence] = []
    section: str | None = None
    known = None if document.sections is None else {s.start: s for s in document.sections}
    for match in re.finditer(r"[^\r\n]+", text):
        line = match.group()
        if not line.strip() or is_boilerplate(line):
            continue
        base = match.start()
        lead = len(line) - len(line.lstrip())
        heading = known.get(base + lead) if known is not None else None
        if heading is not None or (known is None and is_heading(line)):
            start, end = base + lead, base + len(line.rstrip())
            name = heading.name if heading is not None else heading_name(line)
            if name != document.title and not parse_dateline(line):
                section = name
            sentences.append(Sentence(first_index + len(sentences), document.doc_id, start, end,
                                      text[start:end], None if name == document.title else section,
                                      kind="heading"))
            continue
        for a, b in splitter.span_tokenize(line):
            piece = line[a:b]
            a += len(piece) - len(piece.lstrip())
            b -= len(piece) - len(piece.rstrip())
            if b <= a:
                continue
            for start, end in cut_long(text, base + a, base + b):
                sentences.append(Sentence(first_index + len(sentences), document.doc_id, start,
                                          end, text[start:end], section))
    return sentences


def cut_long(text: str, start: int, end: int,
             max_words: int = SENTENCE_MAX_WORDS) -> list[tuple[int, int]]:
    """[start, end) of `text` as pieces of at most `max_words` words, in order, each ending
    after the last clause boundary (",;:)]" or a dash) of its second half where there is one,
    else after its last word. A piece short enough is returned whole."""
    words = [(start + m.start(), start + m.end())
             for m in re.finditer(r"\S+", text[start:end])]
    if len(words) <= max_words:
        return [(start, end)]
    pieces, i = [], 0
    while len(words) - i > max_words:
        last = i + max_words - 1
        cut = next((j for j in range(last, i + max_words // 2 - 1, -1)
                    if text[words[j][1] - 1] in CLAUSE_END), last)
        pieces.append((words[i][0], words[cut][1]))
        i = cut + 1
    pieces.append((words[i][0], words[-1][1]))
    return pieces


def make_passages(document: Document, sentences: list[Sentence], first_index: int = 0,
                  radius: int = 1) -> list[Passage]:
    """One passage per sentence: the sentence with up to `radius` neighbours of its section."""
    passages = []
    for pos, sentence in enumerate(sentences):
        lo = pos
        while lo > 0 and pos - lo < radius and sentences[lo - 1].section == sentence.section \
                and sentences[lo - 1].kind == "sentence":
            lo -= 1
        hi = pos
        while hi + 1 < len(sentences) and hi - pos < radius \
                and sentences[hi + 1].section == sentence.section \
                and sentences[hi + 1].kind == "sentence":
            hi += 1
        start, end = sentences[lo].start, sentences[hi].end
        passages.append(Passage(first_index + pos, document.doc_id, start, end,
                                document.text[start:end], sentence.section,
                                tuple(s.index for s in sentences[lo:hi + 1])))
    return passages

"""NLTK's stemmer and Punkt loaded without `import nltk`: the same code, the same results, and
none of the toolkit's eager imports (scipy.stats, scikit-learn) on the way to an answer."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORDS = ["exports", "controls", "batteries", "generously", "agreed", "suspension", "Beijing's",
         "relational", "conditional", "hopping", "sky", "dying", "1,170", "capabilities"]
TEXT = ("The U.S. agreed on Oct. 30. China suspended the measures for one year, Mr. Li said. "
        "Exports grew 24% in 2025! Did they? Yes.")


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_answering_imports_neither_the_whole_toolkit_nor_what_it_pulls_in():
    out = _run("import sys, qa.cli, qa.pipeline, qa.web.server\n"
               "from qa.text import content_stems\n"
               "from qa.documents.segmentation import sentence_splitter\n"
               "content_stems('Which exports were controlled?'); sentence_splitter()\n"
               "print(sorted(m for m in sys.modules if m == 'nltk' or m.startswith("
               "('nltk.', 'scipy.stats', 'sklearn'))))")
    assert out.strip() == "[]"


def test_same_stems_and_sentences_as_nltk_imported_whole():
    out = _run(
        "from qa.nltk_parts import nltk_module\n"
        "from qa.documents.segmentation import sentence_splitter\n"
        f"words, text = {WORDS!r}, {TEXT!r}\n"
        "lean = [nltk_module('nltk.stem.porter').PorterStemmer().stem(w) for w in words]\n"
        "spans = list(sentence_splitter().span_tokenize(text))\n"
        "import nltk\n"  # the whole toolkit, as usual, after the lean load
        "from nltk.stem.porter import PorterStemmer\n"
        "from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer\n"
        "from qa.documents.segmentation import ABBREVIATIONS\n"
        "params = PunktParameters(); params.abbrev_types = set(ABBREVIATIONS)\n"
        "assert lean == [PorterStemmer().stem(w) for w in words], lean\n"
        "assert spans == list(PunktSentenceTokenizer(params).span_tokenize(text)), spans\n"
        "assert nltk.stem.porter.PorterStemmer is PorterStemmer\n"
        "from qa.nltk_parts import nltk_module\n"
        "assert nltk_module('nltk.stem.porter') is nltk.stem.porter\n"
        "print(len(spans))")
    assert out.strip() == "5"  # "Oct." and "Mr." end no sentence

"""NLTK's Porter stemmer and Punkt sentence tokenizer, loaded without `import nltk`.

`import nltk` imports the whole toolkit at once (parsers, classifiers, collocations, and through
them scipy.stats and scikit-learn): 1.4 of the 3.0 seconds `python -m qa ask` took to its first
answer on a 2-core AMD EPYC, and that much again in every serving worker, for two modules that
import none of it themselves. `nltk_module` imports one NLTK module with its own imports only.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types

# The packages above the modules we load; their __init__ files are what imports everything.
_PACKAGES = ("nltk", "nltk.stem", "nltk.tokenize")
_lock = threading.Lock()


def nltk_module(name: str) -> types.ModuleType:
    """The NLTK module `name` ("nltk.stem.porter", "nltk.tokenize.punkt"): NLTK's own code,
    with its package __init__ files skipped. It leaves no trace in sys.modules, so a later
    `import nltk` elsewhere imports the whole toolkit as usual; where that has happened
    already, its module is returned."""
    if "nltk" in sys.modules and not getattr(sys.modules["nltk"], "_qa_stub", False):
        return importlib.import_module(name)
    with _lock:
        before = set(sys.modules)
        try:
            for package in _PACKAGES:
                if package not in sys.modules:
                    spec = importlib.util.find_spec(package)
                    if spec is None or spec.submodule_search_locations is None:
                        raise ImportError(f"no package {package}: run `make install`")
                    stub = types.ModuleType(package)
                    stub.__path__ = list(spec.submodule_search_locations)
                    stub._qa_stub = True
                    sys.modules[package] = stub
            return importlib.import_module(name)
        finally:
            for loaded in set(sys.modules) - before:
                if loaded == "nltk" or loaded.startswith("nltk."):
                    del sys.modules[loaded]

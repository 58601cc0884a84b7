"""Errors a user can act on. Each message names the fix."""


class QAError(Exception):
    """Base class for errors that are reported to the user without a traceback."""

    code = "qa_error"


class CorpusError(QAError):
    code = "corpus_error"


class IndexMissing(QAError):
    code = "index_missing"


class IndexStale(QAError):
    code = "index_stale"


class IndexCorrupt(QAError):
    code = "index_corrupt"


class StoreUnavailable(QAError):
    """The configured store cannot be reached or used (server down, client not installed)."""

    code = "store_unavailable"


class ModelUnavailable(QAError):
    code = "model_unavailable"


class BadQuestion(QAError):
    code = "bad_question"


class CorpusIncomplete(CorpusError):
    """Some corpus files could not be indexed and the build was asked to be strict."""

    code = "corpus_incomplete"

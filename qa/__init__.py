"""Document-grounded question answering: extractive answers with citations, or an honest abstention."""

__version__ = "0.1.0"

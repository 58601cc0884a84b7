"""Corpus files in, Documents with their sentences and passages out (formats, load, segment)."""

"""Sentences and passages in, an index folder out (vectors, BM25, manifest), loaded back checked."""

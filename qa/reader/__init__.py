"""A question and its retrieved sentences in, a cited answer span and its confidence out."""

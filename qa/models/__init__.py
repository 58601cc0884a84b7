"""The networks: texts in, sentence vectors and answer-span logits out (and the reader weights)."""

"""`qa train`: SQuAD articles in, the reader's weights and calibration (qa/models/) out."""

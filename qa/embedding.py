"""Sentence embeddings from a local sentence-transformers model (never downloaded at run time)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .config import resolve_model_path
from .errors import ModelUnavailable


class Embedder:
    """Normalised sentence embeddings (inner product = cosine) from a local model folder."""

    def __init__(self, model_path: str | None = None):
        self.model_path = resolve_model_path(model_path)
        if not Path(self.model_path).is_dir():
            raise ModelUnavailable(f"embedding model folder {self.model_path!r} does not exist: "
                                   "set QA_MODEL_PATH or --model to a sentence-transformers folder")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging
        transformers_logging.disable_progress_bar()  # no "Loading weights" bar on every start
        try:
            self.model = SentenceTransformer(self.model_path, device="cpu")
        except Exception as exc:  # a broken folder: say which and how to fix
            raise ModelUnavailable(f"could not load the embedding model from {self.model_path!r} "
                                   f"({type(exc).__name__}: {exc}); reinstall with `make install`"
                                   ) from exc
        self.dimension = int(self.model.get_embedding_dimension())
        self.name = Path(self.model_path).name if Path(self.model_path).name != "model" \
            else "all-MiniLM-L6-v2"

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """float32 matrix of unit vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One unit vector for a question."""
        return self.encode([text])[0]

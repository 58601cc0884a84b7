"""Sentence embeddings from a local sentence-transformers model (never downloaded at run time)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..config import resolve_model_path
from ..errors import ModelUnavailable


# Files of a model folder that do not change its vectors (left out of Embedder.identity)
MODEL_FILES_NOT_HASHED = frozenset({"README.md", ".gitattributes"})


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

    @property
    def identity(self) -> str:
        """What makes this model's vectors what they are: its name and a hash of its files
        (weights, configuration, tokenizer). Keys the embedding cache."""
        if getattr(self, "_identity", None) is None:
            import hashlib
            from ..hashing import file_sha256
            digest = hashlib.sha256()
            folder = Path(self.model_path)
            for path in sorted(p for p in folder.rglob("*") if p.is_file()
                               and p.name not in MODEL_FILES_NOT_HASHED):
                digest.update(f"{path.relative_to(folder).as_posix()}\0{file_sha256(path)}\n"
                              .encode())
            self._identity = f"{self.name}:{digest.hexdigest()[:32]}"
        return self._identity

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

    def query_encoder_export(self, check_texts: list[str]) -> tuple[Path, float]:
        """An ONNX export of this model (made once per Embedder) and its largest difference
        from torch over `check_texts`."""
        if getattr(self, "_export", None) is None:
            import shutil
            import tempfile
            import weakref
            folder = Path(tempfile.mkdtemp(prefix="qa-onnx-"))
            weakref.finalize(self, shutil.rmtree, folder, True)
            path = folder / QUERY_ENCODER_FILE
            export_query_encoder(self, path, check_texts)
            self._export = path
        encoder = OnnxQueryEncoder(self._export, self.model_path)
        texts = check_texts[:16] or ["a check sentence"]
        diff = float(np.abs(np.vstack([encoder.encode_query(t) for t in texts])
                            - self.encode(texts)).max())
        if diff > ONNX_MAX_DIFF:
            raise ModelUnavailable(f"the ONNX export differs from torch by {diff:.2g}")
        return self._export, diff


# -- ONNX Runtime query path ---------------------------------------------------------------------
# The same transformer exported to ONNX and run by ONNX Runtime, with mean pooling and
# normalisation in numpy (what the model's Pooling and Normalize modules do). It gives the same
# vectors as torch (checked at export) in a fraction of the time, and serving then needs neither
# torch nor transformers. Torch stays the fallback and does all batch encoding at build time.

QUERY_ENCODER_FILE = "query_encoder.onnx"
ONNX_MAX_DIFF = 1e-4  # largest acceptable |onnx - torch| of any vector component


ONNX_INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


def export_transformer(model, select, sample, path: Path, output_names: list[str]) -> Path:
    """Export a BERT-style torch `model` to ONNX at `path`, batch and token axes dynamic;
    `select(outputs)` picks the exported tensors from the model's outputs."""
    import warnings

    import torch

    class Exported(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return select(self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                     token_type_ids=token_type_ids))

    axes = {n: {0: "batch", 1: "tokens"} for n in ONNX_INPUTS + output_names}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Exported().eval(), tuple(sample[n] for n in ONNX_INPUTS), str(path),
                          input_names=ONNX_INPUTS, output_names=output_names,
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    model.eval()  # export restores the wrapper's mode, which may reach the model
    return path


def export_query_encoder(embedder: Embedder, path: Path, check_texts: list[str]) -> Path:
    """Export the embedder's transformer (last hidden state) to an ONNX file at `path`."""
    model = embedder.model
    sample = model.tokenizer(["a question to trace the graph"], return_tensors="pt")
    return export_transformer(model[0].auto_model.eval(), lambda out: out.last_hidden_state,
                              sample, path, ["hidden"])


class OnnxQueryEncoder:
    """Question vectors from the exported model; the same interface as Embedder.encode_query."""

    def __init__(self, onnx_path: Path, model_path: str | None = None, threads: int = 1):
        import onnxruntime
        from tokenizers import Tokenizer
        self.model_path = resolve_model_path(model_path)
        self.name = Path(self.model_path).name if Path(self.model_path).name != "model" \
            else "all-MiniLM-L6-v2"
        config = Path(self.model_path) / "sentence_bert_config.json"
        max_length = json.loads(config.read_text())["max_seq_length"] if config.is_file() else 256
        self.tokenizer = Tokenizer.from_file(str(Path(self.model_path) / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # one core per request; requests run in parallel
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(onnx_path), options,
                                                    providers=["CPUExecutionProvider"])
        self.dimension = int(self.session.get_outputs()[0].shape[-1] or 384)

    def encode_query(self, text: str) -> np.ndarray:
        """One unit vector for a question: mean-pooled token states, normalised."""
        encoding = self.tokenizer.encode(text)
        feeds = {"input_ids": np.array([encoding.ids], dtype=np.int64),
                 "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
                 "token_type_ids": np.array([encoding.type_ids], dtype=np.int64)}
        hidden = self.session.run(None, feeds)[0][0]
        mask = feeds["attention_mask"][0][:, None].astype(np.float32)
        vector = (hidden * mask).sum(axis=0) / max(float(mask.sum()), 1e-9)
        return (vector / np.linalg.norm(vector)).astype(np.float32)


def load_query_encoder(index_dir: Path, model_path: str | None = None):
    """The ONNX query encoder when the index carries one, else the torch Embedder."""
    path = Path(index_dir) / QUERY_ENCODER_FILE
    if path.is_file():
        try:
            return OnnxQueryEncoder(path, model_path)
        except ImportError:
            pass  # onnxruntime missing: torch still works
    return Embedder(model_path)

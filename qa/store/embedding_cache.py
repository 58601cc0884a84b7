"""The embedding cache: vectors of texts embedded by an earlier build, so that a rebuild after
one file changed embeds only that file's new sentences and passages.

Each vector is keyed by sha256(model identity, text): a changed text, or another model, is a
miss. The cache is one file in the index folder (`embeddings.npz`), rewritten by each build with
exactly the texts of that build. It is not part of the index's checksummed files: a damaged or
foreign cache is ignored, and everything is embedded again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

CACHE_FILE = "embeddings.npz"
BATCH = 256  # texts embedded between two progress updates

logger = logging.getLogger(__name__)


def text_key(identity: str, text: str) -> bytes:
    """The cache key of a text embedded by the model of this identity."""
    return hashlib.sha256(f"{identity}\0{text}".encode("utf-8", "surrogatepass")).digest()


class EmbeddingCache:
    """Vectors by key; `embedded` counts the texts this build had to embed."""

    def __init__(self, identity: str, vectors: dict[bytes, np.ndarray] | None = None):
        self.identity = identity
        self.vectors = vectors or {}
        self.used: dict[bytes, np.ndarray] = {}
        self.embedded = 0
        self.reused = 0

    @classmethod
    def load(cls, index_dir: Path, identity: str) -> "EmbeddingCache":
        """The cache kept in `index_dir`, or an empty one if there is none usable."""
        path = Path(index_dir) / CACHE_FILE
        if not path.is_file():
            return cls(identity)
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["identity"]) != identity:
                    return cls(identity)
                keys, vectors = data["keys"], data["vectors"]
                if keys.ndim != 2 or keys.shape[1] != 32 or len(keys) != len(vectors):
                    raise ValueError("keys and vectors disagree")
                return cls(identity, {k.tobytes(): v for k, v in zip(keys, vectors)})
        except Exception as exc:  # a damaged cache only costs the time to embed again
            logger.warning("ignoring the embedding cache %s (%s)", path, exc)
            return cls(identity)

    def encode(self, embedder, texts: list[str], counter=None) -> np.ndarray:
        """Vectors of `texts`, embedding only those not in the cache; `counter` (a
        qa/progress.py Counter) is advanced by the texts embedded."""
        keys = [text_key(self.identity, t) for t in texts]
        missing = {}
        for i, key in enumerate(keys):
            if key not in self.vectors and key not in self.used and key not in missing:
                missing[key] = i
        order = list(missing.items())
        for lo in range(0, len(order), BATCH):
            chunk = order[lo:lo + BATCH]
            fresh = embedder.encode([texts[i] for _, i in chunk])
            for (key, _), vector in zip(chunk, fresh):
                self.used[key] = vector
            if counter is not None:
                counter.update(len(chunk))
        self.embedded += len(missing)
        out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
        for i, key in enumerate(keys):
            vector = self.used.get(key)
            if vector is None:
                vector = self.used[key] = self.vectors[key]
                self.reused += 1
            out[i] = vector
        return out

    def missing(self, texts: list[str]) -> int:
        """How many distinct texts `encode` would embed."""
        keys = {text_key(self.identity, t) for t in texts}
        return sum(1 for k in keys if k not in self.vectors and k not in self.used)

    def save(self, index_dir: Path) -> None:
        """Write the vectors this build used (written aside, then renamed into place)."""
        index_dir = Path(index_dir)
        keys = list(self.used)
        handle, tmp = tempfile.mkstemp(prefix=".embeddings-", suffix=".npz", dir=index_dir)
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, identity=np.array(self.identity),
                         keys=np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, 32),
                         vectors=np.stack([self.used[k] for k in keys]).astype(np.float32)
                         if keys else np.zeros((0, 0), dtype=np.float32))
            os.chmod(tmp, 0o644)  # mkstemp makes it private; the index files are not
            os.replace(tmp, index_dir / CACHE_FILE)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

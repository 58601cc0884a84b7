"""The configured store backend (Settings.store): open it, and what tells a serving process that
a build replaced it. `files` is qa/store/document_store.py (an index folder); `qdrant` is
qa/store/qdrant_store.py (a collection behind an alias)."""

from __future__ import annotations

import os
from pathlib import Path

from .document_store import MANIFEST, DocumentStore


def open_store(settings, corpus_dir: Path | None = None, check_stale: bool = True):
    """The store of `settings`, verified (IndexMissing, IndexStale, IndexCorrupt with the fix;
    StoreUnavailable when Qdrant cannot be reached or its client is not installed)."""
    if settings.store == "qdrant":
        from .qdrant_store import QdrantStore
        return QdrantStore.load(settings, corpus_dir, check_stale=check_stale)
    return DocumentStore.load(settings.index_dir, corpus_dir, check_stale=check_stale)


def store_signature(settings):
    """Changes when a build replaces the store: the manifest file's identity for an index
    folder, the collection the alias points at for Qdrant (None: cannot tell now)."""
    if settings.store == "qdrant":
        from .qdrant_store import signature
        return signature(settings)
    try:
        st = os.stat(Path(settings.index_dir) / MANIFEST)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)

"""An hnswlib index per model, saved atomically beside the catalog.

The index is derived data: its header records the model id, the number of vectors and a
checksum of their labels (photo ids), and whoever opens it compares those with the catalog
and rebuilds the index when they disagree (a crash between a catalog commit and an index
save, a deleted or corrupt file, another model).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import hnswlib
import numpy as np

FORMAT = 1
M = 32  # graph degree: with EF_SEARCH below, recall@10 is about 0.99 at 100k x 384
EF_CONSTRUCTION = 200
EF_SEARCH = 384  # about 2 ms a query at 100k vectors on one core
INITIAL_CAPACITY = 1024


def label_checksum(labels: np.ndarray) -> str:
    """A checksum of a set of labels, independent of their order."""
    ordered = np.sort(np.asarray(labels, dtype="<i8"))
    return hashlib.sha256(ordered.tobytes()).hexdigest()


class IndexListener(Protocol):
    """Told of every change to an index, in order, while it holds its lock (so keep it quick):
    how a second copy of the vectors (the GPU matcher) stays the same as the index."""

    def added(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def removed(self, ids: np.ndarray) -> None: ...


@dataclass(frozen=True)
class IndexHeader:
    format: int
    model_id: str
    dim: int
    count: int
    checksum: str


def index_file_stem(model_id: str) -> str:
    """The index files' name for a model: `<stem>.hnsw` and `<stem>.json`."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in model_id)


class VectorIndex:
    """Approximate nearest neighbours over unit vectors, labelled by photo id."""

    def __init__(self, directory: Path, model_id: str, dim: int, *, empty: bool = True) -> None:
        self.directory = directory
        self.model_id = model_id
        self.dim = dim
        self._lock = threading.RLock()  # re-entrant: subscribe() calls vectors()
        self._index = hnswlib.Index(space="ip", dim=dim)
        if empty:  # else load() fills it from a file
            self._index.init_index(
                max_elements=INITIAL_CAPACITY, M=M, ef_construction=EF_CONSTRUCTION
            )
            self._index.set_ef(EF_SEARCH)
        self._active: set[int] = set()
        self._deleted: set[int] = set()
        self._listeners: list[IndexListener] = []

    # -- files --------------------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self.directory / f"{index_file_stem(self.model_id)}.hnsw"

    @property
    def header_path(self) -> Path:
        return self.directory / f"{index_file_stem(self.model_id)}.json"

    def header(self) -> IndexHeader:
        labels = np.fromiter(self._active, dtype=np.int64, count=len(self._active))
        return IndexHeader(FORMAT, self.model_id, self.dim, len(labels), label_checksum(labels))

    def save(self) -> None:
        """Write the index and then its header, each through a temp file and a rename."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            header = self.header()
            tmp = self.index_path.with_suffix(".hnsw.tmp")
            self._index.save_index(str(tmp))
            _fsync(tmp)
            os.replace(tmp, self.index_path)
            deleted = sorted(self._deleted)
        tmp_header = self.header_path.with_suffix(".json.tmp")
        tmp_header.write_text(json.dumps({**asdict(header), "deleted": deleted}))
        _fsync(tmp_header)
        os.replace(tmp_header, self.header_path)

    @classmethod
    def load(cls, directory: Path, model_id: str, dim: int) -> VectorIndex | None:
        """The saved index, or None if it is missing, unreadable or of another model/dim."""
        index = cls(directory, model_id, dim, empty=False)
        try:
            raw = json.loads(index.header_path.read_text())
            header = IndexHeader(
                raw["format"], raw["model_id"], raw["dim"], raw["count"], raw["checksum"]
            )
            if (header.format, header.model_id, header.dim) != (FORMAT, model_id, dim):
                return None
            index._index.load_index(str(index.index_path), max_elements=0)
            index._index.set_ef(EF_SEARCH)
            labels = set(int(i) for i in index._index.get_ids_list())
            index._deleted = set(int(i) for i in raw.get("deleted", []))
            index._active = labels - index._deleted
        except (OSError, ValueError, KeyError, TypeError, RuntimeError):
            return None
        if index.header() != header:
            return None
        return index

    @classmethod
    def open(
        cls,
        directory: Path,
        model_id: str,
        dim: int,
        catalog_labels: np.ndarray,
        load_vectors: Callable[[], tuple[np.ndarray, np.ndarray]],
    ) -> tuple[VectorIndex, bool]:
        """The saved index if it agrees with the catalog's labels, else one rebuilt from
        `load_vectors()`. Returns (index, rebuilt)."""
        index = cls.load(directory, model_id, dim)
        expected = (len(catalog_labels), label_checksum(catalog_labels))
        if index is not None:
            header = index.header()
            if (header.count, header.checksum) == expected:
                return index, False
        index = cls(directory, model_id, dim)
        ids, matrix = load_vectors()
        if len(ids):
            index.add(ids, matrix)
        index.save()
        return index, True

    # -- contents -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._active)

    def labels(self) -> np.ndarray:
        return np.fromiter(self._active, dtype=np.int64, count=len(self._active))

    def __contains__(self, label: object) -> bool:
        return label in self._active

    def vectors(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, (n, dim) float32) of those of `ids` in the index, in the order given."""
        with self._lock:
            present = np.asarray(
                [i for i in np.asarray(ids, dtype=np.int64).tolist() if i in self._active],
                dtype=np.int64,
            )
            if not len(present):
                return present, np.zeros((0, self.dim), dtype=np.float32)
            return present, np.asarray(self._index.get_items(present), dtype=np.float32)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add (or replace) vectors labelled by photo id; the index grows as needed."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._lock:
            for label in ids.tolist():
                if label in self._deleted:
                    self._index.unmark_deleted(label)
                    self._deleted.discard(label)
            needed = self._index.get_current_count() + len(ids)
            capacity = self._index.get_max_elements()
            if needed > capacity:
                self._index.resize_index(max(needed, capacity * 2))
            self._index.add_items(vectors, ids)
            self._active.update(ids.tolist())
            for listener in self._listeners:
                listener.added(ids, vectors)

    def remove(self, ids: np.ndarray) -> None:
        with self._lock:
            gone = []
            for label in np.asarray(ids, dtype=np.int64).tolist():
                if label in self._active:
                    self._index.mark_deleted(label)
                    self._active.discard(label)
                    self._deleted.add(label)
                    gone.append(label)
            if gone:
                for listener in self._listeners:
                    listener.removed(np.asarray(gone, dtype=np.int64))

    def subscribe(self, listener: IndexListener) -> tuple[np.ndarray, np.ndarray]:
        """Register `listener` for every later change, and return the vectors it starts from
        ((ids, (N, dim) float32)), both under the lock so that no change falls in between."""
        with self._lock:
            labels = np.fromiter(self._active, dtype=np.int64, count=len(self._active))
            labels.sort()
            labels, vectors = self.vectors(labels)
            self._listeners.append(listener)
        return labels, vectors

    def unsubscribe(self, listener: IndexListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def search(
        self, query: np.ndarray, k: int, allowed: Callable[[int], bool] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Up to `k` (ids, cosine scores), best first."""
        k = min(k, len(self._active))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        with self._lock:
            self._index.set_ef(max(EF_SEARCH, k))
            labels, distances = self._index.knn_query(
                np.asarray(query, dtype=np.float32).reshape(1, -1), k=k, filter=allowed
            )
        return labels[0].astype(np.int64), (1.0 - distances[0]).astype(np.float32)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

"""Search backends: one interface over the two ways a library's vectors are matched.

- `HnswBackend`: the CPU path, the saved HNSW index (approximate; a filter is a predicate
  the graph search checks).
- `DeviceBackend`: exact matching on the GPU, every vector of the active model held there in
  float16 (`DeviceMatcher`), a filter applied as a mask. It mirrors the HNSW index, which
  stays the saved, authoritative copy: every change to the index reaches the matcher (see
  `VectorIndex.subscribe`), and the index stays current for the day the GPU is gone.
- `ServerAnswers`: a shared library's server searching its pgvector index, the filters in
  the same query: what a computer answers from while its own index opens (not a backend:
  the local index, kept current from the server's rows, is what answers once open).

`make_search_backend` picks one from a `DeviceChoice`; a GPU matcher that fails to start
(out of GPU memory, a CUDA error) falls back to HNSW with a warning, never an exception.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mmsearch.devices import DeviceChoice
from mmsearch.index.exact import exact_top_k
from mmsearch.index.hnsw import VectorIndex
from mmsearch.index.matcher import DeviceMatcher

log = logging.getLogger(__name__)


class Answers(Protocol):
    """What a search asks of the vectors it answers from: a backend, or an index's preview
    (`mmsearch.index.preview.Preview`) while the index opens."""

    @property
    def exact(self) -> bool:
        """True when every query is answered exactly (no need for an exact CPU pass)."""
        ...

    @property
    def description(self) -> str:
        """What answers queries, for `mmsearch doctor` and status lines."""
        ...

    def query(
        self, vector: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Up to `k` (photo ids, cosine scores), best first, among `allowed_ids` if given."""
        ...


@runtime_checkable
class SearchBackend(Answers, Protocol):
    """What a search needs from a library's vectors."""

    #: The saved HNSW index behind the backend (the one the indexer writes and saves).
    hnsw: VectorIndex

    def __len__(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray) -> None: ...

    def save(self) -> None: ...


class _OverIndex:
    """Writes go to the HNSW index, the saved copy on every machine (a device backend hears
    of them through its subscription)."""

    hnsw: VectorIndex

    def __len__(self) -> int:
        return len(self.hnsw)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.hnsw.add(ids, vectors)

    def remove(self, ids: np.ndarray) -> None:
        self.hnsw.remove(ids)

    def save(self) -> None:
        self.hnsw.save()


class HnswBackend(_OverIndex):
    """The CPU path: the HNSW index; a filter becomes a membership test in its search."""

    exact = False

    def __init__(self, index: VectorIndex, note: str | None = None) -> None:
        self.hnsw = index
        self.note = note  # why it is not the GPU, when the GPU was wanted
        # (ids array, index generation, the set of them in the index): a search's filter list
        # is the same array query after query (`SearchEngine._filtered` keeps it), and its
        # set costs ~15 ms at 100,000 ids
        self._members: tuple[np.ndarray, int, set[int]] | None = None

    @property
    def description(self) -> str:
        text = "HNSW on the CPU (approximate)"
        return f"{text}: {self.note}" if self.note else text

    def query(
        self, vector: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if allowed_ids is None:
            return self.hnsw.search(vector, k)
        allowed = self._present(allowed_ids)
        k = min(k, len(allowed))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        try:
            return self.hnsw.search(vector, k, allowed.__contains__)
        except RuntimeError:
            # hnswlib gives up when a narrow filter leaves fewer than k reachable nodes:
            # score the allowed vectors exactly instead.
            ids, matrix = self.hnsw.vectors(np.fromiter(allowed, dtype=np.int64))
            return exact_top_k(ids, matrix, vector, k)

    def _present(self, ids: np.ndarray) -> set[int]:
        last, generation = self._members, self.hnsw.generation
        if last is not None and last[0] is ids and last[1] == generation:
            return last[2]
        members = self.hnsw.present(ids)
        self._members = (ids, generation, members)
        return members


class DeviceBackend(_OverIndex):
    """Exact matching on a device (the GPU in the app; the CPU in tests), mirroring `index`."""

    exact = True

    def __init__(
        self,
        index: VectorIndex,
        device: str = "cuda",
        dtype: type[np.floating[Any]] | None = None,
    ) -> None:
        self.hnsw = index
        self.device = device
        self.matcher: DeviceMatcher | None = None
        self._lock = threading.Lock()  # orders `added`/`removed` against the start below
        self._pending: list[tuple[np.ndarray, np.ndarray | None]] = []
        # Subscribe first, then build: changes made while the matrix uploads are replayed.
        ids, vectors = index.subscribe(self)
        try:
            matcher = DeviceMatcher(ids, vectors, device=device, dtype=dtype, dim=index.dim)
        except BaseException:
            index.unsubscribe(self)
            raise
        with self._lock:
            for change_ids, change_vectors in self._pending:
                if change_vectors is not None:
                    matcher.add(change_ids, change_vectors)
                else:
                    matcher.remove(change_ids)
            self._pending = []
            self.matcher = matcher

    @property
    def description(self) -> str:
        where = "GPU" if self.device == "cuda" else "CPU"
        dtype = self.matcher.dtype.name if self.matcher is not None else "?"
        return f"exact on the {where} ({dtype}, every vector in {where} memory)"

    def close(self) -> None:
        """Stop mirroring the index and let the device memory go."""
        self.hnsw.unsubscribe(self)
        with self._lock:
            self.matcher = None

    # IndexListener: called by the index under its lock.
    def added(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        with self._lock:
            if self.matcher is None:
                self._pending.append((ids.copy(), vectors.copy()))
            else:
                self.matcher.add(ids, vectors)

    def removed(self, ids: np.ndarray) -> None:
        with self._lock:
            if self.matcher is None:
                self._pending.append((ids.copy(), None))
            else:
                self.matcher.remove(ids)

    def query(
        self, vector: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        matcher = self.matcher
        if matcher is None:  # closed: the index still answers
            return HnswBackend(self.hnsw).query(vector, k, allowed_ids)
        return matcher.search(vector, k, allowed_ids)


class NearestOnServer(Protocol):
    """A catalog that searches its vectors itself (`mmsearch.catalog.server.ServerCatalog`)."""

    def nearest(
        self,
        model_id: str,
        vector: np.ndarray,
        k: int,
        filters: Any = None,
        allowed_ids: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]: ...


class ServerAnswers:
    """A shared library's searches run on its server: pgvector's HNSW index there, the
    filters in the same query (`query_filtered`). What a computer answers from while its own
    index of the library opens (a new computer builds it from the server's rows: minutes at
    a million photos). Once open, the local index answers instead: it is kept current from
    the server's rows (`Library.follow_catalog`) and meets the recall and latency targets
    that the server's graph misses at a million photos (docs/shared-library.md)."""

    exact = False
    description = "HNSW on the catalog server (pgvector, approximate)"

    def __init__(self, server: NearestOnServer, model_id: str) -> None:
        self.server, self.model_id = server, model_id

    def query(
        self, vector: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.server.nearest(self.model_id, vector, k, allowed_ids=allowed_ids)

    def query_filtered(
        self, vector: np.ndarray, k: int, filters: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` best photos that `filters` keep (but `kind`, read from paths)."""
        return self.server.nearest(self.model_id, vector, k, filters=filters)


def make_search_backend(choice: DeviceChoice, index: VectorIndex) -> SearchBackend:
    """The backend for a device choice: exact on the GPU when `choice` is CUDA and the
    matcher starts, else HNSW on the CPU. Never raises for a GPU failure: it logs a warning
    and the returned HNSW backend's description says why."""
    if choice.device != "cuda":
        return HnswBackend(index)
    try:
        return DeviceBackend(index, device="cuda")
    except Exception as e:
        why = f"the GPU matcher failed to start ({type(e).__name__}: {e}); using HNSW on the CPU"
        log.warning("%s", why)
        return HnswBackend(index, note=why)

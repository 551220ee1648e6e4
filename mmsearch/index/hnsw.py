"""An hnswlib index per model, saved atomically beside the catalog.

The index is derived data: its header (`<model>.json`) records the model id, the number of
vectors, a checksum of their labels (photo ids), and the size and SHA-256 of the `.hnsw`
file. Whoever opens it checks the file against the header before hnswlib sees a byte of it
(hnswlib trusts its input: a garbled file can make it allocate without bound, raise anything
or crash the process), compares the header with the catalog, and rebuilds the index from the
catalog when anything disagrees or fails (a crash between a catalog commit and an index save,
a deleted, truncated or garbled file, another model). A rebuilt index that can't be saved (a
read-only or full disk) still answers, from memory.

Saving writes both files to temporary files, checks them (hnswlib does not report a short
write: the `.hnsw` file's layout is walked to find the size it should have), syncs them and
renames them over the old ones, so a full disk keeps the previous index and says so
(`mmsearch.files.WriteError`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import struct
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import hnswlib
import numpy as np

from mmsearch.files import (
    WriteError,
    file_digest,
    finish_temp,
    short_write,
    sync_dir,
    temp_beside,
    write_error,
)

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# 2: the header records the .hnsw file's size and SHA-256; 3: and the catalog's write number
# (`seq`) it holds, for repairs (an older format rebuilds once)
FORMAT = 3
M = 32  # graph degree: with EF_SEARCH below, recall@10 is about 0.99 at 100k x 384
EF_CONSTRUCTION = 200
EF_SEARCH = 384  # about 2 ms a query at 100k vectors on one core
EF_NEIGHBOURS = 32  # the batch neighbour query of the duplicate finder (100k: 18 s, 2 cores)
INITIAL_CAPACITY = 1024
# When a save (a rewrite of the whole file: 2.4 GB at a million 512-d vectors) is worth it:
# always while the file is small; past that, once the changes since the last save are a
# tenth of the index (at least 2,000), and at most every 20,000 changes, which an open
# repairs from the catalog in about 12 s at a million photos on 2 cores (docs/performance.md).
SMALL_FILE_BYTES = 64 << 20
SAVE_FRACTION = 0.1
SAVE_AT_LEAST = 2_000
SAVE_AT_MOST = 20_000


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
    """Of the labels (see `label_checksum`)."""
    seq: int = 0
    """The catalog's write number of the newest vector the index holds (migration 0006)."""


_SAVE_FIX = "run `mmsearch index` again"
_KEPT = "the previous index is kept (the catalog has every photo; the index follows it)"


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
        self._save_lock = threading.Lock()  # one save at a time: each pair of files matches
        self._index = hnswlib.Index(space="ip", dim=dim)
        if empty:  # else load() fills it from a file
            self._index.init_index(
                max_elements=INITIAL_CAPACITY, M=M, ef_construction=EF_CONSTRUCTION
            )
            self._index.set_ef(EF_SEARCH)
        self._active: set[int] = set()
        self._deleted: set[int] = set()
        self._listeners: list[IndexListener] = []
        self.seq = 0
        """The catalog's write number of the newest vector added (`add(seq=)`)."""
        self.changed = 0
        """Vectors added, replaced or removed since the index was last saved or loaded."""
        self.generation = 0
        """Raised by every add and removal, never lowered: what a cache of its contents is
        checked against."""
        self.unsaved: WriteError | None = None
        """Set by `open` when a rebuilt index could not be saved (it answers from memory)."""
        self.repaired: tuple[int, int] | None = None
        """Set by `open` when it repaired a saved index: (vectors added or replaced, removed)."""

    # -- files --------------------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self.directory / f"{index_file_stem(self.model_id)}.hnsw"

    @property
    def header_path(self) -> Path:
        return self.directory / f"{index_file_stem(self.model_id)}.json"

    def header(self) -> IndexHeader:
        labels = np.fromiter(self._active, dtype=np.int64, count=len(self._active))
        return IndexHeader(
            FORMAT, self.model_id, self.dim, len(labels), label_checksum(labels), self.seq
        )

    def save(self) -> None:
        """Write the index and its header, each to a temporary file that is checked and synced
        before both are renamed over the old ones. Raises `WriteError` (the old files kept,
        the temporary ones removed) when that fails: a full disk, a read-only folder."""
        with self._save_lock:
            self._save()

    def worth_saving(self) -> bool:
        """Whether the changes since the last save are worth rewriting the file for (see
        SMALL_FILE_BYTES): unsaved changes are not lost, the catalog has them and the next
        open repairs the saved index from it."""
        if not self.changed:
            return False
        if self._index.get_current_count() * (self.dim * 4 + 8 * M + 12) <= SMALL_FILE_BYTES:
            return True
        due = max(SAVE_AT_LEAST, int(len(self._active) * SAVE_FRACTION))
        return self.changed >= min(due, SAVE_AT_MOST)

    def checkpoint(self) -> bool:
        """Save if `worth_saving()`; returns whether it saved (raises as `save` does)."""
        if not self.worth_saving():
            return False
        self.save()
        return True

    def _save(self) -> None:
        temps: list[Path] = []
        changed = 0
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp_index = temp_beside(self.index_path)
            temps.append(tmp_index)
            with self._lock:  # a consistent snapshot; checking it needs no lock
                header = self.header()
                deleted = sorted(self._deleted)
                stored = self._index.get_current_count()
                self._index.save_index(str(tmp_index))
                changed, self.changed = self.changed, 0
            try:
                size = hnsw_file_size(tmp_index, self.dim, stored)
            except ValueError as e:
                written = tmp_index.stat().st_size
                if written < _HNSW_HEADER.size:  # not even the header made it to the disk
                    raise short_write(tmp_index, written, _HNSW_HEADER.size) from e
                raise OSError(errno.EIO, f"hnswlib wrote a file that can't be checked: {e}") from e
            digest = finish_temp(tmp_index, size)
            data = json.dumps(
                {**asdict(header), "deleted": deleted, "file_size": size, "file_sha256": digest}
            ).encode("utf-8")
            tmp_header = temp_beside(self.header_path)
            temps.append(tmp_header)
            with open(tmp_header, "wb") as f:
                f.write(data)
            finish_temp(tmp_header, len(data), hashlib.sha256(data).hexdigest())
            # A crash between the two renames leaves a header that doesn't describe the file
            # beside it: the next open sees that and rebuilds.
            os.replace(tmp_index, self.index_path)
            temps.remove(tmp_index)
            os.replace(tmp_header, self.header_path)
            temps.remove(tmp_header)
            sync_dir(self.directory)
        except OSError as e:
            with self._lock:
                self.changed += changed
            raise write_error(e, self.directory, "the index", _SAVE_FIX, _KEPT) from e
        finally:
            for tmp in temps:
                tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: Path, model_id: str, dim: int) -> VectorIndex | None:
        """The saved index, or None if it is missing, damaged in any way, or of another
        model/dim. Never raises: whatever a damaged file makes fail means "rebuild"."""
        try:
            return cls._load(directory, model_id, dim)
        except Exception as e:  # OverflowError, MemoryError, RuntimeError, UnicodeError, ...
            log.info("index %s in %s not usable (%s: %s)", model_id, directory, type(e), e)
            return None

    @classmethod
    def _load(cls, directory: Path, model_id: str, dim: int) -> VectorIndex | None:
        index = cls(directory, model_id, dim, empty=False)
        if not index.header_path.is_file() or not index.index_path.is_file():
            return None
        raw = json.loads(index.header_path.read_bytes().decode("utf-8"))
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            return None
        header = IndexHeader(
            _typed(raw, "format", int),
            _typed(raw, "model_id", str),
            _typed(raw, "dim", int),
            _typed(raw, "count", int),
            _typed(raw, "checksum", str),
            _typed(raw, "seq", int),
        )
        if (header.model_id, header.dim) != (model_id, dim):
            return None
        deleted = raw.get("deleted", [])
        if not isinstance(deleted, list) or not all(type(i) is int for i in deleted):
            return None
        # The file must be the one the header describes before hnswlib reads it.
        file_size = _typed(raw, "file_size", int)
        if index.index_path.stat().st_size != file_size:
            return None
        if file_digest(index.index_path) != (file_size, _typed(raw, "file_sha256", str)):
            return None
        if hnsw_file_size(index.index_path, dim) != file_size:
            return None
        index._index.load_index(str(index.index_path), max_elements=0)
        index._index.set_ef(EF_SEARCH)
        labels = set(int(i) for i in index._index.get_ids_list())
        index._deleted = set(deleted)
        if not index._deleted <= labels:
            return None
        index._active = labels - index._deleted
        index.seq = header.seq
        if index.header() != header:
            return None
        return index

    @classmethod
    def open(
        cls,
        directory: Path,
        model_id: str,
        dim: int,
        catalog_labels: np.ndarray | Callable[[], np.ndarray],
        load_vectors: Callable[[], tuple[np.ndarray, np.ndarray]],
        *,
        seq: int = 0,
        count: int | None = None,
        written_since: Callable[[int], tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> tuple[VectorIndex, bool]:
        """The saved index if it agrees with the catalog (its labels, and `seq`, the write
        number of the catalog's newest vector); else the saved index repaired, when
        `written_since(n)` gives the vectors written after write number n; else one rebuilt
        from `load_vectors()`. Returns (index, rebuilt).

        A repair (after a crash between a catalog commit and an index save, or another
        process's run) removes the photos the catalog no longer has and adds the vectors
        written since the save: seconds at a million photos, where a rebuild takes minutes.

        With write numbers (`written_since`) and the catalog's `count` of vectors, an index
        of that count and `seq` is taken without reading the catalog's labels (a second at a
        million): every write raises the catalog's number and every removal lowers its
        count, so equal figures mean nothing happened since the save."""
        index = cls.load(directory, model_id, dim)
        if (
            index is not None
            and written_since is not None
            and (count, seq) == (len(index), index.seq)
        ):
            return index, False
        if callable(catalog_labels):
            catalog_labels = catalog_labels()
        expected = (len(catalog_labels), label_checksum(catalog_labels))
        if index is not None:
            header = index.header()
            if (header.count, header.checksum, header.seq) == (*expected, seq):
                return index, False
            if written_since is not None and index._repair(
                catalog_labels, expected, seq, written_since
            ):
                return index, False
        index = cls(directory, model_id, dim)
        ids, matrix = load_vectors()
        index.add(ids, matrix, seq=seq)  # (none: still records `seq`, so the next open agrees)
        try:
            index.save()
        except WriteError as e:
            # A read-only or full disk: the rebuilt index still answers, from memory, and the
            # next save (an indexing run, once the cause is gone) writes it.
            index.unsaved = e
            log.warning("the index was rebuilt from the catalog and answers from memory: %s", e)
        return index, True

    def _repair(
        self,
        catalog_labels: np.ndarray,
        expected: tuple[int, str],
        seq: int,
        written_since: Callable[[int], tuple[np.ndarray, np.ndarray]],
    ) -> bool:
        """Bring a loaded index up to the catalog (see `open`); False (and the caller
        rebuilds) when the catalog is older than the index (a restored backup) or the result
        still disagrees with it."""
        if self.seq > seq:
            return False
        gone = np.setdiff1d(self.labels(), catalog_labels, assume_unique=True)
        self.remove(gone)
        ids, matrix = written_since(self.seq)
        if len(ids):
            self.add(ids, matrix)
        self.seq = seq
        header = self.header()
        if (header.count, header.checksum) != expected:
            log.info("index %s: a repair left it unlike the catalog; rebuilding", self.model_id)
            return False
        self.repaired = (len(ids), len(gone))
        log.info(
            "index %s repaired from the catalog: %d vectors added or replaced, %d removed",
            self.model_id,
            len(ids),
            len(gone),
        )
        try:
            self.checkpoint()
        except WriteError as e:
            self.unsaved = e
            log.warning("the index was repaired and answers from memory: %s", e)
        return True

    def follow(
        self,
        seq: int,
        count: int,
        written_since: Callable[[int], tuple[np.ndarray, np.ndarray]],
        catalog_labels: Callable[[], np.ndarray],
    ) -> tuple[int, int]:
        """Take in what was committed to the catalog since this index's write number (by
        other computers sharing a server catalog, or this one): `seq` and `count` are the
        catalog's, read before. Adds the vectors written since, then, if the count still
        disagrees (photos removed elsewhere), removes those the catalog no longer has.
        Returns (added or replaced, removed). Rows written after `seq` may come too: the
        index then holds more than `seq` says, which the next follow re-adds harmlessly."""
        added = removed = 0
        if seq > self.seq:
            ids, matrix = written_since(self.seq)
            if len(ids):
                self.add(ids, matrix)
            added = len(ids)
            self.seq = seq
        if len(self) != count:
            gone = np.setdiff1d(self.labels(), catalog_labels())
            self.remove(gone)
            removed = len(gone)
        return added, removed

    # -- contents -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._active)

    def labels(self) -> np.ndarray:
        return np.fromiter(self._active, dtype=np.int64, count=len(self._active))

    def __contains__(self, label: object) -> bool:
        return label in self._active

    def present(self, ids: np.ndarray) -> set[int]:
        """Those of `ids` in the index (one set intersection: 100,000 ids in ~5 ms)."""
        wanted = set(np.asarray(ids, dtype=np.int64).tolist())
        with self._lock:
            return wanted & self._active

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

    def add(self, ids: np.ndarray, vectors: np.ndarray, seq: int | None = None) -> None:
        """Add (or replace) vectors labelled by photo id; the index grows as needed. `seq`:
        the catalog's write number of the newest of them, saved in the header."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            if seq is not None:
                with self._lock:
                    self.seq = max(self.seq, seq)
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
            self.changed += len(ids)
            self.generation += 1
            if seq is not None:  # with the vectors, under the lock: a save holds both or neither
                self.seq = max(self.seq, seq)
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
            self.changed += len(gone)
            self.generation += 1
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

    def neighbours(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(labels, cosines), each (n, k'), of every row's nearest `k` (fewer in a smaller
        index), best first: one batch query on all cores (the duplicate finder's). A
        smaller search breadth than a query's: near-duplicates are the closest of close
        neighbours, which even a narrow search finds."""
        k = min(k, len(self._active))
        rows = len(vectors)
        if k <= 0 or rows == 0:
            return np.zeros((rows, 0), dtype=np.int64), np.zeros((rows, 0), dtype=np.float32)
        with self._lock:
            self._index.set_ef(max(EF_NEIGHBOURS, 4 * k))
            labels, distances = self._index.knn_query(
                np.ascontiguousarray(vectors, dtype=np.float32), k=k
            )
        return labels.astype(np.int64), (1.0 - distances).astype(np.float32)

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


def _typed(raw: dict[str, object], key: str, kind: type[_T]) -> _T:
    value = raw[key]
    if type(value) is not kind:
        raise TypeError(f"{key} is {type(value).__name__}, not {kind.__name__}")
    return value


# hnswlib 0.8's file: a fixed header, then every element's level-0 block, then for each
# element a uint32 byte count and its upper-level links (HierarchicalNSW::saveIndex).
_HNSW_HEADER = struct.Struct("<QQQQQQiIQQQdQ")


def hnsw_file_size(path: Path, dim: int, count: int | None = None) -> int:
    """The size an hnswlib file of `dim`-wide float vectors (and `count` elements, if
    given) must have, found by walking its layout; raises ValueError when it is not one.

    It finds a short write that hnswlib doesn't report, and (after the checksum) keeps a
    file whose numbers hnswlib would act on blindly (allocate `max_elements` blocks, follow
    link counts) from reaching it. Reads the header and the upper-level links only, a few
    bytes per element, never the vectors."""
    with open(path, "rb") as f:
        head = f.read(_HNSW_HEADER.size)
        if len(head) < _HNSW_HEADER.size:
            raise ValueError("shorter than an hnswlib header")
        (level0, max_elements, elements, per_element, label_offset, data_offset, _maxlevel,
         entry, max_m, max_m0, m, _mult, _ef) = _HNSW_HEADER.unpack(head)  # fmt: skip
        links0 = max_m0 * 4 + 4
        if (
            level0 != 0
            or not 0 < m <= 10_000
            or max_m != m
            or max_m0 != 2 * m
            or data_offset != links0
            or label_offset != links0 + dim * 4
            or per_element != label_offset + 8
            or elements > max_elements
            or max_elements > 1 << 40
            or (count is not None and elements != count)
            or (elements and entry >= elements)
        ):
            raise ValueError("not an hnswlib file of this index's shape")
        links_per_level = max_m * 4 + 4
        pos = _HNSW_HEADER.size + elements * per_element
        f.seek(pos)
        rest = f.read()
    offset = 0
    for _ in range(elements):
        if offset + 4 > len(rest):
            return int(pos + len(rest) + 4)  # short: more is expected than is there
        (links,) = struct.unpack_from("<I", rest, offset)
        if links % links_per_level:
            raise ValueError("upper-level links of a wrong size")
        offset += 4 + links
    return int(pos + offset)

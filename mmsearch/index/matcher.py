"""Exact matching on the device the encoders use: all vectors held there (float16 on a
GPU), a query scored against every one of them, then a top-k, with filters as masks.

It runs through ONNX Runtime, like the encoders, so the app needs no torch at run time:
a tiny graph (MatMul, an additive mask, TopK) whose vector matrix is uploaded once to device
memory and bound with IO binding, so a query moves D numbers in and 2k numbers out. On the
CPU the same graph gives the exact CPU results, which is how it is tested on machines
without a GPU.

The matrix changes while a library is indexed. Rows added since the last upload (the
"tail") are scored on the host with numpy and merged with the device's top-k; removed rows
are masked out. When the tail or the removed rows grow past a share of the matrix, the
host copy is compacted and uploaded again (a full upload of 1M x 512 float16 is 1 GB, a
fraction of a second over PCIe).
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import numpy as np

from mmsearch.devices import CPU, CUDA

NEG = -60000.0  # below any cosine, and representable in float16

#: Re-upload when the rows added since the last upload exceed this share of the matrix (or
#: TAIL_MIN rows, whichever is more), or when removed rows exceed DEAD_SHARE of it.
TAIL_SHARE = 0.05
TAIL_MIN = 4096
DEAD_SHARE = 0.25


@cache
def _graph(dtype: str) -> bytes:
    """scores = vectors @ query + mask; (values, indices) = TopK(scores, k)."""
    import onnx
    from onnx import TensorProto, helper

    elem = TensorProto.FLOAT16 if dtype == "float16" else TensorProto.FLOAT
    nodes = [
        helper.make_node("MatMul", ["vectors", "query"], ["raw"]),  # (N, D) x (D, Q) -> (N, Q)
        helper.make_node("Transpose", ["raw"], ["scores_t"], perm=[1, 0]),  # (Q, N)
        helper.make_node("Add", ["scores_t", "mask"], ["scores"]),  # mask: (1, N) or (Q, N)
        helper.make_node("TopK", ["scores", "k"], ["values", "indices"], axis=1, largest=1),
    ]
    graph = helper.make_graph(
        nodes,
        "exact_matcher",
        [
            helper.make_tensor_value_info("vectors", elem, ["N", "D"]),
            helper.make_tensor_value_info("query", elem, ["D", "Q"]),
            helper.make_tensor_value_info("mask", elem, ["M", "N"]),
            helper.make_tensor_value_info("k", TensorProto.INT64, [1]),
        ],
        [
            helper.make_tensor_value_info("values", elem, ["Q", "K"]),
            helper.make_tensor_value_info("indices", TensorProto.INT64, ["Q", "K"]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)


class DeviceMatcher:
    """Exact top-k over all vectors of a model, on CUDA (float16) or the CPU (float32),
    labelled by photo id. Thread-safe; `add` and `remove` may run while others search."""

    def __init__(
        self,
        ids: np.ndarray,
        vectors: np.ndarray,
        device: str = "cpu",
        dtype: type[np.floating[Any]] | None = None,
        *,
        dim: int | None = None,
    ) -> None:
        import onnxruntime as ort

        if device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', not {device!r}")
        self.device = device
        # float16 halves the memory and doubles the bandwidth on a GPU; unit vectors' dot
        # products lose nothing that changes a ranking beyond ties at the 3rd decimal.
        self.dtype = np.dtype(dtype or (np.float16 if device == "cuda" else np.float32))
        self._ort = ort
        if device == "cuda" and CUDA not in ort.get_available_providers():
            raise RuntimeError("ONNX Runtime has no CUDA provider (onnxruntime-gpu)")
        providers = [CUDA, CPU] if device == "cuda" else [CPU]
        self._session = ort.InferenceSession(_graph(self.dtype.name), providers=providers)
        if device == "cuda" and CUDA not in self._session.get_providers():
            raise RuntimeError("the CUDA provider did not start for the matcher")
        self._lock = threading.RLock()
        ids = np.asarray(ids, dtype=np.int64)
        matrix = np.asarray(vectors)
        self.dim = int(matrix.shape[1]) if matrix.ndim == 2 and len(ids) else (dim or 0)
        # The host copy: rows [0, n) of which `alive` ones are live, `row` maps id -> row.
        self._ids = np.zeros(0, dtype=np.int64)
        self._host = np.zeros((0, self.dim), dtype=self.dtype)
        self._alive = np.zeros(0, dtype=bool)
        self._row: dict[int, int] = {}
        self._n = 0
        self._dead = 0
        # The device copy: rows [0, uploaded) of the host copy.
        self._uploaded = 0
        self._vectors: Any = None
        self._source: np.ndarray | None = None
        self._mask: Any = None  # (1, uploaded): 0 for live rows, NEG for removed ones
        self._mask_source: np.ndarray | None = None
        self._mask_dirty = True
        self._lookup: np.ndarray | None = None  # dense id -> row (or -1), rebuilt lazily
        self.uploads = 0  # how many times the matrix went to the device (for tests, stats)
        with self._lock:
            self._append(ids, matrix)
            self._upload()

    # -- contents -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._n - self._dead

    @property
    def ids(self) -> np.ndarray:
        """The live photo ids, in row order."""
        with self._lock:
            return self._ids[: self._n][self._alive[: self._n]].copy()

    def device_bytes(self) -> int:
        """Bytes of the matrix held on the device."""
        return self._uploaded * self.dim * self.dtype.itemsize

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add (or replace) rows labelled by photo id."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        with self._lock:
            self._append(ids, np.asarray(vectors))
            tail = self._n - self._uploaded
            if tail > max(TAIL_MIN, TAIL_SHARE * self._uploaded):
                self._upload()

    def remove(self, ids: np.ndarray) -> None:
        with self._lock:
            for label in np.asarray(ids, dtype=np.int64).tolist():
                self._kill(label)
            if self._dead > DEAD_SHARE * max(self._n, 1):
                self._upload()

    def _kill(self, label: int) -> None:
        row = self._row.pop(label, None)
        if row is not None:
            self._alive[row] = False
            self._dead += 1
            self._lookup = None
            if row < self._uploaded:
                self._mask_dirty = True

    def _append(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        if len(ids) == 0:
            return
        if matrix.ndim != 2 or len(matrix) != len(ids):
            raise ValueError(f"expected ({len(ids)}, D) vectors, not {matrix.shape}")
        if self.dim == 0:
            self.dim = int(matrix.shape[1])
            self._host = np.zeros((0, self.dim), dtype=self.dtype)
        if matrix.shape[1] != self.dim:
            raise ValueError(f"expected {self.dim}-d vectors, not {matrix.shape[1]}-d")
        # A label given twice in one call: the last row wins, as in hnswlib.
        _, last = np.unique(ids[::-1], return_index=True)
        keep = np.sort(len(ids) - 1 - last)
        ids, matrix = ids[keep], matrix[keep]
        for label in ids.tolist():
            self._kill(label)
        need = self._n + len(ids)
        if need > len(self._ids):
            capacity = max(need, 2 * len(self._ids), 1024)
            self._ids = _grown(self._ids, capacity)
            self._alive = _grown(self._alive, capacity)
            self._host = _grown(self._host, capacity)
        self._ids[self._n : need] = ids
        self._alive[self._n : need] = True
        self._host[self._n : need] = matrix.astype(self.dtype, copy=False)
        self._row.update(zip(ids.tolist(), range(self._n, need), strict=True))
        self._n = need
        self._lookup = None

    def _upload(self) -> None:
        """Compact the host copy (drop removed rows) and put all of it on the device."""
        if self._dead:
            live = np.flatnonzero(self._alive[: self._n])
            self._ids = self._ids[live]
            self._host = self._host[live]
            self._alive = np.ones(len(live), dtype=bool)
            self._n, self._dead = len(live), 0
            self._row = dict(zip(self._ids.tolist(), range(self._n), strict=True))
            self._lookup = None
        self._vectors = self._source = None  # free the old copy first: the GPU may not hold two
        self._mask = None
        self._uploaded = self._n
        self._mask_dirty = True
        if self._n:
            matrix = np.ascontiguousarray(self._host[: self._n])
            self._vectors = self._ort.OrtValue.ortvalue_from_numpy(matrix, self.device, 0)
            # On the CPU the OrtValue may share `matrix`'s memory: keep it alive with it.
            self._source = matrix if self.device == "cpu" else None
            self.uploads += 1

    def _device_mask(self) -> Any:
        if self._mask_dirty:
            alive = self._alive[: self._uploaded]
            mask = np.where(alive, 0.0, NEG).astype(self.dtype).reshape(1, -1)
            self._mask = self._ort.OrtValue.ortvalue_from_numpy(mask, self.device, 0)
            self._mask_source = mask  # see _upload
            self._mask_dirty = False
        return self._mask

    def _allowed_rows(self, allowed_ids: np.ndarray) -> np.ndarray:
        """A boolean mask over rows [0, n): live rows whose id is in `allowed_ids`."""
        wanted = np.asarray(allowed_ids, dtype=np.int64)
        wanted = wanted[wanted >= 0]
        if self._lookup is None:
            live = self._ids[: self._n][self._alive[: self._n]]
            top = int(live.max()) if len(live) else -1
            dense = not len(live) or int(live.min()) >= 0
            if dense and top < 4 * self._n + 1_000_000:  # photo ids are dense: a direct table
                lookup = np.full(top + 1, -1, dtype=np.int64)
                rows = np.flatnonzero(self._alive[: self._n])
                lookup[self._ids[rows]] = rows
                self._lookup = lookup
        mask = np.zeros(self._n, dtype=bool)
        if self._lookup is not None:
            wanted = wanted[wanted < len(self._lookup)]
            rows = self._lookup[wanted]
            mask[rows[rows >= 0]] = True
        else:
            mask[: self._n] = np.isin(self._ids[: self._n], wanted)
            mask &= self._alive[: self._n]
        return mask

    # -- queries ------------------------------------------------------------------------------

    def search(
        self, query: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Up to `k` (photo ids, scores) best first; `allowed_ids` (a filter) limits the
        candidates to those photo ids, applied as a mask on the device."""
        if k <= 0:
            return _empty()
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        with self._lock:
            if self._n == 0:
                return _empty()
            if q.shape[0] != self.dim:
                raise ValueError(f"expected a {self.dim}-d query, not {q.shape[0]}-d")
            allowed = None if allowed_ids is None else self._allowed_rows(allowed_ids)
            rows_dev, scores_dev = self._search_device(q, k, allowed)
            rows_tail, scores_tail = self._search_tail(q, k, allowed)
        rows = np.concatenate([rows_dev, rows_tail])
        scores = np.concatenate([scores_dev, scores_tail])
        if len(rows_tail):
            order = np.argsort(-scores, kind="stable")[:k]
            rows, scores = rows[order], scores[order]
        return self._ids[rows], scores

    def _search_device(
        self, q: np.ndarray, k: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        n = self._uploaded
        if n == 0:
            return _empty()
        if allowed is None:
            candidates = n - int(np.count_nonzero(~self._alive[:n])) if self._dead else n
        else:
            candidates = int(np.count_nonzero(allowed[:n]))
        k = min(k, candidates)
        if k <= 0:
            return _empty()
        binding: Any = self._session.io_binding()
        binding.bind_ortvalue_input("vectors", self._vectors)
        binding.bind_cpu_input("query", np.ascontiguousarray(q.astype(self.dtype).reshape(-1, 1)))
        if allowed is None:
            binding.bind_ortvalue_input("mask", self._device_mask())
        else:
            mask = np.where(allowed[:n], 0.0, NEG).astype(self.dtype)
            binding.bind_cpu_input("mask", mask.reshape(1, -1))
        binding.bind_cpu_input("k", np.array([k], dtype=np.int64))
        binding.bind_output("values")
        binding.bind_output("indices")
        self._session.run_with_iobinding(binding)
        values, indices = binding.copy_outputs_to_cpu()
        return indices[0].astype(np.int64), values[0].astype(np.float32)

    def _search_tail(
        self, q: np.ndarray, k: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        start, end = self._uploaded, self._n
        if end <= start:
            return _empty()
        ok = self._alive[start:end] if allowed is None else allowed[start:end]
        rows = start + np.flatnonzero(ok)
        if len(rows) == 0:
            return _empty()
        # The same precision as the device: round the query and rows, then score in float32.
        query = q.astype(self.dtype).astype(np.float32)
        scores = self._host[rows].astype(np.float32) @ query
        k = min(k, len(rows))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
        top = top[np.argsort(-scores[top], kind="stable")]
        return rows[top], scores[top]


def _grown(array: np.ndarray, capacity: int) -> np.ndarray:
    out = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    out[: len(array)] = array
    return out

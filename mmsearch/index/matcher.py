"""Exact matching on the device the encoders use: all vectors held there (float16 on a
GPU), a query scored against every one of them, then a top-k, with filters as masks.

It runs through ONNX Runtime, like the encoders, so the app needs no torch at run time:
a tiny graph (MatMul, an additive mask, TopK) whose vector matrix is bound once to device
memory with IO binding. On the CPU the same graph gives the exact CPU results, which is
how it is tested on machines without a GPU.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import numpy as np

from mmsearch.encoders.providers import CPU, CUDA

NEG = -60000.0  # below any cosine, and representable in float16


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


def tiny_probe_model() -> bytes:
    """A valid small model, used to check that a provider really starts."""
    return _graph("float32")


class DeviceMatcher:
    """Exact top-k over all vectors of a model, on CUDA (float16) or the CPU (float32)."""

    def __init__(
        self,
        ids: np.ndarray,
        vectors: np.ndarray,
        device: str = "cpu",
        dtype: type[np.floating[Any]] | None = None,
    ) -> None:
        import onnxruntime as ort

        self.device = device
        # float16 halves the memory and doubles the bandwidth on a GPU; unit vectors' dot
        # products lose nothing that changes a ranking beyond ties at the 3rd decimal.
        self.dtype = dtype or (np.float16 if device == "cuda" else np.float32)
        providers = [CUDA, CPU] if device == "cuda" else [CPU]
        self._session = ort.InferenceSession(_graph(np.dtype(self.dtype).name), providers=providers)
        self._lock = threading.Lock()
        self.ids = np.asarray(ids, dtype=np.int64)
        matrix = np.ascontiguousarray(vectors, dtype=self.dtype)
        self._dim = matrix.shape[1] if matrix.ndim == 2 else 0
        # Upload once: queries then move only D numbers in and 2k numbers out.
        self._vectors = ort.OrtValue.ortvalue_from_numpy(
            matrix, "cuda" if device == "cuda" else "cpu", 0
        )
        self._no_mask = ort.OrtValue.ortvalue_from_numpy(
            np.zeros((1, len(self.ids)), dtype=self.dtype),
            "cuda" if device == "cuda" else "cpu",
            0,
        )

    def __len__(self) -> int:
        return len(self.ids)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Up to `k` (ids, scores) best first; `allowed` is a boolean mask over `self.ids`
        (a filter) or None."""
        k = min(k, len(self.ids) if allowed is None else int(np.count_nonzero(allowed)))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(np.asarray(query, dtype=self.dtype).reshape(-1, 1))
        binding: Any = self._session.io_binding()
        binding.bind_ortvalue_input("vectors", self._vectors)
        binding.bind_cpu_input("query", q)
        if allowed is None:
            binding.bind_ortvalue_input("mask", self._no_mask)
        else:
            mask = np.where(np.asarray(allowed, dtype=bool), 0.0, NEG).astype(self.dtype)
            binding.bind_cpu_input("mask", mask.reshape(1, -1))
        binding.bind_cpu_input("k", np.array([k], dtype=np.int64))
        binding.bind_output("values")
        binding.bind_output("indices")
        with self._lock:
            self._session.run_with_iobinding(binding)
        values, indices = binding.copy_outputs_to_cpu()
        return self.ids[indices[0]], values[0].astype(np.float32)

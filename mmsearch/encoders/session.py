"""An ONNX Runtime session made on first use, on the device the caller chose.

Both model kinds (`onnx.py`, `clip.py`) hold their graphs through `LazySession`: loading a
model stays cheap, a process that only searches never loads the image graph, and a graph
asked to run on CUDA that can't start there runs on the CPU instead, with a warning
(`providers.start_session`), never a crash.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnxruntime as ort

from mmsearch.devices import CUDA, DeviceChoice, start_session
from mmsearch.encoders.integrity import check_unchanged
from mmsearch.encoders.spec import ModelError

DEFAULT_PROVIDERS = ("CPUExecutionProvider",)


class LazySession:
    """An ONNX Runtime session created on first use (thread-safe).

    `basic_optimizations` limits ONNX Runtime to its basic graph rewrites (fp16 graphs need
    it: 1.32's extended CPU fusions crash on them). `fix` ends the error message when the
    file can't be loaded (what the user should do about it).
    """

    def __init__(
        self,
        path: Path,
        threads: int | None,
        providers: Sequence[str] | None,
        *,
        basic_optimizations: bool = False,
        fix: str = "Rebuild the model (`make install`) or re-download it.",
    ) -> None:
        self.path = path
        self._threads = threads
        self._providers = tuple(providers or DEFAULT_PROVIDERS)
        self._basic = basic_optimizations
        self._fix = fix
        self._session: Any = None
        self._lock = threading.Lock()
        self.device: DeviceChoice | None = None
        """Where the session really runs, once created with CUDA asked for."""

    def get(self) -> Any:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._create()
        return self._session

    def _create(self) -> Any:
        check_unchanged(self.path)  # damaged since the model was loaded and verified?
        options = ort.SessionOptions()
        options.graph_optimization_level = (
            ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
            if self._basic
            else ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        )
        if self._threads:
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
        try:
            if CUDA in self._providers:
                asked = DeviceChoice("cuda", self._providers, "asked for by the caller")
                session, self.device = start_session(self.path, asked, options)
                return session
            return ort.InferenceSession(
                str(self.path), sess_options=options, providers=list(self._providers)
            )
        except Exception as e:  # ORT raises its own Fail/InvalidGraph/... types
            raise ModelError(f"can't load {self.path}: {e}. {self._fix}") from e

    def check_io(self, inputs: Sequence[str], output: str) -> None:
        """Raise ModelError unless the graph has exactly these inputs and this output."""
        session = self.get()
        have_in = sorted(i.name for i in session.get_inputs())
        have_out = [o.name for o in session.get_outputs()]
        if have_in != sorted(inputs) or output not in have_out:
            raise ModelError(
                f"{self.path} takes {have_in} and gives {have_out}, but its spec.json promises "
                f"{sorted(inputs)} -> {output!r}: the folder mixes files of two models; "
                "rebuild it (`make install`)."
            )

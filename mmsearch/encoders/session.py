"""One ONNX Runtime session class for every graph of every model.

A `Session` is made on first use (loading a model stays cheap, and a process that only
searches never loads the image graph), on the device the caller chose: a graph asked to run
on CUDA that can't start there runs on the CPU instead, with a warning
(`mmsearch.devices.start_session`), never a crash. It knows the graph's inputs (names, element
types, a fixed batch size such as Immich's exports have) and runs any number of rows in
chunks, filling a fixed-batch graph's last run with copies that are dropped after.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from mmsearch.devices import CUDA, DeviceChoice, start_session
from mmsearch.encoders.integrity import check_unchanged
from mmsearch.encoders.spec import ModelError

DEFAULT_PROVIDERS = ("CPUExecutionProvider",)
_INT_TYPES: dict[str, type[np.signedinteger[Any]]] = {
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
}


class Session:
    """The ONNX Runtime session of one graph file, created on first use (thread-safe).

    `basic_optimizations` limits ONNX Runtime to its basic graph rewrites (fp16 graphs need
    it: 1.32's extended CPU fusions crash the process on them). `fix` ends the error message
    when the file can't be loaded or run (what the user should do about it); `model_id`
    names the model in it.
    """

    def __init__(
        self,
        path: Path,
        threads: int | None,
        providers: Sequence[str] | None,
        *,
        model_id: str = "",
        basic_optimizations: bool = False,
        fix: str = "Rebuild the model (`make install`) or re-download it.",
    ) -> None:
        self.path = Path(path)
        self.model_id = model_id
        self._threads = threads
        self._providers = tuple(providers or DEFAULT_PROVIDERS)
        self._basic = basic_optimizations
        self.fix = fix
        self._session: Any = None
        self._lock = threading.Lock()
        self.device: DeviceChoice | None = None
        """Where the session really runs, once created with CUDA asked for."""
        self.input_types: dict[str, str] = {}
        self.batch: int | None = None
        """The graph's fixed batch size (Immich exports batch 1), None when dynamic."""

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
            else:
                session = ort.InferenceSession(
                    str(self.path), sess_options=options, providers=list(self._providers)
                )
        except Exception as e:  # ORT raises its own Fail/InvalidGraph/... types
            raise ModelError(f"can't load {self.path}: {e}. {self.fix}") from e
        inputs = session.get_inputs()
        self.input_types = {i.name: i.type for i in inputs}
        first = inputs[0].shape[0] if inputs and inputs[0].shape else None
        self.batch = first if isinstance(first, int) and first > 0 else None
        return session

    def _where(self) -> str:
        return f"{self.path} of model {self.model_id!r}" if self.model_id else str(self.path)

    def check_io(
        self, inputs: Sequence[str], outputs: Sequence[str], *, exact: bool = True
    ) -> None:
        """Raise ModelError unless the graph has exactly these inputs (at least these, when
        not `exact`: a graph holding both towers) and these outputs."""
        session = self.get()
        have_in = sorted(i.name for i in session.get_inputs())
        have_out = [o.name for o in session.get_outputs()]
        missing = [o for o in outputs if o not in have_out]
        inputs_ok = have_in == sorted(inputs) if exact else set(inputs) <= set(have_in)
        if not inputs_ok or missing:
            raise ModelError(
                f"{self.path} takes {have_in} and gives {have_out}, but its spec promises "
                f"{sorted(inputs)} -> {list(outputs)}: the folder mixes files of two models. "
                f"{self.fix}"
            )

    def int_type(self, name: str) -> type[np.signedinteger[Any]]:
        """The numpy type an integer input wants (int32 for Immich's text graphs)."""
        self.get()
        return _INT_TYPES.get(self.input_types.get(name, ""), np.int64)

    def input_shapes(self) -> dict[str, list[Any]]:
        """The graph's inputs and their shapes (symbolic dimensions as names)."""
        return {i.name: list(i.shape or []) for i in self.get().get_inputs()}

    def run(
        self,
        outputs: Sequence[str],
        feed: Mapping[str, npt.NDArray[Any]],
        chunk: int,
        constant: Mapping[str, npt.NDArray[Any]] | None = None,
    ) -> list[npt.NDArray[Any]]:
        """Run the rows of `feed` (every input has the same number of rows) through the
        graph in pieces of `chunk` rows (or the graph's fixed batch size) and return each
        output with its pieces joined; `constant` inputs go with every piece as they are.
        A graph that fails on its input raises ModelError naming the file and the model."""
        session = self.get()
        rows = len(next(iter(feed.values())))
        step = self.batch or chunk
        pieces: list[list[npt.NDArray[Any]]] = [[] for _ in outputs]
        for start in range(0, rows, step):
            part = {name: value[start : start + step] for name, value in feed.items()}
            count = len(next(iter(part.values())))
            if self.batch is not None and count < self.batch:
                # A fixed-batch graph: fill the last run up with copies, drop them after.
                part = {
                    name: np.concatenate([v, np.repeat(v[-1:], self.batch - count, axis=0)])
                    for name, v in part.items()
                }
            try:
                out = session.run(list(outputs), {**(constant or {}), **part})
            except Exception as e:  # ORT raises its own Fail/InvalidArgument/... types
                raise ModelError(f"{self._where()} can't run: {e}. {self.fix}") from e
            for i, value in enumerate(out):
                value = np.asarray(value)
                if value.ndim == 0 or value.shape[0] != len(next(iter(part.values()))):
                    raise ModelError(
                        f"{self._where()} gives {outputs[i]!r} of shape {value.shape} for "
                        f"{count} inputs: the file is not this model's. {self.fix}"
                    )
                pieces[i].append(value[:count])
        return [np.concatenate(p) for p in pieces]

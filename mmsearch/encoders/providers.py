"""Choosing where the encoders (and the exact matcher) run: CUDA when it works, else CPU.

ONNX Runtime lists the CUDA provider whenever `onnxruntime-gpu` is installed, even on a
machine without an NVIDIA GPU or driver; only creating a session proves it works. Every
path that can't use the GPU falls back to the CPU with a reason a person can read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
PREFERENCES = ("auto", "cpu", "gpu")


@dataclass(frozen=True)
class DeviceChoice:
    """Where to run, and why (shown by `mmsearch doctor` and the status bar)."""

    device: str  # "cuda" or "cpu"
    providers: tuple[str, ...]
    reason: str

    @property
    def label(self) -> str:
        return "GPU (CUDA)" if self.device == "cuda" else "CPU"


def _available() -> list[str]:
    import onnxruntime

    return list(onnxruntime.get_available_providers())


def _cuda_session_works() -> str | None:
    """None if a CUDA session can be created, else why not."""
    try:
        import onnxruntime

        from mmsearch.index.matcher import tiny_probe_model

        session = onnxruntime.InferenceSession(tiny_probe_model(), providers=[CUDA])
        if CUDA not in session.get_providers():
            return "the CUDA provider did not start (no NVIDIA GPU or driver found)"
    except Exception as e:  # any failure to start the GPU path means: use the CPU
        return f"the CUDA provider failed to start ({type(e).__name__}: {e})"
    return None


def choose_device(
    preference: str = "auto",
    available: Callable[[], Sequence[str]] = _available,
    probe: Callable[[], str | None] = _cuda_session_works,
) -> DeviceChoice:
    """The device for `preference` ("auto", "cpu" or "gpu"); never raises."""
    if preference not in PREFERENCES:
        return DeviceChoice("cpu", (CPU,), f"unknown device setting {preference!r}: using CPU")
    if preference == "cpu":
        return DeviceChoice("cpu", (CPU,), "CPU chosen in the settings")
    try:
        providers = list(available())
    except Exception as e:
        return DeviceChoice("cpu", (CPU,), f"ONNX Runtime did not answer ({e}): using CPU")
    if CUDA not in providers:
        why = "no CUDA provider in ONNX Runtime (install mmsearch[gpu] for NVIDIA GPUs)"
        if preference == "gpu":
            log.warning("GPU requested but %s; using CPU", why)
        return DeviceChoice("cpu", (CPU,), f"{why}: using CPU")
    problem = probe()
    if problem is not None:
        log.warning("CUDA provider present but %s; using CPU", problem)
        return DeviceChoice("cpu", (CPU,), f"CUDA provider present but {problem}: using CPU")
    return DeviceChoice("cuda", (CUDA, CPU), "CUDA provider works: using the GPU")

"""A simulated GPU for tests on machines without one: only what onnxruntime itself reveals
(its provider list, what a session it creates runs on) is faked."""

from __future__ import annotations

from typing import Any, ClassVar

import onnxruntime
import pytest

from mmsearch import devices
from mmsearch.devices import CPU, CUDA


class FakeSession:
    """An InferenceSession as onnxruntime-gpu makes one: asked for CUDA, on CUDA when `gpu`
    works, else quietly on the CPU (what ORT does without a GPU), or it raises `error`;
    asked for the CPU only, on the CPU."""

    gpu: ClassVar[bool] = True
    error: ClassVar[Exception | None] = None
    created: ClassVar[list[list[str]]] = []

    def __init__(self, model: Any, sess_options: Any = None, providers: Any = None) -> None:
        asked = list(providers or [])
        FakeSession.created.append(asked)
        if FakeSession.error is not None and CUDA in asked:
            raise FakeSession.error
        self._providers = [CUDA, CPU] if FakeSession.gpu and CUDA in asked else [CPU]

    def get_providers(self) -> list[str]:
        return self._providers


def simulate_ort_gpu(monkeypatch: pytest.MonkeyPatch) -> type[FakeSession]:
    """onnxruntime-gpu as installed: the CUDA provider listed, sessions faked."""
    FakeSession.gpu, FakeSession.error, FakeSession.created = True, None, []
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CUDA, CPU])
    monkeypatch.setattr(onnxruntime, "InferenceSession", FakeSession)
    monkeypatch.setattr(devices, "ort_distributions", lambda: {"onnxruntime-gpu": "1.22.0"})
    monkeypatch.delenv(devices.ENV_VAR, raising=False)
    return FakeSession

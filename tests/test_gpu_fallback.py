"""GPU support on a machine without a GPU: device choice and its fallbacks, and the
device matcher's results against exact CPU matching.

A GPU is simulated only where ONNX Runtime (its provider list, its session creation) or
nvidia-smi would reveal one; everything else runs for real.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import onnxruntime
import pytest

from mmsearch import devices
from mmsearch.devices import CPU, CUDA, choose_device, explain_cuda_failure
from mmsearch.index import exact_top_k
from mmsearch.index.matcher import DeviceMatcher
from tests.gpu_support import FakeSession, simulate_ort_gpu

NO_ENV: dict[str, str] = {}


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# -- a simulated GPU, through onnxruntime itself ------------------------------------------------


@pytest.fixture
def ort_gpu(monkeypatch: pytest.MonkeyPatch) -> type[FakeSession]:
    return simulate_ort_gpu(monkeypatch)


def test_working_cuda_is_chosen_with_fp16_and_cpu_fallback(ort_gpu: type[FakeSession]) -> None:
    choice = choose_device()
    assert choice.device == "cuda" and choice.providers == (CUDA, CPU)
    assert choice.use_fp16 and choice.precision == "fp16" and choice.warning is None
    assert choice.label == "GPU (CUDA)" and "GPU (CUDA)" in choice.status_line
    assert ort_gpu.created == [[CUDA]]  # a real session was tried, CUDA only


def test_cuda_provider_without_a_gpu_falls_back_with_a_warning(
    ort_gpu: type[FakeSession], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ort_gpu.gpu = False  # ORT lists CUDA, yet runs the session on the CPU
    monkeypatch.setattr(devices, "nvidia_gpus", lambda: [])  # nvidia-smi: no devices
    with caplog.at_level(logging.WARNING, logger="mmsearch.devices"):
        choice = choose_device()
    assert choice.device == "cpu" and choice.providers == (CPU,)
    assert not choice.use_fp16 and choice.precision == "fp32"
    assert choice.reason == "CUDA provider present but no GPU found: using CPU"
    assert choice.warning is not None and "no GPU found" in choice.warning
    assert "no GPU found" in caplog.text


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RuntimeError("CUDA failure 100: no CUDA-capable device is detected"), "no GPU found"),
        (
            RuntimeError(
                "Failed to load libonnxruntime_providers_cuda.so: libcudnn.so.9: "
                "cannot open shared object file: No such file or directory"
            ),
            "the CUDA/cuDNN libraries could not be loaded (libcudnn.so.9)",
        ),
        (
            RuntimeError(
                "CUDA failure 35: CUDA driver version is insufficient for CUDA runtime version"
            ),
            "the NVIDIA driver is too old",
        ),
        (RuntimeError("something else entirely"), "failed to start (RuntimeError: something"),
    ],
)
def test_a_cuda_session_that_fails_says_why(
    ort_gpu: type[FakeSession],
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    expected: str,
) -> None:
    ort_gpu.error = error
    monkeypatch.setattr(devices, "nvidia_gpus", lambda: None)  # unknown: no nvidia-smi
    choice = choose_device("gpu")
    assert choice.device == "cpu"
    assert choice.reason.startswith("CUDA provider present but ")
    assert expected in choice.reason and choice.reason.endswith(": using CPU")
    assert choice.warning is not None and choice.warning.startswith("GPU requested (the settings)")


def test_cpu_forced_by_the_environment_never_probes(
    ort_gpu: type[FakeSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMSEARCH_DEVICE", "cpu")
    choice = choose_device("gpu")  # the environment beats the setting
    assert choice.device == "cpu" and choice.reason == "CPU forced by MMSEARCH_DEVICE=cpu"
    assert choice.warning is None and ort_gpu.created == []


def test_environment_gpu_beats_a_cpu_setting(ort_gpu: type[FakeSession]) -> None:
    choice = choose_device("cpu", environ={"MMSEARCH_DEVICE": "CUDA"})
    assert choice.device == "cuda" and choice.requested == "gpu"
    assert choice.source == "MMSEARCH_DEVICE=cuda"
    assert choose_device("cpu", environ=NO_ENV).reason == "CPU chosen in the settings"


def test_no_cuda_provider_means_cpu_with_a_reason() -> None:
    choice = choose_device(
        "auto", environ=NO_ENV, available=lambda: [CPU], installed=lambda: {"onnxruntime": "1"}
    )
    assert choice.device == "cpu" and choice.providers == (CPU,)
    assert "onnxruntime-gpu is not installed" in choice.reason and "mmsearch[gpu]" in choice.reason
    assert choice.warning is None  # nobody asked for a GPU: nothing to warn about


def test_gpu_requested_without_cuda_provider_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        choice = choose_device(
            environ={"MMSEARCH_DEVICE": "gpu"}, available=lambda: [CPU], installed=lambda: {}
        )
    assert choice.device == "cpu"
    assert choice.warning is not None
    assert choice.warning.startswith("GPU requested (MMSEARCH_DEVICE=gpu), but no CUDA provider")
    assert "GPU requested" in caplog.text


def test_gpu_package_shadowed_by_the_cpu_one_is_explained() -> None:
    choice = choose_device(
        environ=NO_ENV,
        available=lambda: [CPU],
        installed=lambda: {"onnxruntime": "1.22.0", "onnxruntime-gpu": "1.22.0"},
    )
    assert choice.device == "cpu" and "overwrote it" in choice.reason
    assert "pip uninstall -y onnxruntime" in choice.reason
    assert choice.warning is not None  # the user installed the GPU package: tell them


def test_settings_and_failures_never_raise() -> None:
    unknown = choose_device("tpu", environ=NO_ENV)
    assert unknown.device == "cpu" and "unknown device setting 'tpu'" in unknown.reason
    assert unknown.warning is not None

    def broken() -> list[str]:
        raise RuntimeError("no runtime")

    assert "did not answer" in choose_device("gpu", environ=NO_ENV, available=broken).reason

    def probe_crashes() -> str | None:
        raise OSError("boom")

    crashed = choose_device(environ=NO_ENV, available=lambda: [CUDA, CPU], probe=probe_crashes)
    assert crashed.device == "cpu" and "check failed (OSError: boom)" in crashed.reason


def test_the_choice_is_remembered_per_setting_and_environment(
    ort_gpu: type[FakeSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    devices._remembered.cache_clear()
    try:
        assert devices.device_for().device == "cuda"
        assert devices.device_for().device == "cuda"
        assert len(ort_gpu.created) == 1  # one CUDA probe for the process
        monkeypatch.setenv("MMSEARCH_DEVICE", "cpu")
        assert devices.device_for().reason == "CPU forced by MMSEARCH_DEVICE=cpu"
        assert len(ort_gpu.created) == 1
    finally:
        devices._remembered.cache_clear()


def test_a_gpu_session_that_does_not_start_is_made_on_the_cpu(
    ort_gpu: type[FakeSession], caplog: pytest.LogCaptureFixture
) -> None:
    choice = choose_device()
    assert choice.device == "cuda"
    session, used = devices.start_session("model.onnx", choice)
    assert used is choice and CUDA in session.get_providers()

    ort_gpu.created = []
    ort_gpu.error = RuntimeError("CUDA error: out of memory\nmore detail")
    with caplog.at_level(logging.WARNING, logger="mmsearch.devices"):
        session, used = devices.start_session("model.onnx", choice)
    assert ort_gpu.created == [[CUDA, CPU], [CPU]]
    assert used.device == "cpu" and used.providers == (CPU,) and not used.use_fp16
    assert used.reason == (
        "the GPU session for model.onnx did not start (RuntimeError: CUDA error: out of "
        "memory): using CPU"
    )
    assert used.warning == used.reason and "out of memory" in caplog.text

    ort_gpu.error, ort_gpu.gpu = None, False  # ORT's quiet fallback is caught too
    session, used = devices.start_session("model.onnx", choice)
    assert used.device == "cpu" and "ONNX Runtime put it on the CPU" in used.reason


def test_a_cpu_session_starts_for_real() -> None:
    from mmsearch.devices import tiny_probe_model

    cpu = choose_device("cpu", environ=NO_ENV)
    session, used = devices.start_session(tiny_probe_model(), cpu)
    assert used is cpu and session.get_providers() == [CPU]


def test_failure_texts_are_classified() -> None:
    assert explain_cuda_failure("", []) == "no GPU found"
    assert "nvidia-smi is missing" in explain_cuda_failure("", None)
    gpu = [{"name": "X", "memory_total_mib": "1", "memory_used_mib": "0", "driver": "1"}]
    assert "did not start" in explain_cuda_failure("", gpu)
    assert "out of memory" in explain_cuda_failure("CUDA error: out of memory", gpu)


def test_real_choice_on_this_machine_is_cpu_when_cuda_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if CUDA in onnxruntime.get_available_providers():
        pytest.skip("this machine has the CUDA provider")
    monkeypatch.delenv("MMSEARCH_DEVICE", raising=False)
    choice = choose_device("gpu")
    assert choice.device == "cpu" and choice.reason.endswith("using CPU")
    assert choice.warning is not None


@pytest.mark.filterwarnings("ignore:Specified provider 'CUDAExecutionProvider'")
def test_real_cuda_probe_fails_cleanly_without_a_gpu() -> None:
    """The real probe (a real ORT session asking for CUDA) on this machine: a reason, no
    exception, whatever the ONNX Runtime build."""
    if CUDA in onnxruntime.get_available_providers():
        pytest.skip("this machine has the CUDA provider")
    reason = devices._cuda_session_works()
    assert isinstance(reason, str) and reason


# -- the exact matcher, on the CPU --------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_device_matcher_equals_exact_matching(dtype: type[np.floating[Any]]) -> None:
    vectors = unit_rows(20_000, 128, seed=1)
    ids = np.arange(1000, 21_000)
    matcher = DeviceMatcher(ids, vectors, device="cpu", dtype=dtype)
    queries = unit_rows(20, 128, seed=2)
    mask = ids % 3 == 0
    for q in queries:
        got, got_scores = matcher.search(q, 10)
        want, want_scores = exact_top_k(ids, vectors, q, 10)
        if dtype is np.float32:
            assert got.tolist() == want.tolist()
            np.testing.assert_allclose(got_scores, want_scores, atol=1e-5)
        else:  # half precision: same neighbours up to near-ties, scores within 1e-2
            assert len(set(got.tolist()) & set(want.tolist())) >= 9
            np.testing.assert_allclose(got_scores, want_scores, atol=1e-2)
        filtered, _ = matcher.search(q, 10, allowed_ids=ids[mask])
        want_filtered, _ = exact_top_k(ids[mask], vectors[mask], q, 10)
        overlap = len(set(filtered.tolist()) & set(want_filtered.tolist()))
        assert all(i % 3 == 0 for i in filtered.tolist())
        assert overlap == 10 if dtype is np.float32 else overlap >= 9


def test_device_matcher_edge_cases() -> None:
    vectors = unit_rows(5, 8, seed=3)
    matcher = DeviceMatcher(np.arange(5), vectors)
    assert matcher.search(vectors[0], 50)[0].shape == (5,)
    assert matcher.search(vectors[0], 3, allowed_ids=np.array([1]))[0].tolist() == [1]
    assert matcher.search(vectors[0], 3, allowed_ids=np.array([], dtype=np.int64))[0].shape == (0,)
    assert matcher.search(vectors[0], 3, allowed_ids=np.array([77, -1]))[0].shape == (0,)
    assert matcher.search(vectors[0], 0)[0].shape == (0,)
    empty = DeviceMatcher(np.zeros(0, dtype=np.int64), np.zeros((0, 0), np.float32), dim=8)
    assert len(empty) == 0 and empty.search(vectors[0], 3)[0].shape == (0,)
    empty.add(np.array([9]), vectors[:1])
    assert empty.search(vectors[0], 3)[0].tolist() == [9]
    with pytest.raises(ValueError):
        matcher.search(np.ones(4, np.float32), 3)
    with pytest.raises(ValueError):
        DeviceMatcher(np.arange(2), vectors[:2], device="tpu")


def test_cuda_matcher_refuses_to_run_on_the_cpu_quietly() -> None:
    """Asked for CUDA where ORT has none, the matcher raises (and the backend factory falls
    back to HNSW, see test_search_backend) instead of silently matching on the CPU."""
    if CUDA in onnxruntime.get_available_providers():
        pytest.skip("this machine has the CUDA provider")
    with pytest.raises(Exception):  # noqa: B017 - ORT's own error type or ours
        DeviceMatcher(np.arange(3), unit_rows(3, 8, seed=4), device="cuda")

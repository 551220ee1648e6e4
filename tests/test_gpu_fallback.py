"""GPU support on a machine without a GPU: device choice and its fallbacks, and the
device matcher's results against exact CPU matching."""

from __future__ import annotations

import numpy as np
import pytest

from mmsearch.encoders.providers import CPU, CUDA, choose_device
from mmsearch.index import exact_top_k
from mmsearch.index.matcher import DeviceMatcher


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_no_cuda_provider_means_cpu_with_a_reason() -> None:
    choice = choose_device("auto", available=lambda: [CPU], probe=lambda: None)
    assert choice.device == "cpu" and choice.providers == (CPU,)
    assert "no CUDA provider" in choice.reason and "mmsearch[gpu]" in choice.reason


def test_cuda_provider_without_a_gpu_falls_back_to_cpu() -> None:
    choice = choose_device(
        "auto", available=lambda: [CUDA, CPU], probe=lambda: "no NVIDIA GPU or driver found"
    )
    assert choice.device == "cpu"
    assert choice.reason.startswith("CUDA provider present but no NVIDIA GPU")


def test_working_cuda_is_chosen_and_cpu_stays_as_fallback() -> None:
    choice = choose_device("auto", available=lambda: [CUDA, CPU], probe=lambda: None)
    assert choice.device == "cuda" and choice.providers == (CUDA, CPU)
    assert choice.label == "GPU (CUDA)"


def test_settings_and_failures_never_raise() -> None:
    assert choose_device("cpu", available=lambda: [CUDA, CPU]).device == "cpu"
    assert choose_device("tpu").device == "cpu"

    def broken() -> list[str]:
        raise RuntimeError("no runtime")

    assert "did not answer" in choose_device("gpu", available=broken).reason


def test_real_choice_on_this_machine_is_cpu_when_cuda_is_missing() -> None:
    import onnxruntime

    if CUDA in onnxruntime.get_available_providers():
        pytest.skip("this machine has the CUDA provider")
    assert choose_device("gpu").device == "cpu"


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_device_matcher_equals_exact_matching(dtype: type[np.floating]) -> None:  # type: ignore[type-arg]
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
        filtered, _ = matcher.search(q, 10, allowed=mask)
        want_filtered, _ = exact_top_k(ids[mask], vectors[mask], q, 10)
        overlap = len(set(filtered.tolist()) & set(want_filtered.tolist()))
        assert all(i % 3 == 0 for i in filtered.tolist())
        assert overlap == 10 if dtype is np.float32 else overlap >= 9


def test_device_matcher_edge_cases() -> None:
    vectors = unit_rows(5, 8, seed=3)
    matcher = DeviceMatcher(np.arange(5), vectors)
    assert matcher.search(vectors[0], 50)[0].shape == (5,)
    assert matcher.search(vectors[0], 3, allowed=np.array([0, 1, 0, 0, 0], bool))[0].tolist() == [1]
    assert matcher.search(vectors[0], 3, allowed=np.zeros(5, bool))[0].shape == (0,)

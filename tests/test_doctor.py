"""`mmsearch doctor`'s report: what it finds on this machine (no GPU), and what it says when
a GPU is there, half there or broken (simulated through onnxruntime and nvidia-smi only)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import onnxruntime
import pytest

from mmsearch import devices, doctor
from mmsearch.devices import CPU, CUDA
from tests.gpu_support import FakeSession, simulate_ort_gpu

H200 = [
    {"name": "NVIDIA H200", "memory_total_mib": "143771", "memory_used_mib": "5", "driver": "570.1"}
]


@pytest.fixture
def ort_gpu(monkeypatch: pytest.MonkeyPatch) -> type[FakeSession]:
    return simulate_ort_gpu(monkeypatch)


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MMSEARCH_DEVICE", raising=False)
    monkeypatch.delenv("MMSEARCH_DECODE", raising=False)


def test_report_on_this_machine(tmp_path: Path) -> None:
    report = doctor.doctor_report(tmp_path, probe_torch=False)
    json.dumps(report)  # JSON-able, for --json
    assert report["data_dir"] == str(tmp_path)
    assert report["onnxruntime"]["version"] == onnxruntime.__version__
    assert CPU in report["onnxruntime"]["providers"]
    device = report["device"]
    if CUDA not in onnxruntime.get_available_providers():
        assert device["device"] == "cpu" and not device["fp16_models"]
        assert device["matcher"] == "HNSW on the CPU"
        assert device["reason"].endswith("using CPU")
    assert report["decode"]["decoder"] == "CPU" and report["decode"]["torch"] == "not checked"
    text = doctor.format_doctor(report)
    assert f"onnxruntime:   {onnxruntime.__version__}" in text
    assert f"device:        {device['label']}: {device['reason']}" in text
    assert "asked for:   auto (by default)" in text


def test_working_gpu(ort_gpu: type[FakeSession], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "nvidia_gpus", lambda: H200)
    report = doctor.doctor_report(probe_torch=False)
    assert report["device"]["device"] == "cuda" and report["device"]["fp16_models"]
    assert report["device"]["matcher"] == "exact on the GPU (float16)"
    assert report["warnings"] == []
    text = doctor.format_doctor(report)
    assert "device:        GPU (CUDA): CUDA provider works: using the GPU" in text
    assert "GPU 0:         NVIDIA H200, 143771 MiB (5 MiB used), driver 570.1" in text
    assert "models:      float16 variants" in text


def test_cuda_provider_without_a_gpu(
    ort_gpu: type[FakeSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ort_gpu.gpu = False
    monkeypatch.setattr(devices, "nvidia_gpus", lambda: [])
    monkeypatch.setattr(doctor, "nvidia_gpus", lambda: [])
    report = doctor.doctor_report(probe_torch=False)
    assert report["device"]["reason"] == "CUDA provider present but no GPU found: using CPU"
    assert report["warnings"] == ["CUDA provider present but no GPU found: using CPU"]
    text = doctor.format_doctor(report)
    assert "GPUs:          none (nvidia-smi lists no device)" in text
    assert "warning:       CUDA provider present but no GPU found: using CPU" in text


def test_both_runtime_packages_and_a_broken_nvidia_smi(monkeypatch: pytest.MonkeyPatch) -> None:
    both = {"onnxruntime": "1.22.0", "onnxruntime-gpu": "1.22.0"}
    monkeypatch.setattr(doctor, "ort_distributions", lambda: both)
    monkeypatch.setattr(devices, "ort_distributions", lambda: both)

    def crash() -> Any:
        raise OSError("nvidia-smi crashed")

    monkeypatch.setattr(doctor, "nvidia_gpus", crash)
    report = doctor.doctor_report(probe_torch=False)
    assert any("both onnxruntime and onnxruntime-gpu" in w for w in report["warnings"])
    assert report["nvidia_smi"] == "OSError: nvidia-smi crashed"
    text = doctor.format_doctor(report)
    assert "ORT packages:  onnxruntime 1.22.0, onnxruntime-gpu 1.22.0" in text
    assert "GPUs:          OSError: nvidia-smi crashed" in text


def test_gpu_decoding_asked_for_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMSEARCH_DECODE", "gpu")
    report = doctor.doctor_report()
    decode = report["decode"]
    assert decode["requested"] == "gpu" and decode["requested_by"] == "MMSEARCH_DECODE=gpu"
    assert isinstance(decode["gpu_available"], bool) and decode["gpu_reason"]
    if not decode["gpu_available"]:
        assert decode["decoder"] == "CPU"
        assert any(w.startswith("GPU decoding requested") for w in report["warnings"])
    assert "GPU decode:" in doctor.format_doctor(report)


def test_nvidia_smi_output_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices.shutil, "which", lambda name: "/usr/bin/nvidia-smi")

    def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        out = "NVIDIA H200, 143771, 5, 570.1\nNVIDIA H200, 143771, 9000, 570.1\n"
        return subprocess.CompletedProcess(args, 0, out, "")

    monkeypatch.setattr(devices.subprocess, "run", run)
    gpus = devices.nvidia_gpus()
    assert gpus is not None and len(gpus) == 2 and gpus[1]["memory_used_mib"] == "9000"

    def none_found(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 6, "No devices were found\n", "")

    monkeypatch.setattr(devices.subprocess, "run", none_found)
    assert devices.nvidia_gpus() == []
    monkeypatch.setattr(devices.shutil, "which", lambda name: None)
    assert devices.nvidia_gpus() is None


def test_doctor_and_status_commands_say_which_device_and_why(cli: Any, home: Path) -> None:
    report = cli("doctor", "--quick")
    assert report["model"]["id"] == "effnetlite-minilm-matching" and "dir" in report["model"]
    assert "CPU" in json.dumps(report)
    status = cli("status")
    assert status["device"].startswith("CPU (") and "HNSW" in status["matching"]


def test_encoders_whose_gpu_session_fails_run_on_the_cpu(
    home: Path, photo_folder: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """The device probe said CUDA works, but the model's own sessions can't start there (a
    driver or memory problem): the real encoders run on the CPU with a warning, and
    indexing and search work."""
    from mmsearch.services.indexing import Indexer
    from mmsearch.services.library import Library
    from mmsearch.services.search import SearchEngine

    real = onnxruntime.InferenceSession

    def session(model: Any, sess_options: Any = None, providers: Any = None) -> Any:
        if CUDA in (providers or []):
            raise RuntimeError("CUDA failure 2: out of memory")
        return real(model, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(onnxruntime, "InferenceSession", session)
    with Library(home) as lib:
        lib.__dict__["device"] = devices.DeviceChoice("cuda", (CUDA, CPU), "probe passed")
        lib.catalog.add_folder(photo_folder)
        assert Indexer(lib).run().ok
        hits = SearchEngine(lib).search("a cup of coffee", 1)
        assert hits[0].path.name == "coffee.png"
        assert (home / "cache" / "fp16").is_dir()  # on a GPU: the model's fp16 twins
        text_session = lib.model.text.session
        assert text_session.device is not None and text_session.device.device == "cpu"
        assert "out of memory" in (text_session.device.warning or "")
    assert "did not start" in caplog.text and "using CPU" in caplog.text


def test_catalog_state_and_backups_are_reported(tmp_path: Path) -> None:
    """`mmsearch doctor` checks the catalog without opening (or creating) a library."""
    from mmsearch.catalog import Catalog, backup_catalog

    data = tmp_path / "data"
    assert doctor.catalog_report(data)["state"] == "new" and not data.exists()
    catalog = Catalog.open(data)
    catalog.add_folder(tmp_path / "photos")
    catalog.close()
    report = doctor.catalog_report(data)
    assert report["state"] == "sound" and report["backups"] == []
    assert "backups:     none yet" in "\n".join(doctor.format_catalog(report))
    assert backup_catalog(data) is not None
    report = doctor.catalog_report(data)
    assert report["backups"][0]["photos"] == 0 and report["backups"][0]["folders"] == 1
    (data / "catalog.sqlite").write_bytes(b"")
    report = doctor.catalog_report(data)
    assert report["state"] == "empty" and "mmsearch doctor --restore" in report["problem"]
    result = doctor.restore_catalog(data)
    assert result["replaced_state"] == "empty" and len(result["moved_aside"]) == 1
    text = doctor.format_restore(result)
    assert "0 photos in 1 folders" in text and "moved aside to" in text
    assert doctor.catalog_report(data)["state"] == "sound"

"""Choosing where the encoders and the exact matcher run: CUDA when it works, else CPU.

It sits below `encoders/` and `index/` (both use it) and imports neither: the CUDA probe
builds its own one-node model.

ONNX Runtime lists the CUDA provider whenever `onnxruntime-gpu` is installed, even on a
machine without an NVIDIA GPU or driver; only creating a session proves it works (and ORT
then quietly runs that session on the CPU). Every path that can't use the GPU falls back to
the CPU with a reason a person can read, and a warning when the GPU was asked for or when a
GPU setup is present but broken. Nothing here raises.

The preference comes from the environment (`MMSEARCH_DEVICE=auto|cpu|gpu`, which wins, so a
user can force the CPU for one run) or else from the settings; "auto" is the default.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
PREFERENCES = ("auto", "cpu", "gpu")
ENV_VAR = "MMSEARCH_DEVICE"
_ALIASES = {"cuda": "gpu", "": "auto"}

#: The pip distributions that install the `onnxruntime` module (they overwrite each other).
CPU_DIST = "onnxruntime"
GPU_DIST = "onnxruntime-gpu"

FIX_SHADOWED = (
    f"pip uninstall -y {CPU_DIST}, then pip install --force-reinstall --no-deps {GPU_DIST}"
)


@dataclass(frozen=True)
class DeviceChoice:
    """Where to run, and why (shown by `mmsearch doctor` and the status bar)."""

    device: str  # "cuda" or "cpu"
    providers: tuple[str, ...]
    reason: str
    #: The preference that was applied ("auto", "cpu", "gpu") and where it came from.
    requested: str = "auto"
    source: str = "default"
    #: Set when the GPU was asked for and not obtained, or a GPU setup failed to start; the
    #: caller shows it (log, status bar) once. The CPU is used either way.
    warning: str | None = None

    @property
    def label(self) -> str:
        return "GPU (CUDA)" if self.device == "cuda" else "CPU"

    @property
    def use_fp16(self) -> bool:
        """Whether to run the float16 variants of the models (and matcher): on a GPU only.
        On a CPU float16 is emulated (slower) and buys nothing."""
        return self.device == "cuda"

    @property
    def precision(self) -> str:
        """ "fp16" or "fp32": the `precision` argument of the model loaders."""
        return "fp16" if self.use_fp16 else "fp32"

    @property
    def status_line(self) -> str:
        """One line for a status bar: the device, then why."""
        return f"Device: {self.label} ({self.reason})"


def resolve_preference(
    setting: str | None = None, environ: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """(preference, where it came from): `MMSEARCH_DEVICE` if set, else `setting`, else
    "auto". The preference is lower-cased ("cuda" means "gpu") but not validated."""
    env = os.environ if environ is None else environ
    raw = env.get(ENV_VAR, "").strip().lower()
    if raw:
        return _ALIASES.get(raw, raw), f"{ENV_VAR}={raw}"
    if setting is not None and setting.strip():
        value = setting.strip().lower()
        return _ALIASES.get(value, value), "the settings"
    return "auto", "default"


def _available() -> list[str]:
    import onnxruntime

    return list(onnxruntime.get_available_providers())


def ort_distributions() -> dict[str, str]:
    """The installed pip distributions that provide the `onnxruntime` module: name -> version."""
    from importlib import metadata

    found: dict[str, str] = {}
    for name in (CPU_DIST, GPU_DIST):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def nvidia_gpus(timeout: float = 5.0) -> list[dict[str, str]] | None:
    """The NVIDIA GPUs `nvidia-smi` reports (name, memory_total_mib, memory_used_mib,
    driver), [] when it reports none, or None when there is no usable nvidia-smi."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    fields = "name,memory.total,memory.used,driver_version"
    try:
        out = subprocess.run(
            [exe, f"--query-gpu={fields}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        # "No devices were found" exits non-zero; so does a driver/library mismatch.
        return [] if "no devices" in (out.stdout + out.stderr).lower() else None
    gpus = []
    for line in out.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 4 and parts[0]:
            gpus.append(
                {
                    "name": parts[0],
                    "memory_total_mib": parts[1],
                    "memory_used_mib": parts[2],
                    "driver": parts[3],
                }
            )
    return gpus


def explain_cuda_failure(message: str, gpus: list[dict[str, str]] | None) -> str:
    """A short reason for a CUDA provider that did not start, from ORT's error text (may be
    empty: ORT falls back silently) and what nvidia-smi says (None: no nvidia-smi)."""
    text = message.lower()
    if "no cuda-capable device" in text or gpus == []:
        return "no GPU found"
    if "driver version is insufficient" in text or ("driver" in text and "older" in text):
        return "the NVIDIA driver is too old for this onnxruntime-gpu"
    if any(s in text for s in ("cannot open shared object", "loadlibrary", "error 126")):
        missing = _first_library_name(message)
        return "the CUDA/cuDNN libraries could not be loaded" + (f" ({missing})" if missing else "")
    if "out of memory" in text:
        return "the GPU is out of memory"
    if message:
        first = message.strip().splitlines()[0]
        return f"the CUDA provider failed to start ({first[:200]})"
    if gpus is None:
        return "no GPU found (no NVIDIA driver: nvidia-smi is missing)"
    return "the CUDA provider did not start (are the CUDA and cuDNN libraries installed?)"


def _first_library_name(message: str) -> str | None:
    for word in message.replace('"', " ").replace("'", " ").replace(":", " ").split():
        base = word.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
        if (".so" in base or base.endswith(".dll")) and "onnxruntime" not in base:
            return base
    return None


@lru_cache(maxsize=1)
def tiny_probe_model() -> bytes:
    """A valid small model (one float32 MatMul), used to check that a provider really starts."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "device_probe",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 4]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [4, "M"]),
        ],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, ["N", "M"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def _cuda_session_works() -> str | None:
    """None if a CUDA session can be created and keeps the CUDA provider, else why not."""
    message = ""
    try:
        import onnxruntime

        preload = getattr(onnxruntime, "preload_dlls", None)
        if preload is not None and onnxruntime.get_device() == "GPU":
            # ORT >= 1.21's GPU build: load CUDA/cuDNN from pip wheels when there are some.
            try:
                preload()
            except Exception:
                log.debug("onnxruntime.preload_dlls failed", exc_info=True)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # ORT's own fallback warning: we explain it ourselves
        session = onnxruntime.InferenceSession(
            tiny_probe_model(), sess_options=options, providers=[CUDA]
        )
        if CUDA in session.get_providers():
            return None
    except Exception as e:  # any failure to start the GPU path means: use the CPU
        message = f"{type(e).__name__}: {e}"
    return explain_cuda_failure(message, nvidia_gpus())


def _no_cuda_provider_reason(installed: Mapping[str, str], ort_device: str | None) -> str:
    if GPU_DIST not in installed:
        return f"no CUDA provider: {GPU_DIST} is not installed (pip install mmsearch[gpu])"
    if CPU_DIST in installed or ort_device == "CPU":
        return (
            f"no CUDA provider: {GPU_DIST} is installed but the CPU {CPU_DIST} package "
            f"overwrote it ({FIX_SHADOWED})"
        )
    return "no CUDA provider in this ONNX Runtime build"


def _ort_device() -> str | None:
    try:
        import onnxruntime

        return str(onnxruntime.get_device())
    except Exception:
        return None


def choose_device(
    setting: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    available: Callable[[], Sequence[str]] = _available,
    probe: Callable[[], str | None] = _cuda_session_works,
    installed: Callable[[], Mapping[str, str]] = ort_distributions,
) -> DeviceChoice:
    """The device for the settings' `setting` ("auto", "cpu" or "gpu"; `MMSEARCH_DEVICE`
    overrides it); never raises. The probe (a real CUDA session) runs only when ONNX Runtime
    lists the CUDA provider and the CPU is not forced."""
    preference, source = resolve_preference(setting, environ)

    def cpu(reason: str, warning: str | None = None) -> DeviceChoice:
        if warning:
            log.warning("%s", warning)
        return DeviceChoice("cpu", (CPU,), reason, preference, source, warning)

    if preference not in PREFERENCES:
        why = f"unknown device setting {preference!r} (from {source}): using CPU"
        return cpu(why, why)
    if preference == "cpu":
        if source.startswith(ENV_VAR):
            return cpu(f"CPU forced by {source}")
        return cpu("CPU chosen in the settings" if source == "the settings" else "CPU")
    asked = f"GPU requested ({source})" if preference == "gpu" else None
    try:
        providers = list(available())
    except Exception as e:
        why = f"ONNX Runtime did not answer ({type(e).__name__}: {e}): using CPU"
        return cpu(why, f"{asked}, but {why}" if asked else None)
    if CUDA not in providers:
        try:
            dists: Mapping[str, str] = installed()
        except Exception:
            dists = {}
        why = _no_cuda_provider_reason(dists, _ort_device() if GPU_DIST in dists else None)
        shadowed = GPU_DIST in dists  # the user meant to have the GPU build
        warning = f"{asked}, but {why}; using CPU" if asked else None
        if warning is None and shadowed:
            warning = f"{why}; using CPU"
        return cpu(f"{why}: using CPU", warning)
    try:
        problem = probe()
    except Exception as e:
        problem = f"the CUDA provider check failed ({type(e).__name__}: {e})"
    if problem is not None:
        why = f"CUDA provider present but {problem}: using CPU"
        return cpu(why, f"{asked}, but {why}" if asked else why)
    return DeviceChoice(
        "cuda", (CUDA, CPU), "CUDA provider works: using the GPU", preference, source
    )


@lru_cache(maxsize=8)
def _remembered(setting: str | None, env_value: str) -> DeviceChoice:
    return choose_device(setting, environ={ENV_VAR: env_value} if env_value else {})


def device_for(setting: str | None = None) -> DeviceChoice:
    """`choose_device`, remembered for the process per (setting, MMSEARCH_DEVICE): the CUDA
    probe starts a CUDA context (up to seconds), and its warning is logged once."""
    return _remembered(setting, os.environ.get(ENV_VAR, "").strip())


def start_session(
    model: str | bytes | os.PathLike[str],
    choice: DeviceChoice,
    sess_options: Any = None,
) -> tuple[Any, DeviceChoice]:
    """An ONNX Runtime session for `model` on `choice`'s device, and the choice it really got:
    a CUDA session that fails to start, or that ORT quietly put on the CPU, is made again on
    the CPU, with a warning (the returned choice says CPU and why). Errors of the model
    itself (a missing or broken file) are raised as ONNX Runtime raises them."""
    import onnxruntime

    source = os.fspath(model) if isinstance(model, os.PathLike) else model
    if choice.device != "cuda":
        session = onnxruntime.InferenceSession(
            source, sess_options=sess_options, providers=list(choice.providers)
        )
        return session, choice
    try:
        session = onnxruntime.InferenceSession(
            source, sess_options=sess_options, providers=list(choice.providers)
        )
        if CUDA in session.get_providers():
            return session, choice
        problem = "ONNX Runtime put it on the CPU"
    except Exception as e:
        text = str(e).strip()
        problem = f"{type(e).__name__}: {text.splitlines()[0][:200]}" if text else type(e).__name__
    name = source if isinstance(source, str) else "a model"
    why = f"the GPU session for {name} did not start ({problem}): using CPU"
    log.warning("%s", why)
    session = onnxruntime.InferenceSession(source, sess_options=sess_options, providers=[CPU])
    return session, replace(choice, device="cpu", providers=(CPU,), reason=why, warning=why)

"""`mmsearch doctor`: what this machine offers mmsearch, and what mmsearch chose and why.

Python and ONNX Runtime versions, the installed ONNX Runtime packages (the CPU and GPU ones
overwrite each other), its execution providers, the device the encoders and the matcher
use with the reason, NVIDIA GPUs (via nvidia-smi, when there is one), torch for GPU JPEG
decoding, and the settings that steer all this. Every probe is guarded: a broken GPU setup
is reported, never raised. The catalog's state and its backups; `--restore` puts the newest
good backup back, `--new-catalog` starts an empty catalog on purpose (both keep the old file
aside). None of this opens a library, so it works on a catalog that can't be opened.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

from mmsearch.catalog.backup import check_file, list_backups, restore_backup
from mmsearch.catalog.db import library_traces
from mmsearch.catalog.errors import CATALOG_FILE, BackupInfo, CatalogDamaged, CatalogMissing
from mmsearch.catalog.fresh import new_catalog
from mmsearch.devices import (
    CPU_DIST,
    ENV_VAR,
    FIX_SHADOWED,
    GPU_DIST,
    choose_device,
    nvidia_gpus,
    ort_distributions,
)
from mmsearch.media.batch_decode import DECODE_ENV, resolve_decode_preference


def _guard(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}


def _onnxruntime() -> dict[str, Any]:
    import onnxruntime

    out: dict[str, Any] = {
        "version": str(onnxruntime.__version__),
        "build": str(onnxruntime.get_device()),
        "providers": list(onnxruntime.get_available_providers()),
    }
    devices = []
    for ep_device in getattr(onnxruntime, "get_ep_devices", lambda: [])():
        hardware = ep_device.device
        devices.append(
            {
                "provider": str(ep_device.ep_name),
                "type": str(hardware.type).rsplit(".", 1)[-1],
                "vendor": str(hardware.vendor),
            }
        )
    if devices:
        out["devices"] = devices
    return out


def doctor_report(
    data_dir: Path | None = None,
    device_setting: str | None = None,
    decode_setting: str | None = None,
    *,
    probe_torch: bool = True,
) -> dict[str, Any]:
    """Everything `mmsearch doctor` prints, as a JSON-able dict (see `format_doctor`).

    `device_setting` / `decode_setting` are the window's settings (None: not set); the
    environment variables override them as everywhere else. `probe_torch=False` skips
    importing torch (seconds) and says so.
    """
    warnings: list[str] = []
    report: dict[str, Any] = {
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
    }
    if data_dir is not None:
        report["data_dir"] = str(data_dir)
    dists = _guard(ort_distributions)
    report["onnxruntime_packages"] = dists
    if isinstance(dists, dict) and CPU_DIST in dists and GPU_DIST in dists:
        warnings.append(
            f"both {CPU_DIST} and {GPU_DIST} are installed; they install the same module and "
            f"the last one installed wins. For the GPU: {FIX_SHADOWED}"
        )
    report["onnxruntime"] = _guard(_onnxruntime)

    choice = choose_device(device_setting)
    report["device"] = {
        "device": choice.device,
        "label": choice.label,
        "reason": choice.reason,
        "requested": choice.requested,
        "requested_by": choice.source,
        "providers": list(choice.providers),
        "fp16_models": choice.use_fp16,
        "matcher": ("exact on the GPU (float16)" if choice.device == "cuda" else "HNSW on the CPU"),
        "setting": f"{ENV_VAR}=auto|cpu|gpu, or the device setting",
    }
    if choice.warning:
        warnings.append(choice.warning)

    gpus = _guard(nvidia_gpus)
    report["nvidia_smi"] = (
        "not found" if gpus is None else gpus if isinstance(gpus, list) else gpus["error"]
    )

    decode_pref, decode_source = resolve_decode_preference(decode_setting)
    decode: dict[str, Any] = {
        "requested": decode_pref,
        "requested_by": decode_source,
        "setting": f"{DECODE_ENV}=cpu|gpu (default cpu: GPU decoding is opt-in)",
    }
    if probe_torch:
        from mmsearch.media.gpu_decode import gpu_decode_status, torch_summary

        decode["torch"] = _guard(torch_summary)
        status = _guard(gpu_decode_status)
        if isinstance(status, tuple):
            decode["gpu_available"], decode["gpu_reason"] = status
        else:
            decode["gpu_available"], decode["gpu_reason"] = False, status["error"]
        decode["decoder"] = (
            "GPU (nvJPEG)" if decode_pref == "gpu" and decode["gpu_available"] else "CPU"
        )
        if decode_pref == "gpu" and not decode["gpu_available"]:
            warnings.append(
                f"GPU decoding requested ({decode_source}) but {decode['gpu_reason']}: "
                "decoding on the CPU"
            )
    else:
        decode["torch"] = "not checked"
        decode["decoder"] = "GPU (nvJPEG) if available" if decode_pref == "gpu" else "CPU"
    report["decode"] = decode
    report["warnings"] = warnings
    return report


def _gpu_lines(report: dict[str, Any]) -> list[str]:
    smi = report.get("nvidia_smi")
    if isinstance(smi, list):
        if not smi:
            return ["GPUs:          none (nvidia-smi lists no device)"]
        return [
            f"GPU {i}:         {g['name']}, {g['memory_total_mib']} MiB "
            f"({g['memory_used_mib']} MiB used), driver {g['driver']}"
            for i, g in enumerate(smi)
        ]
    return [f"GPUs:          {'no nvidia-smi (no NVIDIA driver)' if smi == 'not found' else smi}"]


def format_doctor(report: dict[str, Any]) -> str:
    """The report as lines for a terminal."""
    lines = [f"python:        {report.get('python')}", f"platform:      {report.get('platform')}"]
    if "data_dir" in report:
        lines.append(f"data folder:   {report['data_dir']}")
    dists = report.get("onnxruntime_packages")
    if isinstance(dists, dict) and "error" not in dists:
        names = ", ".join(f"{k} {v}" for k, v in dists.items()) or "none found"
        lines.append(f"ORT packages:  {names}")
    ort = report.get("onnxruntime", {})
    if "error" in ort:
        lines.append(f"onnxruntime:   does not load ({ort['error']})")
    else:
        lines.append(f"onnxruntime:   {ort.get('version')} ({ort.get('build')} build)")
        lines.append(f"providers:     {', '.join(ort.get('providers', []))}")
    lines += _gpu_lines(report)
    device = report["device"]
    lines.append(f"device:        {device['label']}: {device['reason']}")
    lines.append(f"  asked for:   {device['requested']} (by {device['requested_by']})")
    lines.append(f"  models:      {'float16 variants' if device['fp16_models'] else 'float32'}")
    lines.append(f"  matching:    {device['matcher']}")
    decode = report["decode"]
    lines.append(
        f"decoding:      {decode['decoder']} (asked for {decode['requested']} by "
        f"{decode['requested_by']})"
    )
    torch = decode.get("torch")
    if isinstance(torch, dict):
        if not torch.get("installed"):
            lines.append("  torch:       not installed")
        elif "error" in torch:
            lines.append(f"  torch:       does not load ({torch['error']})")
        else:
            cuda = f"CUDA {torch['cuda']}" if torch.get("cuda") else "a CPU-only build"
            gpu = f", GPU {torch['gpu']}" if torch.get("gpu") else ""
            lines.append(f"  torch:       {torch.get('version')} ({cuda}{gpu})")
    if "gpu_reason" in decode:
        state = "available" if decode["gpu_available"] else "unavailable"
        lines.append(f"  GPU decode:  {state}: {decode['gpu_reason']}")
    if "catalog" in report:
        lines += format_catalog(report["catalog"])
    for warning in report.get("warnings", []):
        lines.append(f"warning:       {warning}")
    return "\n".join(lines)


# -- the catalog: is it sound, which backups are there, restoring one --------------------------


def _backup_dict(b: BackupInfo) -> dict[str, Any]:
    return {
        "path": str(b.path),
        "taken_at": b.taken_at.isoformat(sep=" "),
        "photos": b.photos,
        "folders": b.folders,
    }


def catalog_report(data_dir: Path) -> dict[str, Any]:
    """The catalog's state without opening (or creating) a library: "sound", "damaged",
    "missing", "empty" (0 bytes) or "new" (a data folder that never held a library), the
    problem and the fix, and the backups. Runs the full `PRAGMA quick_check` (0.4 s on a
    catalog of 100,000 photos with a warm page cache)."""
    path = Path(data_dir) / CATALOG_FILE
    backups = list_backups(data_dir)
    out: dict[str, Any] = {
        "path": str(path),
        "read_only": path.parent.is_dir() and not os.access(path.parent, os.W_OK),
        "backups": [_backup_dict(b) for b in backups],
    }
    traces = library_traces(Path(data_dir))
    try:
        size = path.stat().st_size
    except OSError:
        size = None
    out["size"] = size
    if not size:
        if traces:
            out["state"] = "missing" if size is None else "empty"
            out["problem"] = str(
                CatalogMissing(
                    path, "is missing" if size is None else "is empty (0 bytes)", traces, backups
                )
            )
        else:
            out["state"] = "new"
        return out
    problem = check_file(path)
    if problem is None:
        out["state"] = "sound"
    else:
        out["state"] = "damaged"
        out["problem"] = str(CatalogDamaged(path, problem, backups))
    return out


def restore_catalog(data_dir: Path) -> dict[str, Any]:
    """`mmsearch doctor --restore`: the newest good backup back in place (NoBackup if there
    is none); what was restored and what was moved aside, as a JSON-able dict."""
    before = catalog_report(data_dir)
    result = restore_backup(data_dir)
    return {
        "restored": _backup_dict(result.backup),
        "catalog": str(result.catalog),
        "replaced_state": before["state"],
        "moved_aside": [str(p) for p in result.moved_aside],
        "skipped_backups": [{"path": str(b.path), "problem": why} for b, why in result.skipped],
    }


def new_catalog_report(data_dir: Path) -> dict[str, Any]:
    """`mmsearch doctor --new-catalog`: an empty catalog on purpose (the old one kept aside)."""
    moved = new_catalog(data_dir)
    return {"catalog": str(Path(data_dir) / CATALOG_FILE), "moved_aside": [str(p) for p in moved]}


def format_catalog(catalog: dict[str, Any]) -> list[str]:
    state = catalog["state"]
    backups = catalog["backups"]
    if state == "sound":
        lines = [f"catalog:       {catalog['path']}: sound ({catalog['size'] / 1e6:.1f} MB)"]
    elif state == "new":
        lines = [f"catalog:       {catalog['path']}: none yet (a new data folder)"]
    else:
        lines = [f"catalog:       {state.upper()}: {catalog['problem']}"]
    if catalog["read_only"]:
        lines.append("  read-only:   searching works, indexing needs write access")
    if backups:
        newest = backups[0]
        photos = "unreadable" if newest["photos"] is None else f"{newest['photos']:,} photos"
        lines.append(
            f"  backups:     {len(backups)}, newest {newest['taken_at'][:16]} ({photos}), "
            f"in {Path(newest['path']).parent}"
        )
    else:
        lines.append("  backups:     none yet (one is made after an indexing run, daily)")
    return lines


def format_restore(result: dict[str, Any]) -> str:
    b = result["restored"]
    lines = [
        f"restored the catalog from {b['path']} (taken {b['taken_at'][:16]}): "
        f"{b['photos']:,} photos in {b['folders']} folders",
    ]
    moved = result["moved_aside"]
    if moved:
        sides = [p[len(moved[0]) :] for p in moved[1:]]
        also = f" (with its {', '.join(sides)} files)" if sides else ""
        lines.append(
            f"the {result['replaced_state']} catalog was moved aside to {moved[0]}{also} (kept)"
        )
    for s in result["skipped_backups"]:
        lines.append(f"skipped the newer backup {s['path']}: {s['problem']}")
    lines.append("photos indexed since the backup was taken are indexed again by `mmsearch index`")
    return "\n".join(lines)

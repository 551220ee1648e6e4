"""Decoding photos a batch at a time: one interface over the CPU decoder and the GPU one.

The CPU decoder (the default) is `decode_photo` on a thread pool: libjpeg's DCT scaling
makes a 12 MP JPEG cost a fraction of a full decode. The GPU decoder (`gpu_decode`,
torchvision's nvJPEG path) decodes whole batches on the device; it needs torch and
torchvision built with CUDA and a GPU, and it stays opt-in until measured faster on real
hardware: `MMSEARCH_DECODE=gpu` (or the setting) asks for it, and without it nothing here
imports torch.

Both give, for every path, the same `DecodedPhoto` (or the `DecodeError` saying why not).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mmsearch.media.decode import DecodeResult, decode_or_error

log = logging.getLogger(__name__)

DECODE_ENV = "MMSEARCH_DECODE"
DECODE_PREFERENCES = ("cpu", "gpu")


class BatchDecoder(Protocol):
    """Paths in, one `DecodedPhoto` or `DecodeError` per path out, in the same order."""

    @property
    def name(self) -> str: ...

    def decode_batch(self, paths: Sequence[Path], min_side: int) -> list[DecodeResult]: ...


class CpuDecoder:
    """`decode_photo` for every path, on `workers` threads (Pillow releases the GIL)."""

    name = "CPU (libjpeg DCT-scaled, threads)"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(2, os.cpu_count() or 2)

    def decode_batch(self, paths: Sequence[Path], min_side: int) -> list[DecodeResult]:
        if len(paths) <= 1:
            return [decode_or_error(p, min_side) for p in paths]
        with ThreadPoolExecutor(min(self.workers, len(paths))) as pool:
            return list(pool.map(lambda p: decode_or_error(p, min_side), paths))


@dataclass(frozen=True)
class DecoderChoice:
    """The decoder to use, why, and a warning when the GPU decoder was asked for and not
    obtained (the CPU one is used then)."""

    decoder: BatchDecoder
    reason: str
    warning: str | None = None

    @property
    def on_gpu(self) -> bool:
        return not isinstance(self.decoder, CpuDecoder)


def resolve_decode_preference(
    setting: str | None = None, environ: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """(preference, where it came from): `MMSEARCH_DECODE`, else `setting`, else "cpu"."""
    env = os.environ if environ is None else environ
    raw = env.get(DECODE_ENV, "").strip().lower()
    if raw:
        return ("gpu" if raw == "cuda" else raw), f"{DECODE_ENV}={raw}"
    if setting is not None and setting.strip():
        value = setting.strip().lower()
        return ("gpu" if value == "cuda" else value), "the settings"
    return "cpu", "default"


def choose_decoder(
    setting: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    workers: int | None = None,
    status: Callable[[], tuple[bool, str]] | None = None,
) -> DecoderChoice:
    """The batch decoder for the setting ("cpu", the default, or "gpu"); never raises.

    Only a "gpu" preference looks for torch (`status` checks it; default
    `gpu_decode.gpu_decode_status`), so the default path never imports it.
    """
    preference, source = resolve_decode_preference(setting, environ)
    cpu = CpuDecoder(workers)
    if preference == "cpu":
        note = "" if source == "default" else f", chosen by {source}"
        return DecoderChoice(cpu, f"CPU decoding{note} (GPU decoding is opt-in: {DECODE_ENV}=gpu)")
    if preference not in DECODE_PREFERENCES:
        why = f"unknown decode setting {preference!r} (from {source}): decoding on the CPU"
        log.warning("%s", why)
        return DecoderChoice(cpu, why, why)
    from mmsearch.media import gpu_decode

    try:
        ok, why = (status or gpu_decode.gpu_decode_status)()
    except Exception as e:
        ok, why = False, f"the GPU decoder check failed ({type(e).__name__}: {e})"
    if not ok:
        warning = f"GPU decoding requested ({source}) but {why}: decoding on the CPU"
        log.warning("%s", warning)
        return DecoderChoice(cpu, f"{why}: decoding on the CPU", warning)
    try:
        decoder = gpu_decode.TorchJpegDecoder("cuda", workers=workers)
    except Exception as e:
        warning = f"the GPU decoder failed to start ({type(e).__name__}: {e}): decoding on the CPU"
        log.warning("%s", warning)
        return DecoderChoice(cpu, warning, warning)
    return DecoderChoice(decoder, f"GPU decoding ({why}), chosen by {source}")

"""JPEG decoding in batches on the GPU: torchvision's `decode_jpeg` on CUDA (nvJPEG).

A batch of JPEG files is read and their headers parsed on the host (size, EXIF: cheap),
then decoded together on the device, each shrunk there (antialiased bicubic) to the encoder
size, and only the small image comes back, upright, as the same `DecodedPhoto` that
`decode_photo` gives. Files that are not JPEG, JPEGs nvJPEG refuses (CMYK, broken, ...)
and files that fail go through `decode_photo` instead, which also gives the user-facing
reason when a file can't be read.

Importing this module is cheap; torch is imported on first use only. On a CPU device the
same code runs through torchvision's libjpeg path, which is how it is tested without a GPU.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mmsearch.media.decode import (
    _TRANSPOSE,
    DecodedPhoto,
    DecodeError,
    DecodeResult,
    _check_size,
    _exif_camera,
    _exif_orientation,
    _exif_taken_at,
    _read_exif,
    decode_or_error,
)
from mmsearch.media.errors import os_error_reason

log = logging.getLogger(__name__)

#: JPEGs decoded in one device call: bounds device memory (32 x 12 MP x 3 bytes = 1.2 GB).
MAX_BATCH = 32


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def torch_summary() -> dict[str, Any]:
    """What torch offers GPU decoding, without importing it unless it is installed:
    installed, version, cuda (the CUDA version torch was built with), gpu (a device name)."""
    if _missing("torch"):
        return {"installed": False}
    try:
        import torch

        out: dict[str, Any] = {
            "installed": True,
            "version": str(torch.__version__),
            "cuda": torch.version.cuda,
            "cuda_available": bool(torch.cuda.is_available()),
            "torchvision": not _missing("torchvision"),
        }
        if out["cuda_available"]:
            out["gpu"] = str(torch.cuda.get_device_name(0))
        return out
    except Exception as e:  # a broken torch install: say so, never crash
        return {"installed": True, "error": f"{type(e).__name__}: {e}"}


@cache
def gpu_decode_status(device: str = "cuda") -> tuple[bool, str]:
    """(available, why): whether batches of JPEGs can be decoded on `device` here. Probes
    once (a tiny JPEG through nvJPEG) and remembers."""
    if _missing("torch"):
        return False, "torch is not installed (GPU decoding needs torch and torchvision with CUDA)"
    if _missing("torchvision"):
        return False, "torchvision is not installed (GPU decoding uses its nvJPEG decoder)"
    info = torch_summary()
    if "error" in info:
        return False, f"torch does not load ({info['error']})"
    if device == "cuda":
        if not info.get("cuda"):
            return False, "torch is a CPU-only build (no CUDA)"
        if not info.get("cuda_available"):
            return False, "torch has CUDA but found no GPU"
    try:
        decoder = TorchJpegDecoder(device)
        sample = io.BytesIO()
        Image.new("RGB", (64, 48), (200, 30, 30)).save(sample, "JPEG")
        decoded = decoder.decode_bytes([sample.getvalue()], 16)[0]
        if not isinstance(decoded, DecodedPhoto) or decoded.image.size != (21, 16):
            raise RuntimeError(f"a 64x48 test JPEG came back as {decoded!r}")
    except Exception as e:
        return False, f"nvJPEG decoding failed ({type(e).__name__}: {e})"
    where = f"nvJPEG on {info['gpu']}" if device == "cuda" and info.get("gpu") else device
    return True, f"torchvision decode_jpeg, {where}"


def shrunk_size(width: int, height: int, min_side: int) -> tuple[int, int]:
    """The size `decode_photo` shrinks a (width, height) image to: shorter side `min_side`,
    never upscaled (the same rounding as its `_shrink`)."""
    short = min(width, height)
    if short <= min_side:
        return width, height
    scale = min_side / short
    if width <= height:
        return min_side, max(min_side, round(height * scale))
    return max(min_side, round(width * scale)), min_side


@dataclass
class _Header:
    data: bytes
    width: int  # stored (not upright) size
    height: int
    orientation: int
    taken_at: datetime | None
    camera: str | None


def _is_jpeg(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff"


def _header(data: bytes) -> _Header | None:
    """A JPEG's size and EXIF facts from its header (no pixels decoded), or None when it is
    not a JPEG the batch path takes (the CPU decoder handles it then)."""
    if not _is_jpeg(data):
        return None
    with Image.open(io.BytesIO(data), formats=["JPEG"]) as im:
        if im.mode not in ("RGB", "L"):  # CMYK, YCCK: libjpeg's conversions, on the CPU
            return None
        width, height = im.size
        _check_size(width, height)
        exif = _read_exif(im)
        return _Header(
            data,
            width,
            height,
            _exif_orientation(exif),
            _exif_taken_at(exif),
            _exif_camera(exif),
        )


class TorchJpegDecoder:
    """Batches of JPEGs decoded with torchvision's `decode_jpeg` on `device` ("cuda": nvJPEG;
    "cpu": libjpeg, for tests), shrunk on the device; same results as `decode_photo`."""

    def __init__(self, device: str = "cuda", workers: int | None = None) -> None:
        import torch
        import torchvision.io  # type: ignore[import-untyped]  # no stubs

        # torchvision 0.29 deprecates its image codecs for TorchCodec; they still work, and
        # the notice would repeat on every batch.
        warnings.filterwarnings(
            "ignore",
            "The image decoding and encoding capabilities of TorchVision",
            DeprecationWarning,
        )
        self.device = device
        self.workers = workers or max(2, os.cpu_count() or 2)
        self._torch = torch
        self._io = torchvision.io
        if device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("torch found no CUDA GPU")

    @property
    def name(self) -> str:
        return "GPU (nvJPEG, batched)" if self.device == "cuda" else f"torchvision ({self.device})"

    def decode_batch(self, paths: Sequence[Path], min_side: int) -> list[DecodeResult]:
        """One result per path, in order; see the module's docstring."""
        if min_side < 1:
            raise ValueError(f"min_side must be positive, not {min_side}")
        results: list[DecodeResult | None] = [None] * len(paths)
        with ThreadPoolExecutor(max(1, min(self.workers, len(paths)))) as pool:
            headers = list(pool.map(self._read, paths))
        batch: list[int] = []
        for i, header in enumerate(headers):
            if isinstance(header, _Header):
                batch.append(i)
            elif isinstance(header, DecodeError):
                results[i] = header
        for start in range(0, len(batch), MAX_BATCH):
            chunk = batch[start : start + MAX_BATCH]
            items = [h for h in (headers[i] for i in chunk) if isinstance(h, _Header)]
            for i, result in zip(chunk, self._decode_headers(items, min_side), strict=True):
                results[i] = result
        # Everything else (not JPEG, refused by the batch path): the CPU decoder.
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:
            with ThreadPoolExecutor(max(1, min(self.workers, len(missing)))) as pool:
                done = pool.map(lambda i: decode_or_error(paths[i], min_side), missing)
                for i, result in zip(missing, done, strict=True):
                    results[i] = result
        return [r if r is not None else DecodeError("not decoded") for r in results]

    def decode_bytes(self, blobs: Sequence[bytes], min_side: int) -> list[DecodeResult | None]:
        """JPEG bytes -> results; None where the batch path does not take the file."""
        out: list[DecodeResult | None] = [None] * len(blobs)
        headers: list[tuple[int, _Header]] = []
        for i, blob in enumerate(blobs):
            try:
                header = _header(blob)
            except DecodeError as e:
                out[i] = e
                continue
            except Exception:
                continue  # let the CPU decoder find and word the problem
            if header is not None:
                headers.append((i, header))
        for start in range(0, len(headers), MAX_BATCH):
            chunk = headers[start : start + MAX_BATCH]
            decoded = self._decode_headers([h for _, h in chunk], min_side)
            for (i, _), result in zip(chunk, decoded, strict=True):
                out[i] = result
        return out

    # -- the work -----------------------------------------------------------------------------

    def _read(self, path: Path) -> _Header | DecodeError | None:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            return DecodeError(os_error_reason(e))
        if not data:
            return DecodeError("empty file (0 bytes)")
        try:
            return _header(data)
        except DecodeError as e:
            return e
        except Exception:
            return None  # a broken header: the CPU decoder words the reason

    def _decode_headers(
        self, headers: Sequence[_Header], min_side: int
    ) -> list[DecodeResult | None]:
        """Decode JPEGs on the device; None for any the device refuses (-> CPU decoder)."""
        torch = self._torch
        if not headers:
            return []
        tensors = [torch.frombuffer(bytearray(h.data), dtype=torch.uint8) for h in headers]
        mode = self._io.ImageReadMode.RGB
        try:
            images = list(self._io.decode_jpeg(tensors, mode=mode, device=self.device))
        except Exception:
            # One bad file fails the whole batched call: decode them one by one instead.
            log.debug("batched JPEG decode failed, one at a time", exc_info=True)
            images = []
            for tensor in tensors:
                try:
                    images.append(self._io.decode_jpeg(tensor, mode=mode, device=self.device))
                except Exception:
                    images.append(None)
        out: list[DecodeResult | None] = []
        with torch.inference_mode():
            for header, image in zip(headers, images, strict=True):
                if image is None or tuple(image.shape[1:]) != (header.height, header.width):
                    out.append(None)
                    continue
                out.append(self._finish(header, self._shrink(image, min_side)))
        return out

    def _shrink(self, image: Any, min_side: int) -> np.ndarray:
        """(3, H, W) uint8 on the device -> (h, w, 3) uint8 on the host, shorter side min_side."""
        torch = self._torch
        height, width = int(image.shape[1]), int(image.shape[2])
        w, h = shrunk_size(width, height, min_side)
        if (w, h) != (width, height):
            small = torch.nn.functional.interpolate(
                image[None].float(),
                size=(h, w),
                mode="bicubic",
                antialias=True,
                align_corners=False,
            )[0]
            image = small.round_().clamp_(0, 255).to(torch.uint8)
        return np.ascontiguousarray(image.permute(1, 2, 0).cpu().numpy())

    @staticmethod
    def _finish(header: _Header, pixels: np.ndarray) -> DecodedPhoto:
        small = Image.fromarray(pixels, "RGB")
        width, height = header.width, header.height
        if header.orientation in _TRANSPOSE:
            small = small.transpose(_TRANSPOSE[header.orientation])
            if header.orientation >= 5:
                width, height = height, width
        return DecodedPhoto(small, width, height, header.taken_at, header.camera)

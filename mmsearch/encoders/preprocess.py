"""Photos to image-graph input, by the spec's `Preprocess`: one function for every model.

Sampling "exact" reproduces torchvision's eval transform step for step (shorter side to S
with the full filter, the longer side truncated like torchvision; centre crop with its
rounding; `(x / 255 - mean) / std`): pixels are bit-identical to open_clip's and the hub
processors' on the test photos, which is what keeps cosine >= 0.9999 to the reference.
Sampling "box" resamples the crop box straight to S x S in one pass with Pillow's reducing
gap (an integer box shrink, then the filter over the last <= 3x): a fraction of the time,
and what our own models were trained with. Hand in photos decoded at reduced size (shorter
side a little above S, see `mmsearch.media`): larger ones work, only slower.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

from mmsearch.encoders.spec import Preprocess

Float32Array = npt.NDArray[np.float32]

_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}
_REDUCING_GAP = 3.0


def resize_geometry(width: int, height: int, size: int) -> tuple[int, int]:
    """The (width, height) of a photo whose shorter side is resized to `size`, rounded as
    torchvision's `Resize(size)` does (the longer side truncated, not rounded)."""
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def _exact(image: Image.Image, cfg: Preprocess) -> Image.Image:
    size, resample = cfg.size, _RESAMPLE[cfg.interpolation]
    if cfg.resize == "squash":
        return image.resize((size, size), resample)
    new_w, new_h = resize_geometry(image.width, image.height, size)
    if (new_w, new_h) != image.size:
        image = image.resize((new_w, new_h), resample)
    if cfg.crop_offset == "floor":  # transformers' image processors
        top, left = (new_h - size) // 2, (new_w - size) // 2
    else:  # torchvision's CenterCrop
        top, left = round((new_h - size) / 2.0), round((new_w - size) / 2.0)
    return image.crop((left, top, left + size, top + size))


def _box(image: Image.Image, cfg: Preprocess) -> Image.Image:
    size = cfg.size
    width, height = image.size
    if cfg.resize == "squash":
        box = (0.0, 0.0, float(width), float(height))
        shrinking = min(width, height) > size
    else:
        side = min(width, height)
        left, top = (width - side) / 2, (height - side) / 2
        box = (left, top, left + side, top + side)
        shrinking = side > size
    return image.resize(
        (size, size),
        _RESAMPLE[cfg.interpolation],
        box=box,
        reducing_gap=_REDUCING_GAP if shrinking else None,
    )


class Preprocessor:
    """`Preprocess` made callable, its normalisation folded into one multiply-add."""

    def __init__(self, cfg: Preprocess) -> None:
        self.cfg = cfg
        std = np.asarray(cfg.std, dtype=np.float32)
        mean = np.asarray(cfg.mean, dtype=np.float32)
        self._exact = cfg.sampling == "exact"
        # (x / 255 - mean) / std: "exact" computes it as written (bit-identical to torch);
        # "box" as x * scale - offset, one fused pass.
        self._mean, self._std = mean, std
        self._scale = (1.0 / (255.0 * std)).astype(np.float32)
        self._offset = (mean / std).astype(np.float32)

    def __call__(self, image: Image.Image) -> Float32Array:
        """An image of any size and mode -> (3, S, S) float32 pixels for the image graph."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        # The arithmetic runs channel-first into one output array, in place: the same float32
        # operations in the same order (bit-identical), without four temporaries and a
        # transposing copy (1.4 -> 0.5 ms a photo at 256 px).
        if self._exact:
            rgb = np.asarray(_exact(image, self.cfg))
            out = np.empty((3, *rgb.shape[:2]), dtype=np.float32)
            np.divide(rgb.transpose(2, 0, 1), np.float32(255.0), out=out)
            np.subtract(out, self._mean[:, None, None], out=out)
            np.divide(out, self._std[:, None, None], out=out)
        else:
            rgb = np.asarray(_box(image, self.cfg))
            out = np.empty((3, *rgb.shape[:2]), dtype=np.float32)
            np.multiply(rgb.transpose(2, 0, 1), self._scale[:, None, None], out=out)
            np.subtract(out, self._offset[:, None, None], out=out)
        return out


def preprocess_image(image: Image.Image, cfg: Preprocess) -> Float32Array:
    """An image -> (3, S, S) float32 pixels (see `Preprocessor`)."""
    return Preprocessor(cfg)(image)

"""Captioned photos in, cached features of the frozen parts out.

Two caption formats are read: our JSONL (`{"image": path, "caption": text}` a line, paths
relative to the file's folder or `images_root`) and MS-COCO's caption JSON
(`captions_*.json` with `images` and `annotations`, plus the image folder).

Training only ever updates small heads on top of two frozen networks (an EfficientNet-Lite
trunk and all-MiniLM-L6-v2), so both are run once per photo view and per caption and their
outputs are kept in `build/cache/` as float16 arrays. They are run through ONNX Runtime, from
graphs exported by the same code that exports the app's graphs: about 4x faster than torch's
eager CPU path on these networks, and the cached features are what the app will compute.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mmsearch.services.evaluation import EvalError
from mmsearch.services.evaluation import load_captions as load_caption_set

#: Views cached per photo besides random crops, by the run-time resize rule they stand for
#: (see `view_box`): the whole photo and its mirror image, or the centred crop.
FIXED_VIEWS = {"squash": ("full", "flip"), "shorter_side_center_crop": ("center",)}

CACHE_TOKENS = 64  # captions are 12 words on average, 38 at most; longer ones are cut


class DataError(ValueError):
    """A captions file or image folder can't be used; the message names the file."""


@dataclass(frozen=True)
class CaptionedPhotos:
    """Photos and their captions: `caption_photo[i]` is the index of caption i's photo."""

    photos: list[Path]
    captions: list[str]
    caption_photo: np.ndarray

    def subset(self, photo_ids: np.ndarray) -> CaptionedPhotos:
        """The photos at `photo_ids` (in that order) with their captions."""
        remap = np.full(len(self.photos), -1, dtype=np.int64)
        remap[photo_ids] = np.arange(len(photo_ids))
        keep = np.flatnonzero(remap[self.caption_photo] >= 0)
        return CaptionedPhotos(
            [self.photos[i] for i in photo_ids],
            [self.captions[i] for i in keep],
            remap[self.caption_photo[keep]],
        )


def load_jsonl(path: Path, images_root: Path | None = None) -> CaptionedPhotos:
    """Read our JSONL captions format (the same reader `mmsearch eval` uses)."""
    try:
        data = load_caption_set(path, images_root)
    except EvalError as e:
        raise DataError(str(e)) from e
    return _checked(CaptionedPhotos(data.images, data.captions, data.caption_image), path)


def load_coco(path: Path, images_root: Path | None = None) -> CaptionedPhotos:
    """Read an MS-COCO caption file (`captions_train2014.json` ...); images are looked up as
    `images_root/<file_name>` (default: the JSON file's folder)."""
    root = images_root or path.parent
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        names = {int(im["id"]): str(im["file_name"]) for im in data["images"]}
        pairs = [(int(a["image_id"]), str(a["caption"]).strip()) for a in data["annotations"]]
    except OSError as e:
        raise DataError(f"can't read {path}: {e.strerror or e}") from e
    except (ValueError, KeyError, TypeError) as e:
        raise DataError(f"{path} is not a COCO caption file (images + annotations)") from e
    index: dict[int, int] = {}
    owners = []
    captions = []
    for image_id, caption in sorted(pairs, key=lambda p: p[0]):
        if image_id not in names:
            raise DataError(f"{path}: annotation for unknown image id {image_id}")
        owners.append(index.setdefault(image_id, len(index)))
        captions.append(caption)
    photos = [root / names[i] for i in index]
    return _checked(CaptionedPhotos(photos, captions, np.asarray(owners)), path)


def load_captions(path: Path, images_root: Path | None = None) -> CaptionedPhotos:
    """Our JSONL (`.jsonl`) or a COCO caption file (`.json`), by the file's suffix."""
    path = Path(path)
    if path.suffix == ".json":
        return load_coco(path, images_root)
    return load_jsonl(path, images_root)


def _checked(data: CaptionedPhotos, source: Path) -> CaptionedPhotos:
    if not data.captions:
        raise DataError(f"{source} holds no captions")
    missing = [p for p in data.photos if not p.is_file()]
    if missing:
        raise DataError(
            f"{len(missing)} photo(s) named in {source} are missing, e.g. {missing[0]}: "
            "pass the image folder with --images"
        )
    return data


def split_by_photo(
    data: CaptionedPhotos, val_photos: int, seed: int
) -> tuple[CaptionedPhotos, CaptionedPhotos]:
    """(train, validation): `val_photos` photos drawn with `seed` and all their captions
    go to validation, so no validation photo is ever seen in training."""
    if not 0 < val_photos < len(data.photos):
        raise DataError(f"can't hold out {val_photos} of {len(data.photos)} photos")
    order = np.random.default_rng(seed).permutation(len(data.photos))
    val, train = np.sort(order[:val_photos]), np.sort(order[val_photos:])
    return data.subset(train), data.subset(val)


# -- views ---------------------------------------------------------------------------------


def view_names(resize: str, random_crops: int) -> list[str]:
    """The views to cache for a resize rule: the fixed ones (the first is the one validation
    uses), then `random_crops` random crops (of the whole photo: squash only)."""
    if resize not in FIXED_VIEWS:
        raise DataError(f"unknown resize rule {resize!r}: one of {', '.join(FIXED_VIEWS)}")
    crops = random_crops if resize == "squash" else 0
    return [*FIXED_VIEWS[resize], *(f"crop{i}" for i in range(crops))]


def view_box(
    view: str, width: int, height: int, rng: np.random.Generator
) -> tuple[tuple[float, float, float, float], bool]:
    """(crop box, mirrored) of a view of a width x height photo.

    "full" is the whole photo (the app's "squash" rule). "center" stands for the app's
    "shorter_side_center_crop" rule on the original photo: the training photos were squashed
    to squares from mostly 4:3 landscape originals, so the middle 3/4 of the width, resized to
    a square, is what a centred crop of the original looks like. Random crops keep 50-100 %
    of the area with an aspect ratio within 3:4..4:3.
    """
    if view in ("full", "flip"):
        return (0.0, 0.0, float(width), float(height)), view == "flip"
    if view == "center":
        return (width / 8, 0.0, width * 7 / 8, float(height)), False
    area = rng.uniform(0.5, 1.0)
    ratio = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    w = min(1.0, np.sqrt(area * ratio)) * width
    h = min(1.0, np.sqrt(area / ratio)) * height
    x0, y0 = rng.uniform(0, width - w), rng.uniform(0, height - h)
    return (x0, y0, x0 + w, y0 + h), bool(rng.random() < 0.5)


def view_pixels(
    image: Image.Image,
    box: tuple[float, float, float, float],
    mirror: bool,
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
) -> np.ndarray:
    """(3, size, size) float32: the box resampled (bicubic) and normalised, as the app does."""
    square = image.convert("RGB").resize((size, size), Image.Resampling.BICUBIC, box=box)
    if mirror:
        square = square.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    scaled = np.asarray(square, dtype=np.float32) / np.float32(255.0)
    pixels = (scaled - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32)


# -- the feature cache ---------------------------------------------------------------------


@dataclass
class ImageFeatures:
    """Cached trunk outputs, float16: `pooled` (P, V, C) the mean of the last feature map,
    `regions` (P, V, R, C) its grid of region means, for P photos and V views."""

    pooled: np.ndarray
    regions: np.ndarray
    views: list[str]


@dataclass
class TextFeatures:
    """Cached MiniLM outputs: `states` (T, 384) float16 token states of all captions end to
    end, `offsets` (N + 1,) where caption i's tokens start and end, `ids` (T,) token ids."""

    states: np.ndarray
    offsets: np.ndarray
    ids: np.ndarray

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def batch(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(states (B, L, 384) float32, ids (B, L) int64, mask (B, L) int64) of captions
        `rows`, padded with zeros to the longest."""
        lengths = self.lengths()[rows]
        width = int(lengths.max())
        states = np.zeros((len(rows), width, self.states.shape[1]), dtype=np.float32)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for k, (row, n) in enumerate(zip(rows, lengths, strict=True)):
            start = self.offsets[row]
            states[k, :n] = self.states[start : start + n]
            ids[k, :n] = self.ids[start : start + n]
            mask[k, :n] = 1
        return states, ids, mask


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


Log = Callable[[str], None]


def cache_image_features(
    photos: Sequence[Path],
    trunk_onnx: Path,
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
    views: Sequence[str],
    cache_dir: Path,
    seed: int,
    log: Log = print,
    threads: int | None = None,
) -> ImageFeatures:
    """Run the exported trunk over every view of every photo, caching float16 outputs in
    `cache_dir`, one folder per view (so runs with more or fewer random crops share the
    views they have in common). Resumable: finished chunks are kept."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        str(trunk_onnx), sess_options=options, providers=["CPUExecutionProvider"]
    )
    pooled, regions = [], []
    for view in views:
        key = _digest(
            "image", [str(p) for p in photos], trunk_onnx.name, trunk_onnx.stat().st_size, size
        )
        folder = cache_dir / f"image-{key}" / f"{view}-seed{seed}"
        _cache_view(session, photos, size, mean, std, view, folder, seed, log)
        pooled.append(np.load(folder / "pooled.npy", mmap_mode="r"))
        regions.append(np.load(folder / "regions.npy", mmap_mode="r"))
    return ImageFeatures(np.stack(pooled, axis=1), np.stack(regions, axis=1), list(views))


def _cache_view(
    session: Any,
    photos: Sequence[Path],
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
    view: str,
    folder: Path,
    seed: int,
    log: Log,
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    done_file = folder / "done.json"
    done = json.loads(done_file.read_text())["photos"] if done_file.is_file() else 0
    if done == len(photos):
        return
    outputs = {o.name: o.shape for o in session.get_outputs()}
    channels, grid = int(outputs["pooled"][-1]), int(outputs["regions"][1])
    mode = "r+" if done else "w+"
    pooled = np.lib.format.open_memmap(
        folder / "pooled.npy", mode=mode, dtype=np.float16, shape=(len(photos), channels)
    )
    regions = np.lib.format.open_memmap(
        folder / "regions.npy", mode=mode, dtype=np.float16, shape=(len(photos), grid, channels)
    )
    chunk = 64
    start_time = time.monotonic()
    view_code = zlib.crc32(view.encode())
    for start in range(done, len(photos), chunk):
        batch = []
        for p in range(start, min(start + chunk, len(photos))):
            # One generator per photo and view: a resumed run draws the very same crops.
            rng = np.random.default_rng([seed, p, view_code])
            with Image.open(photos[p]) as im:
                image = im.convert("RGB")
            box, mirror = view_box(view, image.width, image.height, rng)
            batch.append(view_pixels(image, box, mirror, size, mean, std))
        out = dict(
            zip(outputs, session.run(list(outputs), {"pixels": np.stack(batch)}), strict=True)
        )
        pooled[start : start + len(batch)] = out["pooled"]
        regions[start : start + len(batch)] = out["regions"]
        pooled.flush()
        regions.flush()
        done = start + len(batch)
        done_file.write_text(json.dumps({"photos": done}))
        if (start // chunk) % 20 == 0 or done == len(photos):
            elapsed = time.monotonic() - start_time
            log(f"  image features, view {view}: {done}/{len(photos)} photos ({elapsed:.0f} s)")


def cache_text_features(
    captions: Sequence[str],
    text_onnx: Path,
    tokenizer: Any,
    cache_dir: Path,
    log: Log = print,
    threads: int | None = None,
) -> TextFeatures:
    """Run the exported MiniLM over every caption, caching its token states (float16)."""
    import onnxruntime as ort

    key = _digest("text", list(captions), text_onnx.stat().st_size, CACHE_TOKENS, 2)
    folder = cache_dir / f"text-{key}"
    if (folder / "done.json").is_file():
        return _load_text(folder)
    folder.mkdir(parents=True, exist_ok=True)
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        str(text_onnx), sess_options=options, providers=["CPUExecutionProvider"]
    )
    encodings = tokenizer.encode_batch(list(captions))
    # The tokenizer pads a batch to its longest text: keep each caption's real tokens only.
    ids = [e.ids[: min(sum(e.attention_mask), CACHE_TOKENS)] for e in encodings]
    lengths = np.asarray([len(i) for i in ids], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    states = np.zeros((int(offsets[-1]), 384), dtype=np.float16)
    # Similar lengths together: little padding, so little wasted work.
    order = np.argsort(lengths, kind="stable")
    start_time = time.monotonic()
    batch = 256
    for k in range(0, len(order), batch):
        rows = order[k : k + batch]
        width = int(lengths[rows].max())
        input_ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for j, row in enumerate(rows):
            input_ids[j, : lengths[row]] = ids[row]
            mask[j, : lengths[row]] = 1
        (out,) = session.run(["states"], {"input_ids": input_ids, "attention_mask": mask})
        for j, row in enumerate(rows):
            states[offsets[row] : offsets[row + 1]] = out[j, : lengths[row]]
        if (k // batch) % 40 == 0:
            elapsed = time.monotonic() - start_time
            log(f"  caption features {k + len(rows)}/{len(order)} ({elapsed:.0f} s)")
    np.save(folder / "states.npy", states)
    np.save(folder / "offsets.npy", offsets)
    np.save(folder / "ids.npy", np.concatenate([np.asarray(i, dtype=np.int64) for i in ids]))
    (folder / "done.json").write_text(json.dumps({"captions": len(captions)}))
    return _load_text(folder)


def _load_text(folder: Path) -> TextFeatures:
    return TextFeatures(
        np.load(folder / "states.npy"), np.load(folder / "offsets.npy"), np.load(folder / "ids.npy")
    )


def default_cache_dir() -> Path:
    """`build/cache/matching` in the checkout ($MMSEARCH_CACHE overrides)."""
    env = os.environ.get("MMSEARCH_CACHE")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "build" / "cache" / "matching"

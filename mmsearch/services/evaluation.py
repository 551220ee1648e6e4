"""Retrieval quality on a captioned photo set: text-to-image and image-to-text Recall@K."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmsearch.encoders import Model
from mmsearch.media import DecodeError, decode_photo
from mmsearch.services.workers import bounded_map

KS = (1, 5, 10)


class EvalError(ValueError):
    """The captions file can't be evaluated; the message names the file and the problem."""


@dataclass(frozen=True)
class CaptionSet:
    images: list[Path]
    captions: list[str]
    caption_image: np.ndarray  # index into `images` for each caption


def load_captions(captions_file: Path, images_root: Path | None = None) -> CaptionSet:
    """Read a JSONL file of {"image": path, "caption": text} lines (paths relative to
    `images_root`, by default the file's folder)."""
    root = images_root or captions_file.parent
    images: dict[Path, int] = {}
    captions: list[str] = []
    owners: list[int] = []
    try:
        lines = captions_file.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise EvalError(f"can't read {captions_file}: {e.strerror}") from e
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            image, caption = root / row["image"], str(row["caption"])
        except (ValueError, KeyError, TypeError) as e:
            raise EvalError(
                f'{captions_file}:{number}: expected {{"image": ..., "caption": ...}} ({e})'
            ) from e
        owners.append(images.setdefault(image, len(images)))
        captions.append(caption)
    if not captions:
        raise EvalError(f"{captions_file} holds no captions")
    return CaptionSet(list(images), captions, np.asarray(owners, dtype=np.int64))


def embed_photos(
    model: Model,
    paths: list[Path],
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 32,
) -> np.ndarray:
    """Embeddings of the photos at `paths`, in order (decoding in parallel, encoding in
    batches). Raises EvalError naming the first photo that can't be read."""
    size = model.spec.image_size

    def read(item: tuple[int, Path]) -> tuple[int, np.ndarray]:
        i, path = item
        try:
            return i, model.image.preprocess(decode_photo(path, min_side=size).image)
        except DecodeError as e:
            raise EvalError(f"can't read {path}: {e}") from e

    out = np.zeros((len(paths), model.spec.dim), dtype=np.float32)
    batch: list[tuple[int, np.ndarray]] = []
    done = 0

    def flush() -> None:
        nonlocal done
        out[[i for i, _ in batch]] = model.image.encode(np.stack([p for _, p in batch]))
        done += len(batch)
        batch.clear()
        if progress:
            progress(done, len(paths))

    for item in bounded_map(read, list(enumerate(paths))):
        batch.append(item)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return out


def recalls(
    similarity: np.ndarray, relevant: Callable[[int, np.ndarray], np.ndarray]
) -> dict[str, float]:
    """Recall@K for each row of `similarity` (queries x items); `relevant(row, top)` marks
    which of the top items are right."""
    top = np.argsort(-similarity, axis=1, kind="stable")[:, : max(KS)]
    hits = np.stack([relevant(r, top[r]) for r in range(len(top))])
    return {f"R@{k}": float(hits[:, :k].any(axis=1).mean()) for k in KS}


def evaluate(
    model: Model,
    captions_file: Path,
    images_root: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, object]:
    """Text-to-image and image-to-text Recall@1/5/10 of `model` on a captioned set."""
    data = load_captions(captions_file, images_root)
    image_vectors = embed_photos(model, data.images, progress)
    text_vectors = np.concatenate(
        [model.text.encode(data.captions[i : i + 256]) for i in range(0, len(data.captions), 256)]
    )
    sim = text_vectors @ image_vectors.T
    t2i = recalls(sim, lambda r, top: top == data.caption_image[r])
    i2t = recalls(sim.T, lambda r, top: data.caption_image[top] == r)
    return {"t2i": t2i, "i2t": i2t, "images": len(data.images), "captions": len(data.captions)}

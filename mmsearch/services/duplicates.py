"""Near-duplicate photos (issue 12 §2): resized, recompressed, slightly cropped or edited
copies and burst shots, grouped.

Two steps, so that a library of any size is cheap and a group is never a guess:

1. **Candidates from the vectors.** Every photo's nearest neighbours by the active model's
   vectors, kept when their cosine reaches `threshold`: exact (blocked matrix products)
   up to `EXACT_UP_TO` photos, the library's HNSW index above it.
2. **Confirmed by the pixels.** A difference hash (dHash: 64 bits, the signs of
   neighbouring brightness steps of the upright photo shrunk to 9 x 8) of both photos; a
   pair is a duplicate when the hashes differ in at most `max_bits` bits. Two different
   photos of the same scene (two dogs on two beaches) can be close in meaning, but their
   brightness layout differs; a copy keeps it through resizing, recompression, a small
   crop, a brightness change, rotation by EXIF and a change of format.

Confirmed pairs are joined into groups (union-find); each group names the copy to keep:
the largest resolution, then a camera format (RAW, HEIC, JPEG) over a converted one, then
the oldest, then the largest file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from mmsearch.catalog.db import PhotoInfo
from mmsearch.media import DecodeError, decode_photo
from mmsearch.services.library import Library

DEFAULT_THRESHOLD = 0.75
"""Cosine of two photos' vectors from which they are compared pixel by pixel."""
DEFAULT_MAX_BITS = 10
"""dHash bits (of 64) two copies may differ in."""
NEIGHBOURS = 8
"""Nearest neighbours looked at per photo (a group larger than this is still found whole:
each copy brings its own neighbours)."""
HASHES_PER_COMMIT = 200
"""Perceptual hashes made between catalog commits (made once per file, kept)."""
EXACT_UP_TO = 20_000
"""Up to this many photos the candidates are exact (all pairs); above, HNSW's neighbours."""

_CAMERA_FORMATS = {".jpg", ".jpeg", ".heic", ".heif", ".dng", ".cr2", ".cr3", ".nef", ".arw"}
_CAMERA_FORMATS |= {".orf", ".rw2", ".raf", ".pef", ".srw"}

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DuplicateGroup:
    """Photos that are copies of one another, the one to keep first."""

    photos: list[PhotoInfo]
    similarity: float
    """The lowest vector cosine of the group's confirmed pairs."""

    @property
    def best(self) -> PhotoInfo:
        return self.photos[0]

    @property
    def others(self) -> list[PhotoInfo]:
        return self.photos[1:]


def dhash(path: Path) -> int:
    """The 64-bit difference hash of the photo at `path`, upright (EXIF orientation
    applied); raises DecodeError when it can't be read."""
    from PIL import Image

    photo = decode_photo(path, min_side=32)
    grey = photo.image.convert("L").resize((9, 8), Image.Resampling.BOX)
    pixels = np.asarray(grey, dtype=np.int16)
    bits = (pixels[:, 1:] > pixels[:, :-1]).flatten()
    return int(np.packbits(bits).view(">u8")[0])


def hash_distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def candidate_pairs(
    ids: np.ndarray,
    vectors: np.ndarray,
    threshold: float,
    neighbours: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]] | None = None,
    k: int = NEIGHBOURS,
) -> dict[tuple[int, int], float]:
    """{(id a, id b) with a < b: cosine} of the photos whose unit `vectors` reach
    `threshold`, each photo with up to `k` neighbours. `neighbours(vectors, k)` gives
    (labels, cosines) of each row's nearest (the HNSW index); without it, or for a small
    library, every pair is compared."""
    pairs: dict[tuple[int, int], float] = {}
    n = len(ids)
    if n < 2:
        return pairs
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if neighbours is None or n <= EXACT_UP_TO:
        block = 2048
        for start in range(0, n, block):
            sims = vectors[start : start + block] @ vectors.T
            rows, cols = np.nonzero(sims >= threshold)
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
                a, b = int(ids[start + r]), int(ids[c])
                if a < b:
                    pairs[(a, b)] = float(sims[r, c])
        return pairs
    step = 8192
    for start in range(0, n, step):
        labels, cosines = neighbours(vectors[start : start + step], min(k + 1, n))
        own = ids[start : start + len(labels), None]
        rows, cols = np.nonzero((cosines >= threshold) & (labels != own))
        mine, theirs = own[rows, 0], labels[rows, cols]
        low, high = np.minimum(mine, theirs).tolist(), np.maximum(mine, theirs).tolist()
        for x, y, cosine in zip(low, high, cosines[rows, cols].tolist(), strict=True):
            pairs[(x, y)] = float(cosine)
    return pairs


def _groups(pairs: Sequence[tuple[int, int]]) -> list[list[int]]:
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[int, list[int]] = {}
    for x in parent:
        members.setdefault(root(x), []).append(x)
    return sorted((sorted(m) for m in members.values()), key=lambda m: m[0])


def keep_order(photo: PhotoInfo) -> tuple[int, int, float, int]:
    """Sort key, best first: most pixels, a camera format, the oldest, the largest file."""
    taken = photo.taken_at.timestamp() if isinstance(photo.taken_at, datetime) else float("inf")
    camera = 0 if photo.path.suffix.lower() in _CAMERA_FORMATS else 1
    return (-(photo.width * photo.height), camera, taken, -photo.size)


def find_duplicates(
    lib: Library,
    threshold: float = DEFAULT_THRESHOLD,
    max_bits: int = DEFAULT_MAX_BITS,
    progress: Progress | None = None,
    hash_of: Callable[[Path], int] = dhash,
) -> list[DuplicateGroup]:
    """The library's near-duplicate groups under its active model, largest group first.
    `progress(done, total)` follows the pixel checks (the slow part: one reduced-size
    decode per candidate photo)."""
    ids, vectors = lib.catalog.vectors(lib.model_id)
    neighbours = lib.index().neighbours if len(ids) > EXACT_UP_TO else None  # opened if used
    pairs = candidate_pairs(ids, vectors, threshold, neighbours)
    involved = sorted({i for pair in pairs for i in pair})
    photos = lib.catalog.photos(involved)
    hashes: dict[int, int | None] = dict(lib.catalog.perceptual_hashes(involved))
    fresh: dict[int, int] = {}
    for done, photo_id in enumerate(involved, 1):
        info = photos.get(photo_id)
        if photo_id not in hashes:
            hashes[photo_id] = None  # gone, or unreadable since it was indexed
            if info is not None:
                with contextlib.suppress(DecodeError):
                    hashes[photo_id] = fresh[photo_id] = hash_of(info.path)
            if len(fresh) >= HASHES_PER_COMMIT:
                lib.catalog.store_perceptual_hashes(fresh)  # an interrupted run keeps them
                fresh = {}
        if progress is not None:
            progress(done, len(involved))
    lib.catalog.store_perceptual_hashes(fresh)
    confirmed = {
        pair: cosine
        for pair, cosine in pairs.items()
        if (ha := hashes.get(pair[0])) is not None
        and (hb := hashes.get(pair[1])) is not None
        and hash_distance(ha, hb) <= max_bits
    }
    groups = _groups(list(confirmed))
    group_of = {m: g for g, members in enumerate(groups) for m in members}
    lowest = [1.0] * len(groups)
    for (a, _), cosine in confirmed.items():
        lowest[group_of[a]] = min(lowest[group_of[a]], cosine)
    out = [
        DuplicateGroup(sorted((photos[m] for m in members), key=keep_order), lowest[g])
        for g, members in enumerate(groups)
    ]
    out.sort(key=lambda g: (-len(g.photos), str(g.best.path)))
    return out

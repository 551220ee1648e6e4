"""Near-duplicate finder (issue 12 §2), measured two ways in one run:

1. **Quality on real photos**: N distinct real photos, and for M of them (Flickr8k's
   evaluation photos at their original 500 px; the distinct others are the evaluation
   photos left and the trainset's 224 px ones) six transformed copies each: half size,
   JPEG quality 60, a 5 % crop, +10 % brightness, turned by EXIF, PNG instead of JPEG;
   indexed with the active (default) model, then `find_duplicates`. Pair precision and
   recall: a pair is two photos of one family (an original and its copies); found pairs
   are all pairs inside a found group.
2. **Speed at scale**: grouping 100,000 synthetic clustered vectors (candidates from the
   HNSW neighbours and union-find; the pixel check is per candidate photo, measured in 1).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/duplicates.py --distinct 2000 --families 200
    PYTHONPATH=$PWD .venv/bin/python benchmarks/duplicates.py --skip-photos --vectors 100000
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
TRAINSET = SHARED / "trainset"
EVALSET = SHARED / "evalset" / "flickr8k"


def make_copies(source: Path, out: Path, stem: str) -> list[Path]:
    """The original (re-saved as JPEG) and its transformed copies, in `out`."""
    with Image.open(source) as im:
        photo = ImageOps.exif_transpose(im).convert("RGB")
    w, h = photo.size
    made = [out / f"{stem}.jpg"]
    photo.save(made[0], quality=92)
    half = out / f"{stem}-half.jpg"
    photo.resize((w // 2, h // 2), Image.Resampling.LANCZOS).save(half, quality=90)
    q60 = out / f"{stem}-q60.jpg"
    photo.save(q60, quality=60)
    crop = out / f"{stem}-crop.jpg"
    dx, dy = round(w * 0.025), round(h * 0.025)
    photo.crop((dx, dy, w - dx, h - dy)).save(crop, quality=90)
    bright = out / f"{stem}-bright.jpg"
    ImageEnhance.Brightness(photo).enhance(1.1).save(bright, quality=90)
    turned = out / f"{stem}-turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    photo.rotate(90, expand=True).save(turned, quality=90, exif=exif)
    png = out / f"{stem}-png.png"
    photo.save(png)
    return [*made, half, q60, crop, bright, turned, png]


def quality(distinct: int, families: int, seed: int, keep: Path | None) -> dict[str, object]:
    from mmsearch.services.duplicates import find_duplicates
    from mmsearch.services.indexing import Indexer
    from mmsearch.services.library import Library

    rng = random.Random(seed)
    originals = sorted((EVALSET / "images").glob("*.jpg"))
    rng.shuffle(originals)
    others = sorted((TRAINSET / "images").glob("*.jpg"))
    rng.shuffle(others)
    chosen = (originals + others)[:distinct]
    if len(chosen) < distinct or families > len(originals):
        raise SystemExit(f"too few photos in {SHARED} for {distinct} distinct, {families} families")
    work = keep or Path(tempfile.mkdtemp(prefix="mmsearch-dup-"))
    folder = work / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    family_of: dict[str, int] = {}
    for i, source in enumerate(chosen):
        if i < families:
            for p in make_copies(source, folder, f"f{i:04d}"):
                family_of[p.name] = i
        else:
            shutil.copy(source, folder / f"d{i:05d}.jpg")
    lib = Library(work / "data")
    lib.catalog.add_folder(folder)
    started = time.perf_counter()
    Indexer(lib).run()
    indexed = time.perf_counter() - started
    started = time.perf_counter()
    groups = find_duplicates(lib)
    grouping = time.perf_counter() - started
    found = set()
    for g in groups:
        names = sorted(p.path.name for p in g.photos)
        found.update(itertools.combinations(names, 2))
    truth = set()
    by_family: dict[int, list[str]] = {}
    for name, family in family_of.items():
        by_family.setdefault(family, []).append(name)
    for names in by_family.values():
        truth.update(itertools.combinations(sorted(names), 2))
    right = found & truth
    missed: dict[str, int] = {}
    for a, b in truth - found:
        for name in (a, b):
            kind = name.split("-")[1].split(".")[0] if "-" in name else "original"
            missed[kind] = missed.get(kind, 0) + 1
    best_right = sum(
        1 for g in groups if g.best.path.name.startswith("f") and "-" not in g.best.path.name
    )
    if keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "photos": distinct + families * 6,
        "distinct": distinct,
        "families": families,
        "true_pairs": len(truth),
        "found_pairs": len(found),
        "precision": round(len(right) / max(1, len(found)), 4),
        "recall": round(len(right) / max(1, len(truth)), 4),
        "missed_by_kind": missed,
        "groups": len(groups),
        "original_suggested": f"{best_right} of {len(groups)}",
        "index_s": round(indexed, 1),
        "find_s": round(grouping, 1),
        "model": lib.model_id,
    }


def scale(n: int, dim: int, seed: int) -> dict[str, object]:
    from mmsearch.index.hnsw import VectorIndex
    from mmsearch.services.duplicates import DEFAULT_THRESHOLD, _groups, candidate_pairs

    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n // 50, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), n)] + rng.normal(
        scale=0.8,
        size=(n, dim),  # members of a cluster at cosine ~0.6, as neighbours are
    ).astype(np.float32)
    copies = n // 100  # 1 % of the photos have a near-copy
    vectors[-copies:] = vectors[:copies] + rng.normal(scale=0.05, size=(copies, dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1, n + 1, dtype=np.int64)
    with tempfile.TemporaryDirectory() as tmp:
        index = VectorIndex(Path(tmp), "bench", dim)
        started = time.perf_counter()
        index.add(ids, vectors)
        built = time.perf_counter() - started
        started = time.perf_counter()
        pairs = candidate_pairs(ids, vectors, DEFAULT_THRESHOLD, index.neighbours)
        groups = _groups(list(pairs))
        seconds = time.perf_counter() - started
    planted = {(i, n - copies + i) for i in range(1, copies + 1)}
    return {
        "vectors": n,
        "dim": dim,
        "index_build_s": round(built, 1),
        "group_s": round(seconds, 1),
        "candidate_pairs": len(pairs),
        "groups": len(groups),
        "planted_pairs_found": f"{len(planted & set(pairs))} of {len(planted)}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--distinct", type=int, default=2000)
    parser.add_argument("--families", type=int, default=200)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-photos", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--keep", type=Path, help="keep the photos and library here")
    args = parser.parse_args()
    out: dict[str, object] = {}
    if not args.skip_photos:
        if not (TRAINSET.is_dir() and EVALSET.is_dir()):
            print(f"no {TRAINSET}: skipping the quality part", file=sys.stderr)
        else:
            out["quality"] = quality(args.distinct, args.families, args.seed, args.keep)
            print(json.dumps(out["quality"]), flush=True)
    if not args.skip_scale:
        out["scale"] = scale(args.vectors, args.dim, args.seed)
        print(json.dumps(out["scale"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

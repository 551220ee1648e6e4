"""`mmsearch bench`: indexing speed on large real photos and query latency at 100k vectors.

Every figure is measured in the same run on the same machine, and comparisons are printed
as ratios, because absolute numbers on a shared machine drift from run to run.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from mmsearch.index import VectorIndex, exact_top_k
from mmsearch.paths import repo_root
from mmsearch.services.indexing import Indexer
from mmsearch.services.library import Library
from mmsearch.services.workers import bounded_map

TWELVE_MP = (4000, 3000)


def _say(text: str, quiet: bool) -> None:
    if not quiet:
        print(text, flush=True)


def make_large_photos(sources: list[Path], out: Path, count: int) -> list[Path]:
    """`count` distinct 12 MP JPEGs re-encoded from real photos (crops, flips, quality)."""
    out.mkdir(parents=True, exist_ok=True)

    def make(i: int) -> Path:
        rng = random.Random(i)
        with Image.open(sources[i % len(sources)]) as src:
            im = ImageOps.exif_transpose(src).convert("RGB")
        w, h = im.size
        crop = rng.uniform(0.8, 1.0)
        cw, ch = int(w * crop), int(h * crop)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        im = im.crop((x, y, x + cw, y + ch))
        size = TWELVE_MP if cw >= ch else TWELVE_MP[::-1]
        im = im.resize(size, Image.Resampling.BILINEAR)
        if rng.random() < 0.5:
            im = ImageOps.mirror(im)
        path = out / f"large_{i:04d}.jpg"
        im.save(path, quality=rng.randint(85, 95))
        return path

    return sorted(bounded_map(make, range(count)))


def naive_index(lib: Library, paths: list[Path]) -> float:
    """Photos/s of the obvious pipeline: full-size decode, one photo at a time."""
    model = lib.model
    started = time.perf_counter()
    for path in paths:
        with Image.open(path) as im:
            image = ImageOps.exif_transpose(im).convert("RGB")
        model.image.encode(model.image.preprocess(image)[None])
    return len(paths) / (time.perf_counter() - started)


def bench_indexing(lib: Library, photos_dir: Path, count: int, quiet: bool) -> dict[str, Any]:
    sources = sorted(p for p in photos_dir.iterdir() if p.suffix.lower() in {".jpg", ".jpeg"})
    if not sources:
        return {"skipped": f"no JPEG photos in {photos_dir}"}
    work = Path(tempfile.mkdtemp(prefix="mmsearch-bench-"))
    try:
        _say(f"making {count} 12 MP JPEGs from {len(sources)} photos in {photos_dir} ...", quiet)
        paths = make_large_photos(sources, work / "photos", count)
        mb = sum(p.stat().st_size for p in paths) / 1e6
        with Library(work / "data", lib.model_id) as ours:
            ours.catalog.add_folder(work / "photos")
            _ = ours.model  # loaded outside the timed part, as for the naive run
            started = time.perf_counter()
            report = Indexer(ours).run()
            seconds = time.perf_counter() - started
        ours_rate = report.added / seconds
        naive_sample = paths[: min(len(paths), 60)]
        naive_rate = naive_index(lib, naive_sample)
        return {
            "photos": len(paths),
            "megabytes": round(mb, 1),
            "pipeline_photos_per_s": round(ours_rate, 2),
            "naive_photos_per_s": round(naive_rate, 2),
            "naive_sample": len(naive_sample),
            "ratio": round(ours_rate / naive_rate, 2),
            "failed": len(report.failed),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def synthetic_library(lib: Library, n: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """`n` unit vectors clustered around real text embeddings (photo libraries are
    clustered, not uniform), and caption-like queries from the same vocabulary."""
    rng = np.random.default_rng(seed)
    words = _vocabulary(lib)
    pick = rng.choice(len(words), size=min(600, len(words)), replace=False)
    centers = lib.model.text.encode([f"a photo of {words[i]}" for i in pick])
    a = rng.integers(0, len(centers), n)
    b = rng.integers(0, len(centers), n)
    dim = centers.shape[1]
    noise = rng.normal(scale=0.6 / np.sqrt(dim), size=(n, dim)).astype(np.float32)
    vectors = 0.7 * centers[a] + 0.3 * centers[b] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = [
        f"a {words[int(rng.integers(len(words)))]} near a {words[int(rng.integers(len(words)))]}"
        for _ in range(200)
    ]
    return vectors.astype(np.float32), queries


def _vocabulary(lib: Library) -> list[str]:
    vocab = json.loads((lib.model_dir / lib.model.spec.text.tokenizer.file).read_text())["model"][
        "vocab"
    ]
    return [w for w in vocab if w.isalpha() and w.isascii() and len(w) > 3][:20000]


def bench_query(lib: Library, n: int, quiet: bool) -> dict[str, Any]:
    _say(f"building an HNSW index of {n} synthetic vectors ...", quiet)
    vectors, queries = synthetic_library(lib, n)
    ids = np.arange(1, n + 1, dtype=np.int64)
    work = Path(tempfile.mkdtemp(prefix="mmsearch-bench-"))
    try:
        started = time.perf_counter()
        index = VectorIndex(work, "bench", vectors.shape[1])
        index.add(ids, vectors)
        build_s = time.perf_counter() - started
        lib.model.text.encode(["warm up"])
        hnsw_ms, exact_ms, encode_ms, recall = [], [], [], []
        for query in queries:
            t0 = time.perf_counter()
            q = lib.model.text.encode([query])[0]
            t1 = time.perf_counter()
            got, _ = index.search(q, 10)
            t2 = time.perf_counter()
            want, _ = exact_top_k(ids, vectors, q, 10)
            t3 = time.perf_counter()
            encode_ms.append((t1 - t0) * 1e3)
            hnsw_ms.append((t2 - t0) * 1e3)
            exact_ms.append((t1 - t0 + t3 - t2) * 1e3)
            recall.append(len(set(got.tolist()) & set(want.tolist())) / 10)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def pct(values: list[float], q: int) -> float:
        return round(float(np.percentile(values, q)), 2)

    return {
        "vectors": n,
        "dim": int(vectors.shape[1]),
        "queries": len(queries),
        "build_s": round(build_s, 1),
        "text_encode_ms_p50": pct(encode_ms, 50),
        "hnsw_ms_p50": pct(hnsw_ms, 50),
        "hnsw_ms_p95": pct(hnsw_ms, 95),
        "exact_ms_p50": pct(exact_ms, 50),
        "exact_ms_p95": pct(exact_ms, 95),
        "hnsw_recall_at_10": round(float(np.mean(recall)), 4),
        "exact_over_hnsw_p95": round(pct(exact_ms, 95) / max(pct(hnsw_ms, 95), 1e-6), 2),
    }


def run_bench(lib: Library, args: argparse.Namespace) -> int:
    quiet = bool(args.json)
    result: dict[str, Any] = {"model": lib.model_id}
    if not args.skip_indexing:
        photos = Path(args.photos) if args.photos else repo_root().parent / "shared/photos-large"
        if photos.is_dir():
            result["indexing"] = bench_indexing(lib, photos, args.count, quiet)
        else:
            result["indexing"] = {"skipped": f"{photos} not found: pass --photos DIR"}
        r = result["indexing"]
        if "ratio" in r:
            _say(
                f"indexing {r['photos']} x 12 MP JPEG ({r['megabytes']} MB): pipeline "
                f"{r['pipeline_photos_per_s']} photos/s, naive {r['naive_photos_per_s']} "
                f"photos/s (on {r['naive_sample']}): ratio {r['ratio']}x",
                quiet,
            )
        else:
            _say(f"indexing: skipped ({r['skipped']})", quiet)
    if not args.skip_query:
        q = result["query"] = bench_query(lib, args.vectors, quiet)
        _say(
            f"query at {q['vectors']} x {q['dim']} ({q['queries']} text queries, encode "
            f"{q['text_encode_ms_p50']} ms p50): HNSW p50 {q['hnsw_ms_p50']} ms p95 "
            f"{q['hnsw_ms_p95']} ms; exact p50 {q['exact_ms_p50']} ms p95 {q['exact_ms_p95']} "
            f"ms; HNSW recall@10 {q['hnsw_recall_at_10']}; index build {q['build_s']} s",
            quiet,
        )
    if quiet:
        print(json.dumps(result, indent=2))
    return 0

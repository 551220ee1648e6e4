"""`mmsearch bench`: indexing speed on large real photos and query latency at 100k vectors.

Every figure is measured in the same run on the same machine, and comparisons are printed
as ratios, because absolute numbers on a shared machine drift from run to run.
"""

from __future__ import annotations

import argparse
import json
import os
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
from mmsearch.services.text import read_texts, shared_reader
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
            # The text pass that follows indexing (issue 12 §1), on the same photos.
            reader = shared_reader()
            reader.detect(Image.new("RGB", (64, 64)))  # sessions started outside the timing
            started = time.perf_counter()
            text = read_texts(ours, reader=reader)
            text_seconds = time.perf_counter() - started
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
            "text_pass_photos_per_s": round(text.read / text_seconds, 2),
            "text_pass_share_of_indexing": round(text_seconds / seconds, 2),
            "photos_holding_text": text.with_text,
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
    if getattr(args, "models", None):
        return run_compare(lib, args)
    result: dict[str, Any] = {"model": lib.model_id}
    if not args.skip_indexing:
        photos = Path(args.photos) if args.photos else repo_root().parent / "shared/photos-large"
        if photos.is_dir():
            result["indexing"] = bench_indexing(lib, photos, args.count or 200, quiet)
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
            _say(
                f"reading text after indexing: {r['text_pass_photos_per_s']} photos/s, "
                f"{r['text_pass_share_of_indexing']}x the indexing time "
                f"({r['photos_holding_text']} photos hold text)",
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


# -- several models side by side: `mmsearch bench --model A --model B ...` -------------------


def make_synthetic_photos(out: Path, count: int) -> list[Path]:
    """`count` 12 MP JPEGs with photo-like content (smooth colour fields, edges and sensor
    noise), for machines without real photos: their sizes and decoding cost are near those
    of camera JPEGs, but real photos are the better measure."""
    out.mkdir(parents=True, exist_ok=True)

    def make(i: int) -> Path:
        rng = np.random.default_rng(i)
        small = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
        im = small.resize(TWELVE_MP, Image.Resampling.BICUBIC)
        pixels = np.asarray(im, dtype=np.int16)
        pixels += rng.normal(0, 6, pixels.shape).astype(np.int16)
        im = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        path = out / f"synthetic_{i:04d}.jpg"
        im.save(path, quality=90)
        return path

    return sorted(bounded_map(make, range(count)))


def _photo_sources(photos_dir: Path | None) -> tuple[list[Path], str]:
    """Real JPEGs to make the 12 MP photos from, and where they come from (or why none)."""
    folder = photos_dir or repo_root().parent / "shared" / "photos-large"
    if not folder.is_dir():
        return [], f"{folder} not found: synthetic photos (pass --photos DIR for real ones)"
    sources = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg"})
    if not sources:
        return [], f"no JPEG photos in {folder}: synthetic photos"
    return sources, f"made from {len(sources)} real photos in {folder}"


def _round_folders(work: Path, paths: list[Path], rounds: int) -> list[Path]:
    """Spread the photos over one folder per round (each model indexes each folder once)."""
    folders = [work / f"round_{r}" for r in range(rounds)]
    for folder in folders:
        folder.mkdir(parents=True)
    for i, path in enumerate(paths):
        path.rename(folders[i % rounds] / path.name)
    return folders


def _library_for(model_id: str, model_dir: Path, data: Path) -> Library:
    """A fresh library in `data` that runs the installed model in `model_dir`."""
    ours = Library(data, model_id)
    ours.model_dir = model_dir  # the user's install, whatever the temporary folder's path
    return ours


def _warm_up(ours: Library) -> None:
    """Start both sessions outside the timed part (ONNX Runtime loads the graphs lazily)."""
    size = ours.model.spec.image.size
    ours.model.image.encode(np.zeros((1, 3, size, size), dtype=np.float32))
    ours.model.text.encode(["warm up"])


def _stages(ours: Library, sample: list[Path]) -> dict[str, float]:
    """Milliseconds per photo of each step on one thread: the app's reduced-size decode,
    preprocessing, and the image graph on one batch of the sample."""
    from mmsearch.media import decode_photo

    model = ours.model
    size = model.spec.image.size
    t0 = time.perf_counter()
    decoded = [decode_photo(p, min_side=size).image for p in sample]
    t1 = time.perf_counter()
    pixels = np.stack([model.image.preprocess(im) for im in decoded])
    t2 = time.perf_counter()
    model.image.encode(pixels)
    t3 = time.perf_counter()
    n = len(sample)
    return {
        "decode_ms": round((t1 - t0) * 1e3 / n, 1),
        "preprocess_ms": round((t2 - t1) * 1e3 / n, 1),
        "graph_ms": round((t3 - t2) * 1e3 / n, 1),
    }


def _index_round(ours: Library, folder: Path) -> tuple[int, float, float, int]:
    """Index one round's folder with the real pipeline: (photos added, seconds, CPU seconds
    of this process, failed)."""
    ours.catalog.add_folder(folder)
    target = [f for f in ours.catalog.folders() if f.path == Path(os.path.abspath(folder))]
    indexer = Indexer(ours)  # opens the index outside the timed part
    started, cpu = time.perf_counter(), time.process_time()
    report = indexer.run(target)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return report.added, seconds, cpu, len(report.failed)


def _query_round(ours: Library, queries: list[str]) -> list[float]:
    """Milliseconds to encode each query (one text at a time, as the search box does)."""
    times = []
    for query in queries:
        t0 = time.perf_counter()
        ours.model.text.encode([query])
        times.append((time.perf_counter() - t0) * 1e3)
    return times


_QUERY_WORDS = [
    "dog",
    "cat",
    "beach",
    "sunset",
    "mountain",
    "snow",
    "city",
    "street",
    "car",
    "bicycle",
    "child",
    "woman",
    "man",
    "boat",
    "river",
    "forest",
    "flower",
    "bird",
    "horse",
    "kitchen",
    "table",
    "birthday",
    "cake",
    "wedding",
    "dress",
    "train",
    "bridge",
    "night",
    "rain",
    "umbrella",
    "football",
    "match",
    "market",
    "fruit",
    "church",
    "tower",
    "desert",
    "camel",
    "lake",
    "swimming",
]


def bench_queries(count: int, seed: int = 0) -> list[str]:
    """Caption-like queries of 3-9 words (what people type), the same for every model."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        a, b, c = rng.sample(_QUERY_WORDS, 3)
        out.append(rng.choice([f"a {a}", f"a {a} and a {b}", f"a {a} near a {b} with a {c}"]))
    return out


def compare_models(
    lib: Library,
    model_ids: list[str],
    *,
    photos_dir: Path | None = None,
    count: int = 120,
    rounds: int = 3,
    queries: int = 60,
    quiet: bool = False,
) -> dict[str, Any]:
    """Photos/s of the real indexing pipeline and query (text encode) ms of each model, in
    one run: every model indexes the same 12 MP JPEGs, one folder per round, and the models
    take turns (round r starts with model r), so that whatever else the machine does hits
    them all alike. Ratios are to the first model."""
    from mmsearch.encoders import find_model_dir
    from mmsearch.paths import model_search_path

    ids = list(dict.fromkeys(model_ids))
    dirs = {m: find_model_dir(m, model_search_path(lib.data_dir)) for m in ids}
    rounds = max(1, min(rounds, count))
    cores = os.cpu_count() or 1
    sources, photos_note = _photo_sources(photos_dir)
    work = Path(tempfile.mkdtemp(prefix="mmsearch-bench-"))
    libs: dict[str, Library] = {}
    try:
        _say(f"making {count} 12 MP JPEGs ({photos_note}) ...", quiet)
        if sources:
            paths = make_large_photos(sources, work / "all", count)
        else:
            paths = make_synthetic_photos(work / "all", count)
        megabytes = sum(p.stat().st_size for p in paths) / 1e6
        for i, m in enumerate(ids):
            libs[m] = _library_for(m, dirs[m], work / f"data-{i}")
            _warm_up(libs[m])
        folders = _round_folders(work, paths, rounds)
        stages: dict[str, list[dict[str, float]]] = {m: [] for m in ids}
        texts = bench_queries(queries)
        per_round: dict[str, list[tuple[int, float]]] = {m: [] for m in ids}
        query_ms: dict[str, list[float]] = {m: [] for m in ids}
        failed = dict.fromkeys(ids, 0)
        cpu_s = dict.fromkeys(ids, 0.0)
        for r, folder in enumerate(folders):
            order = ids[r % len(ids) :] + ids[: r % len(ids)]
            for m in order:
                added, seconds, cpu, bad = _index_round(libs[m], folder)
                per_round[m].append((added, seconds))
                cpu_s[m] += cpu
                failed[m] += bad
                query_ms[m].extend(_query_round(libs[m], texts[r::rounds] or texts))
                stages[m].append(_stages(libs[m], sorted(folder.iterdir())[:4]))
                _say(f"  round {r + 1}/{rounds} {m}: {added / seconds:.2f} photos/s", quiet)
        rows: list[dict[str, Any]] = []
        for m in ids:
            added = sum(a for a, _ in per_round[m])
            seconds = sum(s for _, s in per_round[m])
            rates = [a / s for a, s in per_round[m] if s > 0]
            spec = libs[m].model.spec
            rows.append(
                {
                    "model": m,
                    "image_size": spec.image.size,
                    "photos": added,
                    "photos_per_s": round(added / seconds, 2),
                    "photos_per_s_best": round(max(rates), 2),
                    "photos_per_s_rounds": [round(x, 2) for x in rates],
                    # CPU time of all our threads per photo: what the pipeline costs, moved
                    # far less by other processes than the wall clock; cores / this estimates
                    # the rate on an idle machine (contention inflates CPU time somewhat too:
                    # cache, clocks, so it errs low on a busy machine).
                    "cpu_ms_per_photo": round(cpu_s[m] * 1e3 / max(added, 1), 1),
                    "photos_per_s_from_cpu": round(cores * added / max(cpu_s[m], 1e-9), 2),
                    "query_ms_p50": round(float(np.percentile(query_ms[m], 50)), 1),
                    "query_ms_p95": round(float(np.percentile(query_ms[m], 95)), 1),
                    "queries": len(query_ms[m]),
                    # The least of each step over the rounds: the machine's own cost, with
                    # the least of what other processes added.
                    "stages_ms_per_photo": {
                        k: min(st[k] for st in stages[m]) for k in stages[m][0]
                    },
                    "failed": failed[m],
                }
            )
    finally:
        for ours in libs.values():
            ours.close()
        shutil.rmtree(work, ignore_errors=True)
    first = rows[0]
    for row in rows:
        row["photos_per_s_ratio"] = round(row["photos_per_s"] / first["photos_per_s"], 2)
        row["best_ratio"] = round(row["photos_per_s_best"] / first["photos_per_s_best"], 2)
        row["query_ms_ratio"] = round(row["query_ms_p50"] / max(first["query_ms_p50"], 1e-6), 2)
    return {
        "photos": count,
        "megabytes": round(megabytes, 1),
        "photo_source": photos_note,
        "rounds": rounds,
        "cores": cores,
        "models": rows,
    }


def format_compare(result: dict[str, Any]) -> str:
    """The comparison as a table (ratios are to the first model)."""
    rows = result["models"]
    w = max(len("model"), *(len(r["model"]) for r in rows))
    lines = [
        f"{result['photos']} x 12 MP JPEG ({result['megabytes']} MB, {result['photo_source']}); "
        f"{result['rounds']} rounds, models taking turns; ratios to {rows[0]['model']}",
        f"{'':<{w}}        indexing photos/s            query ms (text)      "
        f"CPU ms/photo (-> photos/s on {result['cores']} idle cores)  1 thread: decode prep graph",
        f"{'model':<{w}}  size    all  ratio   best  ratio    p50    p95  ratio   "
        f"{'rounds (photos/s)':>68}",
    ]
    for r in rows:
        st = r["stages_ms_per_photo"]
        spread = " ".join(f"{x:.1f}" for x in r["photos_per_s_rounds"])
        lines.append(
            f"{r['model']:<{w}}  {r['image_size']:>4}  {r['photos_per_s']:>5.1f}  "
            f"{r['photos_per_s_ratio']:>4.2f}x  {r['photos_per_s_best']:>5.1f}  "
            f"{r['best_ratio']:>4.2f}x  {r['query_ms_p50']:>5.1f}  {r['query_ms_p95']:>5.1f}  "
            f"{r['query_ms_ratio']:>4.2f}x   {r['cpu_ms_per_photo']:>6.1f} "
            f"({r['photos_per_s_from_cpu']:>5.1f}/s)                  {st['decode_ms']:>5.1f} "
            f"{st['preprocess_ms']:>4.1f} {st['graph_ms']:>6.1f}   {spread}"
            + (f"  ({r['failed']} failed)" if r["failed"] else "")
        )
    return "\n".join(lines)


def run_compare(lib: Library, args: argparse.Namespace) -> int:
    quiet = bool(args.json)
    result = compare_models(
        lib,
        list(args.models),
        photos_dir=Path(args.photos) if args.photos else None,
        count=args.count or 120,
        rounds=args.rounds,
        queries=args.queries,
        quiet=quiet,
    )
    if quiet:
        print(json.dumps(result, indent=2))
    else:
        print(format_compare(result), flush=True)
    return 0

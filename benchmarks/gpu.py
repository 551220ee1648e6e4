"""GPU benchmark (issue: GPU acceleration). One run prints, for CPU and GPU side by side:

1. ViT-B-32-shaped image encoder throughput (random weights: the cost is the same), ONNX
   Runtime, float32 on the CPU and float16 on CUDA;
2. end-to-end indexing photos/s on generated 12 MP JPEGs, CPU pipeline vs GPU pipeline,
   with decode-only and encode-only rates so it says which stage limits;
3. exact matching latency p50/p95 at N x 512 (default 1M) on the GPU (the device
   matcher, float16), exact on the CPU (numpy), HNSW on the CPU, and HNSW recall@10.

Needs the build extra (torch, open_clip_torch) to export the ViT-B-32 graph, and
`onnxruntime-gpu` for the GPU columns; without a GPU it prints the CPU columns only.
Sized to finish in under 8 minutes on an H200 machine; `--quick` for a smoke run here.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mmsearch.encoders.providers import CPU, CUDA, choose_device
from mmsearch.index import VectorIndex, exact_top_k
from mmsearch.index.matcher import DeviceMatcher
from mmsearch.media import decode_photo
from mmsearch.services.workers import bounded_map


def say(text: str) -> None:
    print(text, flush=True)


def export_vit_b_32(folder: Path) -> tuple[Path, Path]:
    """ViT-B-32 image tower with random weights, as float32 and float16 ONNX."""
    import onnx
    import open_clip
    import torch
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = open_clip.create_model("ViT-B-32", pretrained=None).visual.eval()
    fp32 = folder / "vit_b_32.onnx"
    torch.onnx.export(
        model,
        (torch.randn(1, 3, 224, 224),),
        str(fp32),
        input_names=["pixels"],
        output_names=["embedding"],
        dynamic_axes={"pixels": {0: "n"}, "embedding": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    fp16 = folder / "vit_b_32_fp16.onnx"
    onnx.save(convert_float_to_float16(onnx.load(str(fp32)), keep_io_types=True), str(fp16))
    return fp32, fp16


def encoder_rate(model: Path, providers: list[str], batch: int, seconds: float) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=providers)
    x = np.random.default_rng(0).normal(size=(batch, 3, 224, 224)).astype(np.float32)
    session.run(None, {"pixels": x})  # warm-up (CUDA kernels, memory arena)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        session.run(None, {"pixels": x})
        done += batch
    return done / (time.perf_counter() - started)


def make_jpegs(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, size=(300, 400, 3), dtype=np.uint8)
    big = Image.fromarray(base).resize((4000, 3000), Image.Resampling.BICUBIC)
    encoded = io.BytesIO()
    big.save(encoded, "JPEG", quality=90)
    paths = []
    for i in range(count):  # distinct files (hashes) with the same decode cost
        path = folder / f"p{i:04d}.jpg"
        path.write_bytes(encoded.getvalue() + i.to_bytes(4, "little"))
        paths.append(path)
    return paths


def pipeline_rates(
    paths: list[Path], model: Path, providers: list[str], batch: int
) -> dict[str, float]:
    """Decode-only, encode-only and end-to-end (decode on threads, encode in batches)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=providers)

    def pixels(path: Path) -> np.ndarray:
        image = decode_photo(path, min_side=224).image.resize((224, 224))
        return (np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0 - 0.45) / 0.27

    started = time.perf_counter()
    decoded = list(bounded_map(pixels, paths, workers=os.cpu_count()))
    decode_rate = len(paths) / (time.perf_counter() - started)
    stack = np.stack(decoded[:batch])
    session.run(None, {"pixels": stack})
    started = time.perf_counter()
    for start in range(0, len(decoded), batch):
        session.run(None, {"pixels": np.stack(decoded[start : start + batch])})
    encode_rate = len(decoded) / (time.perf_counter() - started)
    started = time.perf_counter()
    pending: list[np.ndarray] = []
    for item in bounded_map(pixels, paths, workers=os.cpu_count()):
        pending.append(item)
        if len(pending) == batch:
            session.run(None, {"pixels": np.stack(pending)})
            pending = []
    if pending:
        session.run(None, {"pixels": np.stack(pending)})
    total_rate = len(paths) / (time.perf_counter() - started)
    return {"decode": decode_rate, "encode": encode_rate, "end_to_end": total_rate}


def matching(n: int, dim: int, queries: int, gpu: bool, hnsw: bool) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(2000, dim)).astype(np.float32)
    vectors = centers[rng.integers(0, 2000, n)] + rng.normal(scale=0.5, size=(n, dim)).astype(
        np.float32
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(n, dtype=np.int64)
    qs = vectors[rng.integers(0, n, queries)] + rng.normal(scale=0.3, size=(queries, dim)).astype(
        np.float32
    )
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    out: dict[str, Any] = {"vectors": n, "dim": dim, "queries": queries}

    def timed(search: Any) -> tuple[list[np.ndarray], float, float]:
        found, lat = [], []
        for q in qs:
            t = time.perf_counter()
            found.append(search(q))
            lat.append((time.perf_counter() - t) * 1e3)
        return found, float(np.percentile(lat, 50)), float(np.percentile(lat, 95))

    exact, p50, p95 = timed(lambda q: exact_top_k(ids, vectors, q, 10)[0])
    out["exact_cpu_ms"] = (round(p50, 2), round(p95, 2))
    if gpu:
        matcher = DeviceMatcher(ids, vectors, device="cuda")
        matcher.search(qs[0], 10)
        got, p50, p95 = timed(lambda q: matcher.search(q, 10)[0])
        out["exact_gpu_ms"] = (round(p50, 2), round(p95, 2))
        out["gpu_recall_at_10_vs_exact"] = round(
            float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, exact, strict=True)])), 4
        )
    if hnsw:
        work = Path(tempfile.mkdtemp())
        try:
            started = time.perf_counter()
            index = VectorIndex(work, "bench", dim)
            index.add(ids, vectors)
            out["hnsw_build_s"] = round(time.perf_counter() - started, 1)
            got, p50, p95 = timed(lambda q: index.search(q, 10)[0])
            out["hnsw_cpu_ms"] = (round(p50, 2), round(p95, 2))
            out["hnsw_recall_at_10"] = round(
                float(
                    np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, exact, strict=True)])
                ),
                4,
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--photos", type=int, default=400)
    parser.add_argument("--no-hnsw", action="store_true")
    args = parser.parse_args()
    n = 20_000 if args.quick else args.vectors
    photos = 40 if args.quick else args.photos
    seconds = 3.0 if args.quick else 15.0
    choice = choose_device("auto")
    gpu = choice.device == "cuda"
    say(f"device: {choice.label} ({choice.reason}); CPU cores: {os.cpu_count()}")
    results: dict[str, Any] = {"device": choice.label}
    work = Path(tempfile.mkdtemp(prefix="mmsearch-gpu-bench-"))
    try:
        t0 = time.perf_counter()
        fp32, fp16 = export_vit_b_32(work)
        say(f"exported ViT-B-32 (random weights) in {time.perf_counter() - t0:.0f} s")
        enc: dict[str, float] = {"cpu_fp32": encoder_rate(fp32, [CPU], 32, seconds)}
        if gpu:
            enc["gpu_fp16"] = encoder_rate(fp16, [CUDA, CPU], 256, seconds)
        results["encoder_images_per_s"] = {k: round(v, 1) for k, v in enc.items()}
        say(f"ViT-B-32 image encoder: {results['encoder_images_per_s']} images/s")

        paths = make_jpegs(work / "photos", photos)
        pipe = {"cpu": pipeline_rates(paths, fp32, [CPU], 32)}
        if gpu:
            pipe["gpu"] = pipeline_rates(paths, fp16, [CUDA, CPU], 128)
        for name, rates in pipe.items():
            limit = "decoding" if rates["decode"] < rates["encode"] else "encoding"
            say(
                f"indexing 12 MP JPEGs, {name} pipeline: {rates['end_to_end']:.1f} photos/s "
                f"(decode alone {rates['decode']:.1f}/s, encode alone {rates['encode']:.1f}/s: "
                f"{limit} limits)"
            )
        results["indexing_photos_per_s"] = {
            k: {s: round(v, 1) for s, v in r.items()} for k, r in pipe.items()
        }
        t0 = time.perf_counter()
        m = matching(n, 512, 200, gpu, not args.no_hnsw)
        results["matching"] = m
        say(f"matching {n:,} x 512 ({time.perf_counter() - t0:.0f} s): {json.dumps(m)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

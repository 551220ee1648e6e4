"""GPU benchmark (issue: GPU acceleration). One run prints, CPU and GPU side by side:

1. ViT-B-32-shaped image encoder throughput (random weights: the cost is the same), ONNX
   Runtime, float32 on the CPU and float16 on CUDA;
2. end-to-end indexing photos/s on generated 12 MP JPEGs: the CPU pipeline (libjpeg
   DCT-scaled decoding on threads, float32 encoder on the CPU) against the GPU pipeline
   (nvJPEG batch decoding when torch has CUDA, float16 encoder on CUDA) and the GPU encoder
   fed by the CPU decoder; each with decode-only and encode-only rates, and which stage
   limits it;
3. exact matching latency p50/p95 at N x 512 (default 1M): on the GPU (the device matcher,
   float16, unfiltered and with a 10% filter mask), exact on the CPU (numpy), HNSW on the
   CPU, and HNSW recall@10 against exact.

Needs the build extra (torch, open_clip_torch) to export the ViT-B-32 graph, and
`onnxruntime-gpu` (plus torch with CUDA for nvJPEG) for the GPU columns; without a GPU it
prints the CPU columns, and runs the GPU paths' code on the CPU (torchvision batch decoding,
the ONNX matcher graph) so that a smoke run exercises them. Sized to finish in under 8
minutes on one H200 machine (16 cores); `--quick` for a smoke run on a laptop.

    .venv/bin/python benchmarks/gpu.py            # the full run (a GPU machine)
    .venv/bin/python benchmarks/gpu.py --quick    # small sizes, minutes on 2 cores
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mmsearch.devices import CPU, CUDA, choose_device
from mmsearch.index import VectorIndex, exact_top_k
from mmsearch.index.matcher import DeviceMatcher
from mmsearch.media import DecodedPhoto
from mmsearch.media.batch_decode import BatchDecoder, CpuDecoder

SIZE = 224
MEAN = np.array([0.481, 0.458, 0.408], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.269, 0.261, 0.276], dtype=np.float32).reshape(3, 1, 1)
_started = time.perf_counter()


def say(text: str) -> None:
    print(f"[{time.perf_counter() - _started:6.1f} s] {text}", flush=True)


# -- 1. the encoder -----------------------------------------------------------------------------


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
        (torch.randn(1, 3, SIZE, SIZE),),
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


def session(model: Path, providers: list[str]) -> Any:
    import onnxruntime as ort

    return ort.InferenceSession(str(model), providers=providers)


def encoder_rate(model: Path, providers: list[str], batch: int, seconds: float) -> float:
    run = session(model, providers)
    x = np.random.default_rng(0).normal(size=(batch, 3, SIZE, SIZE)).astype(np.float32)
    run.run(None, {"pixels": x})  # warm-up (CUDA kernels, memory arena)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        run.run(None, {"pixels": x})
        done += batch
    return done / (time.perf_counter() - started)


# -- 2. indexing --------------------------------------------------------------------------------


def make_jpegs(folder: Path, count: int) -> list[Path]:
    """`count` distinct 12 MP (4000 x 3000) JPEGs with a photo-like spectrum: smooth
    gradients and shapes plus sensor-like noise (pure noise would make libjpeg's job
    unrealistically hard, flat colour unrealistically easy)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, size=(30, 40, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((4000, 3000), Image.Resampling.BICUBIC))
    noisy = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    encoded = io.BytesIO()
    Image.fromarray(noisy).save(encoded, "JPEG", quality=90)
    paths = []
    for i in range(count):  # distinct files (hashes) with the same decode cost
        path = folder / f"p{i:04d}.jpg"
        path.write_bytes(encoded.getvalue() + i.to_bytes(4, "little"))
        paths.append(path)
    return paths


def to_pixels(photo: DecodedPhoto) -> np.ndarray:
    """A decoded photo (shorter side 224) -> (3, 224, 224) normalised, centre crop."""
    image = photo.image
    left, top = (image.width - SIZE) // 2, (image.height - SIZE) // 2
    crop = np.asarray(image.crop((left, top, left + SIZE, top + SIZE)), dtype=np.float32)
    return (crop.transpose(2, 0, 1) / 255.0 - MEAN) / STD


def decode_pixels(decoder: BatchDecoder, paths: Sequence[Path]) -> np.ndarray:
    out = []
    for result in decoder.decode_batch(paths, SIZE):
        if not isinstance(result, DecodedPhoto):
            raise RuntimeError(f"a benchmark JPEG failed to decode: {result}")
        out.append(to_pixels(result))
    return np.stack(out)


def pipeline_rates(
    paths: list[Path], decoder: BatchDecoder, model: Path, providers: list[str], batch: int
) -> dict[str, float]:
    """Decode-only, encode-only and end-to-end photos/s; end to end decodes the next batch
    while the current one is encoded (as the indexer does, with its worker threads)."""
    run = session(model, providers)
    batches = [paths[i : i + batch] for i in range(0, len(paths), batch)]
    decode_pixels(decoder, batches[0][:2])  # warm-up (nvJPEG handles, thread pools)
    started = time.perf_counter()
    decoded = [decode_pixels(decoder, b) for b in batches]
    decode_rate = len(paths) / (time.perf_counter() - started)
    run.run(None, {"pixels": decoded[0]})  # warm-up
    started = time.perf_counter()
    for pixels in decoded:
        run.run(None, {"pixels": pixels})
    encode_rate = len(paths) / (time.perf_counter() - started)
    del decoded
    started = time.perf_counter()
    with ThreadPoolExecutor(1) as ahead:
        pending = ahead.submit(decode_pixels, decoder, batches[0])
        for following in [*batches[1:], None]:
            pixels = pending.result()
            if following is not None:
                pending = ahead.submit(decode_pixels, decoder, following)
            run.run(None, {"pixels": pixels})
    total_rate = len(paths) / (time.perf_counter() - started)
    return {"decode": decode_rate, "encode": encode_rate, "end_to_end": total_rate}


def report_pipeline(name: str, rates: dict[str, float]) -> None:
    limit = "decoding" if rates["decode"] < rates["encode"] else "encoding"
    ceiling = min(rates["decode"], rates["encode"])
    say(
        f"indexing 12 MP JPEGs, {name}: {rates['end_to_end']:.1f} photos/s end to end "
        f"(decode alone {rates['decode']:.1f}/s, encode alone {rates['encode']:.1f}/s): "
        f"{limit} limits ({rates['end_to_end'] / ceiling:.0%} of the slower stage's rate)"
    )


# -- 3. matching --------------------------------------------------------------------------------


def clustered_unit_vectors(n: int, dim: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """Photo libraries are clustered, not uniform: n vectors around 2,000 centres, and
    queries near existing vectors."""
    rng = np.random.default_rng(1)
    centers = rng.standard_normal((2000, dim), dtype=np.float32)
    vectors = np.empty((n, dim), dtype=np.float32)
    step = 100_000
    for start in range(0, n, step):  # in slices: bounded temporaries at 1M x 512
        count = min(step, n - start)
        part = centers[rng.integers(0, 2000, count)]
        part += 0.5 * rng.standard_normal((count, dim), dtype=np.float32)
        part /= np.linalg.norm(part, axis=1, keepdims=True)
        vectors[start : start + count] = part
    qs = vectors[rng.integers(0, n, queries)] + 0.3 * rng.standard_normal(
        (queries, dim), dtype=np.float32
    )
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    return vectors, qs


def timed(qs: np.ndarray, search: Callable[[np.ndarray], np.ndarray]) -> tuple[list[Any], str]:
    found, lat = [], []
    for q in qs:
        t = time.perf_counter()
        found.append(search(q))
        lat.append((time.perf_counter() - t) * 1e3)
    p50, p95 = np.percentile(lat, 50), np.percentile(lat, 95)
    return found, f"p50 {p50:.2f} ms, p95 {p95:.2f} ms"


def recall(got: list[np.ndarray], want: list[np.ndarray]) -> float:
    hits = [len(set(a.tolist()) & set(b.tolist())) / len(b) for a, b in zip(got, want, strict=True)]
    return round(float(np.mean(hits)), 4)


def matching(n: int, dim: int, queries: int, gpu: bool, hnsw: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    vectors, qs = clustered_unit_vectors(n, dim, queries)
    ids = np.arange(1, n + 1, dtype=np.int64)
    out: dict[str, Any] = {"vectors": n, "dim": dim, "queries": queries}
    say(f"made {n:,} x {dim} clustered unit vectors in {time.perf_counter() - t0:.0f} s")

    exact, out["exact_cpu_numpy"] = timed(qs, lambda q: exact_top_k(ids, vectors, q, 10)[0])
    say(f"exact on the CPU (numpy): {out['exact_cpu_numpy']}")
    allowed = ids[ids % 10 == 3]  # a filter keeping 10%
    keep = np.isin(ids, allowed)
    if gpu:
        t0 = time.perf_counter()
        matcher = DeviceMatcher(ids, vectors, device="cuda")
        out["gpu_upload_s"] = round(time.perf_counter() - t0, 2)
        matcher.search(qs[0], 10)  # warm-up
        got, out["exact_gpu_fp16"] = timed(qs, lambda q: matcher.search(q, 10)[0])
        out["gpu_recall_at_10_vs_exact"] = recall(got, exact)
        say(
            f"exact on the GPU (float16): {out['exact_gpu_fp16']}, recall@10 "
            f"{out['gpu_recall_at_10_vs_exact']} (upload {out['gpu_upload_s']} s)"
        )
        got, out["exact_gpu_fp16_filtered_10pct"] = timed(
            qs[:50], lambda q: matcher.search(q, 10, allowed)[0]
        )
        kept_ids, kept = ids[keep], vectors[keep]
        want = [exact_top_k(kept_ids, kept, q, 10)[0] for q in qs[:50]]
        del kept
        out["gpu_filtered_recall_at_10"] = recall(got, want)
        say(
            f"exact on the GPU, 10% filter mask: {out['exact_gpu_fp16_filtered_10pct']}, "
            f"recall@10 {out['gpu_filtered_recall_at_10']}"
        )
        del matcher
    else:  # no GPU: the GPU matcher's graph through ONNX Runtime's CPU provider
        matcher = DeviceMatcher(ids, vectors, device="cpu")
        got, out["exact_cpu_onnx_graph"] = timed(qs, lambda q: matcher.search(q, 10)[0])
        out["onnx_graph_recall_at_10_vs_exact"] = recall(got, exact)
        say(
            f"the GPU matcher's graph on the CPU (float32): {out['exact_cpu_onnx_graph']}, "
            f"recall@10 {out['onnx_graph_recall_at_10_vs_exact']}"
        )
        del matcher
    if hnsw:
        work = Path(tempfile.mkdtemp())
        try:
            t0 = time.perf_counter()
            index = VectorIndex(work, "bench", dim)
            index.add(ids, vectors)
            out["hnsw_build_s"] = round(time.perf_counter() - t0, 1)
            say(f"built HNSW over {n:,} vectors in {out['hnsw_build_s']} s")
            index.search(qs[0], 10)
            got, out["hnsw_cpu"] = timed(qs, lambda q: index.search(q, 10)[0])
            out["hnsw_recall_at_10"] = recall(got, exact)
            say(f"HNSW on the CPU: {out['hnsw_cpu']}, recall@10 {out['hnsw_recall_at_10']}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return out


# -- the run ------------------------------------------------------------------------------------


def gpu_decoder(gpu: bool) -> tuple[BatchDecoder | None, str]:
    """The batch decoder of the GPU pipeline: nvJPEG when torch has CUDA; without a GPU the
    same code on torchvision's CPU decoder (to exercise it), or None with why not."""
    try:
        from mmsearch.media.gpu_decode import TorchJpegDecoder, gpu_decode_status
    except Exception as e:
        return None, f"GPU decoding unavailable ({e})"
    ok, why = gpu_decode_status("cuda")
    if ok:
        return TorchJpegDecoder("cuda"), why
    if not gpu:
        ok_cpu, _ = gpu_decode_status("cpu")
        if ok_cpu:
            return TorchJpegDecoder("cpu"), f"no GPU decoding ({why}): its code on the CPU"
    return None, why


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--photos", type=int, default=384)
    parser.add_argument("--no-hnsw", action="store_true", help="skip building the HNSW index")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    n = 20_000 if args.quick else args.vectors
    photos = 32 if args.quick else args.photos
    seconds = 3.0 if args.quick else 15.0
    queries = 50 if args.quick else args.queries
    choice = choose_device("auto")
    gpu = choice.device == "cuda"
    cores = os.cpu_count()
    say(f"device: {choice.label} ({choice.reason}); CPU cores: {cores}")
    results: dict[str, Any] = {"device": choice.label, "reason": choice.reason, "cores": cores}
    work = Path(tempfile.mkdtemp(prefix="mmsearch-gpu-bench-"))
    try:
        try:
            t0 = time.perf_counter()
            fp32, fp16 = export_vit_b_32(work)
            say(f"exported ViT-B-32 (random weights) in {time.perf_counter() - t0:.0f} s")
        except ImportError as e:
            say(f"skipping the encoder and indexing figures: {e} (needs the build extra)")
            fp32 = fp16 = None
        if fp32 is not None and fp16 is not None:
            enc: dict[str, float] = {"cpu_fp32": encoder_rate(fp32, [CPU], 32, seconds)}
            if gpu:
                enc["gpu_fp16"] = encoder_rate(fp16, [CUDA, CPU], 256, seconds)
            results["encoder_images_per_s"] = {k: round(v, 1) for k, v in enc.items()}
            say(f"ViT-B-32 image encoder: {results['encoder_images_per_s']} images/s")

            paths = make_jpegs(work / "photos", photos)
            say(f"made {photos} 12 MP JPEGs ({paths[0].stat().st_size / 1e6:.1f} MB each)")
            cpu_decoder = CpuDecoder()
            pipes = {"CPU pipeline": pipeline_rates(paths, cpu_decoder, fp32, [CPU], 32)}
            report_pipeline("CPU pipeline", pipes["CPU pipeline"])
            batch_decoder, why = gpu_decoder(gpu)
            if gpu:
                name = "GPU encoder, CPU decoding"
                pipes[name] = pipeline_rates(paths, cpu_decoder, fp16, [CUDA, CPU], 128)
                report_pipeline(name, pipes[name])
            if batch_decoder is not None:
                name = (
                    "GPU pipeline (nvJPEG + GPU encoder)"
                    if gpu
                    else ("batch torchvision decoding on the CPU (the GPU pipeline's code, no GPU)")
                )
                model, providers = (fp16, [CUDA, CPU]) if gpu else (fp32, [CPU])
                pipes[name] = pipeline_rates(
                    paths, batch_decoder, model, providers, 128 if gpu else 32
                )
                report_pipeline(name, pipes[name])
            else:
                say(f"no GPU decoding pipeline: {why}")
            results["indexing_photos_per_s"] = {
                k: {s: round(v, 1) for s, v in r.items()} for k, r in pipes.items()
            }
        say(f"matching {n:,} x 512 ...")
        results["matching"] = matching(n, 512, queries, gpu, not args.no_hnsw)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["seconds"] = round(time.perf_counter() - _started, 1)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    say(f"done in {results['seconds']} s")
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    raise SystemExit(main())

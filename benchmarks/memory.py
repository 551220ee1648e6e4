"""Peak memory of indexing a folder of huge photos (20 PNGs of 200 MP by default).

The PNGs (14142x14142 RGB, simple content) are written once, streamed row by row, into a
cache folder and reused; each copy differs by a text chunk so that every one is decoded.
`mmsearch index` runs in a child process with a fresh data folder and the child's peak RSS
(ru_maxrss) is printed; `--no-budget` runs it with the decode budget out of the way (as
before the budget existed: one full-size decode per worker).

Run: `PYTHONPATH=. .venv/bin/python benchmarks/memory.py [--no-budget] [--count 20]`.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def write_png(path: Path, side: int) -> None:
    """An RGB PNG of side x side of coloured tiles, streamed (never all in memory)."""
    x = np.arange(side, dtype=np.uint32)
    compressor = zlib.compressobj(6)
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    parts = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header)]
    idat: list[bytes] = []
    for band in range(0, side, 64):
        y = band // 64
        row = np.stack([(x // 64 + y) % 256, (x // 256 * 7) % 256, (x // 64 * y) % 256], axis=1)
        line = b"\x00" + row.astype(np.uint8).tobytes()
        idat.append(compressor.compress(line * min(64, side - band)))
    idat.append(compressor.flush())
    data = b"".join(idat)
    for start in range(0, len(data), 1 << 20):
        parts.append(_chunk(b"IDAT", data[start : start + (1 << 20)]))
    parts.append(_chunk(b"IEND", b""))
    path.write_bytes(b"".join(parts))


def make_folder(cache: Path, count: int, side: int) -> Path:
    folder = cache / f"png-{side}-{count}"
    if folder.is_dir() and len(list(folder.glob("*.png"))) == count:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    base = cache / f"base-{side}.png"
    if not base.is_file():
        started = time.perf_counter()
        write_png(base, side)
        print(
            f"wrote {base} ({base.stat().st_size / 1e6:.1f} MB) in "
            f"{time.perf_counter() - started:.1f} s"
        )
    data = base.read_bytes()
    ihdr_end = 8 + 25
    for i in range(count):
        text = _chunk(b"tEXt", b"Comment\x00copy %d" % i)
        (folder / f"huge{i:02d}.png").write_bytes(data[:ihdr_end] + text + data[ihdr_end:])
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--side", type=int, default=14142, help="pixels (14142: 200 MP)")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "mmsearch-memory"
    )
    parser.add_argument("--no-budget", action="store_true", help="decode budget out of the way")
    parser.add_argument("--budget-mb", type=int, help="decode budget in MB")
    args = parser.parse_args()
    from mmsearch.paths import BUNDLED_MODEL_ID
    from tests.conftest import _built_model

    model = _built_model(BUNDLED_MODEL_ID)
    folder = make_folder(args.cache, args.count, args.side)
    home = Path(tempfile.mkdtemp(prefix="mmsearch-memory-home-"))
    env = dict(os.environ, MMSEARCH_HOME=str(home), MMSEARCH_MODELS=str(model.parent))
    env["PYTHONPATH"] = str(REPO)
    if args.no_budget:
        env["MMSEARCH_DECODE_MEMORY_MB"] = "1000000"
    elif args.budget_mb:
        env["MMSEARCH_DECODE_MEMORY_MB"] = str(args.budget_mb)
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "mmsearch", "index", str(folder), "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    shutil.rmtree(home, ignore_errors=True)
    if run.returncode != 0:
        print(run.stderr[-2000:])
        return 1
    import json

    report = json.loads(run.stdout)
    mp = args.side * args.side / 1e6
    print(
        f"{args.count} PNGs of {mp:.0f} MP, {'no budget' if args.no_budget else 'budget'}: "
        f"added {report['added']}, failed {len(report['failed'])}, {seconds:.1f} s, "
        f"peak RSS {peak_mb:.0f} MB (workers: {os.cpu_count()} cores)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

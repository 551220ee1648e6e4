"""Catalogue models side by side (issue #14 §4): export, import, `mmsearch bench --model ...`.

Pretrained weights can't be downloaded here, so each catalogue model is exported by our
recipe with random weights (the same graph, so the same speed), installed with
`mmsearch models import` into a temporary data folder, and measured by one
`mmsearch bench --model A --model B ...` run: photos/s of the real indexing pipeline on
12 MP JPEGs made from ../shared/photos-large and query (text encode) ms, the models taking
turns, ratios to the first (ViT-B-32).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/models.py            # the 4 models
    PYTHONPATH=$PWD .venv/bin/python benchmarks/models.py --models clip-vit-b-32-openai \
        mobileclip2-s0 --count 60 --rounds 2 --json

Exports are cached in $MMSEARCH_BENCH_EXPORTS (default /tmp/mmsearch-bench-exports),
keyed by the spec and the recipe, made one at a time, fp32 only (`--no-fp16`: the CPU runs
fp32); each takes 20-40 s and ~300-600 MB. Needs the build extra (torch, open_clip).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = Path(str(resources.files("mmsearch.services.models") / "specs"))
DEFAULT_MODELS = ["clip-vit-b-32-openai", "mobileclip2-s0", "mobileclip-s2", "mobileclip-b"]


def exports_dir() -> Path:
    return Path(os.environ.get("MMSEARCH_BENCH_EXPORTS", "/tmp/mmsearch-bench-exports"))


def cached_export(model_id: str, caches: list[Path]) -> Path | None:
    """An export of `model_id` already made by the parity tests (`<cache>/<id>-<key>/`, the
    same random-weight graphs: speed does not depend on the weights), if there is one."""
    for cache in caches:
        for folder in sorted(cache.glob(f"{model_id}-*")):
            key = folder.name[len(model_id) + 1 :]
            made = (folder / "manifest.json").is_file() or (folder / "config.json").is_file()
            if folder.is_dir() and key.isalnum() and made:
                return folder
    return None


def export(model_id: str, caches: list[Path] | None = None) -> Path:
    """The recipe's random-weight export of `model_id`, made if not cached."""
    found = cached_export(model_id, caches or [])
    if found is not None:
        return found
    spec = SPECS / f"{model_id}.json"
    if not spec.is_file():
        raise SystemExit(
            f"no catalogue entry {spec}: known: {sorted(p.stem for p in SPECS.glob('*.json'))}"
        )
    digest = hashlib.sha256(spec.read_bytes())
    digest.update((ROOT / "models" / "clip" / "export.py").read_bytes())
    folder = exports_dir() / f"{model_id}-{digest.hexdigest()[:12]}"
    if (folder / "manifest.json").is_file():
        return folder
    print(f"exporting {model_id} (random weights) to {folder} ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "models.clip.export", "--spec", str(spec), "--random",
         "--no-fp16", "--out", str(folder)],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return folder


def mmsearch(data: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "mmsearch", "--data-dir", str(data), *args], check=True, cwd=ROOT
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS, metavar="ID")
    parser.add_argument("--count", default="120", help="12 MP photos (120)")
    parser.add_argument("--rounds", default="3")
    parser.add_argument("--queries", default="60")
    parser.add_argument("--photos", help="folder of real photos (default: ../shared/photos-large)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", type=Path, help="install into this data folder and keep it")
    parser.add_argument(
        "--exports",
        type=Path,
        action="append",
        default=[],
        help="also reuse the exports in this folder (e.g. build/cache/clip-parity)",
    )
    args = parser.parse_args()
    folders = {m: export(m, args.exports) for m in args.models}  # one at a time
    data = args.keep or Path(tempfile.mkdtemp(prefix="mmsearch-bench-data-"))
    try:
        for model_id, folder in folders.items():
            if not (data / "models" / model_id / "model.json").is_file():
                mmsearch(data, "models", "import", str(folder), "--id", model_id)
        bench = ["bench", "--count", args.count, "--rounds", args.rounds]
        bench += ["--queries", args.queries]
        if args.photos:
            bench += ["--photos", args.photos]
        for model_id in args.models:
            bench += ["--model", model_id]
        if args.json:
            bench.append("--json")
        print("$ mmsearch --data-dir DATA " + " ".join(bench), flush=True)
        mmsearch(data, *bench)
    finally:
        if args.keep is None:
            shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

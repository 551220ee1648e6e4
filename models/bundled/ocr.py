"""The OCR model the app reads text in photos with (issue 12 §1): PP-OCRv4's mobile text
detector and Chinese + English recogniser (PaddleOCR's, Apache-2.0), as ONNX graphs from
the `rapidocr-onnxruntime` package (a build dependency only: the app runs them with its
own pre- and post-processing, `mmsearch.ocr`, and needs none of that package's OpenCV).

    python -m models.bundled.build     # builds this too, into build/ocr/pp-ocrv4/

Idempotent (returns at once when the manifest names the same package version and the
files still have their SHA-256) and atomic (written beside the target, renamed into place).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from mmsearch.datafiles import manifest_current
from mmsearch.encoders.spec import sha256_file
from mmsearch.files import write_json
from mmsearch.ocr.reader import MANIFEST, MODEL_NAME, OCR_DIR_NAME
from models.bundled.packages import package_data

PACKAGE = "rapidocr_onnxruntime"
SOURCES = {
    "detect": "ch_PP-OCRv4_det_infer.onnx",
    "recognise": "ch_PP-OCRv4_rec_infer.onnx",
}


def build(out: Path, force: bool = False, log: Any = print) -> Path:
    """Copy the OCR graphs into `out/pp-ocrv4/` with their manifest; return that folder."""
    source, version = package_data(PACKAGE, "models")  # without importing it: it imports OpenCV
    target = Path(out) / OCR_DIR_NAME
    if not force and manifest_current(target, MANIFEST, f"{PACKAGE} {version}"):
        log(f"{target}: up to date")
        return target
    staging = target.with_name(f".{target.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    files, sums = {}, {}
    for role, name in SOURCES.items():
        shutil.copyfile(source / name, staging / f"{role}.onnx")
        files[role] = f"{role}.onnx"
        sums[files[role]] = sha256_file(staging / files[role])
    write_json(
        staging / MANIFEST,
        {
            "model": MODEL_NAME,
            "source": f"{PACKAGE} {version}",
            "license": "Apache-2.0 (PaddleOCR's PP-OCRv4 models, via rapidocr-onnxruntime)",
            "files": files,
            "sha256": sums,
        },
    )
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    log(f"{target}: OCR model from {PACKAGE} {version}")
    return target

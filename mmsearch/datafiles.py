"""Data folders `make install` builds beside the models (the OCR model, the place
database): each is described by a JSON manifest that names its files and their SHA-256, so
a damaged or half-copied file is a clear error naming the fix instead of wrong answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmsearch.encoders.spec import ModelError, sha256_file


def read_manifest(folder: Path, manifest: str, what: str, fix: str) -> dict[str, Any]:
    """The manifest `folder/manifest`, after checking every file it lists against its
    SHA-256; raises `ModelError` naming `what`, the file and `fix`."""
    path = folder / manifest
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelError(f"{what} is missing or damaged ({path}: {e}): {fix}") from e
    if not isinstance(info, dict) or not isinstance(info.get("files"), dict):
        raise ModelError(f"{what}'s manifest {path} is not one: {fix}")
    for name, sha in info.get("sha256", {}).items():
        file = folder / name
        if not file.is_file() or sha256_file(file) != sha:
            raise ModelError(f"{what}'s file {file} is missing or damaged: {fix}")
    return info


def manifest_current(folder: Path, manifest: str, source: str) -> bool:
    """Whether `folder` already holds what a build from `source` would write (its manifest
    names the source and every file still has its SHA-256): builds are then no-ops."""
    try:
        info = json.loads((folder / manifest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(info, dict) or info.get("source") != source:
        return False
    return all(
        (folder / name).is_file() and sha256_file(folder / name) == sha
        for name, sha in info.get("sha256", {}).items()
    )

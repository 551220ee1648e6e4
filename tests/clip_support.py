"""Shared by the CLIP tests: the recipe's exports of random-weight models, cached on disk.

An export of ViT-B-32 takes ~40 s on 2 cores and writes ~900 MB, so it is made once and kept
under build/cache/clip-parity/, keyed by the spec, the recipe and the versions of the
libraries that build the model (torch, open_clip, timm, cn_clip); a stale key's folder is
removed when a new one is made.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from mmsearch.encoders.formats import read_catalogue_entry
from mmsearch.encoders.spec import ModelSpec

ROOT = Path(__file__).resolve().parent.parent
# The catalogue's specs, where the package keeps them (a folder in a checkout).
SPECS = Path(str(resources.files("mmsearch.services.models") / "specs"))
CACHE = ROOT / "build" / "cache" / "clip-parity"
_BUILDERS = ("torch", "open_clip_torch", "timm", "cn_clip")


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def cache_key(spec_path: Path) -> str:
    from models.clip import export

    digest = hashlib.sha256()
    digest.update(spec_path.read_bytes())
    digest.update(Path(export.__file__).read_bytes())
    for distribution in _BUILDERS:
        digest.update(f"{distribution}={_version(distribution)};".encode())
    return digest.hexdigest()[:12]


def exported_model(spec_id: str, key_files: Sequence[Path] = ()) -> tuple[ModelSpec, Path]:
    """The spec and the recipe's export of its architecture with random weights (seed 0);
    `key_files` (the recipe's helper modules a family uses) are keyed in too."""
    from models.clip import export

    spec_path = SPECS / f"{spec_id}.json"
    spec = read_catalogue_entry(spec_path)
    extra = "".join(hashlib.sha256(f.read_bytes()).hexdigest()[:6] for f in key_files)
    folder = CACHE / f"{spec.id}-{cache_key(spec_path)}{extra}"
    if not (folder / "manifest.json").is_file():
        for old in CACHE.glob(f"{spec.id}-*"):
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        export.export_clip(spec, folder, seed=0)
    return spec, folder


FULL_PARITY = os.environ.get("MMSEARCH_PARITY_FULL") == "1"
"""Run every export-heavy parity check (each family's second model too); `make test` and CI
check one model per family (a ViT-B export takes ~1-2 min and ~1 GB on 2 cores)."""


def full_parity_only(what: str) -> None:
    """Skip an export-heavy check unless MMSEARCH_PARITY_FULL=1, saying how to run it."""
    import pytest

    if not FULL_PARITY:
        pytest.skip(
            f"{what}: export-heavy, run with MMSEARCH_PARITY_FULL=1 (the default run checks "
            "one model of this family)"
        )

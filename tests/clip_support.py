"""Shared by the CLIP tests: the recipe's exports of random-weight models, cached on disk.

An export of ViT-B-32 takes ~40 s on 2 cores and writes ~900 MB, so it is made once and kept
under build/cache/clip-parity/, keyed by the spec, the recipe and the versions of the
libraries that build the model (torch, open_clip, timm, cn_clip); a stale key's folder is
removed when a new one is made. MMSEARCH_EXPORT_CACHE_GB bounds all the exports kept
(these and the Optimum ones): past it, the least recently used are removed. CI sets it, so a
run on a small disk holds a few GB of exports instead of every family's (~7 GB).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

from mmsearch.encoders.formats import read_catalogue_entry
from mmsearch.encoders.spec import ModelSpec

ROOT = Path(__file__).resolve().parent.parent
# The catalogue's specs, where the package keeps them (a folder in a checkout).
SPECS = Path(str(resources.files("mmsearch.services.models") / "specs"))
CACHE = ROOT / "build" / "cache" / "clip-parity"
OPTIMUM_CACHE = ROOT / "build" / "cache" / "optimum-parity"
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
    folder = cached_export(
        CACHE / f"{spec.id}-{cache_key(spec_path)}{extra}",
        lambda out: export.export_clip(spec, out, seed=0),
    )
    return spec, folder


def cached_export(folder: Path, make: Callable[[Path], object]) -> Path:
    """`folder`, made by `make(folder)` unless a finished one (with its manifest.json, at
    any depth) is there. Other keys of the same name (`<name>-<key>`) are stale and removed;
    then the cache is kept within MMSEARCH_EXPORT_CACHE_GB, least recently used out first."""
    if not any(folder.glob("**/manifest.json")):
        name = folder.name.rsplit("-", 1)[0]
        for old in folder.parent.glob(f"{name}-*"):
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        _evict(keep=folder, room=True)
        make(folder)
    (folder / ".used").touch()
    _evict(keep=folder)
    return folder


def _evict(keep: Path, room: bool = False) -> None:
    """Remove the least recently used exports past the budget (`room`: before making
    `keep`, leave it the space of the largest export kept, so the peak stays near the
    budget)."""
    budget = float(os.environ.get("MMSEARCH_EXPORT_CACHE_GB") or 0) * 2**30
    if not budget:
        return
    folders = [d for c in (CACHE, OPTIMUM_CACHE) if c.is_dir() for d in c.iterdir() if d.is_dir()]
    sizes = {d: sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) for d in folders}
    if room:
        budget -= max(sizes.values(), default=0)
    used = sorted((d for d in folders if d != keep), key=lambda d: _last_used(d), reverse=True)
    total = sizes.get(keep, 0)
    for d in used:
        total += sizes[d]
        if total > budget:
            shutil.rmtree(d, ignore_errors=True)


def _last_used(folder: Path) -> float:
    marker = folder / ".used"
    return marker.stat().st_mtime if marker.exists() else folder.stat().st_mtime


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

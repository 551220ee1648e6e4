"""Where mmsearch keeps its data and finds its models."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "mmsearch"
BUNDLED_MODEL_ID = "effnetlite-minilm-matching"
"""The default model: the matching model trained on captioned photos (docs/models.md)."""
CONSE_MODEL_ID = "effnetlite-minilm-conse"
"""The untrained ConSE model it replaced, kept for comparison."""


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The user's data folder: `override`, else $MMSEARCH_HOME, else the platform data dir."""
    if override:
        return Path(override).expanduser().resolve()
    env = os.environ.get("MMSEARCH_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def repo_root() -> Path:
    """The source checkout this package runs from (or the frozen bundle's root)."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parent.parent


def model_search_path(data: Path) -> list[Path]:
    """Folders that may hold model folders (`<dir>/<model-id>/` with a spec.json or a
    model.json), first wins: $MMSEARCH_MODELS, the data folder's, the bundled ones."""
    dirs: list[Path] = []
    env = os.environ.get("MMSEARCH_MODELS")
    if env:
        dirs.extend(Path(p) for p in env.split(os.pathsep) if p)
    dirs.append(data / "models")
    dirs.append(repo_root() / "build" / "models")
    return dirs

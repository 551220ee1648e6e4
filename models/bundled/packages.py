"""Data files inside installed PyPI packages (build dependencies), found without importing
the packages: some import heavy things (OpenCV, scipy) at import time."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path


def package_data(package: str, *parts: str) -> tuple[Path, str]:
    """The path `parts` inside the installed package `package`, and the package's version;
    SystemExit naming the fix when it is not installed."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            f"{package} is not installed: `pip install -e '.[build]'` (make install) brings it"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    return folder.joinpath(*parts), importlib.metadata.version(package.replace("_", "-"))

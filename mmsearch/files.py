"""File-system steps shared by everything that writes a model folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def replace_dir(new: Path, target: Path) -> None:
    """Put the folder `new` at `target` (same file system): an old `target` is renamed aside
    first and removed last, so at every moment one complete folder is at or beside `target`,
    and a reader never sees a half-written one."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".old-{target.name}-", dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

"""File-system steps shared by everything that writes model folders and settings files."""

from __future__ import annotations

import json
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


def write_json(path: Path, value: object, indent: int | None = None) -> None:
    """Write `value` as JSON to `path` atomically (a temporary file beside it, synced, then
    renamed): a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(value, indent=indent) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""Real file-system faults for the tests: a small tmpfs (a full disk), a filler that fills
it, and a read-only bind mount (as root, modes don't stop writes; a mount does)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def can_mount() -> str | None:
    """Why mounts can't be made here, or None when they can."""
    if not sys.platform.startswith("linux"):
        return "mounts are Linux-only here"
    if os.geteuid() != 0:
        return "mounting a tmpfs / bind mount needs root"
    return None


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (e.g. "1m") mounted at `path` for the block; skips if it can't."""
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {proc.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system holding `folder`, leaving about `leave` bytes (0: not a page);
    returns the filler file."""
    filler = folder / "filler"
    st = os.statvfs(folder)
    room = max(0, st.f_bavail * st.f_frsize - leave)
    with open(filler, "wb", buffering=0) as f:
        with contextlib.suppress(OSError):
            f.write(bytes(room))
        while not leave:  # the last pages too
            try:
                if not f.write(bytes(4096)):
                    break
            except OSError:
                break
    return filler


@contextlib.contextmanager
def read_only(folder: Path, view: Path | None = None) -> Iterator[Path]:
    """`folder` read-only at `view` (default: onto itself) for the block, through a bind
    mount remounted read-only; skips when that can't be done. Not root and onto itself:
    chmod does it (modes stop anyone but root)."""
    target = view or folder
    if os.geteuid() != 0 and view is None:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    done = subprocess.run(["mount", "--bind", str(folder), str(target)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount: {done.stderr.decode().strip()}")
    try:
        done = subprocess.run(
            ["mount", "-o", "remount,ro,bind", str(target)], capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot remount read-only: {done.stderr.strip()}")
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)

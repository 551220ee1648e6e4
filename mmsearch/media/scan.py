"""Find the photos under a folder.

The scan only looks at names and `stat` results; it never opens a file. Whether a file is a
readable image is the decoder's business (`mmsearch.media.decode`), so that every failure ends
up with a reason in the catalog instead of silently vanishing here.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mmsearch.media.errors import os_error_reason

log = logging.getLogger(__name__)

PHOTO_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".heif"}
)
RAW_EXTENSIONS: frozenset[str] = frozenset(
    {".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2"}
)
_WANTED = PHOTO_EXTENSIONS | RAW_EXTENSIONS
_JPEG_EXTENSIONS = frozenset({".jpg", ".jpeg"})

# Folders that NAS boxes and operating systems fill with copies or thumbnails of the user's
# photos (Synology's @eaDir holds a JPEG thumbnail for every photo). Compared case-folded.
_SKIPPED_DIR_NAMES = frozenset({"@eadir", "$recycle.bin", "system volume information"})

OnError = Callable[[Path, str], None]


@dataclass(frozen=True)
class FoundFile:
    """A photo file found by `scan_folder`."""

    path: Path  # absolute, as reached under the root (symlinks not resolved)
    size: int
    mtime_ns: int


def scan_folder(root: Path, on_error: OnError | None = None) -> Iterator[FoundFile]:
    """Yield every photo file under `root`, recursively, in a stable (name-sorted) order.

    - Extensions (`PHOTO_EXTENSIONS`, `RAW_EXTENSIONS`) match case-insensitively.
    - Names starting with a dot (and, on Windows, hidden files and folders) are skipped.
    - Symlinked folders are followed; each real folder is listed once, so loops end and a
      file is never yielded twice through a loop. A symlinked file is yielded under its own path.
    - A RAW file is skipped when a JPEG with the same stem (.jpg/.jpeg, any case) sits beside it:
      the camera's JPEG is what the user looks at, and decoding it is far cheaper.
    - Zero-byte files are yielded: the decoder reports them, so the user learns about them.
    - Problems (unreadable folder, broken symlink, file vanished) go to `on_error(path, reason)`
      with a short human reason, and the scan goes on. When `path` is a folder, that subtree was
      not (fully) listed: callers must not take its missing photos as deleted.
    - Names that are not valid UTF-8 are kept as they are (surrogate escapes inside `Path`).
    """
    report = on_error if on_error is not None else _log_error
    top = os.path.abspath(os.fspath(root))
    try:
        st = os.stat(top)
    except OSError as exc:
        report(Path(top), os_error_reason(exc, folder=True))
        return
    if not stat.S_ISDIR(st.st_mode):
        report(Path(top), "not a folder")
        return

    visited: set[tuple[int, int]] = {(st.st_dev, st.st_ino)}
    stack = [top]
    while stack:
        folder = stack.pop()
        files, subdirs = _list_folder(folder, visited, report)
        yield from files
        # Reversed so that the stack pops them in name order.
        stack.extend(reversed(subdirs))


def _list_folder(
    folder: str, visited: set[tuple[int, int]], report: OnError
) -> tuple[list[FoundFile], list[str]]:
    """The photos directly in `folder` and the not-yet-visited subfolders to descend into."""
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        report(Path(folder), os_error_reason(exc, folder=True))
        return [], []

    candidates: list[tuple[os.DirEntry[str], os.stat_result]] = []
    subdirs: list[str] = []
    jpeg_stems: set[str] = set()
    for entry in entries:
        name = entry.name
        if name.startswith(".") or _is_windows_hidden(entry):
            continue
        stem, ext = os.path.splitext(name)
        ext = ext.lower()
        if ext in _WANTED:
            try:
                st = entry.stat()  # follows symlinks: size and mtime of the photo itself
            except FileNotFoundError:
                reason = "broken symlink" if entry.is_symlink() else "vanished during the scan"
                report(Path(entry.path), reason)
                continue
            except OSError as exc:
                report(Path(entry.path), os_error_reason(exc, folder=False))
                continue
            if stat.S_ISREG(st.st_mode):
                candidates.append((entry, st))
                if ext in _JPEG_EXTENSIONS:
                    jpeg_stems.add(stem.casefold())
                continue
            # Only regular files are photos (a FIFO named .jpg would block the decoder
            # forever); a folder named like a photo is still a folder.
            if not stat.S_ISDIR(st.st_mode):
                continue
        else:
            try:
                is_dir = entry.is_dir()  # follows symlinks
            except OSError as exc:
                report(Path(entry.path), os_error_reason(exc, folder=True))
                continue
            if not is_dir:
                continue
        if name.casefold() in _SKIPPED_DIR_NAMES:
            continue
        try:
            # os.stat, not entry.stat(): on Windows the cached DirEntry stat has no inode.
            dst = os.stat(entry.path)
        except OSError as exc:
            report(Path(entry.path), os_error_reason(exc, folder=True))
            continue
        key = (dst.st_dev, dst.st_ino)
        if key in visited:  # a symlink loop, or a second way into a folder already listed
            continue
        visited.add(key)
        subdirs.append(entry.path)

    files: list[FoundFile] = []
    for entry, st in candidates:
        stem, ext = os.path.splitext(entry.name)
        if ext.lower() in RAW_EXTENSIONS and stem.casefold() in jpeg_stems:
            continue
        files.append(FoundFile(Path(entry.path), st.st_size, st.st_mtime_ns))
    return files, subdirs


def _is_windows_hidden(entry: os.DirEntry[str]) -> bool:
    if sys.platform != "win32":
        return False
    try:
        # On Windows DirEntry.stat() is served from the directory listing: no extra syscall.
        attrs: int = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
    except OSError:
        return False
    return bool(attrs & (stat.FILE_ATTRIBUTE_HIDDEN | stat.FILE_ATTRIBUTE_SYSTEM))


def _log_error(path: Path, reason: str) -> None:
    log.warning("skipped %s: %s", path, reason)

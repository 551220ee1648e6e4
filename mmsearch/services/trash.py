"""Photos to the system trash, never deleted, with undo (issue 12 §2: "move the others to
the trash").

`send2trash` moves each file into the platform's trash (the freedesktop.org trash on Linux,
the Finder's on macOS, the Recycle Bin on Windows); the catalog and the index forget the
photos in the same step. Undo puts the files back where they were: on Linux by the trash's
own record of each file (`info/NAME.trashinfo`, the spec every file manager follows), so
the file manager's trash no longer lists them; elsewhere the trash's own "Put back" /
"Restore" does it, and `can_undo` says so. Restored photos are indexed again by the next
run (the window starts one at once).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from mmsearch.catalog.db import PhotoInfo
from mmsearch.services.library import Library


@dataclass(frozen=True)
class Trashed:
    """A photo moved to the trash: where it was, and (Linux) where it is now."""

    original: Path
    in_trash: Path | None
    record: Path | None
    """Its `.trashinfo` file (Linux), removed again by an undo."""


class TrashError(OSError):
    """A photo could not be moved to the trash (or back): the message names it and why.
    `trashed` lists the photos that `trash_photos` moved before it (they can be undone)."""

    trashed: list[Trashed]

    def __init__(self, message: str, trashed: list[Trashed] | None = None) -> None:
        super().__init__(message)
        self.trashed = trashed or []


def can_undo() -> bool:
    """Whether `restore` can put trashed photos back on this platform."""
    return sys.platform.startswith("linux")


def _trash_folders(path: Path) -> list[tuple[Path, Path]]:
    """The freedesktop trash folders a file at `path` may have gone to, each with the
    folder its records' relative `Path=` lines start from: the home trash, and its
    volume's own ones."""
    from send2trash import plat_other

    home = Path(os.fsdecode(plat_other.HOMETRASH_B))
    top = Path(os.fsdecode(plat_other.find_mount_point(os.fsencode(path.parent))))
    uid = os.getuid()
    return [
        (home, Path(os.fsdecode(plat_other.XDG_DATA_HOME))),
        (top / ".Trash" / str(uid), top),
        (top / f".Trash-{uid}", top),
    ]


def _find_in_trash(original: Path) -> tuple[Path, Path] | None:
    """(file in the trash, its .trashinfo) of the most recent trashing of `original`."""
    found: list[tuple[float, Path, Path]] = []
    for folder, top in _trash_folders(original):
        info_dir = folder / "info"
        if not info_dir.is_dir():
            continue
        for record in info_dir.glob("*.trashinfo"):
            try:
                text = record.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for line in text.splitlines():
                if line.startswith("Path="):
                    where = Path(unquote(line[5:]))
                    if not where.is_absolute():
                        where = top / where
                    if where == original:
                        name = record.name[: -len(".trashinfo")]
                        found.append((record.stat().st_mtime, folder / "files" / name, record))
                    break
    if not found:
        return None
    _, file, record = max(found, key=lambda f: f[0])
    return file, record


def trash_photos(lib: Library, photos: Sequence[PhotoInfo]) -> list[Trashed]:
    """Move `photos` to the system trash and forget them in the catalog and the index.
    Stops at the first photo that can't be moved (TrashError naming it); the ones moved
    before it are forgotten too, and listed in the error's `trashed`."""
    from send2trash import send2trash

    done: list[Trashed] = []
    with lib.writing("moving photos to the trash"):
        try:
            for photo in photos:
                path = Path(os.path.abspath(photo.path))
                try:
                    send2trash(str(path))
                except OSError as e:
                    raise TrashError(
                        f"can't move {path} to the trash: {e.strerror or e}. Check that the "
                        "folder is writable and the drive is connected, then try again.",
                        done,
                    ) from e
                where = _find_in_trash(path) if can_undo() else None
                done.append(Trashed(path, *(where or (None, None))))
        finally:
            moved = {t.original for t in done}
            ids = [p.id for p in photos if Path(os.path.abspath(p.path)) in moved]
            if ids:
                lib.catalog.delete_photos(ids)
                lib.index().remove(np.asarray(ids, dtype=np.int64))
    return done


def restore(trashed: Sequence[Trashed]) -> list[Path]:
    """Put trashed photos back where they were (Linux; see `can_undo`); returns the paths
    restored. A photo whose place is taken again, or that left the trash, is skipped."""
    back = []
    for item in trashed:
        if item.in_trash is None or item.record is None:
            continue
        if item.original.exists() or not item.in_trash.exists():
            continue
        try:
            item.original.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(item.in_trash, item.original)  # the trash may be on another drive
        except OSError as e:
            raise TrashError(
                f"can't put {item.original} back from the trash: {e.strerror or e}. "
                f"It is still in {item.in_trash.parent}."
            ) from e
        item.record.unlink(missing_ok=True)
        back.append(item.original)
    return back

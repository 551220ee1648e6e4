"""Named library roots: one share, mounted at a different place on each computer.

A shared library's photos live on a share that one computer mounts at /mnt/photos, another
at /Volumes/photos, a third at P:\\. The catalog can't store their absolute paths: each
computer would see the others' photos as missing and index them again. So a photo under a
*root* (a name, e.g. "family") is stored as `@family/2019/beach.jpg`, and each computer maps
the name to its own mount point (`roots.json` in its own folder of the library).

The translation happens in one place, the `FsPath` column type: every path the catalog
binds goes through `RootMap.store`, every one it reads through `RootMap.load`, so the rest of
the program only ever sees local absolute paths. A stored path names its root by a leading
"@", which no stored path otherwise has (they are absolute). A root this computer has not
mapped reads as a path under `unmapped_dir/<name>`, a folder that never exists: its folders
look unplugged (indexing keeps their photos and says so) until the root is mapped, and
writing such a path back stores the root form again.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from mmsearch.catalog.errors import CatalogError
from mmsearch.files import write_json

ROOTS_FILE = "roots.json"
"""`<library's local folder>/roots.json`: {root name: this computer's folder for it}."""

MARK = b"@"
_SEP = os.sep.encode()
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class RootError(CatalogError):
    """A root that can't be named or mapped as asked (the message says why and what to do)."""


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise RootError(
            f"{name!r} can't name a library root: use letters, digits, '.', '_' or '-' "
            "(up to 64, starting with a letter or digit), e.g. family-photos"
        )
    return name


@dataclass
class RootMap:
    """This computer's folder for each root it knows (`mounts`), and where the paths of
    the roots it doesn't know point (`unmapped_dir`, never created)."""

    unmapped_dir: Path
    mounts: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._refresh()

    def _refresh(self) -> None:
        self._raw = {name: os.fsencode(path) for name, path in self.mounts.items()}
        self._unmapped = os.fsencode(self.unmapped_dir) + _SEP

    # -- the column type's two directions ------------------------------------------------

    def store(self, raw: bytes) -> bytes:
        """A local absolute path (its bytes; a prefix too) as the catalog stores it."""
        for name, mount in self._raw.items():
            if raw == mount:
                return MARK + name.encode()
            if raw.startswith(mount + _SEP):
                return MARK + name.encode() + b"/" + _portable(raw[len(mount) + 1 :])
        if raw.startswith(self._unmapped):
            root, sep, rest = raw[len(self._unmapped) :].partition(_SEP)
            return MARK + root + (b"/" + _portable(rest) if sep else b"")
        return raw

    def load(self, stored: bytes) -> bytes:
        """A stored path as this computer's local absolute path (its bytes)."""
        if not stored.startswith(MARK):
            return stored
        name, slash, rest = stored[1:].partition(b"/")
        mount = self._raw.get(name.decode("utf-8", "replace"))
        if mount is None:
            mount = self._unmapped + name
        return mount + (_SEP + _local(rest) if slash else b"")

    # -- what the user sees --------------------------------------------------------------

    def unmapped_root(self, path: Path) -> str | None:
        """The root `path` belongs to when this computer has not mapped it, else None."""
        raw = os.fsencode(path)
        if not raw.startswith(self._unmapped):
            return None
        return os.fsdecode(raw[len(self._unmapped) :].partition(_SEP)[0])

    def label(self, path: Path) -> str:
        """`path` for a message: itself, or `@root/rest` where this computer lacks the root."""
        name = self.unmapped_root(path)
        if name is None:
            return str(path)
        return os.fsdecode(self.store(os.fsencode(path)))

    # -- mapping -------------------------------------------------------------------------

    def mapped(self, name: str, folder: Path) -> RootMap:
        """This map with `name` mapped to `folder` (an existing folder, not inside or
        around another root's folder); raises RootError."""
        check_name(name)
        folder = Path(os.path.abspath(folder))
        if not folder.is_dir():
            raise RootError(
                f"{folder} is not a folder on this computer: mount the share, then map the "
                f"root {name!r} to the folder where it appears"
            )
        for other, mount in self.mounts.items():
            if other != name and (folder.is_relative_to(mount) or mount.is_relative_to(folder)):
                raise RootError(
                    f"{folder} overlaps the root {other!r} ({mount}): a photo must belong to "
                    "one root only; map the share's top folder once"
                )
        return RootMap(self.unmapped_dir, {**self.mounts, name: folder})

    def without(self, name: str) -> RootMap:
        return RootMap(self.unmapped_dir, {k: v for k, v in self.mounts.items() if k != name})

    @classmethod
    def read(cls, folder: Path) -> RootMap:
        """The map saved in a library's local `folder` (empty when none; a damaged file is
        reported, never guessed at)."""
        unmapped = folder / "unmapped-roots"
        path = folder / ROOTS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(unmapped)
        except (OSError, ValueError) as e:
            raise RootError(
                f"{path} can't be read ({e}): fix or delete it, then map the library's roots "
                "again with `mmsearch library root NAME FOLDER`"
            ) from e
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise RootError(f"{path} is not a map of root names to folders: delete it")
        return cls(unmapped, {str(k): Path(v) for k, v in data.items()})

    def write(self, folder: Path) -> None:
        write_json(
            folder / ROOTS_FILE,
            {name: str(path) for name, path in sorted(self.mounts.items())},
            what="this computer's map of library roots",
            fix="free some space or make the data folder writable, then map the root again",
        )


def _portable(rest: bytes) -> bytes:
    return rest if _SEP == b"/" else rest.replace(_SEP, b"/")


def _local(rest: bytes) -> bytes:
    return rest if _SEP == b"/" else rest.replace(b"/", _SEP)

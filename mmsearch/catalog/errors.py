"""What can be wrong with a catalog, as errors whose message names the file and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

CATALOG_FILE = "catalog.sqlite"
RESTORE_COMMAND = "mmsearch doctor --restore"
NEW_CATALOG_COMMAND = "mmsearch doctor --new-catalog"


class CatalogError(Exception):
    """The catalog can't be opened or used; the message says what to do."""


@dataclass(frozen=True)
class BackupInfo:
    """One backup in `<data>/backups/`: when it was taken and what it holds (None: its
    counts can't be read, it is damaged itself)."""

    path: Path
    taken_at: datetime
    photos: int | None
    folders: int | None

    @property
    def readable(self) -> bool:
        return self.photos is not None

    def describe(self) -> str:
        if self.photos is None:
            return f"{self.taken_at:%Y-%m-%d %H:%M}, unreadable"
        return f"{self.taken_at:%Y-%m-%d %H:%M}, {self.photos:,} photos"


def _fix(backups: list[BackupInfo]) -> str:
    good = [b for b in backups if b.readable]
    if good:
        return f"restore the newest backup ({good[0].describe()}) with `{RESTORE_COMMAND}`"
    return (
        f"there is no backup of it: `{NEW_CATALOG_COMMAND}` moves it aside and starts an empty "
        "catalog, then `mmsearch index FOLDER` adds your folders again"
    )


class CatalogDamaged(CatalogError):
    """The catalog file is damaged (SQLite says it is malformed or not a database)."""

    def __init__(self, path: Path, reason: str, backups: list[BackupInfo]) -> None:
        self.path, self.reason, self.backups = path, reason, backups
        super().__init__(f"the catalog {path} is damaged ({reason}); {_fix(backups)}")


class CatalogMissing(CatalogError):
    """The catalog is gone (deleted, or truncated to 0 bytes) although the data folder shows
    that it held a library: starting an empty one silently would hide the loss."""

    def __init__(self, path: Path, what: str, traces: list[str], backups: list[BackupInfo]):
        self.path, self.traces, self.backups = path, traces, backups
        good = [b for b in backups if b.readable]
        if good:
            fix = f"restore the newest backup ({good[0].describe()}) with `{RESTORE_COMMAND}`"
        else:
            fix = "there is no backup of it"
        super().__init__(
            f"the catalog {path} {what}, but this data folder held a library "
            f"({', '.join(traces)}); {fix}. To start with an empty catalog on purpose: "
            f"`{NEW_CATALOG_COMMAND}`"
        )


class CatalogReadOnly(CatalogError):
    """The data folder (or the catalog file) is read-only: searching works, writing doesn't."""

    def __init__(self, data_dir: Path, detail: str = "") -> None:
        self.data_dir = data_dir
        text = (
            f"the data folder {data_dir} is read-only: searching works, indexing needs write access"
        )
        super().__init__(f"{text} ({detail})" if detail else text)


class CatalogWriteFailed(CatalogError):
    """SQLite could not write the catalog: the disk is full, or it reported an I/O error.
    The transaction in flight was rolled back; everything committed before it is kept."""

    def __init__(self, path: Path, reason: str, full: bool) -> None:
        self.path, self.reason, self.full = path, reason, full
        if full:
            what = f"the disk holding the catalog {path} is full ({reason}): free some space"
        else:
            what = (
                f"the catalog {path} could not be written ({reason}): check that the disk is "
                "connected and has free space"
            )
        super().__init__(
            f"{what}, then run `mmsearch index` again; every photo indexed before is kept"
        )


class NoBackup(CatalogError):
    """`mmsearch doctor --restore` found no backup it can restore."""

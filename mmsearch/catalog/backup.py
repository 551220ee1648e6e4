"""Backups of the catalog, the one file that can't be rebuilt from the photos.

`backup_catalog` copies the catalog with SQLite's online backup API (a consistent snapshot,
even while another process writes) into `<data>/backups/catalog-YYYYmmdd-HHMMSS.sqlite`:
at most once per `min_interval` (a day), the newest `keep` (3) kept. The source is verified
with `PRAGMA quick_check` first and the copy after, so a damaged catalog never rotates a good
backup out. The copy is written under a temporary name, synced, then renamed.

`restore_backup` puts the newest good backup back; the catalog it replaces (and its WAL and
SHM side files) is moved aside to `catalog.sqlite.damaged-YYYYmmdd-HHMMSS`, never deleted.
`new_catalog` (in `fresh.py`, above `db.py`, which imports this module) moves it aside the
same way and leaves no catalog, so the next open starts an empty one: the deliberate way to
start afresh.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from mmsearch.catalog.errors import (
    CATALOG_FILE,
    NEW_CATALOG_COMMAND,
    BackupInfo,
    CatalogDamaged,
    CatalogError,
    NoBackup,
)
from mmsearch.catalog.lock import LibraryBusy, writer_lock

BACKUP_DIR = "backups"
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
_NAME = re.compile(r"^catalog-(\d{8}-\d{6})\.sqlite$")
_STAMP = "%Y%m%d-%H%M%S"


class BackupFailed(CatalogError):
    """A backup could not be written (disk full, read-only): the catalog itself is intact."""


def _uri(path: Path, params: str = "mode=ro") -> str:
    return f"file:{quote(os.fsencode(path))}?{params}"


def connect_read_only(path: Path, timeout: float = 30) -> sqlite3.Connection:
    """A read-only connection (it can still read the WAL: the folder must be writable)."""
    return sqlite3.connect(_uri(path), uri=True, timeout=timeout)


def check_connection(conn: sqlite3.Connection) -> str | None:
    """None if `PRAGMA quick_check` finds the database sound, else the first problem."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as e:
        return str(e)
    if rows == [("ok",)]:
        return None
    lines = [line for row in rows for line in str(row[0]).splitlines()]
    lines = [line.strip() for line in lines if line.strip() and not line.startswith("***")]
    return f"database disk image is malformed: {lines[0] if lines else 'quick_check failed'}"


def check_file(path: Path) -> str | None:
    """`check_connection` on a database file. In a writable folder through an ordinary
    connection (`mode=rw`: never creates the file), which removes the WAL and SHM files it
    creates when it closes (a read-only one would leave them behind, and the catalog would
    look changed); in a read-only folder `mode=ro` if its WAL and SHM are there, else
    `immutable=1` (SQLite could not create them)."""
    if os.access(path.parent, os.W_OK):
        params = "mode=rw"
    elif Path(f"{path}-wal").exists() and Path(f"{path}-shm").exists():
        params = "mode=ro"
    else:
        params = "immutable=1"
    try:
        conn = sqlite3.connect(_uri(path, params), uri=True, timeout=30)
    except sqlite3.Error as e:
        return str(e)
    try:
        return check_connection(conn)
    finally:
        conn.close()


def _counts(path: Path) -> tuple[int | None, int | None]:
    try:
        conn = connect_read_only(path, timeout=5)
        try:
            photos = conn.execute("SELECT count(*) FROM photos").fetchone()[0]
            folders = conn.execute("SELECT count(*) FROM folders").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return None, None
    return int(photos), int(folders)


def backup_dir(data_dir: Path) -> Path:
    return Path(data_dir) / BACKUP_DIR


def list_backups(data_dir: Path) -> list[BackupInfo]:
    """The backups of this data folder, newest first (counting their photos is cheap; they
    are verified with quick_check only when restored)."""
    folder = backup_dir(data_dir)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    out = []
    for name in names:
        match = _NAME.match(name)
        if match is None:
            continue
        taken = datetime.strptime(match.group(1), _STAMP)
        photos, folders = _counts(folder / name)
        out.append(BackupInfo(folder / name, taken, photos, folders))
    return sorted(out, key=lambda b: b.taken_at, reverse=True)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def backup_catalog(
    data_dir: Path,
    *,
    now: datetime | None = None,
    keep: int = 3,
    min_interval: timedelta = timedelta(days=1),
) -> Path | None:
    """Back the catalog up if the newest good backup is older than `min_interval`; returns the
    new backup, None when none was due (or there is no catalog). Raises CatalogDamaged when
    the catalog fails its check (then no backup is made and none is removed), BackupFailed
    when the copy can't be written."""
    data_dir = Path(data_dir)
    source = data_dir / CATALOG_FILE
    now = (now or datetime.now()).replace(microsecond=0)
    if not source.is_file() or source.stat().st_size == 0:
        return None
    if not os.access(data_dir, os.W_OK):
        return None  # a read-only folder: nothing was written, nothing can be
    existing = list_backups(data_dir)
    good = [b for b in existing if b.readable]
    if good and now - good[0].taken_at < min_interval:
        return None
    folder = backup_dir(data_dir)
    final = folder / f"catalog-{now.strftime(_STAMP)}.sqlite"
    if final.exists():
        return None
    tmp = folder / f".{final.name}.tmp"
    try:
        # An ordinary connection (it cleans up the WAL files it creates), that only reads.
        src = sqlite3.connect(_uri(source, "mode=rw"), uri=True, timeout=30)
    except sqlite3.Error as e:
        raise CatalogDamaged(source, str(e), existing) from e
    try:
        problem = check_connection(src)
        if problem is not None:
            raise CatalogDamaged(source, problem, existing)
        try:
            folder.mkdir(exist_ok=True)
            for leftover in folder.glob(".catalog-*.tmp"):  # a backup a crash interrupted
                leftover.unlink(missing_ok=True)
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
                # A backup is one self-contained file: no WAL beside it.
                dst.execute("PRAGMA journal_mode=DELETE")
                problem = check_connection(dst)
            finally:
                dst.close()
            if problem is not None:  # pragma: no cover - a copy of a checked source
                raise BackupFailed(f"the backup {tmp} failed its check ({problem})")
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, final)
            _fsync_dir(folder)
        except (OSError, sqlite3.Error) as e:
            tmp.unlink(missing_ok=True)
            raise BackupFailed(f"the catalog could not be backed up to {folder} ({e})") from e
    finally:
        src.close()
    _rotate(data_dir, keep)
    return final


def _rotate(data_dir: Path, keep: int) -> None:
    """Keep the newest `keep` readable backups; older ones, and unreadable ones once enough
    good ones exist, go."""
    backups = list_backups(data_dir)
    good = [b for b in backups if b.readable]
    doomed = good[keep:]
    if len(good) >= keep:
        doomed += [b for b in backups if not b.readable]
    for b in doomed:
        b.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class RestoreResult:
    backup: BackupInfo
    moved_aside: list[Path]
    catalog: Path
    skipped: list[tuple[BackupInfo, str]]
    """Newer backups that failed their check, with the problem."""


def move_aside(data_dir: Path, now: datetime | None = None) -> list[Path]:
    """Rename the catalog and its side files to `catalog.sqlite.damaged-<time>[-wal|-shm]`
    (never deleted); returns the new names."""
    data_dir = Path(data_dir)
    stamp = (now or datetime.now()).strftime(_STAMP)
    base = f"{CATALOG_FILE}.damaged-{stamp}"
    n = 1
    while any((data_dir / (base + s)).exists() for s in ("", *SIDE_SUFFIXES)):
        n += 1
        base = f"{CATALOG_FILE}.damaged-{stamp}-{n}"
    moved = []
    for suffix in ("", *SIDE_SUFFIXES):
        old = data_dir / (CATALOG_FILE + suffix)
        if old.exists():
            new = data_dir / (base + suffix)
            os.replace(old, new)
            moved.append(new)
    _fsync_dir(data_dir)
    return moved


def restore_backup(
    data_dir: Path, backup: Path | None = None, *, now: datetime | None = None
) -> RestoreResult:
    """Put the newest backup that passes quick_check (or `backup`) in the catalog's place,
    moving the current catalog aside. Raises NoBackup when there is none to restore."""
    data_dir = Path(data_dir)
    backups = list_backups(data_dir)
    if backup is not None:
        candidates = [b for b in backups if b.path == Path(backup)]
        if not candidates:
            photos, folders = _counts(Path(backup))
            candidates = [BackupInfo(Path(backup), datetime.now(), photos, folders)]
    else:
        candidates = backups
    chosen, skipped = None, []
    for b in candidates:
        problem = check_file(b.path)
        if problem is None and b.readable:
            chosen = b
            break
        skipped.append((b, problem or "its photos can't be counted"))
    if chosen is None:
        where = backup_dir(data_dir)
        why = "".join(f"; {b.path.name}: {p}" for b, p in skipped)
        raise NoBackup(
            f"no good backup of the catalog in {where}{why}. To start afresh: "
            f"`{NEW_CATALOG_COMMAND}` moves the catalog aside and starts an empty one, then "
            "`mmsearch index FOLDER` adds your folders again"
        )
    tmp = data_dir / f".{CATALOG_FILE}.restore.tmp"
    try:
        src = connect_read_only(chosen.path)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
            src.close()
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        with _sole_writer(data_dir, "catalog restore"):
            moved = move_aside(data_dir, now)
            os.replace(tmp, data_dir / CATALOG_FILE)
        _fsync_dir(data_dir)
    except (OSError, sqlite3.Error) as e:
        tmp.unlink(missing_ok=True)
        raise CatalogError(f"could not restore {chosen.path} into {data_dir}: {e}") from e
    return RestoreResult(chosen, moved, data_dir / CATALOG_FILE, skipped)


@contextmanager
def _sole_writer(data_dir: Path, purpose: str) -> Iterator[None]:
    """The writer lock, without waiting: an indexing run would go on writing into the
    catalog that is moved aside. (Searching processes read the old file until they reopen.)"""
    try:
        with writer_lock(data_dir, purpose, wait=False):
            yield
    except LibraryBusy as e:
        raise CatalogError(f"{e.holder.describe()}: try again when it has finished") from e

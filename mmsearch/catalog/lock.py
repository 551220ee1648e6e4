"""One writer per data folder: an OS file lock that the CLI and the window share.

Two indexing runs on one library at once raced on the same rows (IntegrityError) and on the
same derived files. Everything that writes the library (indexing, a model switch, adding or
removing a folder, migrations) holds `<data>/writer.lock`; searching never needs it.

The lock is `flock` on Linux and macOS (`msvcrt.locking` on Windows): the OS drops it when
the holder dies, even by `kill -9`, so a crash never leaves a library locked. The file's
text says who holds it (pid and what it does), for the second writer's message. Within one
process the lock is re-entrant per thread (the indexer inside a model switch takes it again)
and other threads of the process wait like another process would.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mmsearch.catalog.errors import CatalogReadOnly

LOCK_FILE = "writer.lock"
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class LockHolder:
    """Who holds a data folder's writer lock, as it wrote itself into the lock file."""

    pid: int | None
    purpose: str

    def describe(self) -> str:
        who = f"pid {self.pid}" if self.pid is not None else "another process"
        return f"another {self.purpose or 'writer'}, {who}, is working on this library"


class WriterLockError(Exception):
    """The writer lock can't be taken; the message says why and what to do."""


class LibraryBusy(WriterLockError):
    """The library's writer lock is held by someone else and we were asked not to wait."""

    def __init__(self, data_dir: Path, holder: LockHolder) -> None:
        self.data_dir = data_dir
        self.holder = holder
        super().__init__(
            f"{holder.describe()} ({data_dir}); wait for it to finish, or run this again "
            "without --no-wait to wait for it"
        )


def read_holder(data_dir: Path) -> LockHolder:
    """What the lock file says of its holder (it may be stale: only the OS lock counts)."""
    try:
        text = (Path(data_dir) / LOCK_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return LockHolder(None, "")
    first, _, purpose = text.partition("\n")
    pid = int(first) if first.strip().isdigit() else None
    return LockHolder(pid, purpose.strip())


class _ProcessLock:
    """The OS lock of one data folder in this process, re-entrant for the thread holding it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.guard = threading.Lock()  # protects the fields below
        self.owner: int | None = None  # thread ident
        self.depth = 0
        self.fd: int | None = None

    def try_acquire(self, purpose: str) -> bool:
        me = threading.get_ident()
        with self.guard:
            if self.owner == me:
                self.depth += 1
                return True
            if self.owner is not None:
                return False
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _os_try_lock(fd):
                os.close(fd)
                return False
            # Who we are, for the next writer's message; the OS lock is what counts (on a
            # full disk the text may not fit, and the lock holds all the same).
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n{purpose}\n".encode(), 0)
            self.owner, self.depth, self.fd = me, 1, fd
            return True

    def release(self) -> None:
        with self.guard:
            if self.owner != threading.get_ident():
                raise RuntimeError("the writer lock is released by a thread that doesn't hold it")
            self.depth -= 1
            if self.depth:
                return
            assert self.fd is not None
            with contextlib.suppress(OSError):  # a full disk: the text is only a hint
                os.ftruncate(self.fd, 0)
            _os_unlock(self.fd)
            os.close(self.fd)
            self.owner, self.fd = None, None

    def held_by_me(self) -> bool:
        return self.owner == threading.get_ident()


_locks: dict[Path, _ProcessLock] = {}
_locks_guard = threading.Lock()


def _process_lock(data_dir: Path) -> _ProcessLock:
    path = Path(os.path.abspath(data_dir)) / LOCK_FILE
    with _locks_guard:
        lock = _locks.get(path)
        if lock is None:
            lock = _locks[path] = _ProcessLock(path)
        return lock


def holds_writer_lock(data_dir: Path) -> bool:
    """Whether this thread holds the data folder's writer lock."""
    return _process_lock(data_dir).held_by_me()


@contextmanager
def writer_lock(
    data_dir: Path,
    purpose: str,
    *,
    wait: bool = True,
    on_wait: Callable[[LockHolder], None] | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[None]:
    """Hold the data folder's writer lock for the block.

    When someone else holds it: with `wait` False raise `LibraryBusy` at once; else call
    `on_wait(holder)` once (to tell the user) and wait until it is free. A set `cancel`
    event ends the wait with `LibraryBusy` too.
    """
    data_dir = Path(data_dir)
    lock = _process_lock(data_dir)
    told = False
    while not _try(lock, data_dir, purpose):
        holder = read_holder(data_dir)
        if not wait or (cancel is not None and cancel.is_set()):
            raise LibraryBusy(data_dir, holder)
        if not told and on_wait is not None:
            on_wait(holder)
        told = True
        if cancel is not None:
            cancel.wait(POLL_SECONDS)
        else:
            time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        lock.release()


def _try(lock: _ProcessLock, data_dir: Path, purpose: str) -> bool:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        return lock.try_acquire(purpose)
    except OSError as e:
        if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise CatalogReadOnly(data_dir) from e
        raise WriterLockError(
            f"cannot take the writer lock {lock.path}: {e.strerror}. Changing the library "
            "needs a writable data folder (searching does not); choose another with "
            "--data-dir or MMSEARCH_HOME"
        ) from e


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _os_try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _os_unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _os_try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _os_unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

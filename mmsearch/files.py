"""File-system steps shared by everything that writes model folders, settings and derived files.

Every derived file (the vector index and its header, the settings files) is written the same
way: to a temporary file beside it, checked (its size is what was meant and its content, read
back, hashes to what was meant), synced, and only then renamed over the old one. A full disk,
a read-only folder or a crash at any moment leaves the old file or the new one, never half of
one, and a failed write removes its temporary file and says in a `WriteError` what happened
and what to do.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

CHUNK = 1 << 20
"""Files are hashed 1 MiB at a time: memory stays flat whatever their size."""

STALE_TEMP_SECONDS = 3600
"""A temporary file older than this was left by a process that died while writing."""


class WriteError(OSError):
    """A derived file could not be written; the previous one (if any) is kept unchanged.

    An `OSError` with the errno of the cause (`ENOSPC`, `EROFS`, `EACCES`, ...) whose text
    names the folder and the fix, for a person to read."""

    def __str__(self) -> str:
        return self.strerror or super().__str__()


def file_digest(path: Path) -> tuple[int, str]:
    """(size in bytes, SHA-256 hex) of a file's content, read in 1 MiB chunks.

    Cost: SHA-256 runs at about 1.7 GB/s on one idle core with the CPU's SHA extensions
    (measured on a 256 MiB buffer), so a 1M x 512 index (2.3 GB) takes about 1.5 s from the
    page cache, on top of reading it (hnswlib reads the whole file anyway when it loads one);
    on a busy 2-core machine it took 11 s. Memory: one 1 MiB buffer."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as f:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while n := f.readinto(buffer):
            digest.update(view[:n])
            size += n
    return size, digest.hexdigest()


def write_error(
    error: OSError, folder: Path, what: str, fix: str, kept: str | None = None
) -> WriteError:
    """A `WriteError` for `error` met while writing `what` into `folder`: which folder, why,
    and `fix` (what to run again once the cause is gone)."""
    if isinstance(error, WriteError):
        return error
    code = error.errno
    kept = kept or f"the previous {what} is kept"
    if code in (errno.ENOSPC, errno.EDQUOT):
        name = "ENOSPC" if code == errno.ENOSPC else "EDQUOT"
        text = f"the disk holding {folder} is full ({name}): free space and {fix}; {kept}"
    elif code == errno.EROFS:
        text = f"{folder} is on a read-only file system (EROFS): {what} cannot be saved; {kept}"
    elif code in (errno.EACCES, errno.EPERM):
        text = (
            f"{folder} is not writable (permission denied): {what} cannot be saved; "
            f"make it writable and {fix}; {kept}"
        )
    else:
        reason = error.strerror or str(error)
        text = f"{what} could not be written to {folder} ({reason}): {fix}; {kept}"
    return WriteError(code if code is not None else errno.EIO, text)


def short_write(path: Path, written: int, expected: int) -> OSError:
    """The error for a file that came out shorter than what was written to it (a writer such
    as hnswlib's that does not check its writes): ENOSPC when the disk has no room left for
    the rest, else EIO."""
    try:
        st = os.statvfs(path.parent)
        free = st.f_bavail * st.f_frsize
    except (OSError, AttributeError):
        free = None
    if written < expected and free is not None and free < (expected - written) + CHUNK:
        code = errno.ENOSPC
    else:
        code = errno.EIO
    return OSError(code, f"{path.name} came out {written} bytes long, {expected} expected")


def temp_beside(path: Path) -> Path:
    """A new empty temporary file in `path`'s folder (so that a rename replaces `path` in one
    step), named after it; old ones left by a dead process are removed first."""
    prefix = f".{path.name}-"
    now = time.time()
    for old in path.parent.glob(f"{prefix}*.tmp"):
        try:
            if now - old.stat().st_mtime > STALE_TEMP_SECONDS:
                old.unlink()
        except OSError:
            pass
    while True:
        tmp = path.parent / f"{prefix}{secrets.token_hex(6)}.tmp"
        try:
            # Not mkstemp: its 0600 would become the file's mode; this one follows the umask.
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp


def finish_temp(tmp: Path, expected_size: int, expected_sha256: str | None = None) -> str:
    """Sync `tmp` to the disk, read it back and check its size (and hash, when given).
    Returns the SHA-256 of what is on the disk; raises OSError if it is not what was meant."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)  # a delayed-allocation file system may only report ENOSPC here
    finally:
        os.close(fd)
    size, digest = file_digest(tmp)
    if size != expected_size:
        raise short_write(tmp, size, expected_size)
    if expected_sha256 is not None and digest != expected_sha256:
        raise OSError(errno.EIO, f"{tmp.name} reads back different from what was written")
    return digest


def sync_dir(folder: Path) -> None:
    """Make renames in `folder` durable (POSIX; elsewhere a no-op)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(
    path: Path, data: bytes, what: str | None = None, fix: str = "try again"
) -> None:
    """Write `data` to `path` through a verified temporary file and a rename; a `WriteError`
    (the old file kept, the temporary file removed) if it can't be."""
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_beside(path)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
        finish_temp(tmp, len(data), hashlib.sha256(data).hexdigest())
        os.replace(tmp, path)
        tmp = None
        sync_dir(path.parent)
    except OSError as e:
        raise write_error(e, path.parent, what or path.name, fix) from e
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


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


def write_json(
    path: Path,
    value: object,
    indent: int | None = None,
    what: str | None = None,
    fix: str = "try again",
) -> None:
    """Write `value` as JSON to `path` atomically and verified (see `write_bytes_atomic`):
    a crash leaves the old file or the new one, never half of one; a full disk or a read-only
    folder is a `WriteError` that keeps the old file."""
    data = (json.dumps(value, indent=indent) + "\n").encode("utf-8")
    write_bytes_atomic(path, data, what, fix)

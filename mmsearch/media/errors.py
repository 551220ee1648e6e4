"""Short, human reasons for the operating-system errors met on files and folders."""

from __future__ import annotations

import errno

FILE_NOT_FOUND = "file not found"
PERMISSION_DENIED = "permission denied"
IO_ERROR = "I/O error (disk or network problem?)"
UNAVAILABLE = "drive or network share unavailable"
VANISHED = "vanished during the scan"
BROKEN_SYMLINK = "broken symlink"
OUT_OF_MEMORY = "not enough memory to decode"

#: Reasons that say nothing about the file's content: the disk, the network, the rights or
#: the moment. A file that failed with one of them is retried on the next run even when its
#: size and mtime did not change; other reasons (not an image, truncated, too large) stay
#: until the file changes.
HEALABLE_REASONS: frozenset[str] = frozenset(
    {
        FILE_NOT_FOUND,
        "folder not found",
        PERMISSION_DENIED,
        IO_ERROR,
        UNAVAILABLE,
        VANISHED,
        BROKEN_SYMLINK,
        OUT_OF_MEMORY,
    }
)

# Errors of a drive that went away or a network share that stopped answering.
_UNAVAILABLE_CODES = frozenset(
    getattr(errno, name)
    for name in ("ENODEV", "ENXIO", "ESTALE", "ENOTCONN", "ETIMEDOUT", "EHOSTDOWN", "ENOMEDIUM")
    if hasattr(errno, name)
)


def can_heal(reason: str) -> bool:
    """True for a failure the file's content did not cause (see `HEALABLE_REASONS`)."""
    return reason in HEALABLE_REASONS


def os_error_reason(exc: OSError, *, folder: bool = False) -> str:
    """A short reason a person can act on, for an OSError met reading a file or folder."""
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        return PERMISSION_DENIED
    if code == errno.ENOENT:
        return "folder not found" if folder else FILE_NOT_FOUND
    if code == errno.ENOTDIR:
        return "not a folder" if folder else "not a regular file"
    if code == errno.EISDIR:
        return "not a regular file"
    if code == errno.ELOOP:
        return "too many levels of symbolic links"
    if code == errno.EIO:
        return IO_ERROR
    if code in _UNAVAILABLE_CODES:
        return UNAVAILABLE
    if code == errno.ENAMETOOLONG:
        return "path too long"
    if code == errno.ENOMEM:
        return OUT_OF_MEMORY
    return (exc.strerror or str(exc) or type(exc).__name__).lower()

"""Short, human reasons for the operating-system errors met on files and folders."""

from __future__ import annotations

import errno


def os_error_reason(exc: OSError, *, folder: bool = False) -> str:
    """A short reason a person can act on, for an OSError met reading a file or folder."""
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if code == errno.ENOENT:
        return "folder not found" if folder else "file not found"
    if code == errno.ENOTDIR:
        return "not a folder" if folder else "not a regular file"
    if code == errno.EISDIR:
        return "not a regular file"
    if code == errno.ELOOP:
        return "too many levels of symbolic links"
    if code == errno.EIO:
        return "I/O error (disk or network problem?)"
    if code == errno.ENAMETOOLONG:
        return "path too long"
    return (exc.strerror or str(exc) or type(exc).__name__).lower()

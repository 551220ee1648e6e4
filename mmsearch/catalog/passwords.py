"""A shared library's server password, kept in the system keyring, never in a file of ours.

The window's Settings save it there (macOS Keychain, Windows Credential Locker, the Secret
Service of GNOME or KDE on Linux, through the `keyring` package), under the service
"mmsearch" and the account `user@host:port/database`. Whoever connects (the window, the
CLI) with a URL that has no password looks it up; libpq's own `~/.pgpass` and
$PGPASSWORD keep working as well (they are read when the keyring has none).
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

from sqlalchemy.engine import URL

from mmsearch.catalog.errors import CatalogError
from mmsearch.catalog.urls import describe, server_url

SERVICE = "mmsearch"
PGPASS_HINT = (
    "put the password in ~/.pgpass (one line host:port:database:user:password, readable "
    "by you only) or in $PGPASSWORD instead"
)

log = logging.getLogger(__name__)


class KeyringUnavailable(CatalogError):
    """This computer has no system keyring to keep a password in."""


def account(url: URL) -> str:
    """The keyring account of a server library: who, where, which database."""
    return describe(url)


def _keyring() -> Any:
    import keyring  # (~200 ms: only for a server library)

    return keyring


def saved_password(url: URL) -> str | None:
    """The password saved for `url`'s account, None when none is (or no keyring works:
    then libpq's own ways apply, and the reason is logged)."""
    try:
        password = _keyring().get_password(SERVICE, account(url))
    except Exception as e:  # any backend's failure: no saved password
        log.info("no password from the system keyring for %s: %s", account(url), e)
        return None
    return password if isinstance(password, str) else None


def with_saved_password(location: str | URL) -> URL:
    """`location` as a URL with its saved password, unless it names one itself."""
    url = server_url(location) if isinstance(location, str) else location
    if url.password:
        return url
    password = saved_password(url)
    return url if password is None else url.set(password=password)


def save_password(location: str | URL, password: str) -> None:
    """Keep `password` for `location`'s account in the system keyring (an empty one
    forgets it). Raises KeyringUnavailable, which says what to do instead."""
    url = server_url(location) if isinstance(location, str) else location
    keyring = _keyring()
    try:
        if password:
            keyring.set_password(SERVICE, account(url), password)
            if keyring.get_password(SERVICE, account(url)) != password:  # (a null backend)
                raise keyring.errors.KeyringError(f"{keyring.get_keyring()} did not keep it")
        else:
            with suppress(keyring.errors.PasswordDeleteError):  # (none was saved)
                keyring.delete_password(SERVICE, account(url))
    except keyring.errors.KeyringError as e:
        raise KeyringUnavailable(
            f"the password for {account(url)} can't be kept in this computer's keyring "
            f"({e}); it was not saved anywhere: {PGPASS_HINT}"
        ) from e


def without_password(location: str) -> tuple[str, str | None]:
    """A location split into the URL to remember (no password) and its password, if any."""
    url = server_url(location)
    if not url.password:
        return location, None  # as the user wrote it
    bare = url._replace(password=None).render_as_string(hide_password=False)
    bare = bare.replace("postgresql+psycopg://", "postgresql://", 1)
    return bare, str(url.password)

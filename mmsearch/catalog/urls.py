"""Where a shared library's server is: its postgresql://... location, as a URL."""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url

SERVER_SCHEMES = ("postgresql", "postgres")


def is_server_url(location: str) -> bool:
    """Whether a --catalog value names a server (postgresql://...) rather than a folder."""
    return bool(re.match(rf"^({'|'.join(SERVER_SCHEMES)})(\+\w+)?://", location))


def server_url(location: str) -> URL:
    """The SQLAlchemy URL of a postgresql://... location, with our driver (psycopg 3)."""
    url = make_url(location)
    if url.drivername in SERVER_SCHEMES:
        url = url.set(drivername="postgresql+psycopg")
    return url


def describe(url: URL) -> str:
    """Where the server is, for messages: never the password."""
    host = url.host or url.query.get("host") or "localhost"
    port = f":{url.port}" if url.port else ""
    return f"{url.username or ''}{'@' if url.username else ''}{host}{port}/{url.database or ''}"

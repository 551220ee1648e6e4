"""A catalog on a PostgreSQL server: one library that several computers share.

The tables and migrations are the SQLite catalog's (`models.py`, `migrations/`); what
differs is what SQLite gave for free and a server gives otherwise:

- Opening: no file to check or back up (the server keeps its own data sound; backing it up
  is `pg_dump`'s job); migrations run under a server-wide advisory lock, so that two
  computers opening a new library at once create it once.
- Change detection (`data_version`): the server's next transaction id, which moves when any
  transaction that wrote anything ends, here or on another computer.
- Write numbers: each vector write takes the model's counter row locked until it commits
  (`Catalog._take_seq`), so that a computer's index, saved at write number n, is repaired
  from the rows numbered above n and never misses one another computer was writing.
- Text in photos: matched with `strpos` on the folded text (no FTS5; the pgvector server
  ships without pg_trgm), a scan of `photo_text` per query.
- A server that can't be reached raises `CatalogUnreachable`, which names the server and the
  fix, wherever it happens (opening, or a query in the middle of a run).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import (
    Connection,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.engine import URL, Engine, ExceptionContext
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from mmsearch.catalog.db import (
    SCHEMA_HEAD,
    VECTOR_DTYPE,
    Catalog,
    Filters,
    FolderInfo,
    PhotoRecord,
    _head,
    _migrations_config,
)
from mmsearch.catalog.errors import CatalogError
from mmsearch.catalog.models import Embedding, Photo
from mmsearch.catalog.passwords import with_saved_password
from mmsearch.catalog.roots import RootMap
from mmsearch.catalog.urls import SERVER_SCHEMES as SERVER_SCHEMES
from mmsearch.catalog.urls import describe as describe
from mmsearch.catalog.urls import is_server_url as is_server_url
from mmsearch.catalog.urls import server_url as server_url

log = logging.getLogger(__name__)
T = TypeVar("T")

_MIGRATION_LOCK = 0x6D6D73  # "mms": the advisory lock two first opens take in turn
# Measured at 100,000 x 512 (benchmarks/server_scale.py, docs/shared-library.md):
# - ef_search, the candidates pgvector keeps as it walks the graph: 200 found 92 % of the
#   true 10 nearest, 400 found 98.6 %;
# - a filter keeping 10,000 photos: scored exactly, 100 % of them; through the graph with the
#   iterative scan, 61 % (relaxed order) or 38 % (strict order). The true 10 nearest of such a
#   filter are often near-ties far from the query; an exact pass over 10,000 costs ~0.1 s.
EF_SEARCH = 400
ITERATIVE_SCAN = "relaxed_order"
EXACT_LIMIT = 20_000  # a filter keeping at most this many photos: they are scored exactly


class CatalogUnreachable(CatalogError):
    """The catalog's server can't be reached (stopped, the network down, refused)."""

    def __init__(self, where: str, reason: str) -> None:
        self.where, self.reason = where, reason
        super().__init__(
            f"the catalog server {where} can't be reached ({reason}): check that it runs and "
            "that this computer can reach it; nothing was lost, run the same command again "
            "when it is back"
        )


def vector_text(vector: np.ndarray) -> str:
    """pgvector's text form of a vector: [x,y,...] (float32 precision is plenty for a
    halfvec)."""
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(vector, dtype=np.float32).ravel()) + "]"


def vector_index_name(model_id: str, dim: int) -> str:
    return f"ix_vec_{hashlib.sha1(model_id.encode()).hexdigest()[:12]}_{dim}"


def server_folder(url: URL) -> str:
    """A folder name for what this computer keeps of a server library (its index): the
    server and database, readable, and a hash that tells similar names apart."""
    where = describe(url)
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", where).strip("-")[:60]
    return f"{readable}-{hashlib.sha1(where.encode()).hexdigest()[:8]}"


def _first_line(error: object) -> str:
    """What the driver said, its first line (psycopg adds lines of detail)."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else "no answer"


def _unreachable(error: BaseException) -> bool:
    if isinstance(error, OperationalError | DBAPIError) and getattr(
        error, "connection_invalidated", False
    ):
        return True
    orig = getattr(error, "orig", error)
    name = type(orig).__name__
    return name in {"OperationalError", "ConnectionTimeout", "AdminShutdown"} or (
        "connection" in str(orig).lower() and "closed" in str(orig).lower()
    )


def _again_on_conflict(write: Callable[[], T], tries: int = 5) -> T:
    """`write()`, done again when another computer's transaction inserted the same key
    first (a unique violation: this one was rolled back)."""
    for attempt in range(tries):
        try:
            return write()
        except IntegrityError as e:
            if getattr(e.orig, "sqlstate", None) != "23505" or attempt == tries - 1:
                raise
            log.info("a concurrent write inserted the same row first; writing again")
    raise AssertionError("unreachable")


class ServerCatalog(Catalog):
    """The catalog on a PostgreSQL server. Thread-safe for separate sessions."""

    def __init__(self, engine: Engine, url: URL, data_dir: Path) -> None:
        super().__init__(engine)
        self.url = url
        self.where = describe(url)
        self.data_dir = data_dir  # this computer's data folder (index, thumbnails, models)
        self.local_dir = data_dir / "servers" / server_folder(url)
        self.use_roots(RootMap.read(self.local_dir))
        self._indexed: set[tuple[str, int]] = set()  # (model, dim) whose vector index exists

    @classmethod
    def connect(cls, location: str | URL, data_dir: Path) -> ServerCatalog:
        """Connect to the server catalog at `location` (creating its tables, or upgrading
        them, as needed). Raises CatalogUnreachable when the server can't be reached."""
        url = with_saved_password(location)  # (the keyring's, unless the URL names one)
        # pre_ping: a pooled connection the server dropped (restarted) is replaced at once
        engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
        catalog = cls(engine, url, data_dir)

        @event.listens_for(engine, "handle_error")
        def _user_errors(context: ExceptionContext) -> None:
            if _unreachable(context.original_exception) or context.is_disconnect:
                error = context.original_exception
                raise CatalogUnreachable(catalog.where, _first_line(error)) from error

        try:
            catalog._migrate()
        except CatalogError:
            engine.dispose()
            raise
        except OperationalError as e:  # before the event: the very first connection
            engine.dispose()
            raise CatalogUnreachable(catalog.where, _first_line(e.orig)) from e
        return catalog

    def __str__(self) -> str:
        return f"postgresql://{self.where}"

    @staticmethod
    def _insert(table: Any) -> Any:
        # (imported here: SQLAlchemy's PostgreSQL dialect costs every start ~20 ms, and most
        # libraries are local)
        from sqlalchemy.dialects.postgresql import insert

        return insert(table)

    @staticmethod
    def _likely(clause: Any) -> Any:
        return clause  # the server's planner has statistics

    # -- reading many rows by id: one array, and vectors in binary --------------------------

    ID_CHUNK = 1 << 62  # one statement, whatever the number of ids

    @staticmethod
    def _among(column: Any, ids: list[int]) -> Any:
        # One array parameter, not a list of thousands of binds to render and parse:
        # 1,000 candidates checked against a filter in 6.5 ms instead of 15 (1M photos).
        from sqlalchemy.dialects.postgresql import ARRAY

        # (an array of the column's own type: against another, such as BIGINT[] for an
        # INTEGER key, the server can't hash the array and compares each row with every id)
        return column == any_(bindparam(None, ids, type_=ARRAY(column.type)))

    def _vector_rows(self, model_id: str, ids: Sequence[int] | None) -> Sequence[Any]:
        # In binary: the text form of bytea is hex, twice the bytes to send and parse.
        # 10,000 vectors of 512 by id: 33 ms instead of 112 through the join (1M photos).
        sql = "SELECT photo_id, vector FROM embeddings WHERE model_id = %s"
        params: list[Any] = [model_id]
        if ids is None:
            sql += " ORDER BY photo_id"
        else:
            sql += " AND photo_id = ANY(%s::integer[])"  # (the key's own type: see _among)
            params.append([int(i) for i in ids])
        return self._binary_rows(sql, params)

    def _binary_rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """The rows of `sql` (psycopg's placeholders), read in psycopg's binary format (the
        driver's own cursor: SQLAlchemy asks for text)."""
        import psycopg

        try:
            raw = self.engine.raw_connection()
        except OperationalError as e:
            raise CatalogUnreachable(self.where, _first_line(e.orig)) from e
        try:
            driver = raw.driver_connection
            assert isinstance(driver, psycopg.Connection)
            with driver.cursor(binary=True) as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            driver.rollback()  # (it only read)
            return rows
        except psycopg.Error as e:
            if _unreachable(e):
                raw.invalidate()
                raise CatalogUnreachable(self.where, _first_line(e)) from e
            raise
        finally:
            raw.close()

    def filtered_vectors(
        self, model_id: str, filters: Filters, kept: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if kept is None:
            kept = self.filtered_ids(None, filters)
        return self.vectors(model_id, kept.tolist())

    # Two computers can write one new row at once (the same photo, on a share both index;
    # the same folder): the second insert meets the first's unique key. Its transaction is
    # rolled back whole; done again, it finds the row and updates it.

    def add_photos(
        self, folder_id: int, model_id: str, records: Sequence[PhotoRecord]
    ) -> list[int]:
        return _again_on_conflict(
            lambda: super(ServerCatalog, self).add_photos(folder_id, model_id, records)
        )

    def add_folder(self, path: Path) -> tuple[FolderInfo, str]:
        return _again_on_conflict(lambda: super(ServerCatalog, self).add_folder(path))

    # -- vectors on the server (migration 0008: `embeddings.vec`, pgvector's halfvec) ---------

    def _wrote_vectors(
        self, s: Session, model_id: str, ids: Sequence[int], vectors: Sequence[np.ndarray]
    ) -> None:
        if not ids:
            return
        dim = int(np.asarray(vectors[0]).size)
        self._ensure_vector_index(s.connection(), model_id, dim)
        s.execute(
            text(
                "UPDATE embeddings SET vec = CAST(:v AS halfvec) "
                "WHERE photo_id = :p AND model_id = :m"
            ),
            [
                {"v": vector_text(v), "p": int(i), "m": model_id}
                for i, v in zip(ids, vectors, strict=True)
            ],
        )

    def complete_vectors(self, chunk: int = 2000) -> int:
        """Fill `vec` from the stored bytes where it is missing (rows copied in bulk)."""
        done = 0
        while True:
            with self.session() as s:
                rows = s.execute(
                    select(Embedding.photo_id, Embedding.model_id, Embedding.vector)
                    .where(literal_column("vec").is_(None))
                    .limit(chunk)
                ).all()
                if not rows:
                    return done
                by_model: dict[str, tuple[list[int], list[np.ndarray]]] = {}
                for photo_id, model_id, blob in rows:
                    ids, vectors = by_model.setdefault(model_id, ([], []))
                    ids.append(photo_id)
                    vectors.append(np.frombuffer(blob, dtype=VECTOR_DTYPE))
                for model_id, (ids, vectors) in by_model.items():
                    self._wrote_vectors(s, model_id, ids, vectors)
                done += len(rows)

    def _ensure_vector_index(self, conn: Connection, model_id: str, dim: int) -> None:
        """The server's HNSW index of one model's vectors (partial on the model: models of
        other dimensions share the column), made on the model's first write."""
        key = (model_id, dim)
        if key in self._indexed:
            return
        name = vector_index_name(model_id, dim)
        quoted = model_id.replace("'", "''")
        conn.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {name} ON embeddings USING hnsw "
                f"((vec::halfvec({dim})) halfvec_cosine_ops) WHERE model_id = '{quoted}'"
            )
        )
        self._indexed.add(key)

    def nearest(
        self,
        model_id: str,
        vector: np.ndarray,
        k: int,
        filters: Filters | None = None,
        allowed_ids: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` photos (ids, cosine scores) of `model_id` nearest `vector`, best first,
        among those `filters` keep (but `kind`) and `allowed_ids`, searched on the server.

        Unfiltered, and with a filter that keeps more than EXACT_LIMIT photos: the server's
        HNSW index, the filter checked as the graph is walked (pgvector's iterative scan).
        A filter that keeps fewer: those photos scored exactly (the walk would have to pass
        thousands of rows to find enough kept ones, slower and missing some), through the
        filter's own index (path, date)."""
        dim = int(vector.size)
        sql = f"(embeddings.vec::halfvec({dim}) <=> '{vector_text(vector)}'::halfvec({dim}))"
        distance: Any = literal_column(sql)
        filtered = bool(filters) or allowed_ids is not None
        stmt = select(Embedding.photo_id, distance.label("distance")).where(
            Embedding.model_id == model_id
        )
        if filters:
            stmt = self._filters(stmt.join(Photo, Photo.id == Embedding.photo_id), filters)
        if allowed_ids is not None:
            stmt = stmt.where(Embedding.photo_id.in_([int(i) for i in allowed_ids]))
        with self.engine.begin() as conn:
            exact = filtered and self._kept_at_most(conn, stmt, EXACT_LIMIT)
            # `+ 0`: an ordering the vector index can't serve, so the kept rows are scored
            ordering: Any = literal_column(f"{sql} + 0" if exact else "distance")
            conn.execute(text(f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH, k)}"))
            conn.execute(text(f"SET LOCAL hnsw.iterative_scan = {ITERATIVE_SCAN}"))
            rows = conn.execute(stmt.order_by(ordering).limit(k)).all()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        scores = 1.0 - np.array([r[1] for r in rows], dtype=np.float32)
        best = np.argsort(-scores, kind="stable")  # (a relaxed scan is nearly sorted)
        return ids[best], scores[best]

    @staticmethod
    def _kept_at_most(conn: Connection, stmt: Any, limit: int) -> bool:
        """Whether `stmt` has at most `limit` rows (counting no further than limit + 1)."""
        probe = stmt.with_only_columns(Embedding.photo_id).limit(limit + 1).subquery()
        return int(conn.execute(select(func.count()).select_from(probe)).scalar() or 0) <= limit

    def _migrate(self) -> None:
        if self.schema_version() == SCHEMA_HEAD:
            return
        from alembic import command
        from alembic.runtime.migration import MigrationContext

        with self.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            if MigrationContext.configure(conn).get_current_revision() != _head():
                command.upgrade(_migrations_config(conn), "head")

    def schema_version(self) -> str | None:
        with self.engine.connect() as conn:
            if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
                return None
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        return str(versions[0][0]) if len(versions) == 1 else None

    def data_version(self) -> int:
        """The server's next transaction id: it moves whenever a transaction that wrote
        anything ends (here or on another computer; read-only ones take no id)."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
                ).scalar()
                or 0
            )

    def check(self) -> None:
        """Nothing to check here: the server keeps its own data sound."""

    def close(self) -> None:
        self.engine.dispose()

    def vectors_checked(self) -> bool:
        # Every vector of a server catalog was written by a version that refuses bad ones.
        return True

    def mark_vectors_checked(self) -> None:
        pass

    def text_matches(self, terms: Sequence[str], limit: int = 5000) -> dict[int, str]:
        return self._texts(terms, "AND", limit)

    def texts_with_any(self, fragments: Sequence[str], limit: int = 20_000) -> dict[int, str]:
        return self._texts([f for f in fragments if len(f) >= 3], "OR", limit)

    def _texts(self, words: Sequence[str], joiner: str, limit: int) -> dict[int, str]:
        """{photo id: lines JSON} of the current texts that hold every (AND) or any (OR) of
        `words` (folded, as `photo_text.search` is)."""
        if not words:
            return {}
        where = f" {joiner} ".join(f"strpos(t.search, :t{i}) > 0" for i in range(len(words)))
        params: dict[str, object] = {f"t{i}": w for i, w in enumerate(words)}
        sql = text(
            "SELECT t.photo_id, t.lines FROM photo_text t "
            "JOIN photos p ON p.id = t.photo_id AND p.content_hash = t.content_hash "
            f"WHERE ({where}) LIMIT :limit"
        )
        with self.engine.connect() as conn:
            rows = conn.execute(sql, {**params, "limit": limit}).all()
        return {int(r[0]): r[1] for r in rows}


def probe(location: str, password: str | None = None) -> str:
    """Whether a server can hold a shared library, said in a sentence (the Settings' "Test
    the connection"): its version, pgvector's, and the library it holds, if any. Changes
    nothing on the server. Raises CatalogError with what went wrong and what to do."""
    url = with_saved_password(location)
    if password:
        url = url.set(password=password)
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            version = str(conn.execute(text("SHOW server_version")).scalar())
            vector = conn.execute(
                text(
                    "SELECT coalesce(installed_version, default_version) FROM "
                    "pg_available_extensions WHERE name = 'vector'"
                )
            ).scalar()
            held = conn.execute(text("SELECT to_regclass('photos')")).scalar()
            photos = conn.execute(text("SELECT count(*) FROM photos")).scalar() if held else None
    except DBAPIError as e:
        raise CatalogUnreachable(describe(url), _first_line(e.orig)) from e
    finally:
        engine.dispose()
    if vector is None:
        raise CatalogError(
            f"{describe(url)} (PostgreSQL {version}) has no pgvector extension: install it on "
            "the server (the package postgresql-NN-pgvector, or pgvector's own build), then "
            "test again"
        )
    library = (
        "no library yet: the first start makes it"
        if photos is None
        else (f"a library of {photos:,} photos")
    )
    return f"{describe(url)} answers: PostgreSQL {version}, pgvector {vector}; {library}"

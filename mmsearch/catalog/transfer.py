"""Copy a whole catalog into an empty one: a local library to a server, or back.

Every table of the schema is copied row for row, ids included, in one transaction on the
target (a failure leaves it empty, never half a library), from one consistent snapshot of
the source (a run writing to it meanwhile is neither half in nor in the way). Then the
target's row counts are compared with the source's, table by table, and a server's id
sequences are moved past the copied ids.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, FromClause, func, select, text

from mmsearch.catalog.db import Catalog
from mmsearch.catalog.errors import CatalogError
from mmsearch.catalog.models import Base, Folder, Photo

CHUNK = 2_000


class TargetNotEmpty(CatalogError):
    """The target already holds a library: a copy would mix two."""


def _rows(conn: Connection, table: FromClause) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def table_counts(catalog: Catalog) -> dict[str, int]:
    """Rows per table of the schema."""
    with catalog.engine.connect() as conn:
        return {t.name: _rows(conn, t) for t in Base.metadata.sorted_tables}


def copy_catalog(
    source: Catalog,
    target: Catalog,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Copy every row of `source` into `target`, which must hold no folder or photo (raises
    TargetNotEmpty). `progress(table, copied, rows)` follows it. Returns the rows copied
    per table; raises CatalogError if the target's counts then differ from the source's."""
    with target.engine.connect() as conn:
        held = [_rows(conn, t) for t in (Folder.__table__, Photo.__table__)]
    if any(held):
        raise TargetNotEmpty(
            f"{_where(target)} already holds a library ({held[0]} folders, {held[1]} photos): "
            "copy into a new, empty one (a new database on the server, or a new data folder)"
        )
    copied: dict[str, int] = {}
    with source.engine.connect() as src, target.engine.begin() as dst:
        # One snapshot of every table: a server's other computers may write meanwhile (a
        # local source is held still by its writer lock, which the caller takes).
        if src.dialect.name == "postgresql":
            src.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        for table in reversed(Base.metadata.sorted_tables):  # children first: emptied
            dst.execute(table.delete())  # (a new catalog's own rows, e.g. none today)
        for table in Base.metadata.sorted_tables:  # parents first
            total = _rows(src, table)
            done = 0
            result = src.execution_options(stream_results=True, yield_per=CHUNK).execute(
                select(table).order_by(*table.primary_key.columns)
            )
            for rows in result.mappings().partitions(CHUNK):
                dst.execute(table.insert(), [dict(r) for r in rows])
                done += len(rows)
                if progress is not None:
                    progress(table.name, done, total)
            copied[table.name] = done
        if dst.dialect.name == "postgresql":
            for table in Base.metadata.sorted_tables:
                if "id" in table.columns and table.columns["id"].autoincrement in (True, "auto"):
                    dst.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                        )
                    )
    target.complete_vectors()  # (a server: its searchable copy of every vector)
    landed = table_counts(target)
    if landed != copied:
        raise CatalogError(f"the copy into {_where(target)} differs from its source: {landed}")
    return copied


def _where(catalog: Catalog) -> str:
    return str(catalog) if type(catalog) is not Catalog else str(catalog.path)

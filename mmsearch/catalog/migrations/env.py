"""Alembic environment: migrations run on the connection the catalog hands over."""

from __future__ import annotations

from alembic import context

from mmsearch.catalog.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    raise RuntimeError("run migrations through mmsearch.catalog.Catalog, not the alembic CLI")

# render_as_batch: SQLite can't ALTER most things, batch mode rebuilds tables instead.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

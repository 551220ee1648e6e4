"""Vectors stored as float16, each with the write number the index repairs itself from.

`embeddings.vector` becomes float16 (little endian): half the size (1 GB instead of 2 at a
million 512-d photos), cosine to the float32 vector >= 0.9999 (docs/performance.md). The
rows are converted here, in chunks, in the migration's transaction.

`embeddings.seq` numbers each write of a model's vectors (1, 2, ...; NULL for the rows
written before this migration), from the counter `embedding_writes` (one row per model,
never lowered: deleting the newest vectors must not give their numbers out again). The
vector index records the highest number it holds, so after a crash it is repaired from the
rows written since (and the photos gone since) instead of being rebuilt from every row
(`mmsearch.index.hnsw.VectorIndex.open`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 5_000


def _convert(source: str, target: str) -> None:
    """Rewrite every vector from dtype `source` to `target` (a damaged row of an odd length
    is left as it is: the once-per-catalog scan drops it, as before)."""
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        # A server catalog is born after this schema (vectors were float16 from its first
        # row): nothing to convert, and no rowid to walk.
        if conn.execute(sa.text("SELECT count(*) FROM embeddings")).scalar():
            raise RuntimeError("a server catalog with vectors before schema 0006 is unknown")
        return
    width = np.dtype(source).itemsize
    last = -1
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT rowid, vector FROM embeddings WHERE rowid > :last ORDER BY rowid LIMIT :n"
            ),
            {"last": last, "n": _CHUNK},
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        changed = [
            {"id": rowid, "v": np.frombuffer(blob, dtype=source).astype(target).tobytes()}
            for rowid, blob in rows
            if blob is not None and len(blob) % width == 0
        ]
        if changed:
            conn.execute(sa.text("UPDATE embeddings SET vector = :v WHERE rowid = :id"), changed)


def upgrade() -> None:
    op.execute("ALTER TABLE embeddings ADD COLUMN seq INTEGER")
    op.create_index("ix_embeddings_model_seq", "embeddings", ["model_id", "seq"])
    op.create_table(
        "embedding_writes",
        sa.Column("model_id", sa.String(200), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    _convert("<f4", "<f2")


def downgrade() -> None:
    _convert("<f2", "<f4")
    op.drop_table("embedding_writes")
    op.drop_index("ix_embeddings_model_seq", table_name="embeddings")
    op.execute("ALTER TABLE embeddings DROP COLUMN seq")

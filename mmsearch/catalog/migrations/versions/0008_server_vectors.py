"""A server catalog keeps each vector a second time, as pgvector's `halfvec` (float16, as the
bytes beside it), which its HNSW indexes (one per model and dimension, partial on the model,
made by `ServerCatalog._ensure_vector_index`) search on the server. A SQLite catalog has no
such type: its vectors are searched by the HNSW files beside it; nothing changes there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")
        op.execute("ALTER TABLE embeddings ADD COLUMN vec halfvec")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE embeddings DROP COLUMN vec")  # (its indexes go with it)

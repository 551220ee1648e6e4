"""Perceptual hashes: per photo, the 64-bit difference hash the duplicate finder compares,
with the content hash it was made from (a changed file's hash is made again).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "photo_hashes",
        sa.Column(
            "photo_id",
            sa.Integer,
            sa.ForeignKey("photos.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("dhash", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("photo_hashes")

"""Text in photos: per photo, the lines the OCR model read (with their boxes), the content
hash and reader version they were read with, and an FTS5 index over their search form.

`photo_text.search` is the text lowercased and NFKC-folded; `photo_text_fts` indexes it
with the trigram tokenizer, so a word is found inside a line the recogniser ran together
("INVOICE2024") and Chinese needs no word splitter. Triggers keep the index in step with
the table (external content: the text is stored once).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "photo_text",
        sa.Column(
            "photo_id",
            sa.Integer,
            sa.ForeignKey("photos.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("reader", sa.String(64), nullable=False),
        sa.Column("search", sa.Text, nullable=False),
        sa.Column("lines", sa.Text, nullable=False),
    )
    if op.get_bind().dialect.name != "sqlite":
        return  # a server catalog matches `search` with strpos (no FTS5 there; see server.py)
    op.execute(
        "CREATE VIRTUAL TABLE photo_text_fts USING fts5("
        "search, content='photo_text', content_rowid='photo_id', tokenize='trigram')"
    )
    op.execute(
        "CREATE TRIGGER photo_text_ai AFTER INSERT ON photo_text BEGIN "
        "INSERT INTO photo_text_fts(rowid, search) VALUES (new.photo_id, new.search); END"
    )
    op.execute(
        "CREATE TRIGGER photo_text_ad AFTER DELETE ON photo_text BEGIN "
        "INSERT INTO photo_text_fts(photo_text_fts, rowid, search) "
        "VALUES ('delete', old.photo_id, old.search); END"
    )
    op.execute(
        "CREATE TRIGGER photo_text_au AFTER UPDATE ON photo_text BEGIN "
        "INSERT INTO photo_text_fts(photo_text_fts, rowid, search) "
        "VALUES ('delete', old.photo_id, old.search); "
        "INSERT INTO photo_text_fts(rowid, search) VALUES (new.photo_id, new.search); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_table("photo_text")
        return
    for trigger in ("photo_text_ai", "photo_text_ad", "photo_text_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS photo_text_fts")
    op.drop_table("photo_text")

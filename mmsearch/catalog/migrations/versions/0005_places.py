"""Places, cameras and dates: a photo's GPS position and the place it was named after,
where its date came from, and which version of the details pass read them.

`photos.details` is the version of `mmsearch.services.details` that read the file's header
(NULL: not read yet; every photo catalogued before this migration is read once, the next
time indexing runs). `photos.taken_from` says where `taken_at` came from: "exif", "name"
(a date in the file name) or "file" (the file's modification time). `places` holds the
places photos were named after, per geocoder version (`Geocoder.version`): a new place
database names every photo again from its stored position, without reading files.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "places",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("geocoder", sa.String(64), nullable=False),
        sa.Column("entry", sa.Integer, nullable=False),
        sa.Column("city", sa.Text, nullable=True),
        sa.Column("region", sa.Text, nullable=True),
        sa.Column("country", sa.Text, nullable=False),
        sa.Column("country_code", sa.String(8), nullable=False),
    )
    op.create_index("ix_places_geocoder_entry", "places", ["geocoder", "entry"])
    # Plain ADD COLUMN (no table rebuild: a rebuild drops `photos`, which cascades). No
    # foreign key on place_id: SQLite could not drop the column again; the details pass
    # clears a photo's place_id itself before it deletes a place.
    for column in (
        sa.Column("details", sa.Integer, nullable=True),
        sa.Column("taken_from", sa.String(8), nullable=True),
        sa.Column("latitude", sa.Float, nullable=True),
        sa.Column("longitude", sa.Float, nullable=True),
        sa.Column("place_id", sa.Integer, nullable=True),
    ):
        op.execute(f"ALTER TABLE photos ADD COLUMN {column.name} {column.type}")
    op.create_index("ix_photos_place_id", "photos", ["place_id"])
    op.create_index("ix_photos_details", "photos", ["details"])


def downgrade() -> None:
    op.drop_index("ix_photos_details", table_name="photos")
    op.drop_index("ix_photos_place_id", table_name="photos")
    for column in ("place_id", "longitude", "latitude", "taken_from", "details"):
        op.execute(f"ALTER TABLE photos DROP COLUMN {column}")  # SQLite 3.35+
    op.drop_index("ix_places_geocoder_entry", table_name="places")
    op.drop_table("places")

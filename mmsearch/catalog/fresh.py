"""Starting afresh on purpose: the catalog moved aside (kept), an empty one in its place.

Apart from `backup.py` because it opens a `Catalog`, and `db.py` imports `backup.py`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from mmsearch.catalog.backup import _sole_writer, move_aside
from mmsearch.catalog.db import Catalog
from mmsearch.catalog.errors import CatalogError


def new_catalog(data_dir: Path, now: datetime | None = None) -> list[Path]:
    """Start afresh on purpose: move the catalog aside (kept) and create an empty one in its
    place. Returns what was moved aside."""
    data_dir = Path(data_dir)
    with _sole_writer(data_dir, "new catalog"):
        try:
            moved = move_aside(data_dir, now)
        except OSError as e:
            raise CatalogError(f"could not move the catalog in {data_dir} aside: {e}") from e
        Catalog.open(data_dir, start_empty=True).close()
    return moved

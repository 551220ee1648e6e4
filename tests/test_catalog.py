"""The catalog layer on its own: schema, folders, photos, filters, odd file names."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np

from mmsearch.catalog import Catalog
from mmsearch.catalog.db import Filters, PhotoRecord


def record(path: Path, taken: datetime | None = None, seed: int = 0) -> PhotoRecord:
    vector = np.random.default_rng(seed).normal(size=8).astype(np.float32)
    vector /= np.linalg.norm(vector)  # the catalog stores unit vectors only
    return PhotoRecord(path, 10, 20, f"hash{seed}", 64, 48, taken, "Cam", vector)


def test_new_catalog_is_migrated_and_in_wal_mode(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path)
    assert catalog.schema_version() == "0008"
    catalog.close()
    db = sqlite3.connect(tmp_path / "catalog.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"folders", "photos", "embeddings", "regions", "failures", "alembic_version"} <= tables
    # opening again is a no-op migration
    assert Catalog.open(tmp_path).schema_version() == "0008"


def test_the_schema_head_a_start_compares_with_is_the_migrations_newest() -> None:
    """A start reads the catalog's revision without Alembic (0.4 s of imports): against a
    constant, which must name the newest migration."""
    from mmsearch.catalog.db import SCHEMA_HEAD, _head

    assert _head() == SCHEMA_HEAD


def test_nested_folders_are_not_indexed_twice(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path / "data")
    inner, note = catalog.add_folder(tmp_path / "a" / "b")
    assert note == "added"
    catalog.add_photos(inner.id, "m", [record(tmp_path / "a" / "b" / "x.jpg")])
    _, note = catalog.add_folder(tmp_path / "a" / "b" / "c")
    assert note.startswith("already covered by")
    _, note = catalog.add_folder(tmp_path / "a")
    assert "includes" in note
    folders = catalog.folders()
    assert [f.path for f in folders] == [tmp_path / "a"]
    assert folders[0].photos == 1
    assert catalog.remove_folder(tmp_path / "a") == [1]
    assert catalog.counts("m") == {"photos": 0, "embedded": 0, "failures": 0}
    assert catalog.remove_folder(tmp_path / "nowhere") is None


def test_non_utf8_paths_round_trip(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path / "data")
    folder, _ = catalog.add_folder(tmp_path)
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.jpg"))
    catalog.add_photos(folder.id, "m", [record(odd)])
    (info,) = catalog.photos([1]).values()
    assert os.fsencode(info.path) == os.fsencode(odd)
    assert catalog.photo_by_path(odd) is not None


def test_add_photos_replaces_by_path_and_filters(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path / "data")
    folder, _ = catalog.add_folder(tmp_path)
    a, b = tmp_path / "2019" / "a.jpg", tmp_path / "2021" / "b.jpg"
    ids = catalog.add_photos(
        folder.id, "m", [record(a, datetime(2019, 5, 1), 1), record(b, datetime(2021, 5, 1), 2)]
    )
    again = catalog.add_photos(folder.id, "m", [record(a, datetime(2019, 5, 1), 3)])
    assert again[0] == ids[0]
    assert catalog.counts("m")["embedded"] == 2
    assert catalog.filtered_ids("m", Filters(folder=tmp_path / "2019")).tolist() == [ids[0]]
    assert catalog.filtered_ids("m", Filters(folder=tmp_path / "20")).tolist() == []
    assert catalog.filtered_ids("m", Filters(after=datetime(2020, 1, 1))).tolist() == [ids[1]]
    assert catalog.filtered_ids("m", Filters(before=datetime(2020, 1, 1))).tolist() == [ids[0]]
    assert catalog.filtered_ids("other").tolist() == []
    got_ids, matrix = catalog.vectors("m")
    assert got_ids.tolist() == ids
    # stored as float16 (migration 0006): the same direction, within float16's rounding
    assert float(matrix[0] @ record(a, seed=3).vector) >= 0.9999
    assert catalog.embedded_hashes("m") == {"hash3", "hash2"}
    found = catalog.photo_by_hash("hash2", "m")
    assert found is not None and found[0].path == b


def test_failures_are_recorded_once_and_cleared_by_success(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path / "data")
    folder, _ = catalog.add_folder(tmp_path)
    bad = tmp_path / "bad.jpg"
    catalog.record_failure(folder.id, bad, "truncated JPEG", 5, 6)
    catalog.record_failure(folder.id, bad, "empty file (0 bytes)", 0, 7)
    assert [(f.path, f.reason) for f in catalog.failures()] == [(bad, "empty file (0 bytes)")]
    assert catalog.known_failures(folder.id) == {bad: (0, 7)}
    catalog.add_photos(folder.id, "m", [record(bad)])
    assert catalog.failures() == []


def test_regions_are_written_with_their_photo_and_go_with_it(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path / "data")
    folder, _ = catalog.add_folder(tmp_path)
    regions = np.arange(12, dtype=np.float16).reshape(3, 4) / 7
    with_regions = replace(record(tmp_path / "a.jpg"), regions=regions)
    ids = catalog.add_photos(folder.id, "m", [with_regions, record(tmp_path / "b.jpg", seed=1)])
    stored = catalog.regions("m", ids)
    assert list(stored) == [ids[0]]  # the second photo came without regions
    assert stored[ids[0]].dtype == np.float16
    assert np.array_equal(stored[ids[0]].reshape(3, 4), regions)
    assert catalog.regions("other-model", ids) == {}
    # New content without regions drops the old ones: they described the old photo.
    catalog.add_photos(folder.id, "m", [record(tmp_path / "a.jpg", seed=2)])
    assert catalog.regions("m", ids) == {}
    catalog.add_photos(folder.id, "m", [with_regions])
    catalog.delete_photos(ids)
    assert catalog.regions("m", ids) == {}


def test_a_0001_catalog_is_upgraded_in_place(tmp_path: Path) -> None:
    from alembic import command

    from mmsearch.catalog.db import _migrations_config

    catalog = Catalog.open(tmp_path)
    folder, _ = catalog.add_folder(tmp_path / "photos")
    catalog.add_photos(folder.id, "m", [record(tmp_path / "photos" / "a.jpg")])
    with catalog.engine.begin() as conn:
        command.downgrade(_migrations_config(conn), "0001")
    catalog.close()
    tables = {
        r[0]
        for r in sqlite3.connect(tmp_path / "catalog.sqlite").execute(
            "SELECT name FROM sqlite_master WHERE type='table'"
        )
    }
    assert "regions" not in tables
    reopened = Catalog.open(tmp_path)  # what a user's old catalog meets on the next start
    assert reopened.schema_version() == "0008"
    assert reopened.counts("m")["embedded"] == 1
    assert reopened.regions("m", [1]) == {}

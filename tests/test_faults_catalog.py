"""Faults of the catalog, the one file that can't be rebuilt from the photos: a damaged file,
one truncated to 0 bytes or deleted, rotating backups, and a read-only data folder. Real
SQLite files, the real CLI in a subprocess (stderr must never hold a traceback)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from mmsearch.catalog import (
    Catalog,
    CatalogDamaged,
    CatalogMissing,
    CatalogReadOnly,
    NoBackup,
    backup_catalog,
    list_backups,
    new_catalog,
    restore_backup,
)
from mmsearch.catalog.backup import check_file
from mmsearch.catalog.db import VECTOR_DTYPE, Filters
from mmsearch.cli import EXIT_DATA, main
from mmsearch.paths import BUNDLED_MODEL_ID
from tests.conftest import CliRunner, subprocess_env
from tests.mounts import can_mount, fill, read_only, tmpfs

FILLERS = 3000


def add_fillers(data: Path, count: int = FILLERS) -> None:
    """Thousands of photo rows (under a folder that is not on disk, so indexing keeps them,
    and with vectors of another model id, so searches don't see them): the file then has
    enough table and index pages that a garble mid-file hits them."""
    rng = np.random.default_rng(0)
    catalog = Catalog.open(data)
    folder, _ = catalog.add_folder(data.parent / "unplugged-drive")
    catalog.close()
    prefix = os.fsencode(folder.path)
    db = sqlite3.connect(data / "catalog.sqlite")
    with db:
        db.executemany(
            "INSERT INTO photos (folder_id, path, size, mtime_ns, content_hash, width, height,"
            " taken_at, camera, indexed_at) VALUES (?, ?, ?, ?, ?, 4000, 3000, ?, 'Cam', ?)",
            [
                (
                    folder.id,
                    prefix + b"/IMG_%05d.jpg" % i,
                    3_000_000 + i,
                    i,
                    f"{i:064x}",
                    f"2020-01-01 {i % 24:02d}:00:00.000000",
                    "2026-11-01 10:00:00.000000",
                )
                for i in range(count)
            ],
        )
        ids = [r[0] for r in db.execute("SELECT id FROM photos WHERE folder_id = ?", (folder.id,))]
        db.executemany(
            "INSERT INTO embeddings (photo_id, model_id, vector) VALUES (?, 'filler-model', ?)",
            [(i, rng.normal(size=64).astype(VECTOR_DTYPE).tobytes()) for i in ids],
        )
    db.close()  # the last connection: everything is checkpointed into the main file


def garble_middle(path: Path, size: int = 4096) -> None:
    data = path.read_bytes()
    middle = len(data) // 2
    noise = np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8).tobytes()
    path.write_bytes(data[:middle] + noise + data[middle + size :])


def photo_count(data: Path) -> int:
    with sqlite3.connect(data / "catalog.sqlite") as db:
        return int(db.execute("SELECT count(*) FROM photos").fetchone()[0])


def run_cli(home: Path, model_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(home, model_dir)
    cmd = [sys.executable, "-m", "mmsearch", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture
def indexed(cli: CliRunner, home: Path, photo_folder: Path) -> int:
    """A library of the six sample photos plus the fillers, indexed once (which made the
    first backup); returns its photo count."""
    add_fillers(home)
    report = cli("index", str(photo_folder))
    assert report["added"] == 6 and report["backup"]
    assert not Path(f"{home / 'catalog.sqlite'}-wal").exists()  # all in the main file
    return photo_count(home)


def test_damaged_catalog_is_reported_by_every_command_and_restored(
    indexed: int, home: Path, bundled_model_dir: Path, photo_folder: Path
) -> None:
    catalog = home / "catalog.sqlite"
    assert indexed == FILLERS + 6
    garble_middle(catalog)
    assert check_file(catalog) is not None, "the garble must be damage SQLite can see"

    for args in (
        ["status"],
        ["search", "a cup of coffee"],
        ["index"],
        ["folders", "list", "--json"],
    ):
        done = run_cli(home, bundled_model_dir, *args)
        assert done.returncode == EXIT_DATA, (args, done.stdout, done.stderr)
        # the message on stderr, or JSON on stdout under --json
        said = json.loads(done.stdout)["error"] if "--json" in args else done.stderr
        assert f"the catalog {catalog} is damaged" in said, (args, said)
        assert "mmsearch doctor --restore" in said
        assert f"{FILLERS + 6:,} photos" in said  # which backup the fix brings back

    doctor = json.loads(run_cli(home, bundled_model_dir, "doctor", "--quick", "--json").stdout)
    assert doctor["catalog"]["state"] == "damaged" and len(doctor["catalog"]["backups"]) == 1

    done = run_cli(home, bundled_model_dir, "doctor", "--restore")
    assert done.returncode == 0, done.stderr
    assert f"{FILLERS + 6:,} photos in 2 folders" in done.stdout
    aside = sorted(p for p in home.iterdir() if p.name.startswith("catalog.sqlite.damaged-"))
    assert f"moved aside to {aside[0]} (kept)" in done.stdout
    assert {p.name[len(aside[0].name) :] for p in aside} <= {"", "-wal", "-shm"}
    assert aside[0].stat().st_size == catalog.stat().st_size  # kept, as it was
    assert check_file(catalog) is None
    assert photo_count(home) == indexed

    done = run_cli(home, bundled_model_dir, "search", "a cup of coffee", "--json")
    assert done.returncode == 0, done.stderr
    assert Path(json.loads(done.stdout)[0]["path"]).name == "coffee.png"
    status = json.loads(run_cli(home, bundled_model_dir, "status", "--json").stdout)
    assert status["photos"] == indexed and status["index"]["agrees_with_catalog"]


def test_damage_met_by_a_later_query_is_catalog_damaged(home: Path) -> None:
    """Damage the check at open can't see coming (bit rot: the file's size and time did not
    change since it was last found sound, so open skips the check) is reported by the query
    that meets it, as CatalogDamaged."""
    add_fillers(home)
    Catalog.open(home).close()  # found sound, and marked so
    path = home / "catalog.sqlite"
    before = path.stat()
    garble_middle(path, 64 * 1024)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    catalog = Catalog.open(home)  # no check: nothing seems to have changed
    with pytest.raises(CatalogDamaged) as caught:
        catalog.folders()
        catalog.vectors("filler-model")
        catalog.filtered_ids("filler-model", Filters(after=datetime(2020, 1, 1)))
    assert "mmsearch doctor --new-catalog" in str(caught.value)  # no backup yet
    catalog.close()  # the damaged file is no longer marked sound: the next open checks it
    with pytest.raises(CatalogDamaged):
        Catalog.open(home)


def test_no_backup_says_how_to_start_afresh(home: Path) -> None:
    add_fillers(home, 200)
    garble_middle(home / "catalog.sqlite", 8192)
    with pytest.raises(CatalogDamaged, match="there is no backup of it"):
        Catalog.open(home)
    with pytest.raises(NoBackup, match="mmsearch doctor --new-catalog"):
        restore_backup(home)
    moved = new_catalog(home)
    assert [p.name.startswith("catalog.sqlite.damaged-") for p in moved] == [True]
    assert Catalog.open(home).folders() == []


def test_empty_or_deleted_catalog_is_reported_not_started_afresh(
    indexed: int, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = home / "catalog.sqlite"
    catalog.write_bytes(b"")
    with pytest.raises(CatalogMissing, match=r"is empty \(0 bytes\).*doctor --restore"):
        Catalog.open(home)
    assert main(["status"]) == EXIT_DATA
    assert "mmsearch doctor --restore" in capsys.readouterr().err
    catalog.unlink()
    with pytest.raises(CatalogMissing, match="is missing, but this data folder held a library"):
        Catalog.open(home)
    assert not catalog.exists()  # nothing was created in its place
    assert main(["doctor", "--restore", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["restored"]["photos"] == indexed and result["replaced_state"] == "missing"
    assert photo_count(home) == indexed

    catalog.unlink()  # and on purpose: an empty catalog
    assert main(["doctor", "--new-catalog"]) == 0
    assert Catalog.open(home).counts(BUNDLED_MODEL_ID)["photos"] == 0


def test_a_new_data_folder_just_works(tmp_path: Path) -> None:
    data = tmp_path / "new"
    Catalog.open(data).close()
    (data / "catalog.sqlite").write_bytes(b"")  # an empty file nothing refers to
    assert Catalog.open(data).folders() == []


def test_backups_rotate_daily_keep_three_and_never_for_a_damaged_catalog(home: Path) -> None:
    add_fillers(home, 300)
    day = datetime(2026, 11, 1, 14, 2, 0)
    made = [backup_catalog(home, now=day + timedelta(days=i, hours=i)) for i in range(5)]
    assert all(made)
    assert backup_catalog(home, now=day + timedelta(days=4, hours=8)) is None  # same day
    backups = list_backups(home)
    assert [b.path for b in backups] == made[:1:-1]  # the newest three, newest first
    assert made[-1] is not None and made[-1].name == "catalog-20261105-180200.sqlite"
    assert all(b.photos == 300 and b.folders == 1 for b in backups)
    assert not list((home / "backups").glob(".*"))  # no temp files left

    garble_middle(home / "catalog.sqlite")
    with pytest.raises(CatalogDamaged):
        backup_catalog(home, now=day + timedelta(days=30))
    assert [b.path for b in list_backups(home)] == made[:1:-1]  # all good ones kept

    # a damaged newest backup is skipped by restore, the next good one restored
    assert made[-1] is not None
    made[-1].write_bytes(b"\0" * 4096 + made[-1].read_bytes()[4096:])  # its header is gone
    result = restore_backup(home)
    assert result.backup.path == made[-2] and result.skipped
    assert photo_count(home) == 300


@pytest.fixture
def read_only_home(indexed: int, home: Path) -> Iterator[Path]:
    with read_only(home):
        yield home


def test_read_only_folder_with_a_wal_reads_it_or_says_why_not(tmp_path: Path) -> None:
    """A catalog left with changes in its WAL (a writer still had it open): with the -shm
    file beside it, a read-only open sees them; without it, SQLite can't, and it says so
    instead of showing an old state."""
    data = tmp_path / "data"
    add_fillers(data, 50)
    writer = sqlite3.connect(data / "catalog.sqlite")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    with writer:
        writer.execute("DELETE FROM photos WHERE id > 20")  # only in the WAL
    assert Path(f"{data / 'catalog.sqlite'}-wal").stat().st_size > 0
    # a copy as a backup tool that skips -shm files would make it
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("catalog.sqlite", "catalog.sqlite-wal"):
        (copy / name).write_bytes((data / name).read_bytes())
    with read_only(data):
        catalog = Catalog.open(data)
        assert catalog.read_only and catalog.counts("filler-model")["photos"] == 20
        catalog.close()
    writer.close()
    with read_only(copy), pytest.raises(CatalogReadOnly, match="only a writer can read"):
        Catalog.open(copy)


def test_read_only_data_folder_searches_and_refuses_to_write(
    read_only_home: Path, bundled_model_dir: Path, photo_folder: Path
) -> None:
    home = read_only_home
    with pytest.raises(OSError):
        (home / "probe").write_text("x")
    done = run_cli(home, bundled_model_dir, "search", "a cup of coffee", "--json")
    assert done.returncode == 0, done.stderr
    assert Path(json.loads(done.stdout)[0]["path"]).name == "coffee.png"
    done = run_cli(home, bundled_model_dir, "status", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["photos"] == FILLERS + 6
    message = f"the data folder {home} is read-only: searching works, indexing needs write access"
    for args in (["index"], ["folders", "add", str(photo_folder.parent)]):
        done = run_cli(home, bundled_model_dir, *args)
        assert done.returncode == EXIT_DATA and message in done.stderr, (args, done.stderr)
    catalog = Catalog.open(home)
    assert catalog.read_only and len(catalog.folders()) == 2
    with pytest.raises(CatalogReadOnly):
        catalog.remove_folder(photo_folder)
    catalog.close()


def test_read_only_folder_that_needs_a_migration_says_so(tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_fillers(data, 10)
    with sqlite3.connect(data / "catalog.sqlite") as db:
        db.execute("DROP TABLE photo_text_fts")  # as an older app left it: schema 0001
        db.execute("DROP TABLE photo_text")  # (its triggers go with it)
        db.execute("DROP TABLE photo_hashes")
        db.execute("DROP TABLE regions")
        db.execute("DROP TABLE places")
        db.execute("DROP INDEX ix_photos_details")
        db.execute("DROP INDEX ix_photos_place_id")
        db.execute("DROP INDEX ix_photos_camera")
        for column in ("details", "taken_from", "latitude", "longitude", "place_id"):
            db.execute(f"ALTER TABLE photos DROP COLUMN {column}")
        db.execute("DROP INDEX ix_embeddings_model_seq")  # and float32 vectors, unnumbered
        db.execute("ALTER TABLE embeddings DROP COLUMN seq")
        db.execute("DROP TABLE embedding_writes")
        rows = db.execute("SELECT rowid, vector FROM embeddings").fetchall()
        db.executemany(
            "UPDATE embeddings SET vector = ? WHERE rowid = ?",
            [(np.frombuffer(v, VECTOR_DTYPE).astype("<f4").tobytes(), r) for r, v in rows],
        )
        db.execute("UPDATE alembic_version SET version_num = '0001'")
    db.close()
    with read_only(data), pytest.raises(CatalogReadOnly, match="upgrade from schema 0001"):
        Catalog.open(data)
    migrated = Catalog.open(data)  # writable again: migrated
    assert migrated.schema_version() == "0008"
    _, vectors = migrated.vectors("filler-model")
    assert vectors.shape == (10, 64)  # float32 rows read as float16 ones after the upgrade


def test_a_full_disk_under_the_whole_data_folder_is_a_message_and_loses_nothing(
    tmp_path: Path, bundled_model_dir: Path
) -> None:
    """The catalog itself can't grow: the batch in flight is rolled back, the run says the
    disk is full, and once there is room again the next run catches up."""
    from tests.test_robustness import make_photos

    if why := can_mount():
        pytest.skip(why)
    first, second = tmp_path / "first", tmp_path / "second"
    make_photos(first, 40)
    make_photos(second, 120)
    with tmpfs(tmp_path / "disk", "8m") as disk:
        home = disk / "data"
        done = run_cli(home, bundled_model_dir, "index", str(first), "--json")
        assert done.returncode == 0, done.stderr
        filler = fill(disk)
        done = run_cli(home, bundled_model_dir, "index", str(second))
        assert done.returncode == EXIT_DATA, done.stdout + done.stderr
        assert "is full" in done.stderr and "every photo indexed before is kept" in done.stderr
        assert "Traceback" not in done.stderr and "internal error" not in done.stderr
        status = run_cli(home, bundled_model_dir, "status", "--json")
        assert status.returncode == 0, status.stderr
        kept = json.loads(status.stdout)
        assert kept["photos"] >= 40 and kept["photos"] == kept["embedded"]
        filler.unlink()
        done = run_cli(home, bundled_model_dir, "index", str(second), "--json")
        assert done.returncode == 0, done.stderr
        assert photo_count(home) == 160
        state = json.loads(run_cli(home, bundled_model_dir, "status", "--json").stdout)
        assert state["index"]["vectors"] == 160 and state["index"]["agrees_with_catalog"]

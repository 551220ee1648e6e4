"""Compact vectors and index repair (issue 16 §1): vectors are stored as float16 (cosine to
the float32 ones >= 0.9999), and an index saved before a crash, or before another process's
run, is repaired from the catalog rows written since its save, not rebuilt from them all."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import CliRunner

from mmsearch.catalog import Catalog
from mmsearch.catalog.db import PhotoRecord
from mmsearch.services.library import Library


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def records(folder: Path, names: range, vectors: np.ndarray, tag: str = "") -> list[PhotoRecord]:
    return [
        PhotoRecord(folder / f"p{n:05d}.jpg", 10, 20, f"hash{tag}{n}", 64, 48, None, None, v)
        for n, v in zip(names, vectors, strict=True)
    ]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.parametrize("dim", [384, 512])
def test_vectors_are_stored_as_float16_and_read_back_within_cosine_0_9999(
    tmp_path: Path, dim: int
) -> None:
    catalog = Catalog.open(tmp_path)
    folder, _ = catalog.add_folder(tmp_path / "archive")
    vectors = unit_rows(500, dim, seed=dim)
    ids = catalog.add_photos(folder.id, "m", records(tmp_path / "archive", range(500), vectors))
    with sqlite3.connect(tmp_path / "catalog.sqlite") as db:
        sizes = {r[0] for r in db.execute("SELECT length(vector) FROM embeddings")}
    assert sizes == {2 * dim}  # half of float32's
    got_ids, got = catalog.vectors("m")
    assert got.dtype == np.float32 and got_ids.tolist() == ids
    assert cosines(got, vectors).min() >= 0.9999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)  # unit again after float16
    _, copy = catalog.photo_by_hash("hash7", "m") or (None, None)
    assert copy is not None and float(copy @ vectors[7]) >= 0.9999
    assert catalog.bad_vector_ids("m") == []  # float16 rounding is no damage


def test_a_0005_catalog_gets_float16_vectors_and_write_numbers(tmp_path: Path) -> None:
    from alembic import command

    from mmsearch.catalog.db import _migrations_config

    catalog = Catalog.open(tmp_path)
    folder, _ = catalog.add_folder(tmp_path / "archive")
    vectors = unit_rows(300, 64, seed=3)
    catalog.add_photos(folder.id, "m", records(tmp_path / "archive", range(300), vectors))
    with catalog.engine.begin() as conn:
        command.downgrade(_migrations_config(conn), "0005")
    catalog.close()
    with sqlite3.connect(tmp_path / "catalog.sqlite") as db:
        assert {r[0] for r in db.execute("SELECT length(vector) FROM embeddings")} == {256}
        assert "seq" not in {r[1] for r in db.execute("PRAGMA table_info(embeddings)")}
    reopened = Catalog.open(tmp_path)  # a user's catalog on the next start
    assert reopened.schema_version() == "0008"
    with sqlite3.connect(tmp_path / "catalog.sqlite") as db:
        assert {r[0] for r in db.execute("SELECT length(vector) FROM embeddings")} == {128}
    assert cosines(reopened.vectors("m")[1], vectors).min() >= 0.9999
    assert reopened.embedding_seq("m") == 0  # written before write numbers
    more = unit_rows(2, 64, seed=4)
    reopened.add_photos(folder.id, "m", records(tmp_path / "archive", range(300, 302), more))
    assert reopened.embedding_seq("m") == 2
    assert reopened.vectors_since("m", 1)[0].tolist() == [302]


@pytest.fixture
def library(tmp_path: Path, bundled_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder of 400 photos' vectors (of the bundled model's width) and its saved index."""
    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
    data = tmp_path / "data"
    with Library(data) as lib:
        folder, _ = lib.catalog.add_folder(tmp_path / "archive")
        dim = lib.model.spec.dim
        lib.catalog.add_photos(
            folder.id,
            lib.model_id,
            records(tmp_path / "archive", range(400), unit_rows(400, dim, 0)),
        )
        index = lib.index()
        assert lib.index_rebuilt and len(index) == 400 and index.seq == 400
        header = json.loads(index.header_path.read_text())
        assert header["seq"] == 400 and header["format"] == 3
    return data


def add_more(lib: Library, tmp_path: Path, names: range, seed: int) -> None:
    """New photos' vectors committed to the catalog only, as a crash before the index save
    leaves them."""
    vectors = unit_rows(len(names), lib.model.spec.dim, seed)
    lib.catalog.add_photos(
        lib.catalog.folders()[0].id, lib.model_id, records(tmp_path / "archive", names, vectors)
    )


def test_rows_written_after_the_index_was_saved_are_repaired_not_rebuilt(
    library: Path, tmp_path: Path
) -> None:
    """What a crash between a catalog commit and the index save leaves (or another
    process's run): new photos, new vectors of changed photos under their old ids, deleted
    photos. The next open adds, replaces and removes just those, and saves the result."""
    photos = tmp_path / "archive"
    with Library(library) as lib:
        catalog, model, dim = lib.catalog, lib.model_id, lib.model.spec.dim
        folder = catalog.folders()[0]
        new = unit_rows(50, dim, seed=1)
        catalog.add_photos(folder.id, model, records(photos, range(400, 450), new))
        changed = unit_rows(5, dim, seed=2)  # the same files with new content: same ids
        changed_ids = catalog.add_photos(folder.id, model, records(photos, range(5), changed, "x"))
        gone = [int(i) for i in catalog.embedding_ids(model)[100:110]]
        catalog.delete_photos(gone)
        # no lib.index(): nothing saved the index since these commits
    with Library(library) as lib:
        index = lib.index()
        assert not lib.index_rebuilt
        assert index.repaired == (55, 10)
        assert len(index) == 440 and index.seq == lib.catalog.embedding_seq(lib.model_id)
        assert not set(gone) & set(index.labels().tolist())
        _, held = index.vectors(np.asarray(changed_ids))
        assert cosines(held, changed).min() >= 0.9999  # the new vectors, not the old ones
        found, _ = index.search(new[7], 1)
        assert int(found[0]) in set(lib.catalog.embedding_ids(lib.model_id).tolist())
        assert lib.catalog.photos([int(found[0])])[int(found[0])].path == photos / "p00407.jpg"
    with Library(library) as lib:  # the repair was saved: the next open takes it as it is
        index = lib.index()
        assert not lib.index_rebuilt and index.repaired is None and len(index) == 440


def test_a_changed_vector_alone_is_repaired(library: Path, tmp_path: Path) -> None:
    """The same photos, one with new content under its old id: the labels agree with the
    index, only the write number tells it holds an old vector (before write numbers, such an
    index was taken as it was)."""
    with Library(library) as lib:
        dim = lib.model.spec.dim
        folder = lib.catalog.folders()[0]
        fresh = unit_rows(1, dim, seed=9)
        (photo_id,) = lib.catalog.add_photos(
            folder.id, lib.model_id, records(tmp_path / "archive", range(3, 4), fresh, "y")
        )
    with Library(library) as lib:
        index = lib.index()
        assert not lib.index_rebuilt and index.repaired == (1, 0)
        _, held = index.vectors(np.asarray([photo_id]))
        assert cosines(held, fresh)[0] >= 0.9999


def test_an_older_catalog_than_the_index_rebuilds_it(library: Path, tmp_path: Path) -> None:
    """A catalog put back from a copy older than the index (its write numbers are behind the
    index's): the index can't be repaired from it, so it is rebuilt from the catalog."""
    old = tmp_path / "old-catalog.sqlite"
    assert not (library / "catalog.sqlite-wal").exists()  # closed: all in the one file
    shutil.copy(library / "catalog.sqlite", old)
    with Library(library) as lib:
        add_more(lib, tmp_path, range(400, 420), seed=5)
        assert len(lib.index()) == 420 and lib.index().repaired == (20, 0)
    for suffix in ("-wal", "-shm"):
        (library / f"catalog.sqlite{suffix}").unlink(missing_ok=True)
    shutil.copy(old, library / "catalog.sqlite")
    with Library(library) as lib:
        index = lib.index()
        assert lib.index_rebuilt and len(index) == 400


def test_status_says_the_index_was_repaired(library: Path, tmp_path: Path, cli: CliRunner) -> None:
    with Library(library) as lib:
        add_more(lib, tmp_path, range(400, 403), seed=6)
    status = cli("status")
    assert status["index"]["repaired_now"] == {"added": 3, "removed": 0}
    assert not status["index"]["rebuilt_now"] and status["index"]["vectors"] == 403


def test_adding_photos_to_a_large_library_rewrites_nothing_big(
    library: Path, cli: CliRunner, photo_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past SMALL_FILE_BYTES (64 MB: ~27,000 512-d vectors), a run that adds a few photos
    leaves the index file as it is: the catalog has them, and each open adds them from it
    (about 1,000 a second at a million photos) until enough changed for a save."""
    from mmsearch.index import hnsw

    monkeypatch.setattr(hnsw, "SMALL_FILE_BYTES", 0)  # these 400 vectors stand for a million
    index_file = next((library / "index").glob("*.hnsw"))
    before = (index_file.stat().st_mtime_ns, index_file.stat().st_ino)
    added = cli("index", str(photo_folder), "--no-text")["added"]
    assert added == len(list(photo_folder.iterdir()))
    assert (index_file.stat().st_mtime_ns, index_file.stat().st_ino) == before  # not rewritten
    status = cli("status")
    assert status["index"]["repaired_now"] == {"added": added, "removed": 0}
    assert status["index"]["vectors"] == 400 + added and status["index"]["agrees_with_catalog"]
    assert cli("search", "a cat", "--top", "1")[0]["path"].endswith("cat.png")

    monkeypatch.setattr(hnsw, "SAVE_AT_LEAST", added)  # enough changed now: the next run saves
    monkeypatch.setattr(hnsw, "SAVE_FRACTION", 0.0)
    cli("index", "--no-text")
    assert (index_file.stat().st_mtime_ns, index_file.stat().st_ino) != before
    assert cli("status")["index"]["repaired_now"] is None


def test_an_unchanged_library_opens_without_reading_every_label(
    library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing written or removed since the save: the catalog's count and write number say
    so, and its million labels (a second's read) are never listed."""
    listed: list[str] = []
    real = Catalog.embedding_ids

    def listing(self: Catalog, model_id: str) -> np.ndarray:
        listed.append(model_id)
        return real(self, model_id)

    monkeypatch.setattr(Catalog, "embedding_ids", listing)
    with Library(library) as lib:
        assert len(lib.index()) == 400 and not lib.index_rebuilt and not listed
    with Library(library) as lib:  # one photo fewer: the count tells, the labels are read
        lib.catalog.delete_photos([7])
    with Library(library) as lib:
        index = lib.index()
        assert listed and index.repaired == (0, 1) and len(index) == 399 and 7 not in index


def test_an_index_rebuilt_empty_still_records_the_write_number(library: Path) -> None:
    """Every photo gone (the write number stays where it was: it is a counter, not the
    highest number left): the rebuilt, empty index records that number, so the next open
    takes it as it is instead of repairing it again."""
    with Library(library) as lib:
        lib.catalog.delete_photos([int(i) for i in lib.catalog.embedding_ids(lib.model_id)])
    for suffix in (".hnsw", ".json"):
        for f in (library / "index").glob(f"*{suffix}"):
            f.unlink()
    with Library(library) as lib:
        index = lib.index()
        assert lib.index_rebuilt and len(index) == 0 and index.seq == 400
    with Library(library) as lib:
        index = lib.index()
        assert not lib.index_rebuilt and index.repaired is None


def test_a_deleted_newest_photo_never_lends_its_write_number_to_the_next(
    library: Path, tmp_path: Path
) -> None:
    """The index holds photo A at write number 400; A is deleted and B written (SQLite gives
    B A's id again: the highest id plus one). Were numbers the highest left, B would get 400
    again; count, number and labels would all equal the index's, and the open would keep A's
    vector under B's id. The counter gives B 401: the open replaces it."""
    with Library(library) as lib:
        newest = int(lib.catalog.embedding_ids(lib.model_id)[-1])
        lib.catalog.delete_photos([newest])
        add_more(lib, tmp_path, range(500, 501), seed=8)
        assert lib.catalog.embedding_count_and_seq(lib.model_id) == (400, 401)
        b = int(lib.catalog.embedding_ids(lib.model_id)[-1])
        _, want = lib.catalog.vectors(lib.model_id, [b])
    with Library(library) as lib:
        index = lib.index()
        assert index.repaired is not None and index.repaired[0] == 1 and len(index) == 400
        _, held = index.vectors(np.asarray([b]))
        assert np.allclose(held, want, atol=1e-6)

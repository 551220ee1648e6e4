"""Faults met while indexing: a drive unplugged mid-run, a damaged model, many bad files,
huge images. Real processes, real mounts, real model files, real SQLite."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from mmsearch.catalog.db import VECTOR_DTYPE, FailureRecord
from tests.conftest import CliRunner, run_mmsearch, subprocess_env
from tests.test_robustness import make_photos, start_and_wait_for_batches

# -- a drive unplugged during a run -----------------------------------------------------------


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def can_bind_mount(tmp: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    src, dst = tmp / "probe-src", tmp / "probe-dst"
    src.mkdir(exist_ok=True)
    dst.mkdir(exist_ok=True)
    if not _mount("--bind", str(src), str(dst)):
        return False
    subprocess.run(["umount", "-l", str(dst)], check=True)
    return True


def _count(db: Path) -> tuple[int, int, int, int]:
    """(photos, distinct paths, embeddings, failures) in the catalog."""
    with sqlite3.connect(db, timeout=30) as conn:
        photos, paths = conn.execute("SELECT count(*), count(DISTINCT path) FROM photos").fetchone()
        embedded = conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        failures = conn.execute("SELECT count(*) FROM failures").fetchone()[0]
    return int(photos), int(paths), int(embedded), int(failures)


def drive_trial(source: Path, work: Path, model_dir: Path, at_least: int = 64) -> dict[str, Any]:
    """Index `source` through a bind mount, `umount -l` it once `at_least` photos are
    committed, then mount it again and index again. Returns what was seen at each step."""
    mount, home = work / "drive", work / "home"
    mount.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(home, ignore_errors=True)
    env = subprocess_env(home, model_dir)
    db = home / "catalog.sqlite"
    # --no-text: the drive goes away under the embedding pass (the text pass of 300 photos
    # would only lengthen the run; its own faults are tested in test_ocr.py).
    cmd = [sys.executable, "-m", "mmsearch", "index", str(mount), "--no-text"]
    assert _mount("--bind", str(source), str(mount))
    mounted = True
    try:
        proc, before = start_and_wait_for_batches(cmd, env, db, at_least)
        subprocess.run(["umount", "-l", str(mount)], check=True)
        mounted = False
        out, err = proc.communicate(timeout=300)
        after = _count(db)
        first = {"rc": proc.returncode, "stdout": out.decode(), "stderr": err.decode()}
        assert _mount("--bind", str(source), str(mount))
        mounted = True
        again = subprocess.run(
            [*cmd, "--json"], env=env, capture_output=True, text=True, timeout=600
        )
        back = _count(db)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(mount)], check=False)
    return {
        "before": before,
        "after": after,
        "back": back,
        "first": first,
        "again": {"rc": again.returncode, "report": json.loads(again.stdout or "{}")},
        "again_stderr": again.stderr,
    }


def test_drive_unplugged_mid_run_loses_nothing(tmp_path: Path, bundled_model_dir: Path) -> None:
    if not can_bind_mount(tmp_path):
        pytest.skip("needs root and bind mounts (mount --bind, umount -l) to unplug a drive")
    source = tmp_path / "photos"
    make_photos(source, 300)
    seen = drive_trial(source, tmp_path, bundled_model_dir)

    first = seen["first"]
    assert first["rc"] == 0, first["stderr"]
    assert "Traceback" not in first["stderr"]
    assert "folder went away during the run" in first["stdout"]
    photos, paths, embedded, failures = seen["after"]
    assert photos >= seen["before"] > 0, "photos committed before the drive went are kept"
    assert photos < 300, "the drive was pulled before the end"
    assert failures == 0, "vanished files are not failures"
    assert photos == paths == embedded

    again = seen["again"]
    assert again["rc"] == 0, seen["again_stderr"]
    assert again["report"]["unavailable_folders"] == []
    assert again["report"]["unchanged"] == photos
    assert again["report"]["added"] == 300 - photos
    assert seen["back"] == (300, 300, 300, 0)


def test_folder_gone_before_remove_keeps_photos(cli: CliRunner, tmp_path: Path, home: Path) -> None:
    """The folder vanishes after its files were read: the photos it no longer listed
    are not taken as deleted."""
    from mmsearch.services.indexing import Indexer
    from mmsearch.services.library import Library

    folder, away = tmp_path / "photos", tmp_path / "away"
    make_photos(folder, 6)
    assert cli("index", str(folder))["added"] == 6
    (folder / "p000.jpg").unlink()  # deleted for real: would be removed at the end
    Image.new("RGB", (64, 48), "blue").save(folder / "new.jpg")

    def progress(done: int, total: int, _path: Path | None) -> None:
        if total and done == total and folder.exists():
            folder.rename(away)  # the drive goes right after the last file was read

    with Library(home) as lib:
        report = Indexer(lib, progress, workers=2).run()
        assert report.unavailable_folders == [folder]
        assert report.removed == 0
        assert lib.catalog.counts(lib.model_id)["photos"] == 7  # 6 kept + the new one
    away.rename(folder)
    again = cli("index")
    assert again["removed"] == 1 and again["unchanged"] == 6


def test_empty_mount_point_keeps_the_photos(cli: CliRunner, tmp_path: Path) -> None:
    """A drive not plugged in leaves its mount point, an empty folder: not a deletion."""
    folder = tmp_path / "drive"
    make_photos(folder, 3)
    assert cli("index", str(folder))["added"] == 3
    hidden = tmp_path / "unplugged"
    folder.rename(hidden)
    folder.mkdir()  # the bare mount point
    report = cli("index", expect=1)  # nothing could be indexed, as for a missing folder
    assert report["removed"] == 0 and report["missing_folders"] == [str(folder)]
    assert cli("status")["photos"] == 3
    folder.rmdir()
    hidden.rename(folder)
    assert cli("index")["unchanged"] == 3


# -- failures that can heal are retried, the others are not --------------------------------


def test_failures_that_can_heal_are_retried(cli: CliRunner, tmp_path: Path, home: Path) -> None:
    from mmsearch.services.library import Library

    folder = tmp_path / "photos"
    make_photos(folder, 3)
    (folder / "notes.jpg").write_text("not a photo\n")
    report = cli("index", str(folder))
    assert report["added"] == 3 and len(report["failed"]) == 1
    # An older run met the drive's trouble on p001 (same size and mtime as now) and
    # recorded it as a failure, deleting its row.
    p1 = folder / "p001.jpg"
    st = p1.stat()
    with Library(home) as lib:
        info = lib.catalog.folders()[0]
        lib.catalog.delete_photos([lib.catalog.photo_by_path(p1).id])  # type: ignore[union-attr]
        lib.catalog.record_failures(
            [
                FailureRecord(
                    info.id, p1, "I/O error (disk or network problem?)", st.st_size, st.st_mtime_ns
                )
            ]
        )
    again = cli("index")
    assert again["added"] == 1, again  # retried although unchanged: the I/O error healed
    assert again["still_failing"] == 1  # notes.jpg: not an image, not retried
    status = cli("status")
    assert [Path(f["path"]).name for f in status["failed"]] == ["notes.jpg"]
    assert status["embedded"] == 3


def test_healable_failure_of_an_indexed_photo_keeps_its_row(
    cli: CliRunner, tmp_path: Path, home: Path
) -> None:
    from mmsearch.services.library import Library

    folder = tmp_path / "photos"
    make_photos(folder, 2)
    cli("index", str(folder))
    with Library(home) as lib:
        fid = lib.catalog.folders()[0].id
        p0, p1 = folder / "p000.jpg", folder / "p001.jpg"
        forgotten = lib.catalog.record_failures(
            [FailureRecord(fid, p0, "permission denied"), FailureRecord(fid, p1, "truncated JPEG")]
        )
        assert len(forgotten) == 1
        assert lib.catalog.photo_by_path(p0) is not None  # can heal: kept
        assert lib.catalog.photo_by_path(p1) is None  # its content is bad: forgotten
    # The next run finds p000 unchanged and clears its failure.
    again = cli("index")
    assert again["unchanged"] == 1 and again["added"] == 1
    assert cli("status")["failures"] == 0


# -- many failing files -----------------------------------------------------------------------


def make_failing_files(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"bad{i:05d}.jpg").write_bytes(b"")


def test_5000_failing_files_index_in_a_few_seconds(cli: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    make_failing_files(folder, 5000)
    make_photos(tmp_path / "bad" / "good", 2)
    started = time.perf_counter()
    report = cli("index", str(folder))
    seconds = time.perf_counter() - started
    assert len(report["failed"]) == 5000 and report["added"] == 2
    assert seconds < 20, f"{seconds:.1f} s for 5000 failing files"
    assert cli("status")["failures"] == 5000
    started = time.perf_counter()
    again = cli("index")
    assert again["still_failing"] == 5000 and again["unchanged"] == 2
    assert time.perf_counter() - started < 10


# -- a damaged model --------------------------------------------------------------------------


def _copy_model(src: Path, dst: Path) -> Path:
    """A copy of the model folder; the big files the test does not damage are symlinks."""
    dst.mkdir(parents=True)
    for item in src.iterdir():
        if item.name in ("image.onnx", "spec.json"):
            shutil.copy(item, dst / item.name)
        else:
            (dst / item.name).symlink_to(item)
    return dst


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _record_hash(model: Path, name: str) -> None:
    """Make spec.json vouch for the damaged file (a model exported broken, not garbled on
    disk afterwards), so that only its output can give it away."""
    spec_path = model / "spec.json"
    spec = json.loads(spec_path.read_text())
    entry = spec.get("files", {}).get(name)
    if isinstance(entry, dict):
        entry["sha256"] = _sha256(model / name)
        entry["size"] = (model / name).stat().st_size
    spec_path.write_text(json.dumps(spec, indent=2))


def nan_weights(image_onnx: Path) -> None:
    """Write float NaN into the largest initializer of the graph (same size on disk)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(image_onnx))
    biggest = max(graph.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    values = numpy_helper.to_array(biggest).copy()
    values.reshape(-1)[: 16 * 1024 // 4] = np.nan
    biggest.CopyFrom(numpy_helper.from_array(values, biggest.name))
    onnx.save(graph, str(image_onnx))


def garble_weights(image_onnx: Path, seed: int = 0) -> None:
    """Overwrite 16 KB of the largest initializer's bytes with random ones (same size)."""
    import onnx

    graph = onnx.load(str(image_onnx), load_external_data=False)
    biggest = max(graph.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    data = bytearray(image_onnx.read_bytes())
    at = data.find(biggest.raw_data[:256])
    assert at > 0
    rng = np.random.default_rng(seed)
    garble = rng.integers(0, 256, 16 * 1024, dtype=np.uint8).tobytes()
    # Random bytes rarely spell NaN: make every 64th float one, as damaged disks do.
    view = bytearray(garble)
    for i in range(0, len(view), 256):
        view[i : i + 4] = b"\xff\xff\xff\x7f"
    data[at + 4096 : at + 4096 + len(view)] = view
    image_onnx.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["nan-initializer", "garbled-16k"])
def test_damaged_model_stores_no_vector_and_says_so(
    tmp_path: Path, bundled_model_dir: Path, photo_folder: Path, damage: str
) -> None:
    models = tmp_path / "models"
    model = _copy_model(bundled_model_dir, models / bundled_model_dir.name)
    size = (model / "image.onnx").stat().st_size
    if damage == "nan-initializer":
        nan_weights(model / "image.onnx")
        _record_hash(model, "image.onnx")
    else:
        garble_weights(model / "image.onnx")
        assert (model / "image.onnx").stat().st_size == size
    home = tmp_path / "home"
    env = subprocess_env(home, model)

    run = run_mmsearch(env, "index", str(photo_folder))
    assert run.returncode != 0
    assert "Traceback" not in run.stderr, run.stderr
    message = run.stderr.strip().splitlines()[-1]
    assert message.startswith("mmsearch: "), run.stderr
    assert bundled_model_dir.name in message or "image.onnx" in message, message
    if damage == "nan-initializer":  # the files vouch for it: only its output tells
        assert "non-finite vectors" in message and "mmsearch doctor" in message, message
    status = json.loads(run_mmsearch(env, "status", "--json").stdout)
    assert status["embedded"] == 0  # nothing poisoned the catalog
    search = run_mmsearch(env, "search", "a cat")
    assert "nan" not in search.stdout.lower()
    assert "Traceback" not in search.stderr

    # Repaired: the next run embeds every photo.
    shutil.copy(bundled_model_dir / "image.onnx", model / "image.onnx")
    shutil.copy(bundled_model_dir / "spec.json", model / "spec.json")
    fixed = run_mmsearch(env, "index", "--json")
    assert fixed.returncode == 0, fixed.stderr
    assert json.loads(fixed.stdout)["added"] == len(list(photo_folder.iterdir()))


def test_bad_vectors_already_stored_are_found_and_embedded_again(
    cli: CliRunner, photo_folder: Path, home: Path
) -> None:
    total = len(list(photo_folder.iterdir()))
    assert cli("index", str(photo_folder))["added"] == total
    # An older mmsearch stored what a damaged model gave: NaN rows, and a row of length 3.
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        ids = [r[0] for r in conn.execute("SELECT photo_id FROM embeddings ORDER BY photo_id")]
        stored = np.dtype(VECTOR_DTYPE)
        dim = (
            len(conn.execute("SELECT vector FROM embeddings LIMIT 1").fetchone()[0])
            // stored.itemsize
        )
        nan = np.full(dim, np.nan, dtype=stored).tobytes()
        long = (np.ones(dim, dtype=stored) * 3).tobytes()
        conn.execute("UPDATE embeddings SET vector = ? WHERE photo_id = ?", (nan, ids[0]))
        conn.execute("UPDATE embeddings SET vector = ? WHERE photo_id = ?", (long, ids[1]))
        # ... and never scanned its vectors (this version scans a catalog once, then marks it)
        conn.execute("PRAGMA user_version = 0")
    status = cli("status")
    assert status["bad_vectors"] == 2
    hits = cli("search", "a cat")
    assert all(np.isfinite(h["score"]) for h in hits)
    report = cli("index")
    assert report["bad_vectors_dropped"] == 2 and report["added"] + report["updated"] == 2
    status = cli("status")
    assert status["bad_vectors"] == 0 and status["embedded"] == total
    assert status["index"]["agrees_with_catalog"]


def test_catalog_refuses_bad_vectors(home: Path, tmp_path: Path) -> None:
    from mmsearch.catalog import Catalog
    from mmsearch.catalog.db import BadVectorError, PhotoRecord

    catalog = Catalog.open(home)
    folder, _ = catalog.add_folder(tmp_path)
    vector = np.full(8, np.nan, dtype=np.float32)
    record = PhotoRecord(tmp_path / "a.jpg", 1, 1, "ab" * 32, 1, 1, None, None, vector)
    with pytest.raises(BadVectorError, match="not finite unit vectors"):
        catalog.add_photos(folder.id, "m", [record])
    assert catalog.counts("m")["photos"] == 0
    catalog.close()


def test_nan_query_vector_is_a_clear_error(cli: CliRunner, photo_folder: Path) -> None:
    cli("index", str(photo_folder))
    from mmsearch.services.library import Library
    from mmsearch.services.search import QueryError, SearchEngine

    with Library() as lib:
        engine = SearchEngine(lib)
        with pytest.raises(QueryError, match="not finite"):
            engine.search(np.full(lib.model.spec.dim, np.nan, dtype=np.float32))
        with pytest.raises(QueryError, match="out of range"):
            engine.search("1" + "0" * 400 + ":a cat + a dog", rerank=0)


# -- memory: decoding follows a pixel budget ----------------------------------------------------


def test_decodes_share_a_memory_budget(tmp_path: Path) -> None:
    from mmsearch.media import decode

    paths = []
    for i in range(8):
        path = tmp_path / f"big{i}.png"
        Image.new("RGB", (2000, 1500), (i * 30, 80, 120)).save(path, compress_level=1)
        paths.append(path)
    budget = decode.DecodeBudget(2000 * 1500 * 4 * 2)  # room for two at a time
    peak, running, lock = [0], [0], threading.Lock()
    original = decode._to_small_rgb

    def counting(*args: Any, **kwargs: Any) -> Any:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            time.sleep(0.05)
            return original(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    decode._to_small_rgb = counting  # type: ignore[assignment]
    previous = decode.set_decode_budget(budget)
    try:
        threads = [threading.Thread(target=decode.decode_photo, args=(p,)) for p in paths]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        decode._to_small_rgb = original  # type: ignore[assignment]
        decode.set_decode_budget(previous)
    assert peak[0] == 2, peak[0]  # two at a time: the budget, not the threads, decides
    assert budget.peak_holders == 2 and budget.peak_bytes <= budget.limit
    assert budget.in_use == 0
    # One image larger than the whole budget still decodes (alone).
    alone = decode.DecodeBudget(1000)
    previous = decode.set_decode_budget(alone)
    try:
        assert decode.decode_photo(paths[0]).width == 2000
    finally:
        decode.set_decode_budget(previous)
    assert alone.in_use == 0


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_large_png_decodes_in_strips_like_a_full_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    from mmsearch.media import decode

    rng = np.random.default_rng(1)
    im = Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).convert(mode)
    im = im.resize((3000, 2000), Image.Resampling.BICUBIC)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the eXIf chunk follows the pixels in Pillow's PNGs
    path = tmp_path / "big.png"
    im.save(path, exif=exif, compress_level=1)
    full = decode.decode_photo(path)
    monkeypatch.setattr(decode, "_STRIP_MIN_PIXELS", 1_000_000)
    monkeypatch.setattr(decode, "_STRIP_BYTES", 3000 * 4 * 50)  # 40 strips
    with Image.open(path) as opened:
        assert decode._png_strip_rows(opened, 224) > 0
    strips = decode.decode_photo(path)
    assert (strips.width, strips.height) == (full.width, full.height) == (2000, 3000)
    assert strips.image.size == full.image.size
    diff = np.abs(np.asarray(strips.image, float) - np.asarray(full.image, float)).mean()
    assert diff < 0.5, diff
    # Damaged in the middle: the strip decoder gives up, the ordinary decode says why.
    data = path.read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(decode.DecodeError, match=r"truncated|corrupt"):
        decode.decode_photo(tmp_path / "cut.png")


def test_bad_vector_query_finds_every_kind_of_damage(home: Path, tmp_path: Path) -> None:
    from mmsearch.catalog import Catalog
    from mmsearch.catalog.db import PhotoRecord

    catalog = Catalog.open(home)
    folder, _ = catalog.add_folder(tmp_path)
    rng = np.random.default_rng(0)
    records = []
    for i in range(6):
        v = rng.normal(size=16).astype(np.float32)
        records.append(
            PhotoRecord(
                tmp_path / f"{i}.jpg",
                1,
                1,
                f"{i:064d}",
                1,
                1,
                None,
                None,
                v / np.linalg.norm(v),
                np.zeros((9, 4), np.float16),
            )
        )
    ids = catalog.add_photos(folder.id, "m", records)
    damage = {
        ids[0]: ("embeddings", "vector", np.full(16, np.inf, VECTOR_DTYPE).tobytes()),
        ids[1]: ("embeddings", "vector", (np.ones(16, VECTOR_DTYPE) / 2).tobytes()),
        ids[2]: ("embeddings", "vector", np.ones(15, VECTOR_DTYPE).tobytes()),
        ids[3]: ("regions", "data", np.full(36, np.nan, "<f2").tobytes()),
    }
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        for photo_id, (table, column, data) in damage.items():
            conn.execute(f"UPDATE {table} SET {column} = ? WHERE photo_id = ?", (data, photo_id))
    assert catalog.bad_vector_ids("m") == sorted(damage)
    catalog.drop_vectors("m", sorted(damage))
    assert catalog.bad_vector_ids("m") == []
    assert catalog.counts("m") == {"photos": 6, "embedded": 2, "failures": 0}
    catalog.close()


def test_a_vector_of_the_wrong_length_is_skipped_then_embedded_again(
    cli: CliRunner, photo_folder: Path, home: Path
) -> None:
    total = len(list(photo_folder.iterdir()))
    cli("index", str(photo_folder))
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        first = conn.execute("SELECT min(photo_id) FROM embeddings").fetchone()[0]
        conn.execute("UPDATE embeddings SET vector = x'0000803f' WHERE photo_id = ?", (first,))
        conn.execute("PRAGMA user_version = 0")  # as an older mmsearch left it
    for index_file in (home / "index").iterdir():
        index_file.unlink()  # the next search rebuilds the index from the catalog rows
    hits = cli("search", "a cat", "--top", "50")
    assert len(hits) == total - 1 and all(np.isfinite(h["score"]) for h in hits)
    report = cli("index")
    assert report["bad_vectors_dropped"] == 1 and report["added"] + report["updated"] == 1
    assert len(cli("search", "a cat", "--top", "50")) == total

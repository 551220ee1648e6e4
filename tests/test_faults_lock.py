"""One writer per data folder: real second processes on one library, a real OS lock."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mmsearch.catalog.lock import (
    LOCK_FILE,
    LibraryBusy,
    holds_writer_lock,
    read_holder,
    writer_lock,
)
from tests.conftest import subprocess_env
from tests.test_robustness import make_photos, start_and_wait_for_batches

HOLD = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from mmsearch.catalog.lock import writer_lock\n"
    "with writer_lock(Path(sys.argv[1]), 'indexing run'):\n"
    "    print('locked', flush=True)\n"
    "    time.sleep(float(sys.argv[2]))\n"
)


def hold_in_child(data: Path, seconds: float) -> subprocess.Popen[str]:
    """A second process that holds the lock for `seconds` (returns once it holds it)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(data), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_process_is_refused_or_waits_and_sees_who_holds_it(tmp_path: Path) -> None:
    proc = hold_in_child(tmp_path, 1.5)
    try:
        holder = read_holder(tmp_path)
        assert (holder.pid, holder.purpose) == (proc.pid, "indexing run")
        busy = f"another indexing run, pid {proc.pid}"
        with pytest.raises(LibraryBusy, match=busy), writer_lock(tmp_path, "test", wait=False):
            pass
        told: list[int | None] = []
        started = time.monotonic()
        with writer_lock(tmp_path, "test", on_wait=lambda h: told.append(h.pid)):
            waited = time.monotonic() - started
            assert read_holder(tmp_path).purpose == "test"
        assert told == [proc.pid]  # told once, then waited until the other one finished
        assert waited > 0.5
    finally:
        proc.wait(timeout=30)


def test_kill_9_of_the_holder_frees_the_lock(tmp_path: Path) -> None:
    proc = hold_in_child(tmp_path, 60)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with writer_lock(tmp_path, "after a crash", wait=False):
        assert read_holder(tmp_path).pid is not None


def test_re_entrant_in_a_thread_exclusive_between_threads(tmp_path: Path) -> None:
    with writer_lock(tmp_path, "outer"), writer_lock(tmp_path, "inner (a switch's indexer)"):
        assert holds_writer_lock(tmp_path)
        other: list[BaseException] = []

        def try_lock() -> None:
            try:
                with writer_lock(tmp_path, "other thread", wait=False):
                    pass
            except LibraryBusy as e:
                other.append(e)

        thread = threading.Thread(target=try_lock)
        thread.start()
        thread.join()
        assert len(other) == 1
    assert not holds_writer_lock(tmp_path)
    cancel = threading.Event()
    cancel.set()
    proc = hold_in_child(tmp_path, 5)
    try:
        with pytest.raises(LibraryBusy), writer_lock(tmp_path, "cancelled", cancel=cancel):
            pass
    finally:
        proc.kill()
        proc.wait()


def _index(photos: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "mmsearch", "index", str(photos), "--json", *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_index_runs_at_once_one_waits_and_every_photo_is_indexed_once(
    tmp_path: Path, bundled_model_dir: Path
) -> None:
    photos, home = tmp_path / "photos", tmp_path / "home"
    make_photos(photos, 480)
    env = subprocess_env(home, bundled_model_dir)
    # --no-text: the lock is what is tested; the text pass (which holds it too) would only
    # make the second run wait longer (its own stop-and-resume tests are in test_ocr.py).
    cmd = [sys.executable, "-m", "mmsearch", "index", str(photos), "--json", "--no-text"]
    first, _ = start_and_wait_for_batches(cmd, env, home / "catalog.sqlite", 32)
    second = _index(photos, env, "--no-text")  # waits for the first

    refused = subprocess.run(
        [*cmd, "--no-wait"], env=env, capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 3, refused.stdout + refused.stderr
    error = json.loads(refused.stdout)
    assert f"pid {first.pid}" in error["error"] and error["hint"]
    assert "Traceback" not in refused.stderr

    # A search while the first run writes: no lock needed, answers at once.
    search = subprocess.run(
        [sys.executable, "-m", "mmsearch", "search", "a photo", "--json", "--top", "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert search.returncode == 0, search.stderr
    assert len(json.loads(search.stdout)) == 5

    raw_out1, raw_err1 = first.communicate(timeout=300)
    out1, err1 = raw_out1.decode(), raw_err1.decode()
    out2, err2 = second.communicate(timeout=300)
    assert first.returncode == 0 and second.returncode == 0, err1 + err2
    assert "Traceback" not in err1 + err2
    assert f"pid {first.pid}" in err2 and "waiting" in err2
    a, b = json.loads(out1), json.loads(out2)
    assert a["added"] == 480 and b["added"] == 0 and b["unchanged"] == 480
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        rows = conn.execute("SELECT count(*), count(DISTINCT path) FROM photos").fetchone()
    assert rows == (480, 480)
    assert (home / LOCK_FILE).exists()


def test_a_search_never_waits_for_the_lock_to_drop_an_old_models_vectors(
    cli: object, home: Path, photo_folder: Path
) -> None:
    from mmsearch.files import write_json
    from mmsearch.services.library import MODEL_VERSIONS_FILE, Library, read_model_versions

    cli("index", str(photo_folder))  # type: ignore[operator]
    versions = read_model_versions(home)
    (model_id,) = versions
    write_json(home / MODEL_VERSIONS_FILE, {model_id: "an-older-version"})
    other = hold_in_child(home, 30)
    try:
        with Library() as lib:
            started = time.monotonic()
            assert len(lib.index()) == 6  # answered now, with what there is
            assert time.monotonic() - started < 10 and lib.stale_vectors_dropped == 0
    finally:
        other.kill()
        other.wait()
    with Library() as lib:
        assert len(lib.index()) == 0 and lib.stale_vectors_dropped == 6  # dropped once free
    assert read_model_versions(home) == versions

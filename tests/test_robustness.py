"""Bad files, crashes and the run-time dependency promise."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.conftest import CliRunner, subprocess_env


def huge_png(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims width x height, without the pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_bad_files_are_reported_and_good_ones_indexed(
    cli: CliRunner, photo_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = photo_folder
    good = len(list(folder.iterdir()))
    jpeg = (folder / "rocket.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("this is a text file, not a photo\n")
    huge_png(folder / "huge.png", 30000, 30000)
    unreadable = folder / "locked.jpg"
    Image.new("RGB", (64, 64), "red").save(unreadable)
    unreadable.chmod(0)
    as_root = os.geteuid() == 0  # root reads a mode-000 file: then it is a good photo
    (folder / "loop").mkdir()
    (folder / "loop" / "back").symlink_to(folder, target_is_directory=True)
    odd_name = os.fsencode(folder) + b"/caf\xe9.jpg"
    Image.open(folder / "cat.png").convert("RGB").save(os.fsdecode(odd_name))

    report = cli("index", str(folder))
    failed = {Path(f["path"]).name: f["reason"] for f in report["failed"]}
    expected_bad = {"truncated.jpg", "empty.jpg", "notes.jpg", "huge.png"}
    if not as_root:
        expected_bad.add("locked.jpg")
    assert set(failed) == expected_bad, failed
    assert "truncated" in failed["truncated.jpg"].lower()
    assert "empty" in failed["empty.jpg"].lower()
    assert "not an image" in failed["notes.jpg"].lower()
    assert "too large" in failed["huge.png"].lower()
    expected_good = good + 1 + (1 if as_root else 0)  # + the non-UTF-8 name (+ locked.jpg)
    assert report["added"] == expected_good

    status = cli("status")
    assert {Path(f["path"]).name: f["reason"] for f in status["failed"]} == failed
    assert status["embedded"] == expected_good
    hits = cli("search", "a cat", "--top", "50")
    assert odd_name in {os.fsencode(h["path"]) for h in hits}

    # The human summary lists every bad file with its reason too.
    from mmsearch.cli import main

    (folder / "notes.jpg").write_text("changed, still not a photo\n")
    capsys.readouterr()
    assert main(["index"]) == 0
    out = capsys.readouterr().out
    assert "notes.jpg: not an image" in out.lower() or "notes.jpg" in out
    unreadable.chmod(0o644)


def test_nothing_indexable_exits_nonzero(cli: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.jpg").write_bytes(b"")
    report = cli("index", str(bad), expect=1)
    assert report["added"] == 0 and len(report["failed"]) == 1


def make_photos(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        pixels = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize((640, 480)).save(folder / f"p{i:03d}.jpg", quality=80)


def start_and_wait_for_batches(
    cmd: list[str], env: dict[str, str], db: Path, at_least: int
) -> tuple[subprocess.Popen[bytes], int]:
    """Start indexing and return once `at_least` embeddings are committed."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    embedded = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
        try:
            with sqlite3.connect(db, timeout=1) as conn:
                embedded = conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        except sqlite3.Error:
            continue
        if embedded >= at_least:
            break
    assert proc.poll() is None, "indexing finished before it could be stopped"
    return proc, embedded


def resume_after_kill(cmd: list[str], env: dict[str, str], embedded: int, total: int) -> None:
    """Run the killed indexing command again: it ends well, and keeps what was committed."""
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["added"] + report["unchanged"] == total
    assert report["unchanged"] >= embedded


def status_json(env: dict[str, str], *options: str) -> Any:
    """`mmsearch [OPTIONS] status --json` in a fresh process: the library as it was left."""
    status = subprocess.run(
        [sys.executable, "-m", "mmsearch", *options, "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(status.stdout)


def test_ctrl_c_stops_cleanly_and_the_next_run_resumes(
    tmp_path: Path, bundled_model_dir: Path
) -> None:
    photos, home = tmp_path / "photos", tmp_path / "home"
    make_photos(photos, 240)
    env = subprocess_env(home, bundled_model_dir)
    # --no-text here and below: the embedding pass is what is stopped (the text pass has its
    # own stop-and-resume tests in test_ocr.py).
    cmd = [sys.executable, "-m", "mmsearch", "index", str(photos), "--json", "--no-text"]
    proc, _ = start_and_wait_for_batches(cmd, env, home / "catalog.sqlite", 32)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    first = json.loads(out)
    assert first["interrupted"] and 0 < first["added"] < 240
    assert b"Traceback" not in err
    second = json.loads(subprocess.run(cmd, env=env, capture_output=True, timeout=300).stdout)
    assert not second["interrupted"]
    assert second["unchanged"] == first["added"]
    assert first["added"] + second["added"] == 240


def test_kill_9_during_indexing_then_resume(tmp_path: Path, bundled_model_dir: Path) -> None:
    photos, home = tmp_path / "photos", tmp_path / "home"
    make_photos(photos, 240)
    env = subprocess_env(home, bundled_model_dir)
    cmd = [sys.executable, "-m", "mmsearch", "index", str(photos), "--json", "--no-text"]
    db = home / "catalog.sqlite"
    proc, embedded = start_and_wait_for_batches(cmd, env, db, 64)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < embedded < 240

    resume_after_kill(cmd, env, embedded, 240)

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT path) FROM photos").fetchone() == (
            240,
            240,
        )
    state = status_json(env)
    assert state["photos"] == 240 and state["embedded"] == 240
    assert state["index"]["vectors"] == 240 and state["index"]["agrees_with_catalog"]


def test_indexing_and_searching_never_import_torch(
    tmp_path: Path, photo_folder: Path, bundled_model_dir: Path
) -> None:
    script = (
        "import sys\n"
        "from mmsearch.cli import main\n"
        f"assert main(['index', {str(photo_folder)!r}]) == 0\n"
        "assert main(['search', 'a cat']) == 0\n"
        f"assert main(['similar', {str(photo_folder / 'cat.png')!r}]) == 0\n"
        f"assert main(['rank', {str(photo_folder / 'cat.png')!r}, 'a cat', 'a dog']) == 0\n"
        "assert main(['models', 'list']) == 0 and main(['doctor', '--quick']) == 0\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'torchvision', 'transformers', 'sentence_transformers', 'open_clip', "
        "'cn_clip', 'timm'})\n"
        "print('HEAVY', heavy)\n"
        "assert not heavy, heavy\n"
    )
    env = subprocess_env(tmp_path / "home", bundled_model_dir)
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "HEAVY []" in result.stdout

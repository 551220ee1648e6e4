"""Faults of the vector index's files (issue #11, items 5, 6 and the index half of 7).

- Garbled or truncated index files (200 random cases, loaded in child processes so that a
  crash would be seen): each open rebuilds from the catalog or loads a file that is exactly
  what was saved, and every answer equals exact matching.
- A full disk (a real tmpfs): the save fails with a message naming the folder, the old
  index stays byte for byte, no temporary file is left, and once there is room the next run
  agrees with the catalog; `status` on the full disk answers.
- A read-only index folder (a read-only bind mount): search works, from an index rebuilt in
  memory, and the warning says the folder is read-only.

Mounts need root; without it those tests skip and say why.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mmsearch.files import WriteError, file_digest, write_json
from mmsearch.index import VectorIndex, exact_top_k
from tests.conftest import run_mmsearch, subprocess_env
from tests.mounts import can_mount, fill, read_only, tmpfs
from tests.test_robustness import make_photos

DIM = 32
MODEL = "m"
FUZZ_CASES = 200
REPO = Path(__file__).resolve().parents[1]


def unit_rows(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# -- the fuzz test's child process ----------------------------------------------------------


def _worker(work: Path, first: int) -> None:
    """Run the cases from `first` on, one JSON line each, flushed (the parent sees how far a
    crashed child got)."""
    cases = json.loads((work / "cases.json").read_text())
    ids = np.load(work / "ids.npy")
    vectors = np.load(work / "vectors.npy")
    queries = np.load(work / "queries.npy")
    want = [exact_top_k(ids, vectors, q, 10)[0].tolist() for q in queries]
    originals = {name: (work / "good" / name).read_bytes() for name in ("m.hnsw", "m.json")}
    for number in range(first, len(cases)):
        case = cases[number]
        folder = work / f"case{number}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for name, data in originals.items():
            (folder / name).write_bytes(data)
        target = folder / case["file"]
        data = bytearray(originals[case["file"]])
        if case["kind"] == "truncate":
            del data[case["offset"] :]
        else:
            end = min(len(data), case["offset"] + case["length"])
            rng = np.random.default_rng(case["seed"])
            noise = rng.integers(0, 256, end - case["offset"], np.uint8)
            data[case["offset"] : end] = noise.tobytes()
        changed = bytes(data) != originals[case["file"]]
        target.write_bytes(bytes(data))

        index, rebuilt = VectorIndex.open(folder, MODEL, DIM, ids, lambda: (ids, vectors))
        wrong = sum(
            index.search(q, 10)[0].tolist() != w for q, w in zip(queries, want, strict=True)
        )
        again = VectorIndex.load(folder, MODEL, DIM)  # the rebuilt index was saved over it
        repaired = again is not None and sorted(again.labels().tolist()) == ids.tolist()
        line = {
            "case": number,
            "changed": changed,
            "rebuilt": rebuilt,
            "wrong": wrong,
            "repaired": repaired,
        }
        print(json.dumps(line), flush=True)
        shutil.rmtree(folder, ignore_errors=True)


def _fuzz_cases(
    hnsw_size: int, json_size: int, rng: np.random.Generator
) -> list[dict[str, object]]:
    cases: list[dict[str, object]] = []

    def add(kind: str, file: str, offset: int, length: int = 0) -> None:
        seed = int(rng.integers(1 << 31))
        cases.append({"kind": kind, "file": file, "offset": offset, "length": length, "seed": seed})

    for _ in range(60):  # anywhere in the .hnsw file, up to 4 KB (the repro)
        add("garble", "m.hnsw", int(rng.integers(hnsw_size)), int(rng.integers(1, 4097)))
    for _ in range(10):  # 4 KB in the middle, as found
        add("garble", "m.hnsw", hnsw_size // 2 + int(rng.integers(-2000, 2000)), 4096)
    for _ in range(30):  # hnswlib's own header: sizes and counts it acts on blindly
        add("garble", "m.hnsw", int(rng.integers(96)), int(rng.integers(1, 33)))
    for _ in range(40):
        add("truncate", "m.hnsw", int(rng.integers(hnsw_size)))
    for _ in range(40):  # our header
        add("garble", "m.json", int(rng.integers(json_size)), int(rng.integers(1, 17)))
    for _ in range(20):
        add("truncate", "m.json", int(rng.integers(json_size)))
    assert len(cases) == FUZZ_CASES
    return cases


def test_fuzzed_index_files_are_rebuilt_never_crash_never_lie(tmp_path: Path) -> None:
    started = time.monotonic()
    rng = np.random.default_rng(11)
    all_ids = np.arange(1, 321)
    all_vectors = unit_rows(320, seed=5)
    good = tmp_path / "good"
    index = VectorIndex(good, MODEL, DIM)
    index.add(all_ids, all_vectors)
    gone = rng.choice(all_ids, 20, replace=False)
    index.remove(gone)  # the header lists deleted labels too: garble those as well
    index.save()
    live = np.setdiff1d(all_ids, gone)
    np.save(tmp_path / "ids.npy", live)
    np.save(tmp_path / "vectors.npy", all_vectors[live - 1])
    queries = np.concatenate([all_vectors[rng.choice(live - 1, 15)], unit_rows(5, seed=6)])
    np.save(tmp_path / "queries.npy", queries)
    cases = _fuzz_cases(index.index_path.stat().st_size, index.header_path.stat().st_size, rng)
    (tmp_path / "cases.json").write_text(json.dumps(cases))

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    results: dict[int, dict[str, object]] = {}
    crashes: list[str] = []
    first = 0
    while first < len(cases):
        proc = subprocess.run(
            [sys.executable, __file__, str(tmp_path), str(first)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        for line in proc.stdout.splitlines():
            result = json.loads(line)
            results[int(result["case"])] = result
        first = max(results, default=-1) + 1
        if proc.returncode != 0:  # died (a signal is a negative code) in case `first`
            crashes.append(
                f"case {first} {cases[first]}: rc {proc.returncode} {proc.stderr[-2000:]}"
            )
            first += 1
    values = list(results.values())
    counts = {
        "cases": len(cases),
        "crashes": len(crashes),
        "wrong results": sum(int(bool(r["wrong"])) for r in values),
        "rebuilt": sum(bool(r["rebuilt"]) for r in values),
        "loaded (file unchanged)": sum(not r["rebuilt"] and not r["changed"] for r in values),
        "loaded garbled": sum(not r["rebuilt"] and bool(r["changed"]) for r in values),
        "not repaired on disk": sum(not r["repaired"] for r in values),
        "seconds": round(time.monotonic() - started, 1),
    }
    print("HNSW fuzz:", json.dumps(counts))
    assert not crashes, crashes
    assert len(results) == len(cases)
    assert counts["wrong results"] == 0
    assert counts["not repaired on disk"] == 0
    # A changed .hnsw byte always fails the checksum; a changed header byte can only be
    # accepted if it means the same (JSON whitespace), and then the results are right anyway.
    hnsw_cases = {n for n, case in enumerate(cases) if case["file"] == "m.hnsw"}
    assert not [r for r in values if not r["rebuilt"] and r["changed"] and r["case"] in hnsw_cases]


# -- header and format ----------------------------------------------------------------------


def test_an_index_of_the_old_format_is_rebuilt_once(tmp_path: Path) -> None:
    ids = np.arange(1, 51)
    vectors = unit_rows(50, seed=1)
    index = VectorIndex(tmp_path, MODEL, DIM)
    index.add(ids, vectors)
    index.save()
    header = json.loads(index.header_path.read_text())
    assert header["format"] == 3 and header["file_size"] == index.index_path.stat().st_size
    assert header["file_sha256"] == file_digest(index.index_path)[1]
    # Format 2: no write number (`seq`); format 1: nor the file's size and digest.
    without_seq = {k: v for k, v in header.items() if k != "seq"}
    older = {k: v for k, v in without_seq.items() if k not in ("file_size", "file_sha256")}
    for old in ({**without_seq, "format": 2}, {**older, "format": 1}):
        index.header_path.write_text(json.dumps(old))
        _, rebuilt = VectorIndex.open(tmp_path, MODEL, DIM, ids, lambda: (ids, vectors))
        assert rebuilt
        _, rebuilt = VectorIndex.open(tmp_path, MODEL, DIM, ids, lambda: (ids, vectors))
        assert not rebuilt


def test_a_header_that_is_not_utf8_json_means_rebuild(tmp_path: Path) -> None:
    ids = np.arange(1, 51)
    vectors = unit_rows(50, seed=1)
    index = VectorIndex(tmp_path, MODEL, DIM)
    index.add(ids, vectors)
    index.save()
    for bad in (b"\xff\xfe\x00garbage", b"[1, 2]", b'{"format": 2}', b""):
        index.header_path.write_bytes(bad)
        loaded, rebuilt = VectorIndex.open(tmp_path, MODEL, DIM, ids, lambda: (ids, vectors))
        assert rebuilt and len(loaded) == 50


# -- a full disk ----------------------------------------------------------------------------


def test_a_full_disk_keeps_the_old_index(tmp_path: Path) -> None:
    if why := can_mount():
        pytest.skip(why)
    with tmpfs(tmp_path / "disk", "1m") as disk:
        folder = disk / "index"
        ids = np.arange(1, 601)
        vectors = unit_rows(600, seed=3)
        index = VectorIndex(folder, MODEL, DIM)
        index.add(ids[:300], vectors[:300])
        index.save()
        before = [file_digest(p) for p in (index.index_path, index.header_path)]
        filler = fill(disk, leave=100_000)  # room for less than the grown index

        index.add(ids[300:], vectors[300:])
        with pytest.raises(WriteError) as caught:
            index.save()
        message = str(caught.value)
        print("disk full:", message)
        assert caught.value.errno == errno.ENOSPC
        assert f"the disk holding {folder} is full (ENOSPC)" in message
        assert "`mmsearch index`" in message and "previous index is kept" in message
        assert [file_digest(p) for p in (index.index_path, index.header_path)] == before
        assert sorted(p.name for p in folder.iterdir()) == ["m.hnsw", "m.json"]  # no temps
        old = VectorIndex.load(folder, MODEL, DIM)
        assert old is not None and len(old) == 300

        filler.unlink()
        index.save()
        loaded, rebuilt = VectorIndex.open(folder, MODEL, DIM, ids, lambda: (ids, vectors))
        assert not rebuilt and len(loaded) == 600


def test_a_full_disk_keeps_settings_files(tmp_path: Path) -> None:
    if why := can_mount():
        pytest.skip(why)
    with tmpfs(tmp_path / "disk", "64k") as disk:
        target = disk / "active-model.json"
        write_json(target, {"model": "a"})
        filler = fill(disk)
        with pytest.raises(WriteError) as caught:
            write_json(target, {"model": "b" * 100_000}, what="the choice of model")
        assert "is full (ENOSPC)" in str(caught.value)
        assert json.loads(target.read_text()) == {"model": "a"}
        assert sorted(p.name for p in disk.iterdir()) == ["active-model.json", "filler"]
        filler.unlink()


def test_indexing_on_a_full_disk_ends_with_the_reason_and_loses_nothing(
    tmp_path: Path, bundled_model_dir: Path
) -> None:
    """The disk holding the index fills up during a run: `index` exits non-zero naming the
    folder, the old index is kept byte for byte, `status` answers without a traceback,
    and after space is freed the next run agrees with the catalog."""
    if why := can_mount():
        pytest.skip(why)
    data = tmp_path / "data"
    photos = tmp_path / "photos"
    make_photos(photos, 12)
    env = {**subprocess_env(data, bundled_model_dir), "PYTHONPATH": str(REPO)}
    with tmpfs(data / "index", "256k") as disk:
        first = run_mmsearch(env, "index", str(photos), "--json")
        assert first.returncode == 0, first.stderr
        index_file = next(disk.glob("*.hnsw"))
        header_file = index_file.with_suffix(".json")
        before = [file_digest(p) for p in (index_file, header_file)]

        more = tmp_path / "more"
        make_photos(more, 30)
        for p in more.iterdir():  # new photos of their own (make_photos repeats its seed)
            p.rename(photos / f"new-{p.name}")
            with open(photos / f"new-{p.name}", "ab") as f:
                f.write(os.urandom(64))  # new content, a JPEG decoder ignores the tail
        filler = fill(disk, leave=8192)
        run = run_mmsearch(env, "index")
        print("index on a full disk:", run.returncode, run.stderr.strip().splitlines()[-1:])
        assert run.returncode != 0
        assert "Traceback" not in run.stderr
        assert f"the disk holding {disk} is full (ENOSPC)" in run.stderr
        assert "previous index is kept" in run.stderr
        assert [file_digest(p) for p in (index_file, header_file)] == before
        assert sorted(p.name for p in disk.iterdir()) == sorted(
            [index_file.name, header_file.name, "filler"]
        )

        status = run_mmsearch(env, "status", "--json")
        assert status.returncode == 0 and "Traceback" not in status.stderr, status.stderr
        report = json.loads(status.stdout)
        assert report["embedded"] == 42 and report["index"]["vectors"] == 42  # from memory
        assert "is full (ENOSPC)" in status.stderr  # said once, as a warning

        filler.unlink()
        again = run_mmsearch(env, "index", "--json")
        assert again.returncode == 0, again.stderr
        status = run_mmsearch(env, "status", "--json")
        report = json.loads(status.stdout)
        assert report["photos"] == 42 and report["embedded"] == 42
        assert report["index"] == {**report["index"], "vectors": 42, "agrees_with_catalog": True}
        assert not report["index"]["rebuilt_now"]


# -- a read-only index folder ---------------------------------------------------------------


def test_search_works_with_a_read_only_index_folder(
    tmp_path: Path, bundled_model_dir: Path, photo_folder: Path
) -> None:
    if why := can_mount():
        pytest.skip(why)
    data = tmp_path / "data"
    env = {**subprocess_env(data, bundled_model_dir), "PYTHONPATH": str(REPO)}
    assert run_mmsearch(env, "index", str(photo_folder), "--json").returncode == 0
    index_dir = data / "index"
    header = next(index_dir.glob("*.json"))
    saved = header.read_bytes()
    header.write_text("{}")  # the index needs a rebuild, and the folder won't take it
    with read_only(index_dir):
        with pytest.raises(OSError, match="Read-only"):
            (index_dir / "probe").write_text("x")
        found = run_mmsearch(env, "search", "a cat", "--json")
        print("search, read-only index folder:", found.returncode, found.stderr.strip())
        assert found.returncode == 0, found.stderr
        assert "Traceback" not in found.stderr
        assert f"{index_dir} is on a read-only file system (EROFS)" in found.stderr
        assert found.stderr.count("EROFS") == 1  # warned once
        hits = json.loads(found.stdout)
        assert Path(hits[0]["path"]).name in ("cat.png", "cat2.jpg")
        status = run_mmsearch(env, "status", "--json")
        assert status.returncode == 0 and "Traceback" not in status.stderr
        assert header.read_text() == "{}"  # nothing was written
        # An index that is fine loads from the read-only folder without a word.
    header.write_bytes(saved)
    with read_only(index_dir):
        found = run_mmsearch(env, "search", "a cat", "--json")
        assert found.returncode == 0 and not found.stderr.strip(), found.stderr


if __name__ == "__main__":  # the fuzz test's child: python test_faults_index.py WORK FIRST
    _worker(Path(sys.argv[1]), int(sys.argv[2]))

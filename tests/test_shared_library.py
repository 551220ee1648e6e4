"""A library shared on a PostgreSQL server (with pgvector), against a real server that the
suite starts (tests/pg_support.py): the same catalog behaviour as SQLite, two computers
indexing at once, a run killed with SIGKILL, the server stopped in the middle of a run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from mmsearch.catalog import Catalog
from mmsearch.catalog.db import Filters, PhotoRecord
from mmsearch.catalog.server import CatalogUnreachable, ServerCatalog, server_url
from mmsearch.services.library import Library
from mmsearch.services.search import SearchEngine
from tests.conftest import subprocess_env
from tests.pg_support import PgServer  # (its fixtures come through conftest)
from tests.test_robustness import make_photos, resume_after_kill, status_json


def record(path: Path, taken: datetime | None, seed: int, camera: str = "Cam") -> PhotoRecord:
    vector = np.random.default_rng(seed).normal(size=8).astype(np.float32)
    vector /= np.linalg.norm(vector)
    return PhotoRecord(path, 10 + seed, 20, f"hash{seed}", 64, 48, taken, camera, vector)


def exercise(catalog: Catalog) -> dict[str, Any]:
    """The same writes and reads on any catalog; what it answered."""
    out: dict[str, Any] = {"schema": catalog.schema_version()}
    a, _ = catalog.add_folder(Path("/photos/a"))
    b, _ = catalog.add_folder(Path("/photos/b"))
    catalog.add_photos(
        a.id,
        "m",
        [record(Path(f"/photos/a/{i}.jpg"), datetime(2020, 1, 1 + i), i) for i in range(6)],
    )
    catalog.add_photos(
        b.id, "m", [record(Path(f"/photos/b/{i}.jpg"), None, 10 + i, "Phone") for i in range(3)]
    )
    out["seq_after_writes"] = catalog.embedding_seq("m")
    # the same photo written again: a new write number, no new row
    catalog.add_photos(a.id, "m", [record(Path("/photos/a/0.jpg"), datetime(2020, 1, 1), 99)])
    out["counts"] = catalog.counts("m")
    out["count_and_seq"] = catalog.embedding_count_and_seq("m")
    out["since_9"] = catalog.vectors_since("m", 9)[0].tolist()
    out["folders"] = [(str(f.path), f.photos) for f in catalog.folders()]
    out["cameras"] = catalog.camera_counts()
    out["dated"] = catalog.filtered_ids("m", Filters(after=datetime(2020, 1, 4))).tolist()
    out["in_b"] = catalog.filtered_ids("m", Filters(folder=Path("/photos/b"))).tolist()
    ids, matrix = catalog.filtered_vectors("m", Filters(camera="phone"))
    out["phone_vectors"] = (ids.tolist(), matrix.shape)
    phone = Filters(camera="phone")
    ids, matrix = catalog.filtered_vectors("m", phone, kept=catalog.filtered_ids(None, phone))
    out["listed_vectors"] = (sorted(ids.tolist()), matrix.shape)
    ids, matrix = catalog.vectors("m", [3, 1, 8, 404])
    order = np.argsort(ids)
    out["vectors_by_id"] = (ids[order].tolist(), np.round(matrix[order], 3).tolist())
    out["kept"] = sorted(catalog.kept([1, 2, 7, 8], Filters(folder=Path("/photos/b"))))
    catalog.record_failures([])
    catalog.record_failure(a.id, Path("/photos/a/bad.jpg"), "not an image")
    catalog.record_failure(a.id, Path("/photos/a/bad.jpg"), "truncated")  # upsert
    out["failures"] = [(str(f.path), f.reason) for f in catalog.failures()]
    catalog.store_texts("r", {1: ("invoice 2024 total ok", "[1]"), 2: ("menu pizza", "[2]")})
    out["texts"] = [
        catalog.text_matches(["invoice"]),
        catalog.text_matches(["invoice", "total"]),
        catalog.text_matches(["ok"]),  # shorter than a trigram
        catalog.text_matches(["invoice", "pizza"]),
        catalog.texts_with_any(["pizz", "voic", "zz"]),
    ]
    out["removed"] = catalog.remove_folder(Path("/photos/b"))
    out["after_removal"] = catalog.counts("m")
    return out


def test_a_server_catalog_answers_as_the_sqlite_one_does(tmp_path: Path, pg_url: str) -> None:
    local = Catalog.open(tmp_path / "local")
    server = ServerCatalog.connect(pg_url, tmp_path / "computer")
    try:
        expected, got = exercise(local), exercise(server)
    finally:
        local.close()
        server.close()
    assert got == expected
    assert got["schema"] == "0008" and got["counts"]["embedded"] == 9
    assert got["since_9"] == [1]  # the photo written again, and only it
    assert got["texts"] == [{1: "[1]"}, {1: "[1]"}, {1: "[1]"}, {}, {1: "[1]", 2: "[2]"}]


def test_a_server_catalog_says_which_server_is_gone_and_what_to_do(tmp_path: Path) -> None:
    # a socket folder no server listens in: refused at once
    url = f"postgresql://someone@/library?host={tmp_path}"
    with pytest.raises(CatalogUnreachable) as caught:
        ServerCatalog.connect(url, tmp_path / "computer")
    message = str(caught.value)
    assert "can't be reached" in message and "library" in message
    assert "run the same command again" in message


def test_the_server_sees_a_change_by_any_computer_in_data_version(
    tmp_path: Path, pg_url: str
) -> None:
    one = ServerCatalog.connect(pg_url, tmp_path / "one")
    two = ServerCatalog.connect(pg_url, tmp_path / "two")
    try:
        before = one.data_version()
        one.counts("m")  # a read changes nothing
        assert one.data_version() == before
        two.add_folder(Path("/photos"))
        assert one.data_version() != before
    finally:
        one.close()
        two.close()


def test_writers_on_two_computers_take_write_numbers_in_turn(tmp_path: Path, pg_url: str) -> None:
    """Two computers writing one model at once: no write number given twice, and a reader
    that sees number n sees every row numbered up to n (what an index's repair relies on)."""
    catalogs = [ServerCatalog.connect(pg_url, tmp_path / f"c{i}") for i in range(2)]
    folders = [c.add_folder(Path(f"/photos/{i}"))[0] for i, c in enumerate(catalogs)]
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for batch in range(10):
                catalogs[i].add_photos(
                    folders[i].id,
                    "m",
                    [
                        record(
                            Path(f"/photos/{i}/{batch}-{k}.jpg"), None, 1000 * i + 10 * batch + k
                        )
                        for k in range(5)
                    ],
                )
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    engine = create_engine(server_url(pg_url))
    with engine.connect() as conn:
        seqs = [r[0] for r in conn.execute(text("SELECT seq FROM embeddings ORDER BY seq"))]
    engine.dispose()
    assert seqs == list(range(1, 101))
    assert catalogs[0].embedding_count_and_seq("m") == (100, 100)
    for c in catalogs:
        c.close()


def test_a_shared_library_indexes_and_searches_real_photos(
    tmp_path: Path, pg_url: str, photo_folder: Path, bundled_model_dir: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
    from mmsearch.services.indexing import Indexer

    with Library(tmp_path / "computer", catalog=pg_url) as lib:
        assert lib.shared and lib.backup() is None
        with lib.writing("test"):
            lib.add_folder(photo_folder)
        report = Indexer(lib).run()
        assert report.ok and report.added == 6
        hits = SearchEngine(lib).search("a cat", top=2)
        assert {h.path.name for h in hits} == {"cat.png", "cat2.jpg"}
        status = lib.status()
        assert status["embedded"] == 6 and status["index"]["agrees_with_catalog"]
        assert status["catalog"].startswith("postgresql://")
        # the index lives in this computer's folder for this server, not the local one's
        assert lib.index_dir.parent.parent.name == "servers"
        assert list(lib.index_dir.glob("*.hnsw"))


def _mmsearch(url: str, home: Path) -> list[str]:
    """mmsearch as run on one computer of a shared library: its data folder, the server."""
    return [sys.executable, "-m", "mmsearch", "--catalog", url, "--data-dir", str(home)]


def _index_cmd(url: str, home: Path, folder: Path) -> list[str]:
    return [*_mmsearch(url, home), "index", str(folder), "--json", "--no-text"]


def _search(pg_url: str, home: Path, env: dict[str, str], query: str, top: int) -> list[str]:
    result = subprocess.run(
        [*_mmsearch(pg_url, home), "search", query, "--top", str(top), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return [hit["path"] for hit in json.loads(result.stdout)]


def _photo_rows(pg_url: str) -> tuple[int, int, int]:
    """(photos, distinct paths, embeddings) on the server."""
    engine = create_engine(server_url(pg_url))
    try:
        with engine.connect() as conn:
            photos, paths = conn.execute(
                text("SELECT count(*), count(DISTINCT path) FROM photos")
            ).one()
            vectors = conn.execute(text("SELECT count(*) FROM embeddings")).scalar()
    finally:
        engine.dispose()
    return int(photos), int(paths), int(vectors or 0)


def test_two_computers_index_different_folders_at_once(
    tmp_path: Path, pg_url: str, photo_folder: Path, bundled_model_dir: Path
) -> None:
    """Each computer is a process with its own data folder (its index), indexing its own
    folder at the same time as the other; then each finds the other's photos too."""
    others = tmp_path / "others"
    make_photos(others, 60)
    homes = [tmp_path / "computer-a", tmp_path / "computer-b"]
    env = subprocess_env(homes[0], bundled_model_dir)
    runs = [
        subprocess.Popen(
            _index_cmd(pg_url, home, folder),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for home, folder in zip(homes, (photo_folder, others), strict=True)
    ]
    reports = []
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        reports.append(json.loads(out))
    # `index FOLDER` adds the folder, then indexes every folder it can reach: here each
    # computer reaches both (on one share they would), and may write the other's photos too
    for report, own in zip(reports, (6, 60), strict=True):
        assert not report["failed"] and not report["interrupted"]
        assert report["added"] + report["updated"] + report["unchanged"] >= own
    assert _photo_rows(pg_url) == (66, 66, 66)
    for home in homes:
        found = _search(pg_url, home, env, "a cat", 66)
        assert len(found) == 66  # every photo, whoever indexed it
        assert {Path(p).name for p in found[:2]} == {"cat.png", "cat2.jpg"}


def _wait_for_vectors(pg_url: str, proc: subprocess.Popen[bytes], at_least: int) -> int:
    deadline = time.monotonic() + 120
    vectors = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
        try:
            vectors = _photo_rows(pg_url)[2]
        except ProgrammingError:  # the child has not made the tables yet
            continue
        if vectors >= at_least:
            break
    assert proc.poll() is None, "indexing finished before it could be stopped"
    return vectors


def test_a_computer_killed_in_a_batch_loses_nothing_and_resumes(
    tmp_path: Path, pg_url: str, bundled_model_dir: Path
) -> None:
    photos, home = tmp_path / "photos", tmp_path / "computer"
    make_photos(photos, 240)
    env = subprocess_env(home, bundled_model_dir)
    cmd = _index_cmd(pg_url, home, photos)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    embedded = _wait_for_vectors(pg_url, proc, 64)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < embedded < 240

    resume_after_kill(cmd, env, embedded, 240)
    assert _photo_rows(pg_url) == (240, 240, 240)
    state = status_json(env, "--catalog", pg_url, "--data-dir", str(home))
    assert state["index"]["vectors"] == 240 and state["index"]["agrees_with_catalog"]


def test_the_server_stopped_in_a_run_is_said_and_the_run_resumes(
    tmp_path: Path, pg_server: PgServer, pg_url: str, bundled_model_dir: Path
) -> None:
    photos, home, later = tmp_path / "photos", tmp_path / "computer", tmp_path / "later"
    make_photos(later, 240)
    photos.mkdir()
    for n in range(16):  # indexed before: found unchanged, once, however often it resumes
        (later / f"p{n:03d}.jpg").rename(photos / f"p{n:03d}.jpg")
    env = subprocess_env(home, bundled_model_dir)
    first = subprocess.run(_index_cmd(pg_url, home, photos), env=env, capture_output=True)
    assert first.returncode == 0 and json.loads(first.stdout)["added"] == 16, first.stderr
    for photo in later.iterdir():
        photo.rename(photos / photo.name)
    proc = subprocess.Popen(
        _index_cmd(pg_url, home, photos), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        _wait_for_vectors(pg_url, proc, 16 + 32)
        reader = ServerCatalog.connect(pg_url, tmp_path / "reader")
        assert len(reader.vectors("any", [1, 2])[0]) == 0  # (a pooled connection to lose)
        pg_server.stop()
        time.sleep(4)  # the run meets the gone server, and waits
        assert proc.poll() is None, "the run gave up instead of waiting for the server"
        with pytest.raises(CatalogUnreachable, match="can't be reached"):
            reader.vectors("any", [1, 2])  # (read in binary, past SQLAlchemy's cursor)
    finally:
        pg_server.start()
    assert len(reader.vectors("any", [1])[0]) == 0  # back: a new connection
    reader.close()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    told = err.decode()
    assert "can't be reached" in told and "waiting for it" in told
    assert "Traceback" not in told
    report = json.loads(out)
    # (a batch whose commit went through as the connection dropped is found unchanged)
    assert report["added"] + report["unchanged"] == 240 and not report["interrupted"]
    assert 16 <= report["unchanged"] <= 16 + 32 and not report["missing_folders"]
    assert _photo_rows(pg_url) == (240, 240, 240)


def _all_rows(catalog: Catalog) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in key order: what a copy must keep."""
    from mmsearch.catalog.models import Base

    with catalog.engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(t.select().order_by(*t.primary_key.columns))]
            for t in Base.metadata.sorted_tables
        }


def _same_hits(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """The same photos in the same order; scores equal to float16's precision (the server
    scores halfvecs, the query's too)."""
    assert [h["path"] for h in got] == [h["path"] for h in expected]
    for g, e in zip(got, expected, strict=True):
        assert abs(g["score"] - e["score"]) < 1e-3
        assert {**g, "score": 0} == {**e, "score": 0}


def test_a_library_migrates_to_the_server_and_back_losing_nothing(
    cli: Any, home: Path, tmp_path: Path, pg_url: str, placed_folder: Path, photo_folder: Path
) -> None:
    cli("index", str(photo_folder))  # photos, vectors, regions, text read, hashes
    cli("index", str(placed_folder))  # and places
    (photo_folder / "broken.jpg").write_bytes(b"not a photo")
    cli("index")  # and a failure (the photos are indexed: not a failed run)
    before = cli("search", "a cat", "--top", "3")
    with Library(home) as lib:
        original = _all_rows(lib.catalog)
    assert all(original[t] for t in ("photos", "embeddings", "places", "failures", "photo_text"))

    copied = cli("library", "migrate", pg_url)["copied"]
    assert copied["photos"] == len(original["photos"])
    server = ServerCatalog.connect(pg_url, tmp_path / "check")
    try:
        assert _all_rows(server) == original
    finally:
        server.close()
    # the shared copy opens with the index carried over (no rebuild) and answers the same
    shared = cli("--catalog", pg_url, "status")
    assert shared["index"]["agrees_with_catalog"] and not shared["index"]["rebuilt_now"]
    _same_hits(cli("--catalog", pg_url, "search", "a cat", "--top", "3"), before)
    # a photo added to the shared library gets a new id, past the copied ones
    extra = photo_folder / "extra"
    extra.mkdir()
    (extra / "rocket.jpg").write_bytes((photo_folder / "rocket.jpg").read_bytes())
    report = cli("--catalog", pg_url, "index", str(extra))
    assert report["copied"] + report["added"] == 1

    back = tmp_path / "home-again"
    cli("--catalog", pg_url, "library", "migrate", str(back))
    with Library(back) as lib:
        returned = _all_rows(lib.catalog)
    server = ServerCatalog.connect(pg_url, tmp_path / "check")
    try:
        assert returned == _all_rows(server)
    finally:
        server.close()
    assert len(returned["photos"]) == len(original["photos"]) + 1
    _same_hits(cli("--data-dir", str(back), "search", "a cat", "--top", "3"), before)
    # into a library that holds photos: refused, nothing mixed
    refused = cli("library", "migrate", str(back), expect=4)
    assert "already holds a library" in refused["error"]


def test_a_computer_searching_sees_what_another_indexes_meanwhile(
    tmp_path: Path, pg_url: str, photo_folder: Path, bundled_model_dir: Path, monkeypatch: Any
) -> None:
    """B's index is open (its window searching) while A indexes and later removes a folder:
    B's next search takes in A's photos, then lets them go, without a restart."""
    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
    from mmsearch.services.indexing import Indexer

    with (
        Library(tmp_path / "a", catalog=pg_url) as a,
        Library(tmp_path / "b", catalog=pg_url) as b,
    ):
        searcher = SearchEngine(b)
        assert searcher.search("a cat") == []
        with a.writing("test"):
            a.add_folder(photo_folder)
        assert Indexer(a).run().added == 6
        hits = searcher.search("a cat", top=6)
        assert {h.path.name for h in hits[:2]} == {"cat.png", "cat2.jpg"} and len(hits) == 6
        with a.writing("test"):
            assert a.remove_folder(photo_folder)
        assert searcher.search("a cat") == []
        assert len(b.index()) == 0


def test_a_new_computer_answers_from_the_server_until_its_own_index_is_open(
    tmp_path: Path,
    pg_url: str,
    photo_folder: Path,
    bundled_model_dir: Path,
    monkeypatch: Any,
    qtbot: Any,
    prefs: Any,
) -> None:
    """Computer B joins a library A indexed. While B's index of it opens (held up here, as
    building it from the server's rows holds it for minutes at a million photos) B's window
    answers from the server's vector index and says so; once it is open, the local index
    answers, brought up to the server's rows (and so does a one-shot search)."""
    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
    from mmsearch.index.backend import HnswBackend
    from mmsearch.services.indexing import Indexer
    from mmsearch.ui.main_window import MainWindow

    with Library(tmp_path / "a", catalog=pg_url) as a:
        with a.writing("test"):
            a.add_folder(photo_folder)
        assert Indexer(a).run().added == 6
    b = Library(tmp_path / "b", catalog=pg_url)
    b._index_lock.acquire()  # the open, held up
    try:
        window = MainWindow(b, prefs)
        qtbot.addWidget(window)
        with qtbot.waitSignal(window.search_finished, timeout=30_000):
            window.search_field.setText("a cat")
            window.run_search()
        assert not b.index_open
        assert "server" in window.preview_note.text() and window.preview_note.isVisibleTo(window)
        names = [h.path.name for h in window.results.hits()]
        assert set(names[:2]) == {"cat.png", "cat2.jpg"} and len(names) == 6
    finally:
        b._index_lock.release()
    with qtbot.waitSignal(window.search_finished, timeout=60_000):
        pass  # the open finishes, and the window searches again
    assert b.index_open and not window.preview_note.isVisibleTo(window)
    assert [h.path.name for h in window.results.hits()] == names
    assert isinstance(b.backend(), HnswBackend) and len(b.index()) == 6
    window.close()
    b.close()


def test_the_server_searches_its_own_hnsw_index_with_the_filters(
    tmp_path: Path, pg_url: str
) -> None:
    """pgvector's HNSW index on the server, a partial one per model: recall@10 against exact
    cosine, unfiltered and with a folder and a date filter applied in the same query."""
    from mmsearch.catalog.server import vector_index_name

    rng = np.random.default_rng(7)
    centres = rng.normal(size=(30, 64)).astype(np.float32)
    catalog = ServerCatalog.connect(pg_url, tmp_path / "computer")
    try:
        folders = [catalog.add_folder(Path(f"/photos/{f}"))[0] for f in range(20)]
        vectors, paths, dates = [], [], []
        for n in range(3000):
            v = centres[n % 30] + 0.6 * rng.normal(size=64).astype(np.float32)
            vectors.append(v / np.linalg.norm(v))
            paths.append(Path(f"/photos/{n % 20}/{n}.jpg"))
            dates.append(datetime(2000 + n % 20, 1, 1))
        for f, folder in enumerate(folders):
            catalog.add_photos(
                folder.id,
                "m",
                [
                    PhotoRecord(paths[n], 1, 1, f"h{n}", 8, 8, dates[n], None, vectors[n])
                    for n in range(f, 3000, 20)
                ],
            )
        ids_all, matrix = catalog.vectors("m")
        with catalog.engine.connect() as conn:
            plan = " ".join(
                r[0]
                for r in conn.execute(
                    text(
                        "EXPLAIN SELECT photo_id FROM embeddings WHERE model_id = 'm' ORDER BY "
                        f"vec::halfvec(64) <=> '{[0.1] * 64}'::halfvec(64) LIMIT 10"
                    )
                )
            )
        assert vector_index_name("m", 64) in plan  # the server's HNSW index answers

        def recall(filters: Filters | None, keep: np.ndarray) -> float:
            found = 0
            for q in range(20):
                query = vectors[q * 37]
                got, scores = catalog.nearest("m", query, 10, filters=filters)
                assert np.all(np.diff(scores) <= 1e-6)  # best first
                assert np.isin(got, ids_all[keep]).all()  # only what the filter keeps
                exact = ids_all[keep][np.argsort(-(matrix[keep] @ query))[:10]]
                found += len(set(got.tolist()) & set(exact.tolist()))
            return found / 200

        everything = np.ones(len(ids_all), dtype=bool)
        in_folder = np.isin(ids_all, catalog.filtered_ids("m", Filters(folder=Path("/photos/3"))))
        dated = np.isin(ids_all, catalog.filtered_ids("m", Filters(after=datetime(2018, 1, 1))))
        assert in_folder.sum() == 150 and dated.sum() == 300
        assert recall(None, everything) >= 0.95
        assert recall(Filters(folder=Path("/photos/3")), in_folder) >= 0.95
        assert recall(Filters(after=datetime(2018, 1, 1)), dated) >= 0.95
    finally:
        catalog.close()

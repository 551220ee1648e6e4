"""The vector index: exact matching, HNSW, persistence and consistency with the catalog."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from mmsearch.index import VectorIndex, exact_top_k, label_checksum


def unit_rows(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_exact_top_k_orders_by_cosine() -> None:
    matrix = unit_rows(50)
    ids = np.arange(100, 150)
    ids_got, scores = exact_top_k(ids, matrix, matrix[7], 5)
    assert ids_got[0] == 107
    assert np.isclose(scores[0], 1.0)
    assert np.all(np.diff(scores) <= 0)
    full = matrix @ matrix[7]
    assert np.allclose(scores, np.sort(full)[::-1][:5])
    assert exact_top_k(ids, matrix, matrix[0], 500)[0].shape == (50,)
    assert exact_top_k(ids[:0], matrix[:0], matrix[0], 5)[0].shape == (0,)


def test_hnsw_matches_exact_and_grows(tmp_path: Path) -> None:
    vectors = unit_rows(3000, seed=1)  # beyond the initial capacity: the index must grow
    ids = np.arange(1, 3001)
    index = VectorIndex(tmp_path, "m", 32)
    index.add(ids, vectors)
    assert len(index) == 3000
    queries = unit_rows(50, seed=2)
    recall = []
    for q in queries:
        got, _ = index.search(q, 10)
        want, _ = exact_top_k(ids, vectors, q, 10)
        recall.append(len(set(got.tolist()) & set(want.tolist())) / 10)
    assert np.mean(recall) >= 0.95


def test_removed_vectors_are_not_found_and_can_come_back(tmp_path: Path) -> None:
    vectors = unit_rows(100)
    index = VectorIndex(tmp_path, "m", 32)
    index.add(np.arange(100), vectors)
    index.remove(np.array([5]))
    assert 5 not in index.search(vectors[5], 10)[0].tolist()
    assert len(index) == 99
    index.add(np.array([5]), vectors[5:6])
    assert index.search(vectors[5], 1)[0].tolist() == [5]
    only_even = index.search(vectors[5], 5, allowed=lambda label: label % 2 == 0)[0]
    assert all(label % 2 == 0 for label in only_even.tolist())


def test_save_load_and_rebuild_when_inconsistent(tmp_path: Path) -> None:
    vectors = unit_rows(200)
    ids = np.arange(1, 201)
    index = VectorIndex(tmp_path, "m", 32)
    index.add(ids, vectors)
    index.remove(np.array([3]))
    index.save()
    header = json.loads(index.header_path.read_text())
    assert header["model_id"] == "m" and header["count"] == 199
    live = ids[ids != 3]
    assert header["checksum"] == label_checksum(live)

    calls = []

    def load_vectors() -> tuple[np.ndarray, np.ndarray]:
        calls.append(1)
        return live, vectors[live - 1]

    loaded, rebuilt = VectorIndex.open(tmp_path, "m", 32, live, load_vectors)
    assert not rebuilt and not calls and len(loaded) == 199
    assert loaded.search(vectors[3 - 1], 1)[0][0] != 3

    # The catalog moved on (a crash after a commit, before the index was saved): rebuild.
    fewer = live[:-10]
    loaded, rebuilt = VectorIndex.open(
        tmp_path, "m", 32, fewer, lambda: (fewer, vectors[fewer - 1])
    )
    assert rebuilt and len(loaded) == 189
    assert json.loads(index.header_path.read_text())["count"] == 189

    # A corrupt file, or another model's index, is never trusted.
    index.index_path.write_bytes(b"garbage")
    assert VectorIndex.load(tmp_path, "m", 32) is None
    assert VectorIndex.load(tmp_path, "other", 32) is None


def test_save_checks_what_hnswlib_wrote(tmp_path: Path) -> None:
    """hnswlib doesn't report a short write: the file's own layout says what size it must
    have, so a cut file is never taken for a whole one (nor handed to hnswlib)."""
    from mmsearch.index.hnsw import hnsw_file_size

    index = VectorIndex(tmp_path, "m", 32)
    index.add(np.arange(300), unit_rows(300))
    index.save()
    size = index.index_path.stat().st_size
    assert hnsw_file_size(index.index_path, 32, 300) == size
    data = index.index_path.read_bytes()
    for cut in (size - 1, size - 200, size // 2, 100):
        index.index_path.write_bytes(data[:cut])
        assert hnsw_file_size(index.index_path, 32) > cut
    index.index_path.write_bytes(data[:50])
    with pytest.raises(ValueError):
        hnsw_file_size(index.index_path, 32)
    with pytest.raises(ValueError):  # another index's shape
        index.index_path.write_bytes(data)
        hnsw_file_size(index.index_path, 64)


def test_saved_files_follow_the_umask_and_leave_no_temporary_files(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path, "m", 32)
    index.add(np.arange(10), unit_rows(10))
    old = os.umask(0o022)
    try:
        index.save()
        index.save()
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.hnsw", "m.json"]
    assert {p.stat().st_mode & 0o777 for p in tmp_path.iterdir()} == {0o644}

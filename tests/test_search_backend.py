"""Search backends: the exact device backend (run here on the CPU) gives the exact CPU
results, with and without filters, and follows every change to the HNSW index it mirrors;
the HNSW backend is the index unchanged; the factory falls back to HNSW when the GPU
matcher can't start; and the search engine gives the same hits through either."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from mmsearch.catalog.db import Filters
from mmsearch.devices import CPU, CUDA, DeviceChoice
from mmsearch.index import VectorIndex, exact_top_k
from mmsearch.index import matcher as matcher_module
from mmsearch.index.backend import (
    DeviceBackend,
    HnswBackend,
    SearchBackend,
    make_search_backend,
)
from mmsearch.services.indexing import Indexer
from mmsearch.services.library import Library
from mmsearch.services.search import SearchEngine

DIM = 48


def unit_rows(n: int, seed: int, dim: int = DIM) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def index(tmp_path: Path) -> VectorIndex:
    index = VectorIndex(tmp_path, "m", DIM)
    index.add(np.arange(1, 3001), unit_rows(3000, seed=1))
    return index


def current(index: VectorIndex) -> tuple[np.ndarray, np.ndarray]:
    """What exact matching must see: every live vector of the index."""
    ids = np.sort(index.labels())
    return index.vectors(ids)


def assert_exact(backend: SearchBackend, index: VectorIndex, seed: int, k: int = 10) -> None:
    ids, matrix = current(index)
    for q in unit_rows(8, seed):
        got, got_scores = backend.query(q, k)
        want, want_scores = exact_top_k(ids, matrix, q, k)
        assert got.tolist() == want.tolist()
        np.testing.assert_allclose(got_scores, want_scores, atol=1e-5)
        allowed = ids[(ids % 7 == 0) | (ids > 2900)]
        got, got_scores = backend.query(q, k, allowed)
        keep = np.isin(ids, allowed)
        want, want_scores = exact_top_k(ids[keep], matrix[keep], q, k)
        assert got.tolist() == want.tolist()
        np.testing.assert_allclose(got_scores, want_scores, atol=1e-5)


def test_device_backend_equals_exact_cpu_matching(index: VectorIndex) -> None:
    backend = DeviceBackend(index, device="cpu")
    assert backend.exact and len(backend) == 3000
    assert "exact on the CPU (float32" in backend.description
    assert_exact(backend, index, seed=2)
    assert backend.query(unit_rows(1, 3)[0], 5, np.array([], dtype=np.int64))[0].shape == (0,)


def test_fp16_device_backend_is_within_half_precision(index: VectorIndex) -> None:
    backend = DeviceBackend(index, device="cpu", dtype=np.float16)
    ids, matrix = current(index)
    for q in unit_rows(10, seed=4):
        got, got_scores = backend.query(q, 10)
        want, want_scores = exact_top_k(ids, matrix, q, 10)
        assert len(set(got.tolist()) & set(want.tolist())) >= 9  # near-ties may swap
        np.testing.assert_allclose(got_scores, want_scores, atol=2e-3)
        # Every returned score is the true cosine of that photo, to half precision.
        true = matrix[np.searchsorted(ids, got)] @ q
        np.testing.assert_allclose(got_scores, true, atol=2e-3)


def test_device_backend_follows_index_changes(
    index: VectorIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matcher_module, "TAIL_MIN", 100)  # re-upload sooner, to test it
    backend = DeviceBackend(index, device="cpu")
    matcher = backend.matcher
    assert matcher is not None and matcher.uploads == 1

    index.add(np.arange(5000, 5050), unit_rows(50, seed=5))  # a tail, scored on the host
    assert matcher.uploads == 1 and len(matcher) == 3050
    assert_exact(backend, index, seed=6)

    backend.add(np.arange(6000, 6200), unit_rows(200, seed=7))  # past the tail limit
    assert matcher.uploads == 2
    assert_exact(backend, index, seed=8)

    replaced = unit_rows(3, seed=9)
    index.add(np.array([10, 20, 5001]), replaced)  # same ids, new vectors
    got, scores = backend.query(replaced[1], 1)
    assert got.tolist() == [20] and scores[0] == pytest.approx(1.0, abs=1e-5)

    backend.remove(np.arange(1, 1000))  # a third: removed rows are compacted away
    index.remove(np.array([5002, 999_999]))  # and one that was never there
    assert matcher.uploads == 3 and len(matcher) == len(index) == 3250 - 999 - 1
    assert_exact(backend, index, seed=10)

    backend.close()
    index.add(np.array([7000]), unit_rows(1, seed=11))  # no longer mirrored
    assert len(matcher) == 3250 - 1000 and backend.query(unit_rows(1, 12)[0], 3)[0].shape == (3,)


def test_changes_during_the_upload_are_replayed(index: VectorIndex) -> None:
    original = matcher_module.DeviceMatcher.__init__

    def slow_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        index.add(np.array([9000]), unit_rows(1, seed=13))  # arrives while "uploading"
        index.remove(np.array([1]))

    matcher_module.DeviceMatcher.__init__ = slow_init  # type: ignore[method-assign]
    try:
        backend = DeviceBackend(index, device="cpu")
    finally:
        matcher_module.DeviceMatcher.__init__ = original  # type: ignore[method-assign]
    assert backend.matcher is not None
    assert set(backend.matcher.ids.tolist()) == set(index.labels().tolist())
    assert_exact(backend, index, seed=14)


def test_hnsw_backend_is_the_index_unchanged(index: VectorIndex) -> None:
    backend = HnswBackend(index)
    assert not backend.exact and backend.description == "HNSW on the CPU (approximate)"
    for q in unit_rows(5, seed=15):
        assert backend.query(q, 10)[0].tolist() == index.search(q, 10)[0].tolist()
        allowed = np.arange(2, 3001, 2)
        got = backend.query(q, 10, allowed)[0]
        assert got.tolist() == index.search(q, 10, lambda i: i % 2 == 0)[0].tolist()
    # A filter narrower than k, and ids the index doesn't hold.
    got = backend.query(unit_rows(1, 16)[0], 10, np.array([5, 6, 123_456]))[0]
    assert sorted(got.tolist()) == [5, 6]
    backend.remove(np.array([5]))
    assert 5 not in backend.query(unit_rows(1, 17)[0], 10, np.array([5, 6]))[0].tolist()


def test_hnsw_backend_reuses_a_filters_members_only_while_the_index_is_unchanged(
    index: VectorIndex,
) -> None:
    """The same filter list, query after query (as a search keeps it), is made a set once;
    a vector added or removed since is seen by the next query all the same."""
    backend = HnswBackend(index)
    query = unit_rows(1, seed=18)[0]
    allowed = np.concatenate([np.arange(1, 3001, 3), [5000]])  # 5000: not in the index yet
    first = backend.query(query, 10, allowed)[0]
    assert 5000 not in first.tolist()
    assert backend.query(query, 10, allowed)[0].tolist() == first.tolist()
    index.add(np.array([5000]), query[None, :])
    assert backend.query(query, 10, allowed)[0][0] == 5000
    index.remove(np.array([5000, int(first[0])]))
    again = backend.query(query, 10, allowed)[0].tolist()
    assert 5000 not in again and int(first[0]) not in again


def test_factory_picks_by_device_and_falls_back_to_hnsw(
    index: VectorIndex, caplog: pytest.LogCaptureFixture
) -> None:
    cpu = DeviceChoice("cpu", (CPU,), "CPU chosen in the settings")
    assert isinstance(make_search_backend(cpu, index), HnswBackend)
    import onnxruntime

    if CUDA in onnxruntime.get_available_providers():
        pytest.skip("this machine has the CUDA provider")
    # The device choice says CUDA (as if the probe had passed) but the matcher can't start:
    # a warning, and HNSW answers.
    cuda = DeviceChoice("cuda", (CUDA, CPU), "CUDA provider works: using the GPU")
    with caplog.at_level(logging.WARNING, logger="mmsearch.index.backend"):
        backend = make_search_backend(cuda, index)
    assert isinstance(backend, HnswBackend) and not backend.exact
    assert "GPU matcher failed to start" in backend.description
    assert "GPU matcher failed to start" in caplog.text
    assert len(backend.query(unit_rows(1, 18)[0], 5)[0]) == 5
    assert not index._listeners  # the failed matcher doesn't linger as a listener


class DeviceLibrary(Library):
    """A library whose searches go through the exact device backend (on the CPU here), as
    a GPU machine's would."""

    _device_backend: DeviceBackend | None = None

    def backend(self) -> SearchBackend:
        if self._device_backend is None:
            self._device_backend = DeviceBackend(self.index(), device="cpu")
        return self._device_backend


def test_search_engine_gives_the_same_hits_through_the_device_backend(
    home: Path, photo_folder: Path, tmp_path: Path
) -> None:
    with Library(home) as lib:
        lib.catalog.add_folder(photo_folder)
        Indexer(lib).run()
    with DeviceLibrary(home) as device_lib, Library(home) as cpu_lib:
        engine, plain = SearchEngine(device_lib), SearchEngine(cpu_lib)
        assert engine.backend().exact and not plain.backend().exact
        for query in ["a cat", "a cup of coffee", "a rocket in the sky"]:
            got = [(h.photo.id, round(h.score, 4)) for h in engine.search(query, 4, rerank=0)]
            want = [(h.photo.id, round(h.score, 4)) for h in plain.search(query, 4, rerank=0)]
            assert got == want
        nowhere = engine.search("a cat", 4, Filters(folder=photo_folder / "nowhere"), rerank=0)
        assert nowhere == []
        in_folder = engine.search("a cat", 10, Filters(folder=photo_folder), rerank=0)
        assert len(in_folder) == 6
        # Photos indexed after the backend started reach it through the index.
        more = tmp_path / "more"
        more.mkdir()
        with Image.open(photo_folder / "cat.png") as cat:
            cat.convert("RGB").save(more / "cat3.jpg", quality=80)  # new bytes: a new photo
        device_lib.catalog.add_folder(more)
        Indexer(device_lib).run()
        hits = engine.search("a cat", 10, Filters(folder=more), rerank=0)
        assert [h.path.name for h in hits] == ["cat3.jpg"]

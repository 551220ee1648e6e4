"""Filtered search on the CPU (issue 16 §1): whichever way `SearchEngine._filtered` takes (the
library's nearest photos checked against the filters, the kept photos scored exactly, or the
graph searched with the filter), its answer is the exact best among the photos the filters
keep."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from mmsearch.catalog import Catalog
from mmsearch.catalog.db import NO_FILTERS, Filters, PhotoRecord
from mmsearch.services import search as search_module
from mmsearch.services.library import Library
from mmsearch.services.search import SearchEngine

FOLDERS = 30
PER_FOLDER = 100
START = datetime(2020, 1, 1)


def folder_of(i: int) -> int:
    return i // PER_FOLDER


@pytest.fixture(scope="module")
def library(
    tmp_path_factory: pytest.TempPathFactory, bundled_model_dir: Path
) -> tuple[Path, np.ndarray]:
    """3,000 photos in 30 folders of 100, one a day; a folder's vectors lie around its own
    direction, as an event's photos do (so a filter and a query's neighbourhood may meet or
    miss each other). Returns the data folder and the folders' directions."""
    root = tmp_path_factory.mktemp("filtered")
    data, archive = root / "data", root / "archive"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
        with Library(data) as lib:
            dim = lib.model.spec.dim
            rng = np.random.default_rng(16)
            centres = rng.normal(size=(FOLDERS, dim)).astype(np.float32)
            centres /= np.linalg.norm(centres, axis=1, keepdims=True)
            n = FOLDERS * PER_FOLDER
            x = centres[np.arange(n) // PER_FOLDER] + rng.normal(size=(n, dim)).astype(
                np.float32
            ) * (0.9 / np.sqrt(dim))
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            folder, _ = lib.catalog.add_folder(archive)
            lib.catalog.add_photos(
                folder.id,
                lib.model_id,
                [
                    PhotoRecord(
                        archive / f"f{folder_of(i):02d}" / f"IMG_{i:04d}.jpg", 10, i, f"h{i}",
                        64, 48, START + timedelta(days=i // 10), None, x[i],
                    )
                    for i in range(n)
                ],
            )  # fmt: skip
            assert len(lib.index()) == n
    return data, centres


def exact(catalog: Catalog, model_id: str, query: np.ndarray, filters: Filters) -> list[int]:
    """The best 20 photo ids among those `filters` keep, scored over every vector."""
    ids, matrix = catalog.vectors(model_id)
    keep = np.isin(ids, catalog.kept(ids, filters))
    scores = matrix[keep] @ query
    return ids[keep][np.argsort(-scores, kind="stable")[:20]].tolist()


def queries(centres: np.ndarray, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = centres[rng.integers(0, len(centres), count)] * 0.45
    x += rng.normal(size=x.shape).astype(np.float32) / np.sqrt(centres.shape[1])
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def filters_for(archive: Path) -> dict[str, Filters]:
    return {
        "one folder (3 %)": Filters(folder=archive / "f07"),
        "ten folders' days (33 %)": Filters(after=START, before=START + timedelta(days=100)),
        "a week": Filters(after=START + timedelta(days=50), before=START + timedelta(days=57)),
        "nothing kept": Filters(folder=archive / "elsewhere"),
    }


@pytest.mark.parametrize(
    ("probe", "exact_limit", "way"),
    [
        (1000, 20_000, "as shipped: nearest photos first, else the kept ones scored exactly"),
        (1000, 0, "nearest photos first, else the graph with the filter"),
        (40, 0, "a probe too short for most filters: the graph with the filter"),
        (10_000, 20_000, "a probe longer than the library: its nearest photos are all of it"),
    ],
)
def test_filtered_search_finds_the_exact_best_kept_photos(
    library: tuple[Path, np.ndarray],
    bundled_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    probe: int,
    exact_limit: int,
    way: str,
) -> None:
    data, centres = library
    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
    monkeypatch.setattr(search_module, "PROBE", probe)
    monkeypatch.setattr(search_module, "EXACT_LIMIT", exact_limit)
    with Library(data) as lib:
        engine = SearchEngine(lib)
        archive = lib.catalog.folders()[0].path
        found = wanted = 0
        for name, filters in filters_for(archive).items():
            for q in queries(centres, 12, seed=len(name)):
                best = exact(lib.catalog, lib.model_id, q, filters)
                hits = [h.photo.id for h in engine.search(q, 20, filters)]
                assert len(hits) == len(best), (way, name)
                kept = set(lib.catalog.filtered_ids(lib.model_id, filters).tolist())
                assert set(hits) <= kept, (way, name)
                found += len(set(hits) & set(best))
                wanted += len(best)
        assert found / wanted >= 0.99, (way, found, wanted)


@pytest.fixture
def listed(monkeypatch: pytest.MonkeyPatch) -> list[Filters]:
    """The filters whose kept photos were listed (`Catalog.filtered_ids` calls), in order."""
    calls: list[Filters] = []
    real = Catalog.filtered_ids

    def counting(self: Catalog, model_id: str | None, filters: Filters = NO_FILTERS) -> np.ndarray:
        calls.append(filters)
        return real(self, model_id, filters)

    monkeypatch.setattr(Catalog, "filtered_ids", counting)
    return calls


def test_a_broad_filter_near_the_query_is_answered_from_the_nearest_photos(
    library: tuple[Path, np.ndarray],
    bundled_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    listed: list[Filters],
) -> None:
    """The nearest photos of the whole library hold enough that the filter keeps: the kept
    photos are never listed (that costs the same whatever the filter keeps); a filter far
    from the query lists them."""
    data, centres = library
    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
    monkeypatch.setattr(search_module, "PROBE", 200)  # f07's 100 photos and a few others
    with Library(data) as lib:
        engine = SearchEngine(lib)
        archive = lib.catalog.folders()[0].path
        near = centres[7] * 0.45 + centres[8] * 0.1
        near /= np.linalg.norm(near)
        broad = Filters(folder=archive / "f07")
        hits = engine.search(near.astype(np.float32), 20, broad)
        assert len(hits) == 20 and all(h.photo.path.parent.name == "f07" for h in hits)
        assert listed == []
        far = Filters(folder=archive / "f21")
        hits = engine.search(near.astype(np.float32), 20, far)
        assert len(hits) == 20 and all(h.photo.path.parent.name == "f21" for h in hits)
        assert listed == [far]


def test_kept_checks_listed_photos_in_their_order(library: tuple[Path, np.ndarray]) -> None:
    data, _ = library
    catalog = Catalog.open(data)
    try:
        archive = catalog.folders()[0].path
        # photo ids are 1-based: photo i is IMG_{i-1}, in folder (i-1) // 100; 99999 is none
        ids = np.asarray([250, 3, 800, 700, 12, 2999, 701, 99999], dtype=np.int64)
        assert catalog.kept(ids, Filters(folder=archive / "f07")).tolist() == [800, 701]
        assert catalog.kept(ids, Filters()).tolist() == ids.tolist()
        week = Filters(after=START, before=START + timedelta(days=1))  # photos 1-10
        assert catalog.kept(ids, week).tolist() == [3]
        assert catalog.kept(np.arange(1, 2001), week).tolist() == list(range(1, 11))
    finally:
        catalog.close()


def test_a_filters_photos_are_kept_for_the_next_query_until_the_catalog_changes(
    tmp_path: Path,
    bundled_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    listed: list[Filters],
) -> None:
    """A narrow filter's photos are listed once, then each query with the same filter scores
    them at once; any commit to the catalog, by this process or another, lists them again."""
    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
    monkeypatch.setattr(search_module, "PROBE", 20)  # the 80 nearest: folder a's photos
    archive = tmp_path / "archive"
    with Library(tmp_path / "data") as lib:
        dim = lib.model.spec.dim
        centres = queries(np.eye(3, dim, dtype=np.float32), 3, seed=1)
        rng = np.random.default_rng(2)
        x = centres[np.arange(300) // 100] + rng.normal(size=(300, dim)).astype(np.float32) * 0.03
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        folder, _ = lib.catalog.add_folder(archive)
        names = [archive / "abc"[i // 100] / f"IMG_{i:04d}.jpg" for i in range(300)]
        records = [
            PhotoRecord(names[i], 10, i, f"h{i}", 64, 48, None, None, x[i]) for i in range(300)
        ]
        lib.catalog.add_photos(folder.id, lib.model_id, records)
        engine = SearchEngine(lib)
        in_c = Filters(folder=archive / "c")
        query = centres[0]
        first = engine.search(query, 20, in_c)
        assert len(first) == 20 and {h.photo.path.parent.name for h in first} == {"c"}
        assert listed == [in_c]
        again = engine.search(query, 20, in_c)
        assert [h.photo.id for h in again] == [h.photo.id for h in first] and listed == [in_c]
        assert exact(lib.catalog, lib.model_id, query, in_c) == [h.photo.id for h in first]

        new = PhotoRecord(archive / "c" / "NEW.jpg", 10, 1, "new", 64, 48, None, None, query)
        (new_id,) = lib.catalog.add_photos(folder.id, lib.model_id, [new])
        lib.index().add(np.asarray([new_id]), query[None, :])  # as the indexer does
        after_add = engine.search(query, 20, in_c)
        assert len(listed) == 2 and after_add[0].photo.id == new_id

        other = Catalog.open(tmp_path / "data")  # another process's catalog connection
        try:
            other.delete_photos([new_id])
        finally:
            other.close()
        lib.index().remove(np.asarray([new_id]))
        after_delete = engine.search(query, 20, in_c)
        assert len(listed) == 3 and new_id not in {h.photo.id for h in after_delete}
        assert [h.photo.id for h in after_delete] == [h.photo.id for h in first]

"""The index's preview (issue 16 §1, first answer): a random sample of a large index's
vectors in a small file, which a new process answers from while the index opens, and says
so; the window searches again once the index is open."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from mmsearch.catalog.db import Filters, PhotoRecord
from mmsearch.index import preview as preview_module
from mmsearch.index.preview import Preview, preview_path
from mmsearch.services.library import Library
from mmsearch.services.search import SearchEngine

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from mmsearch.ui.settings import Preferences

SAMPLE = 200  # the preview's size here (30,000 as shipped): libraries of 1,000 photos get one


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def add(lib: Library, archive: Path, names: range, seed: int) -> np.ndarray:
    vectors = unit_rows(len(names), lib.model.spec.dim, seed)
    folder, _ = lib.catalog.add_folder(archive)
    lib.catalog.add_photos(
        folder.id,
        lib.model_id,
        [
            PhotoRecord(
                archive / ("a" if n % 2 else "b") / f"p{n:05d}.jpg", 10, 20, f"h{n}", 64, 48,
                None, None, v,
            )
            for n, v in zip(names, vectors, strict=True)
        ],
    )  # fmt: skip
    return vectors


@pytest.fixture
def data(tmp_path: Path, bundled_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A library of 1,000 photos whose index was opened once (which drew its preview)."""
    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
    monkeypatch.setattr(preview_module, "SAMPLE_SIZE", SAMPLE)
    data = tmp_path / "data"
    with Library(data) as lib:
        add(lib, tmp_path / "archive", range(1000), seed=0)
        assert len(lib.open_index()) == 1000
    return data


def test_a_new_process_answers_from_the_preview_without_opening_the_index(
    data: Path, tmp_path: Path
) -> None:
    with Library(data) as lib:
        assert not lib.index_open
        preview = lib.preview()
        assert preview is not None and len(preview.ids) == SAMPLE and preview.total == 1000
        assert not lib.index_open  # reading the preview opened nothing else
        ids, matrix = lib.catalog.vectors(lib.model_id, preview.ids.tolist())
        assert ids.tolist() == preview.ids.tolist()
        assert np.allclose(preview.matrix, matrix, atol=1e-6)  # the catalog's vectors
        engine = SearchEngine(lib, answer_from=preview)
        query = unit_rows(1, lib.model.spec.dim, seed=9)[0]
        hits = engine.search(query, 10)
        best = ids[np.argsort(-(matrix @ query))[:10]]
        assert [h.photo.id for h in hits] == best.tolist()  # exact over the sample
        half = Filters(folder=tmp_path / "archive" / "a")
        filtered = engine.search(query, 10, half)
        assert filtered and all(h.photo.path.parent.name == "a" for h in filtered)
        assert not lib.index_open  # still: a window would search again once it opens
        lib.index()
        assert lib.index_open and lib.preview() is None  # let go once the index answers


def test_the_preview_is_drawn_again_when_stale_or_damaged_and_not_for_a_small_library(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = preview_path(data / "index", "effnetlite-minilm-matching")
    with Library(data) as lib:
        assert path == preview_path(lib.index_dir, lib.model_id) and path.is_file()
        drawn = path.stat().st_mtime_ns
        add(lib, tmp_path / "archive", range(1000, 1050), seed=1)  # 5 % new: still fresh
        lib.open_index()
        assert path.stat().st_mtime_ns == drawn
    with Library(data) as lib:
        add(lib, tmp_path / "archive", range(1050, 1200), seed=2)  # 20 % new: drawn again
        lib.open_index()
        fresh = Preview.load(lib.index_dir, lib.model_id, lib.model.spec.dim)
        assert fresh is not None and fresh.total == 1200 and fresh.seq == 1200
    path.write_bytes(path.read_bytes()[:5000])  # a damaged file is no preview
    with Library(data) as lib:
        assert lib.preview() is None
        lib.open_index()  # and is drawn again
        assert Preview.load(lib.index_dir, lib.model_id, lib.model.spec.dim) is not None
    monkeypatch.setattr(preview_module, "SAMPLE_SIZE", 5000)
    with Library(data) as lib:
        lib.open_index()  # a library that opens at once keeps no preview
        assert not path.exists() and lib.preview() is None


def test_the_window_answers_from_the_preview_then_from_the_index_once_open(
    data: Path, qtbot: QtBot, prefs: Preferences
) -> None:
    """The index still opening (its lock held here, as a long open holds it): the window's
    first answer comes from the preview and says so; once the index is open it searches
    again, in the whole library."""
    from mmsearch.ui.main_window import MainWindow

    lib = Library(data)
    lib._index_lock.acquire()  # the open, held up
    try:
        window = MainWindow(lib, prefs)
        qtbot.addWidget(window)
        with qtbot.waitSignal(window.search_finished, timeout=20_000):
            window.search_field.setText("a dog on a beach")
            window.run_search()
        assert not lib.index_open
        assert window.preview_note.isVisibleTo(window)
        assert "200" in window.preview_note.text() and "1,000" in window.preview_note.text()
        preview = lib.preview()
        assert preview is not None
        sample = set(preview.ids.tolist())
        shown = {h.photo.id for h in window.results.hits()}
        assert shown and shown <= sample
    finally:
        lib._index_lock.release()
    with qtbot.waitSignal(window.search_finished, timeout=20_000):
        pass  # the open finishes, and the window searches again
    assert lib.index_open and not window.preview_note.isVisibleTo(window)
    shown = {h.photo.id for h in window.results.hits()}
    assert shown and not shown <= sample  # the whole library now
    window.close()

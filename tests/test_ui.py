"""The real window, driven with pytest-qt: indexing, search, drops, caption ranking,
folders, cancel and resume, watching, filters, settings and languages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from mmsearch.catalog.db import PhotoInfo
from mmsearch.paths import CONSE_MODEL_ID
from mmsearch.services.library import Library, read_active_model
from mmsearch.services.models import list_models
from mmsearch.services.search import SearchHit
from mmsearch.ui.app import install_translators
from mmsearch.ui.main_window import PAGE_EMPTY, PAGE_RESULTS, MainWindow
from mmsearch.ui.settings import Preferences, SettingsDialog
from tests.test_models import assert_hits_from
from tests.test_robustness import make_photos

INDEX_TIMEOUT = 120_000


def index_folder(qtbot: QtBot, win: MainWindow, folder: Path) -> None:
    with qtbot.waitSignal(win.indexer.finished, timeout=INDEX_TIMEOUT):
        win.add_folder(folder)


def type_query(qtbot: QtBot, win: MainWindow, text: str) -> list[str]:
    win.search_field.clear()
    with qtbot.waitSignal(win.search_finished, timeout=30_000):
        qtbot.keyClicks(win.search_field, text)
    return [win.results.hit(i).path.name for i in range(win.results.rowCount())]


def drop_files(widget: QWidget, paths: list[Path]) -> None:
    """Drag `paths` over `widget` and drop them, as a file manager would: the widget's own
    drag-enter and drop handlers run, with file URLs in the mime data."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(  # the QPoint form: the only one PySide6 offers for drag-enter
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    widget.dragEnterEvent(enter)  # type: ignore[attr-defined]
    assert enter.isAccepted(), f"{type(widget).__name__} refused the drag"
    drop = QDropEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    widget.dropEvent(drop)  # type: ignore[attr-defined]


def test_first_run_explains_what_to_do(window: MainWindow) -> None:
    assert window.pages.currentIndex() == PAGE_EMPTY
    assert window.add_folder_button.isVisible()
    assert "Add a folder" in window.empty_text.text()
    assert "ConSE" in window.model_label.text() or "Model:" in window.model_label.text()
    assert "CPU" in window.device_label.text()
    assert window.photos_label.text().startswith("0 ")


def test_index_then_search_as_you_type(
    qtbot: QtBot, window: MainWindow, photo_folder: Path
) -> None:
    index_folder(qtbot, window, photo_folder)
    assert window.photos_label.text().startswith("6 ")
    names = type_query(qtbot, window, "a cup of coffee")
    assert names[0] == "coffee.png"
    assert window.pages.currentIndex() == PAGE_RESULTS
    # thumbnails arrive off the GUI thread and then draw
    qtbot.waitUntil(
        lambda: (
            window.results.data(window.results.index(0), Qt.ItemDataRole.DecorationRole) is not None
        ),
        timeout=20_000,
    )
    # selecting shows the preview with the photo's details
    window.grid.setCurrentIndex(window.results.index(0))
    assert window.preview.fields["name"].text() == "coffee.png"
    assert "×" in window.preview.fields["dimensions"].text()
    qtbot.waitUntil(lambda: not window.preview.image.pixmap().isNull(), timeout=20_000)


def test_drop_a_photo_for_similar_photos(
    qtbot: QtBot, window: MainWindow, photo_folder: Path
) -> None:
    index_folder(qtbot, window, photo_folder)
    with qtbot.waitSignal(window.search_finished, timeout=30_000):
        drop_files(window.search_field, [photo_folder / "cat.png"])
    names = [window.results.hit(i).path.name for i in range(window.results.rowCount())]
    assert names[0] == "cat2.jpg"
    assert "cat.png" not in names
    assert window.similar_label.isVisible()
    # dropping on the grid works too, and dragging results out carries file URLs
    with qtbot.waitSignal(window.search_finished, timeout=30_000):
        drop_files(window.grid, [photo_folder / "coffee.png"])
    mime = window.results.mimeData([window.results.index(0)])
    assert mime.urls()[0].toLocalFile().endswith(window.results.hit(0).path.name)


def test_caption_ranking_panel(qtbot: QtBot, window: MainWindow, photo_folder: Path) -> None:
    panel = window.captions
    captions = photo_folder / "captions.txt"
    captions.write_text("a rocket on a launch pad\na cup of coffee on a saucer\n")
    drop_files(panel.captions, [captions])
    panel.captions.appendPlainText("a cat sleeping")
    assert panel.captions.captions() == [
        "a rocket on a launch pad",
        "a cup of coffee on a saucer",
        "a cat sleeping",
    ]
    drop_files(panel, [photo_folder / "coffee.png"])  # dropping the photo ranks at once
    qtbot.waitUntil(lambda: panel.ranking.rowCount() == 3, timeout=30_000)
    best = panel.ranking.entry(0)
    assert best is not None and best.caption == "a cup of coffee on a saucer"
    qtbot.waitUntil(
        lambda: panel.photo_label.pixmap() is not None and not panel.photo_label.pixmap().isNull(),
        timeout=20_000,
    )


def test_cancel_indexing_and_resume(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    make_photos(folder, 240)
    window.indexer.read_text = False  # the embedding pass's cancel (the text pass's: test_ocr)
    progress: list[int] = []
    window.indexer.progress.connect(lambda done, total, rate, left: progress.append(done))
    window.add_folder(folder)
    qtbot.waitUntil(lambda: any(d >= 32 for d in progress), timeout=INDEX_TIMEOUT)
    assert window.index_progress.isVisible()
    with qtbot.waitSignal(window.indexer.finished, timeout=INDEX_TIMEOUT) as first:
        qtbot.mouseClick(window.index_progress.cancel_button, Qt.MouseButton.LeftButton)
    assert first.args[0].interrupted
    done_before = window.library.catalog.counts(window.library.model_id)["embedded"]
    assert 0 < done_before < 240
    with qtbot.waitSignal(window.indexer.finished, timeout=INDEX_TIMEOUT) as second:
        window.indexer.start()
    report = second.args[0]
    assert not report.interrupted and report.unchanged == done_before
    assert window.library.catalog.counts(window.library.model_id)["embedded"] == 240
    assert not window.index_progress.isVisible()


def test_a_photo_added_to_a_watched_folder_shows_up(
    qtbot: QtBot, window: MainWindow, photo_folder: Path
) -> None:
    (photo_folder / "rocket.jpg").rename(photo_folder.parent / "rocket.jpg")
    index_folder(qtbot, window, photo_folder)
    assert "rocket.jpg" not in type_query(qtbot, window, "a rocket")
    with qtbot.waitSignal(window.indexer.finished, timeout=INDEX_TIMEOUT):
        shutil.copy(photo_folder.parent / "rocket.jpg", photo_folder / "new rocket.jpg")
    qtbot.waitUntil(lambda: window.results.rowCount() == 6, timeout=30_000)  # re-searched
    assert "new rocket.jpg" in type_query(qtbot, window, "a rocket")


def test_filters_threshold_sort_and_keys(
    qtbot: QtBot, window: MainWindow, photo_folder: Path
) -> None:
    index_folder(qtbot, window, photo_folder)
    type_query(qtbot, window, "a cat")
    assert window.results.rowCount() == 6
    window.type_filter.setCurrentIndex(window.type_filter.findData("png"))
    shown = [window.results.hit(i).path.suffix for i in range(window.results.rowCount())]
    assert shown and set(shown) == {".png"}
    window.type_filter.setCurrentIndex(window.type_filter.findData("all"))
    best = window.results.hit(0).score
    window.threshold.setValue(int(best * 100))  # only the best match(es) stay
    assert 1 <= window.results.rowCount() < 6
    assert "of 6 photos" in window.count_label.text()
    window.threshold.setValue(0)
    # the folder filter searches again inside that folder only
    with qtbot.waitSignal(window.search_finished, timeout=30_000):
        window.folder_filter.setCurrentIndex(1)
    assert window.results.rowCount() == 6
    # keyboard: Ctrl+F focuses the search field, Esc clears it
    window.grid.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search_field.hasFocus()
    qtbot.keyClick(window.search_field, Qt.Key.Key_Escape)
    assert window.search_field.text() == "" and window.results.rowCount() == 0


def test_folders_dialog_lists_folders_and_failures(
    qtbot: QtBot, window: MainWindow, photo_folder: Path
) -> None:
    (photo_folder / "broken.jpg").write_text("not a photo")
    index_folder(qtbot, window, photo_folder)
    window.show_folders()
    dialog = window.folders_dialog
    assert dialog is not None
    assert dialog.table.rowCount() == 1
    assert dialog.table.item(0, 1).text() == "6"
    assert dialog.failures.rowCount() == 1
    assert dialog.failures.item(0, 0).text().endswith("broken.jpg")
    assert "not an image" in dialog.failures.item(0, 1).text()
    with qtbot.waitSignal(window.indexer.finished, timeout=INDEX_TIMEOUT):
        dialog.reindex_requested.emit()
    assert "Last run" in dialog.summary.text()
    dialog.remove_requested.emit(photo_folder)
    assert dialog.table.rowCount() == 0
    assert window.library.catalog.counts(window.library.model_id)["photos"] == 0


def test_grid_holds_ten_thousand_results(qtbot: QtBot, window: MainWindow) -> None:
    hits = [
        SearchHit(PhotoInfo(i, Path(f"/nowhere/p{i}.jpg"), 1, 10, 10, None, None), 1 - i / 1e4)
        for i in range(10_000)
    ]
    window.results.set_hits(hits)
    window.pages.setCurrentIndex(PAGE_RESULTS)
    assert window.results.rowCount() == 10_000

    def last_rows_reachable() -> bool:
        # the grid lays out in batches between events, so the window stays responsive
        window.grid.scrollToBottom()
        bottom = window.grid.indexAt(QPoint(20, window.grid.viewport().height() - 20))
        return bottom.row() > 9_900

    qtbot.waitUntil(last_rows_reachable, timeout=20_000)
    window.grid.viewport().repaint()


def test_settings_are_persisted(qtbot: QtBot, window: MainWindow, prefs: Preferences) -> None:
    dialog = SettingsDialog(
        prefs,
        list_models(window.library.data_dir, window.library),
        window.library.model_id,
        window.library.data_dir,
        gpu_available=False,
        parent=window,
    )
    qtbot.addWidget(dialog)
    dialog.cache.setValue(1234)
    dialog.rerank.setValue(50)  # off by default: turning it on must stick
    dialog.language.setCurrentIndex(dialog.language.findData("zh_CN"))
    dialog.apply()
    again = Preferences(QSettings(prefs.qsettings.fileName(), QSettings.Format.IniFormat))
    assert again.thumbnail_cache_mb == 1234
    assert again.language == "zh_CN"
    assert again.rerank == 50
    chosen = dialog.chosen_model()
    assert chosen is not None and chosen.id == window.library.model_id
    gpu = dialog.device.model().item(2)  # type: ignore[attr-defined]
    assert not gpu.isEnabled()


def test_switching_model_keeps_searching_with_the_old_one_until_done(
    qtbot: QtBot, window: MainWindow, photo_folder: Path, tmp_path: Path
) -> None:
    make_photos(tmp_path / "noise", 150)
    window.library.catalog.add_folder(tmp_path / "noise")
    index_folder(qtbot, window, photo_folder)
    # The text pass follows: a switch asked for during it starts once it has stopped
    # (test_offer's download test); this one starts at once, on an idle library.
    qtbot.waitUntil(lambda: not window.indexer.running, timeout=INDEX_TIMEOUT)
    old = window.library
    dialog = SettingsDialog(
        window.prefs, list_models(old.data_dir, old), old.model_id, old.data_dir, False, window
    )
    qtbot.addWidget(dialog)
    dialog.model.setCurrentIndex(dialog.model.findData(CONSE_MODEL_ID))
    chosen = dialog.chosen_model()
    assert chosen is not None and chosen.status != "available"
    window.prefs.rerank = 0  # scores are then plain cosines, comparable with the catalog

    with qtbot.waitSignal(window.switcher.finished, timeout=INDEX_TIMEOUT):
        assert window.switch_model(chosen.id)
        assert window.switch_progress.isVisible()
        assert "effnetlite-minilm-conse" in window.switch_progress.title.text()
        type_query(qtbot, window, "a cup of coffee")
        assert window.switcher.running  # 150 photos to embed: seconds on any CPU
        assert window.library is old and window.engine.lib is old
        hits = [window.results.hit(i) for i in range(window.results.rowCount())]
        assert_hits_from(old, hits[:5], "a cup of coffee")

    assert window.library.model_id == CONSE_MODEL_ID and window.engine.lib is window.library
    assert read_active_model(old.data_dir) == CONSE_MODEL_ID
    assert not window.switch_progress.isVisible()
    assert "ConSE" in window.model_label.text()
    assert type_query(qtbot, window, "a cup of coffee")[0] == "coffee.png"
    hits = [window.results.hit(i) for i in range(window.results.rowCount())]
    assert_hits_from(window.library, hits[:5], "a cup of coffee")


def test_chinese_ui(
    qtbot: QtBot,
    tmp_path: Path,
    bundled_model_dir: Path,
    prefs: Preferences,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    translators = install_translators(app, "zh_CN")
    try:
        assert translators, "the compiled Chinese translation is missing: run `make install`"
        win = MainWindow(Library(tmp_path / "data"), prefs)
        qtbot.addWidget(win)
        assert win.add_folder_button.text() == "添加文件夹…"
        assert win.side.tabText(1) == "标题排序"
    finally:
        for translator in translators:
            app.removeTranslator(translator)
        install_translators(app, "en")

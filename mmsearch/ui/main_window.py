"""The main window: search as you type, a thumbnail grid, a preview, caption ranking,
folders with background indexing, all long work off the GUI thread."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QDate, QItemSelection, QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QKeySequence,
    QPixmap,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mmsearch.catalog import CatalogError
from mmsearch.catalog.db import Filters, PhotoInfo, PlaceCount
from mmsearch.catalog.lock import LibraryBusy, WriterLockError
from mmsearch.index.backend import Answers
from mmsearch.index.preview import Preview
from mmsearch.ocr.words import TEXT_PREFIX, is_text_only
from mmsearch.paths import BUNDLED_MODEL_ID
from mmsearch.services.indexing import IndexReport
from mmsearch.services.library import Library, compute_device
from mmsearch.services.models import SwitchResult, list_models, recommend
from mmsearch.services.places import PlaceGuess
from mmsearch.services.ranking import rank_captions
from mmsearch.services.search import SearchEngine, SearchHit
from mmsearch.services.text import TextReport
from mmsearch.ui.captions import PHOTO_SUFFIXES, CaptionPanel, dropped_paths
from mmsearch.ui.duplicates import DuplicatesDialog
from mmsearch.ui.folders import FoldersDialog, IndexProgress
from mmsearch.ui.jobs import IndexController, JobQueue, ModelSwitchController
from mmsearch.ui.offer import ModelOfferDialog, OfferTexts
from mmsearch.ui.results import (
    SORT_DATE,
    SORT_RELEVANCE,
    ResultsModel,
    ThumbnailDelegate,
    display_name,
)
from mmsearch.ui.settings import Preferences, SettingsDialog
from mmsearch.ui.thumbnails import ThumbnailCache, load_preview
from mmsearch.ui.watcher import FolderWatcher

SEARCH_DELAY_MS = 250
PAGE_EMPTY, PAGE_RESULTS, PAGE_MESSAGE = 0, 1, 2


class SearchField(QLineEdit):
    """The search box; a photo dropped on it asks for similar photos."""

    photo_dropped = Signal(Path)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(p.suffix.lower() in PHOTO_SUFFIXES for p in dropped_paths(event)):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        photos = [p for p in dropped_paths(event) if p.suffix.lower() in PHOTO_SUFFIXES]
        if photos:
            event.acceptProposedAction()
            self.photo_dropped.emit(photos[0])
        else:
            super().dropEvent(event)


class ResultsView(QListView):
    """The thumbnail grid. Enter opens the current photo; photos dropped on it from outside
    ask for similar photos; results can be dragged out as files."""

    open_requested = Signal()
    photo_dropped = Signal(Path)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)  # constant-time layout: smooth with 10,000 results
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(200)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setSpacing(2)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_requested.emit()
            return
        super().keyPressEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.source() is self:
            event.ignore()  # dragging a result onto its own grid means nothing
            return
        if any(p.suffix.lower() in PHOTO_SUFFIXES for p in dropped_paths(event)):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragEnterEvent) -> None:  # type: ignore[override]
        if event.source() is not self:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        photos = [p for p in dropped_paths(event) if p.suffix.lower() in PHOTO_SUFFIXES]
        if photos and event.source() is not self:
            event.acceptProposedAction()
            self.photo_dropped.emit(photos[0])


T = TypeVar("T")


class PreviewPanel(QWidget):
    """The selected photo, larger, with its details."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = QLabel(self.tr("Select a photo to see it here."))
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(280, 220)
        self.image.setWordWrap(True)
        self.details = QFormLayout()
        self.fields: dict[str, QLabel] = {}
        for key, title in (
            ("name", self.tr("Name")),
            ("folder", self.tr("Folder")),
            ("size", self.tr("File size")),
            ("dimensions", self.tr("Dimensions")),
            ("taken", self.tr("Taken")),
            ("place", self.tr("Place")),
            ("camera", self.tr("Camera")),
            ("score", self.tr("Score")),
            ("text", self.tr("Text in photo")),
        ):
            label = QLabel()
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            self.fields[key] = label
            self.details.addRow(title, label)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image, 1)
        layout.addLayout(self.details)
        self.current: Path | None = None

    def show_hit(self, hit: SearchHit) -> None:
        p: PhotoInfo = hit.photo
        self.current = p.path
        self.fields["name"].setText(display_name(p.path))
        self.fields["folder"].setText(os.fsdecode(p.path.parent))
        self.fields["size"].setText(f"{p.size / 1e6:.1f} MB")
        self.fields["dimensions"].setText(f"{p.width} × {p.height}")
        self.fields["taken"].setText(self.date_text(p))
        self.fields["place"].setText(self.place_text(p))
        self.fields["camera"].setText(p.camera or "—")
        self.fields["score"].setText(f"{hit.score:.3f}")
        self.fields["text"].setText(" / ".join(hit.text) if hit.text else "—")
        self.image.setText(self.tr("Loading…"))

    def date_text(self, p: PhotoInfo) -> str:
        """When it was taken, and where that came from when it wasn't the camera's EXIF."""
        if p.taken_at is None:
            return "—"
        when = f"{p.taken_at:%Y-%m-%d %H:%M}"
        if p.taken_from == "name":
            return self.tr("{date} (from the file name)").format(date=when)
        if p.taken_from == "file":
            return self.tr("{date} (the file's time: no date in the photo)").format(date=when)
        return when

    def place_text(self, p: PhotoInfo) -> str:
        if p.place:
            return p.place
        if p.gps is not None:
            return self.tr("{lat:.4f}, {lon:.4f} (no town near)").format(lat=p.gps[0], lon=p.gps[1])
        return "—"

    def show_image(self, path: Path, image: QImage) -> None:
        if path != self.current:
            return
        self.image.setPixmap(
            QPixmap.fromImage(image).scaled(
                self.image.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    def clear(self) -> None:
        self.current = None
        self.image.clear()
        self.image.setText(self.tr("Select a photo to see it here."))
        for label in self.fields.values():
            label.clear()


class MainWindow(QMainWindow):
    """mmsearch's window. Owns the library and the background jobs."""

    search_finished = Signal()  # for tests and benchmarks: results are on screen

    def __init__(self, library: Library, prefs: Preferences | None = None) -> None:
        super().__init__()
        self.library = library
        self.prefs = prefs or Preferences()
        self.engine = SearchEngine(library)
        self.searches = JobQueue(1, self)
        self.previews = JobQueue(1, self)
        self.opening = JobQueue(1, self)  # the index, opened as the window opens
        self.changes = JobQueue(1, self)  # library changes too long for the GUI thread
        self._closed = False  # then nothing searches any more (a timer may still fire)
        self._answered_from_preview = False
        self.thumbnails = ThumbnailCache(
            library.data_dir / "thumbs", disk_megabytes=self.prefs.thumbnail_cache_mb, parent=self
        )
        self.indexer = IndexController(library, self, read_text=self.prefs.read_text)
        self.switcher = ModelSwitchController(library.data_dir, self)
        self._index_after_switch = False
        self._pending_switch: str | None = None
        self._retired: list[Library] = []
        self.watcher = FolderWatcher(parent=self)
        self._search_seq = 0
        self._similar_to: Path | None = None
        self._folder_choices: list[Path | None] = [None]  # the folder filter's, by row
        self._place_choices: list[tuple[str, tuple[int, ...]] | None] = [None]
        self._camera_choices: list[str | None] = [None]
        self._literal_query: str | None = None  # searched as typed: its place guess undone
        self.place_guess: PlaceGuess | None = None  # what the last search took for a place
        self.folders_dialog: FoldersDialog | None = None
        self.duplicates_dialog: DuplicatesDialog | None = None
        self.offer: ModelOfferDialog | None = None
        self._offer_choice: str | None = None  # the offer's pick while its switch runs
        self._catalogue: list[Any] | None = None
        self._offer_texts = OfferTexts(self)
        self._notice: recommend.LanguageNotice | None = None
        self.benchmarks = JobQueue(1, self)
        self.setWindowTitle("mmsearch")
        self.resize(1280, 820)
        self._build_search_bar()
        self._build_body()
        self._build_status_bar()
        self._build_actions()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DELAY_MS)
        self._debounce.timeout.connect(self.run_search)
        self.indexer.started.connect(self._indexing_started)
        self.indexer.progress.connect(self._indexing_progress)
        self.indexer.details_progress.connect(self._details_progress)
        self.indexer.waiting.connect(self._indexing_waits)
        self.indexer.finished.connect(self._indexing_finished)
        self.indexer.failed.connect(self._indexing_failed)
        self.indexer.text_started.connect(self._reading_started)
        self.indexer.text_progress.connect(self._reading_progress)
        self.indexer.text_finished.connect(self._reading_finished)
        self.indexer.text_failed.connect(self._reading_failed)
        self.watcher.changed.connect(self.request_indexing)
        self.switcher.started.connect(self._switch_started)
        self.switcher.download_progress.connect(self.switch_progress.update_bytes)
        self.switcher.progress.connect(self.switch_progress.update_progress)
        self.switcher.finished.connect(self._switch_finished)
        self.switcher.failed.connect(self._switch_failed)
        self.refresh_library()
        self._open_index()
        if (
            self.prefs.check_updates
            and not self.prefs.model_offer
            and library.model_id == BUNDLED_MODEL_ID
        ):
            # From the catalogue only: no request leaves the machine until the user picks.
            QTimer.singleShot(0, self.show_model_offer)

    # -- layout -------------------------------------------------------------------------------

    def _build_search_bar(self) -> None:
        self.search_field = SearchField()
        self.search_field.setPlaceholderText(
            self.tr("Describe a photo, e.g. “two kids on a beach at sunset” — or drop a photo here")
        )
        self.search_field.setClearButtonEnabled(True)
        self.search_field.textChanged.connect(self._query_edited)
        self.search_field.returnPressed.connect(self.run_search)
        self.search_field.photo_dropped.connect(self.search_similar)
        self.similar_label = QLabel()
        self.similar_label.setVisible(False)
        # The window's `text:`: only photos whose text holds the words typed.
        self.text_only = QToolButton()
        self.text_only.setText(self.tr("Text in photos"))
        self.text_only.setCheckable(True)
        self.text_only.setToolTip(
            self.tr("Find only photos whose text holds these words (like typing text:invoice)")
        )
        self.text_only.toggled.connect(self.run_search)
        # Shown when a place in the query became a filter ("beach in Lisbon"), with undo.
        self.place_note = QLabel()
        self.place_note.setVisible(False)
        self.place_undo = QPushButton(self.tr("Search the words instead"))
        self.place_undo.setToolTip(self.tr("Don't take the place name for a place filter"))
        self.place_undo.setVisible(False)
        self.place_undo.clicked.connect(self.undo_place_guess)
        # Shown while the answers come from the index's preview (a large index still opening).
        self.preview_note = QLabel()
        self.preview_note.setVisible(False)
        self.folder_filter = QComboBox()
        self.folder_filter.currentIndexChanged.connect(self.run_search)
        self.place_filter = QComboBox()
        self.place_filter.setToolTip(self.tr("Where the photos were taken (from their GPS)"))
        self.place_filter.currentIndexChanged.connect(self.run_search)
        self.camera_filter = QComboBox()
        self.camera_filter.currentIndexChanged.connect(self.run_search)
        self.after_check = QCheckBox(self.tr("After"))
        self.after_date = QDateEdit(QDate.currentDate().addYears(-1))
        self.before_check = QCheckBox(self.tr("Before"))
        self.before_date = QDateEdit(QDate.currentDate())
        for check, edit in (
            (self.after_check, self.after_date),
            (self.before_check, self.before_date),
        ):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
            check.toggled.connect(edit.setEnabled)
            check.toggled.connect(self.run_search)
            edit.dateChanged.connect(self._query_edited)
        self.type_filter = QComboBox()
        for key, title in (
            ("all", self.tr("All types")),
            ("jpeg", "JPEG"),
            ("png", "PNG"),
            ("heic", "HEIC"),
            ("raw", "RAW"),
            ("other", self.tr("Other")),
        ):
            self.type_filter.addItem(title, key)
        self.type_filter.currentIndexChanged.connect(self._view_changed)
        self.sort_order = QComboBox()
        self.sort_order.addItem(self.tr("Best match first"), SORT_RELEVANCE)
        self.sort_order.addItem(self.tr("Newest first"), SORT_DATE)
        self.sort_order.currentIndexChanged.connect(self._view_changed)
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setRange(0, 100)
        self.threshold.setValue(0)
        self.threshold.setFixedWidth(120)
        self.threshold.setToolTip(self.tr("Hide matches weaker than this score"))
        self.threshold.valueChanged.connect(self._view_changed)
        self.threshold_label = QLabel()
        self.count_label = QLabel()
        bar = QWidget()
        top = QVBoxLayout(bar)
        row = QHBoxLayout()
        row.addWidget(self.search_field, 1)
        row.addWidget(self.text_only)
        row.addWidget(self.similar_label)
        row.addWidget(self.place_note)
        row.addWidget(self.place_undo)
        row.addWidget(self.preview_note)
        top.addLayout(row)
        filters = QHBoxLayout()
        filters.addWidget(QLabel(self.tr("Folder")))
        filters.addWidget(self.folder_filter)
        filters.addWidget(self.place_filter)
        filters.addWidget(self.camera_filter)
        filters.addWidget(self.after_check)
        filters.addWidget(self.after_date)
        filters.addWidget(self.before_check)
        filters.addWidget(self.before_date)
        filters.addWidget(self.type_filter)
        filters.addWidget(self.sort_order)
        filters.addWidget(QLabel(self.tr("Min. score")))
        filters.addWidget(self.threshold)
        filters.addWidget(self.threshold_label)
        filters.addStretch(1)
        filters.addWidget(self.count_label)
        top.addLayout(filters)
        self._search_bar = bar
        self._update_threshold_label()

    def _build_body(self) -> None:
        self.results = ResultsModel(self.thumbnails, self)
        self.grid = ResultsView()
        self.grid.setModel(self.results)
        self.grid.setItemDelegate(ThumbnailDelegate(self.results, self.grid))
        self.grid.selectionModel().selectionChanged.connect(self._selection_changed)
        # A new search (or filter) resets the model without a selection signal: the preview
        # must not keep showing a photo of the previous results.
        self.results.modelReset.connect(self._show_current)
        self.grid.doubleClicked.connect(lambda _index: self.open_current())
        self.grid.open_requested.connect(self.open_current)
        self.grid.photo_dropped.connect(self.search_similar)
        self.grid.customContextMenuRequested.connect(self._context_menu)

        self.empty_state = QWidget()
        empty = QVBoxLayout(self.empty_state)
        empty.addStretch(1)
        self.empty_title = QLabel(self.tr("Find your photos by what they show"))
        self.empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.empty_title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        self.empty_title.setFont(font)
        self.empty_text = QLabel()
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text.setWordWrap(True)
        self.add_folder_button = QPushButton(self.tr("Add a folder…"))
        self.add_folder_button.clicked.connect(self.choose_folder)
        empty.addWidget(self.empty_title)
        empty.addWidget(self.empty_text)
        button_row = QHBoxLayout()
        button_row.addStretch(1)
        button_row.addWidget(self.add_folder_button)
        button_row.addStretch(1)
        empty.addLayout(button_row)
        empty.addStretch(2)

        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty_state)
        self.pages.addWidget(self.grid)
        self.pages.addWidget(self.message)

        self.preview = PreviewPanel()
        self.captions = CaptionPanel()
        self.captions.rank_requested.connect(self.rank)
        self.side = QTabWidget()
        self.side.addTab(self.preview, self.tr("Preview"))
        self.side.addTab(self.captions, self.tr("Caption ranking"))
        splitter = QSplitter()
        splitter.addWidget(self.pages)
        splitter.addWidget(self.side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.notice_bar = QWidget()
        notice_row = QHBoxLayout(self.notice_bar)
        notice_row.setContentsMargins(0, 0, 0, 0)
        self.notice_label = QLabel()
        self.notice_label.setWordWrap(True)
        self.notice_button = QPushButton()
        self.notice_button.clicked.connect(self._offer_for_notice)
        notice_row.addWidget(self.notice_label, 1)
        notice_row.addWidget(self.notice_button)
        self.notice_bar.setVisible(False)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self._search_bar)
        layout.addWidget(self.notice_bar)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

    def _build_status_bar(self) -> None:
        self.model_label = QLabel()
        self.device_label = QLabel()
        self.photos_label = QLabel()
        self.index_progress = IndexProgress()
        self.index_progress.cancel_requested.connect(self.cancel_indexing)
        self.switch_progress = IndexProgress()
        self.switch_progress.cancel_requested.connect(self.cancel_switch)
        status = self.statusBar()
        status.addWidget(self.model_label)
        status.addWidget(self.device_label)
        status.addWidget(self.photos_label)
        status.addPermanentWidget(self.index_progress)
        status.addPermanentWidget(self.switch_progress)

    def _build_actions(self) -> None:
        file_menu = self.menuBar().addMenu(self.tr("&File"))
        self.add_action = QAction(self.tr("&Add folder…"), self)
        self.add_action.setShortcut(QKeySequence("Ctrl+O"))
        self.add_action.triggered.connect(self.choose_folder)
        folders = QAction(self.tr("&Folders…"), self)
        folders.triggered.connect(self.show_folders)
        duplicates = QAction(self.tr("Find &near-duplicates…"), self)
        duplicates.triggered.connect(self.show_duplicates)
        settings = QAction(self.tr("&Settings…"), self)
        settings.setShortcut(QKeySequence.StandardKey.Preferences)
        settings.triggered.connect(self.show_settings)
        quit_action = QAction(self.tr("&Quit"), self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        for action in (self.add_action, folders, duplicates, settings):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu(self.tr("&Help"))
        about = QAction(self.tr("&About mmsearch"), self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)
        QShortcut(QKeySequence("Ctrl+F"), self, self.focus_search)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.clear_search)

    # -- library state ------------------------------------------------------------------------

    def refresh_library(self) -> None:
        """Re-read folders and counts (cheap catalog queries) into the window."""
        folders = self.library.folders()
        counts = self.library.counts()
        current = self.selected_folder()
        self.folder_filter.blockSignals(True)
        self.folder_filter.clear()
        self.folder_filter.addItem(self.tr("All folders"))
        self._folder_choices = [None]
        for f in folders:
            self.folder_filter.addItem(display_name(f.path) or os.fsdecode(f.path))
            self.folder_filter.setItemData(
                self.folder_filter.count() - 1, os.fsdecode(f.path), Qt.ItemDataRole.ToolTipRole
            )
            self._folder_choices.append(f.path)
        index = self._folder_choices.index(current) if current in self._folder_choices else 0
        self.folder_filter.setCurrentIndex(index)
        self.folder_filter.blockSignals(False)
        self._fill_places_and_cameras()
        try:
            name = self.library.model.spec.display_name
        except Exception as e:  # a missing model is explained, not fatal
            name = self.tr("missing ({error})").format(error=e)
        self.model_label.setText(self.tr("Model: {name}").format(name=name))
        device = self.library.device
        self.device_label.setText(self.tr("Device: {device}").format(device=device.label))
        self.device_label.setToolTip(device.reason)
        self.photos_label.setText(
            self.tr("{count} photos indexed").format(count=f"{counts['embedded']:,}")
        )
        if not folders:
            self.empty_title.setText(self.tr("Find your photos by what they show"))
            self.empty_text.setText(
                self.tr(
                    "Add a folder of photos to start. mmsearch looks at every photo once, "
                    "on this computer, with its built-in model; then type what you are "
                    "looking for, or drop a photo to find similar ones."
                )
            )
            self.add_folder_button.setVisible(True)
            self.pages.setCurrentIndex(PAGE_EMPTY)
        elif not self.search_field.text().strip() and self._similar_to is None:
            self.empty_title.setText(self.tr("What are you looking for?"))
            self.empty_text.setText(
                self.tr(
                    "Type a description above — “a dog on a beach”, “snowy mountains”. "
                    "Combine parts with + and -, or drop a photo to find similar ones."
                )
            )
            self.add_folder_button.setVisible(False)
            self.pages.setCurrentIndex(PAGE_EMPTY)
        self.watcher.watch([f.path for f in folders])
        if self.folders_dialog is not None:
            self.folders_dialog.set_folders(folders)
            self.folders_dialog.set_failures(self.library.failures())

    def add_folder(self, path: Path) -> None:
        """Add a folder and index it in the background."""
        if not path.is_dir():
            QMessageBox.warning(
                self, "mmsearch", self.tr("{path} is not a folder.").format(path=path)
            )
            return
        if self._change_library(lambda: self.library.add_folder(path)):
            self.refresh_library()
            self.request_indexing()

    def remove_folder(self, path: Path) -> None:
        self._change_library(lambda: self.library.remove_folder(path))
        self.refresh_library()
        self.run_search()

    def _change_library(self, change: Callable[[], object]) -> bool:
        """Make a small change to the library (add or remove a folder) without waiting on
        the GUI thread (see `_locked_change`). False when nothing was changed; errors are
        shown, not raised."""
        try:
            refused = self._locked_change(self.library, change)
        except (CatalogError, WriterLockError, OSError) as e:
            QMessageBox.warning(self, "mmsearch", str(e))
            return False
        if refused is not None:
            QMessageBox.information(self, "mmsearch", refused)
            return False
        return True

    def _locked_change(self, library: Library, change: Callable[[], object]) -> str | None:
        """Run `change` under the writer lock, never waiting for it: when another process
        holds it, change nothing and return why, in words. Our own indexing thread holding
        it is no obstacle (the window's jobs coordinate among themselves, and the catalog
        serialises the writes)."""
        try:
            with library.writing("folder change", wait=False):
                change()
        except LibraryBusy as busy:
            if busy.holder.pid != os.getpid():
                return self.tr("{who}: try again when it has finished.").format(
                    who=busy.holder.describe()
                )
            change()
        return None

    def map_roots(self, changes: dict[str, Path | None]) -> None:
        """Map (or unmap, None) library roots to their folders on this computer, off the GUI
        thread (mapping a root over folders already indexed moves every photo's path under
        it: seconds in a large library); then index, to find their photos there."""
        if not changes:
            return
        library = self.library

        def change() -> None:
            for name, folder in changes.items():
                if folder is None:
                    library.unmap_root(name)
                else:
                    library.map_root(name, folder)

        def done(refused: str | None) -> None:
            self.statusBar().clearMessage()
            if refused is not None:
                QMessageBox.information(self, "mmsearch", refused)
            elif library is self.library:
                self.refresh_library()
                self.request_indexing()

        def failed(message: str) -> None:
            self.statusBar().clearMessage()
            QMessageBox.warning(self, "mmsearch", message)

        self.statusBar().showMessage(self.tr("Mapping the library's roots…"))
        self.changes.submit(lambda: self._locked_change(library, change), done, failed)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Add a folder of photos"))
        if folder:
            self.add_folder(Path(folder))

    # -- indexing -----------------------------------------------------------------------------

    def request_indexing(self) -> None:
        """Index every folder now; while a model switch embeds the photos (and indexes new
        ones with the new model), after it."""
        if self.switcher.running or self._pending_switch is not None:
            self._index_after_switch = True
        else:
            self.indexer.start()

    def cancel_indexing(self) -> None:
        self.indexer.cancel()
        self.index_progress.cancelling()
        if self.folders_dialog is not None:
            self.folders_dialog.progress.cancelling()

    def _progress_widgets(self) -> list[IndexProgress]:
        widgets = [self.index_progress]
        if self.folders_dialog is not None:
            widgets.append(self.folders_dialog.progress)
        return widgets

    def _indexing_started(self) -> None:
        self.photos_label.setText(self.tr("Looking for photos…"))
        for widget in self._progress_widgets():
            widget.start()
        if self.folders_dialog is not None:
            self.folders_dialog.set_indexing(True)

    def _indexing_waits(self, who: str) -> None:
        # `who` is the lock holder's own description ("another indexing run, pid N, ...").
        self.photos_label.setText(self.tr("Waiting: {who}").format(who=who))
        self.statusBar().showMessage(
            self.tr("Waiting: {who}. Indexing starts when it has finished.").format(who=who)
        )

    def _details_progress(self, done: int, total: int, rate: float, left: float) -> None:
        self.photos_label.setText(
            self.tr("Reading the dates and places of {done} of {total} photos…").format(
                done=f"{done:,}", total=f"{total:,}"
            )
        )
        for widget in self._progress_widgets():
            widget.update_progress(done, total, rate, left)

    def _indexing_progress(self, done: int, total: int, rate: float, left: float) -> None:
        # The first report (0 of total) comes once the scan has counted the work: until
        # then the label says the window is looking, not "0 photos".
        self.photos_label.setText(
            self.tr("Indexing {done} of {total} new or changed photos…").format(
                done=f"{done:,}", total=f"{total:,}"
            )
            if total
            else self.tr("No new or changed photos")
        )
        for widget in self._progress_widgets():
            widget.update_progress(done, total, rate, left)
        # An occasional refresh only: catalog queries on the GUI thread cost GIL time.
        dialog = self.folders_dialog
        if (done % 200 == 0 or done == total) and dialog is not None and dialog.isVisible():
            dialog.set_folders(self.library.folders())

    def _indexing_finished(self, report: IndexReport) -> None:
        for widget in self._progress_widgets():
            widget.finish()
        if self.folders_dialog is not None:
            self.folders_dialog.set_indexing(False)
            self.folders_dialog.show_report(report)
        message = (
            self.tr("Indexed {n} photos").format(n=f"{report.indexed:,}")
            if report.indexed
            else self.tr("Up to date: no new or changed photos")
        )
        if report.failed:
            message += self.tr(", {n} could not be read (see Folders)").format(n=len(report.failed))
        gone = [*report.missing_folders, *report.unavailable_folders]
        if gone:
            # An unplugged drive: its photos are kept, and the next run catches up.
            message += self.tr(
                "; {folders} not reachable (drive unplugged?): its photos are kept"
            ).format(folders=", ".join(display_name(p) or os.fsdecode(p) for p in gone))
        if report.interrupted:
            message = self.tr("Indexing cancelled; it resumes where it stopped next time")
        self.statusBar().showMessage(message, 8000)
        self.refresh_library()
        self._start_pending_switch()
        if self.search_field.text().strip() or self._similar_to is not None:
            self.run_search()

    def _indexing_failed(self, message: str) -> None:
        for widget in self._progress_widgets():
            widget.finish()
        QMessageBox.warning(
            self, "mmsearch", self.tr("Indexing stopped: {error}").format(error=message)
        )
        self.refresh_library()
        self._start_pending_switch()

    def _reading_started(self) -> None:
        for widget in self._progress_widgets():
            widget.start()
            widget.set_title(self.tr("Reading text in photos"))

    def _reading_progress(self, done: int, total: int, rate: float, left: float) -> None:
        if total:
            self.photos_label.setText(
                self.tr("Reading the text in {done} of {total} photos…").format(
                    done=f"{done:,}", total=f"{total:,}"
                )
            )
        for widget in self._progress_widgets():
            widget.update_progress(done, total, rate, left)

    def _end_reading(self) -> None:
        for widget in self._progress_widgets():
            widget.set_title("")
            widget.finish()
        if self.folders_dialog is not None:
            self.folders_dialog.set_indexing(False)
        self.refresh_library()
        self._start_pending_switch()  # a switch asked for meanwhile stopped the pass

    def _reading_finished(self, report: TextReport) -> None:
        self._end_reading()
        if report.interrupted:
            self.statusBar().showMessage(
                self.tr("Reading text stopped; it resumes where it stopped next time"), 8000
            )
        elif report.read:
            self.statusBar().showMessage(
                self.tr("Read the text in {n} photos; {m} hold some").format(
                    n=f"{report.read:,}", m=f"{report.with_text:,}"
                ),
                8000,
            )
            if self.search_field.text().strip():
                self.run_search()  # their words may match the query now

    def _reading_failed(self, message: str) -> None:
        self._end_reading()
        self.statusBar().showMessage(
            self.tr("Text in photos could not be read: {error}").format(error=message), 15000
        )

    # -- searching ----------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search_field.setFocus()
        self.search_field.selectAll()

    def clear_search(self) -> None:
        self._similar_to = None
        self.similar_label.setVisible(False)
        self.search_field.clear()
        self.results.set_hits([])
        self.refresh_library()

    def _query_edited(self) -> None:
        if self.search_field.text().strip():
            self._similar_to = None
            self.similar_label.setVisible(False)
        self._debounce.start()

    def selected_folder(self) -> Path | None:
        """The folder filter's folder (None: all). Kept in a Python list rather than item
        data: None through `QComboBox.currentData()` is the conversion PySide6 6.12.0
        miscounts (see `ResultsModel.hit_at`)."""
        row = self.folder_filter.currentIndex()
        return self._folder_choices[row] if 0 <= row < len(self._folder_choices) else None

    def _fill_places_and_cameras(self) -> None:
        """The place list (countries, then their towns, with photo counts) and the camera
        list, keeping what is selected."""
        chosen_place = self._choice(self.place_filter, self._place_choices)
        chosen_camera = self._choice(self.camera_filter, self._camera_choices)
        places = self.library.place_counts()
        by_country: dict[str, list[PlaceCount]] = {}
        for p in places:
            by_country.setdefault(p.country, []).append(p)
        rows: list[tuple[str, tuple[str, tuple[int, ...]] | None]] = [(self.tr("All places"), None)]
        for country, towns in sorted(
            by_country.items(), key=lambda c: -sum(p.photos for p in c[1])
        ):
            total = sum(p.photos for p in towns)
            rows.append((f"{country} ({total:,})", (country, tuple(p.id for p in towns))))
            for p in towns:
                name = p.city or p.region or country
                if name != country or len(towns) > 1:
                    rows.append((f"    {name} ({p.photos:,})", (f"{name}, {country}", (p.id,))))
        self._fill(self.place_filter, rows, chosen_place)
        self._place_choices = [choice for _title, choice in rows]
        cameras: list[tuple[str, str | None]] = [(self.tr("All cameras"), None)]
        cameras += [(f"{c} ({n:,})", c) for c, n in self.library.camera_counts()]
        self._fill(self.camera_filter, cameras, chosen_camera)
        self._camera_choices = [choice for _title, choice in cameras]
        self.place_filter.setVisible(len(rows) > 1)
        self.camera_filter.setVisible(len(cameras) > 1)

    @staticmethod
    def _choice(box: QComboBox, choices: list[T]) -> T | None:
        row = box.currentIndex()
        return choices[row] if 0 <= row < len(choices) else None

    @staticmethod
    def _fill(box: QComboBox, rows: list[tuple[str, Any]], chosen: Any) -> None:
        box.blockSignals(True)
        box.clear()
        keys = [choice if not isinstance(choice, tuple) else choice[0] for _t, choice in rows]
        for title, _choice in rows:
            box.addItem(title)
        key = chosen[0] if isinstance(chosen, tuple) else chosen
        box.setCurrentIndex(keys.index(key) if key in keys else 0)
        box.blockSignals(False)

    def selected_place(self) -> tuple[str, tuple[int, ...]] | None:
        """The place list's (name, place ids), None: all places."""
        return self._choice(self.place_filter, self._place_choices)

    def selected_camera(self) -> str | None:
        return self._choice(self.camera_filter, self._camera_choices)

    def _filters(self) -> Filters:
        after = before = None
        if self.after_check.isChecked():
            after = datetime.combine(self.after_date.date().toPython(), datetime.min.time())  # type: ignore[arg-type]
        if self.before_check.isChecked():
            before = datetime.combine(self.before_date.date().toPython(), datetime.min.time())  # type: ignore[arg-type]
        place = self.selected_place()
        camera = self.selected_camera()
        return Filters(
            folder=self.selected_folder(),
            after=after,
            before=before,
            places=place[1] if place is not None else None,
            camera=camera,
        )

    def undo_place_guess(self) -> None:
        """Search the query as typed: the place it named is not taken for a filter."""
        self._literal_query = self.search_field.text().strip()
        self.run_search()

    def run_search(self) -> None:
        """Search now (off the GUI thread) for the text or the dropped photo."""
        self._debounce.stop()
        if self._closed:  # a typing pause's timer, or a search again, that outlived the window
            return
        text = self.search_field.text().strip()
        self.show_language_notice(text if self._similar_to is None else "")
        if not text and self._similar_to is None:
            self.results.set_hits([])
            self.refresh_library()
            return
        self._search_seq += 1
        seq = self._search_seq
        filters = self._filters()
        limit = self.prefs.result_limit
        similar = self._similar_to
        engine = self.engine
        rerank = self.prefs.rerank
        if self.text_only.isChecked() and not is_text_only(text):
            text = TEXT_PREFIX + text
        may_guess = similar is None and filters.places is None and text != self._literal_query

        def work() -> tuple[list[SearchHit], PlaceGuess | None, Answers | None]:
            preview = engine.lib.interim()  # None once the index is open
            use = engine if preview is None else SearchEngine(engine.lib, answer_from=preview)
            if similar is not None:
                info = use.lib.photo(similar)
                vector = use.photo_vector(similar)
                exclude = {info.id} if info is not None else None
                return use.search(vector, limit, filters, exclude=exclude), None, preview
            guess = use.read_place(text) if may_guess else None
            if guess is not None:
                return use.search_guessed(guess, limit, filters, rerank=rerank), guess, preview
            return use.search(text, limit, filters, rerank=rerank), None, preview

        self.searches.submit(
            work, lambda hits: self._show_hits(seq, hits), lambda msg: self._show_error(seq, msg)
        )

    def search_similar(self, photo: Path) -> None:
        """Photos similar to `photo` (dropped from the file manager or the grid)."""
        self._similar_to = photo.resolve()
        self.search_field.blockSignals(True)
        self.search_field.clear()
        self.search_field.blockSignals(False)
        self.similar_label.setText(self.tr("Similar to: {name}").format(name=display_name(photo)))
        self.similar_label.setVisible(True)
        self.run_search()

    def _show_hits(
        self, seq: int, found: tuple[list[SearchHit], PlaceGuess | None, Answers | None]
    ) -> None:
        if seq != self._search_seq:
            return  # an older search finished after a newer one started
        hits, guess, preview = found
        self._answered_from_preview = preview is not None
        if isinstance(preview, Preview):
            self.preview_note.setText(
                self.tr("Best of {sample} of {total} photos while the index opens…").format(
                    sample=f"{len(preview.ids):,}", total=f"{preview.total:,}"
                )
            )
        elif preview is not None:
            self.preview_note.setText(
                self.tr("Answered by the library's server while this computer's index opens…")
            )
        self.preview_note.setVisible(preview is not None)
        if preview is not None and self.library.index_open:  # it opened while this searched
            QTimer.singleShot(0, self.run_search)
        self.place_guess = guess
        if guess is not None:
            rest = guess.rest or self.tr("all photos, newest first")
            self.place_note.setText(
                self.tr("In {place}: {rest}").format(place=guess.label, rest=rest)
            )
        self.place_note.setVisible(guess is not None)
        self.place_undo.setVisible(guess is not None)
        self.results.set_hits(hits)
        self._update_count()
        if self.results.rowCount():
            self.pages.setCurrentIndex(PAGE_RESULTS)
        elif not self.library.folders():
            self.pages.setCurrentIndex(PAGE_EMPTY)
        else:
            self.message.setText(self.empty_result_message(bool(hits)))
            self.pages.setCurrentIndex(PAGE_MESSAGE)
        self.search_finished.emit()

    def empty_result_message(self, had_hits: bool) -> str:
        """Why nothing is shown: the filters that hid every match, or that nothing is
        indexed, or plainly no match."""
        if had_hits:  # the search found photos; the window's own filters hid them
            hidden_by = []
            if self.type_filter.currentIndex() > 0:
                hidden_by.append(
                    self.tr("the file type filter ({type})").format(
                        type=self.type_filter.currentText()
                    )
                )
            if self.threshold.value() > 0:
                hidden_by.append(
                    self.tr("the minimum score ({score})").format(
                        score=f"{self.threshold.value() / 100.0:.2f}"
                    )
                )
            return self.tr("Every match is hidden by {filters}: change it to see them.").format(
                filters=self.tr(" and ").join(hidden_by) or self.tr("the filters")
            )
        counts = self.library.counts()
        if not counts["embedded"]:
            if self.indexer.running:
                return self.tr("No photos indexed yet: indexing is under way.")
            return self.tr("No photos indexed yet: add a folder, or wait for indexing.")
        filters = self._filters()
        limits = []
        if filters.folder is not None:
            limits.append(self.tr("in {folder}").format(folder=display_name(filters.folder)))
        place = self.selected_place()
        if place is not None:
            limits.append(self.tr("taken in {place}").format(place=place[0]))
        elif self.place_guess is not None:
            limits.append(self.tr("taken in {place}").format(place=self.place_guess.label))
        if filters.camera is not None:
            limits.append(self.tr("from {camera}").format(camera=filters.camera))
        if filters.after is not None:
            limits.append(self.tr("after {date}").format(date=f"{filters.after:%Y-%m-%d}"))
        if filters.before is not None:
            limits.append(self.tr("before {date}").format(date=f"{filters.before:%Y-%m-%d}"))
        if limits:
            return self.tr(
                "None of the {n} indexed photos is {limits}: change the filters."
            ).format(n=f"{counts['embedded']:,}", limits=self.tr(", ").join(limits))
        return self.tr("No match among {n} indexed photos. Try other words.").format(
            n=f"{counts['embedded']:,}"
        )

    def _show_error(self, seq: int, message: str) -> None:
        if seq != self._search_seq:
            return
        self.message.setText(message)
        self.pages.setCurrentIndex(PAGE_MESSAGE)
        self.search_finished.emit()

    def _view_changed(self) -> None:
        self._update_threshold_label()
        self.results.set_view(
            threshold=self.min_score(),
            file_type=str(self.type_filter.currentData()),
            sort_order=str(self.sort_order.currentData()),
        )
        self._update_count()
        if self.results.total():
            self.pages.setCurrentIndex(PAGE_RESULTS if self.results.rowCount() else PAGE_MESSAGE)
            if not self.results.rowCount():
                self.message.setText(self.empty_result_message(True))

    def min_score(self) -> float:
        """The slider's threshold; at 0 it is off (cosine scores can be negative)."""
        value = self.threshold.value()
        return value / 100.0 if value > 0 else float("-inf")

    def _update_threshold_label(self) -> None:
        value = self.threshold.value()
        self.threshold_label.setText(f"{value / 100.0:.2f}" if value > 0 else self.tr("off"))

    def _update_count(self) -> None:
        shown, total = self.results.rowCount(), self.results.total()
        if total == 0:
            self.count_label.clear()
        elif shown == total:
            self.count_label.setText(self.tr("{n} photos").format(n=f"{shown:,}"))
        else:
            self.count_label.setText(
                self.tr("{shown} of {total} photos").format(shown=f"{shown:,}", total=f"{total:,}")
            )

    # -- the selected photo -------------------------------------------------------------------

    def current_hit(self) -> SearchHit | None:
        index = self.grid.currentIndex()  # the model itself, not index.data(): results.py
        return self.results.hit_at(index.row()) if index.isValid() else None

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._show_current()

    def _show_current(self) -> None:
        hit = self.current_hit()
        if hit is None:
            self.preview.clear()
            return
        self.preview.show_hit(hit)
        path = hit.path
        self.previews.submit(
            lambda: load_preview(path, 720),
            lambda image: self.preview.show_image(path, image),
            None,
        )

    def open_current(self) -> bool:
        """Open the current photo with the system's viewer; if none opens it, say so in
        the status bar with what else to do. True if a viewer took it."""
        hit = self.current_hit()
        if hit is None:
            return False
        if QDesktopServices.openUrl(QUrl.fromLocalFile(os.fsdecode(hit.path))):
            return True
        self.statusBar().showMessage(
            self.tr(
                "No application opened {name}: right-click it for “Open containing folder” "
                "or “Copy path”."
            ).format(name=os.fsdecode(hit.path)),
            15_000,
        )
        return False

    def _context_menu(self, pos: QPoint) -> None:
        hit = self.current_hit()
        if hit is None:
            return
        menu = QMenu(self)
        menu.addAction(self.tr("Open"), self.open_current)
        menu.addAction(
            self.tr("Open containing folder"),
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(os.fsdecode(hit.path.parent))),
        )
        menu.addAction(
            self.tr("Copy path"),
            lambda: QGuiApplication.clipboard().setText(os.fsdecode(hit.path)),
        )
        menu.addSeparator()
        menu.addAction(self.tr("Find similar photos"), lambda: self.search_similar(hit.path))
        menu.addAction(self.tr("Rank captions for this photo"), lambda: self.rank_photo(hit.path))
        menu.popup(self.grid.viewport().mapToGlobal(pos))

    # -- caption ranking ----------------------------------------------------------------------

    def rank_photo(self, photo: Path) -> None:
        self.captions.set_photo(photo)
        self.side.setCurrentWidget(self.captions)

    def rank(self, photo: Path, captions: list[str]) -> None:
        library = self.library
        self.searches.submit(
            lambda: rank_captions(library, photo, captions),
            self.captions.show_ranking,
            self.captions.show_error,
        )

    # -- dialogs ------------------------------------------------------------------------------

    def show_folders(self) -> None:
        if self.folders_dialog is None:
            dialog = FoldersDialog(self)
            dialog.add_requested.connect(self.add_folder)
            dialog.remove_requested.connect(self.remove_folder)
            dialog.reindex_requested.connect(self.request_indexing)
            dialog.progress.cancel_requested.connect(self.cancel_indexing)
            self.folders_dialog = dialog
        self.folders_dialog.set_indexing(self.indexer.running)
        if self.indexer.running:
            self.folders_dialog.progress.start()
        self.refresh_library()
        if self.indexer.last_report is not None:
            self.folders_dialog.show_report(self.indexer.last_report)
        self.folders_dialog.show()
        self.folders_dialog.raise_()

    def show_duplicates(self) -> DuplicatesDialog:
        """The near-duplicates view; it looks again each time it is opened. Photos it moves
        to the trash leave the results; photos its undo puts back are indexed again."""
        if self.duplicates_dialog is None or self.duplicates_dialog.library is not self.library:
            dialog = DuplicatesDialog(self.library, self)
            dialog.trashed.connect(lambda _n: self._after_trash())
            dialog.restored.connect(lambda _paths: self.request_indexing())
            self.duplicates_dialog = dialog
        self.duplicates_dialog.show()
        self.duplicates_dialog.raise_()
        self.duplicates_dialog.start()
        return self.duplicates_dialog

    def _after_trash(self) -> None:
        """The trashed photos leave the results: the search (or similar) runs again."""
        self.refresh_library()
        self.run_search()

    def show_settings(self) -> None:
        dialog = SettingsDialog(
            self.prefs,
            list_models(self.library.data_dir, self.library),
            (self.switcher.running and self.switcher.model_id) or self.library.model_id,
            self.library.data_dir,
            compute_device("gpu") != "CPU",
            self,
            self.library.roots(),
        )
        dialog.offer_requested.connect(dialog.reject)  # the offer replaces Settings
        dialog.offer_requested.connect(lambda: QTimer.singleShot(0, self.show_model_offer))
        if dialog.exec():
            problem = dialog.apply()
            if problem:
                QMessageBox.warning(self, "mmsearch", problem)
            self.map_roots(dialog.root_changes())
            self.thumbnails.disk_megabytes = self.prefs.thumbnail_cache_mb
            was_reading, self.indexer.read_text = self.indexer.read_text, self.prefs.read_text
            if self.prefs.read_text and not was_reading:
                self.request_indexing()  # read the text of the photos indexed meanwhile
            chosen = dialog.chosen_model()
            if chosen is not None and chosen.id != self.library.model_id:
                self.switch_model(chosen.id)  # downloaded first if it isn't installed
            if self.search_field.text().strip():
                self.run_search()  # the re-ranking setting may have changed

    # -- the model offer and the language notice ------------------------------------------------

    def catalogue(self) -> list[Any]:
        """The catalogue's entries (read once)."""
        if self._catalogue is None:
            try:
                self._catalogue = list(recommend.catalogue())
            except Exception as e:  # a damaged catalogue costs the offer, not the window
                self.statusBar().showMessage(str(e), 10_000)
                self._catalogue = []
        return self._catalogue

    def show_model_offer(self, languages: tuple[str, ...] = ()) -> ModelOfferDialog:
        """Show the offer (non-modal) of models that fit this computer and library, from the
        catalogue's figures; this computer's speed is measured (a few seconds, off the GUI
        thread) the first time and remembered."""
        if self.offer is not None:
            self.offer.close()
        photos = self.library.counts()["photos"]
        key = recommend.speed_key()
        speed = self.prefs.machine_speed(key)
        dialog = ModelOfferDialog(
            self.catalogue(), photos, self.library.model_id, speed, languages, self
        )
        dialog.chosen.connect(self._offer_chosen)
        dialog.declined.connect(self._offer_declined)
        self.offer = dialog
        if speed is None:
            data_dir = self.library.data_dir

            def measured(value: float) -> None:
                self.prefs.set_machine_speed(key, value)
                dialog.set_machine_speed(value)

            self.benchmarks.submit(
                lambda: recommend.machine_speed(3.0, data_dir),
                measured,
                lambda _message: dialog.set_machine_speed(None),
            )
        dialog.show()
        dialog.raise_()
        return dialog

    def _offer_chosen(self, model_id: str) -> None:
        if self.switch_model(model_id):  # downloaded first if it isn't installed
            self._offer_choice = model_id

    def _offer_declined(self) -> None:
        self.prefs.model_offer = "not-now"
        self.prefs.sync()

    def show_language_notice(self, text: str) -> recommend.LanguageNotice | None:
        """Say so above the results when `text` is in a language the active model doesn't
        read, with a button to the offer of models that do (hidden otherwise)."""
        notice = None
        if text:
            try:
                languages = self.library.model.spec.languages
            except Exception:  # a missing model is explained elsewhere
                languages = ()
            if languages:
                notice = recommend.language_notice(
                    languages, text, self.catalogue(), self.library.model_id
                )
        self._notice = notice
        if notice is None:
            self.notice_bar.setVisible(False)
            return None
        language = self._offer_texts.languages(notice.languages)
        self.notice_label.setText(
            self.tr(
                "This search looks like {language}, which the current model does not read: "
                "the results may be poor."
            ).format(language=language)
        )
        self.notice_button.setText(
            self.tr("Models that read {language}…").format(language=language)
        )
        self.notice_button.setVisible(notice.suggestion is not None)
        self.notice_bar.setVisible(True)
        return notice

    def _offer_for_notice(self) -> None:
        if self._notice is not None:
            wanted = tuple(c for c in self._notice.languages if c not in ("en", "latin"))
            self.show_model_offer(wanted or ("en",))

    # -- switching models ---------------------------------------------------------------------

    def switch_model(self, model_id: str) -> bool:
        """Start switching to `model_id` in the background (downloading it first if it is not
        installed: `install_and_use`); searches keep using the current model until every
        photo is embedded with the new one. False if a switch or an indexing run is going (it
        waits for neither)."""
        if self.switcher.running:
            QMessageBox.information(self, "mmsearch", self.tr("A model switch is already running."))
            return False
        if self.indexer.running:
            # The switch indexes every folder with the new model: it starts once the run in
            # progress has stopped at its next batch (never two indexers at once).
            self._pending_switch = model_id
            self.cancel_indexing()
            return True
        return self.switcher.start(model_id)

    def _start_pending_switch(self) -> None:
        if self._pending_switch is not None:
            model_id, self._pending_switch = self._pending_switch, None
            self.switcher.start(model_id)

    def cancel_switch(self) -> None:
        self.switcher.cancel()
        self.switch_progress.cancelling()

    def _switch_started(self, model_id: str) -> None:
        self.switch_progress.start()
        self.switch_progress.set_title(self.tr("Switching to {model}").format(model=model_id))

    def _switch_finished(self, result: SwitchResult, library: Library | None) -> None:
        self.switch_progress.finish()
        if library is None:
            self.statusBar().showMessage(
                self.tr(
                    "Model switch cancelled; the current model stays. Choosing it again "
                    "resumes where it stopped."
                ),
                10_000,
            )
        else:
            self._use_library(library)
            if result.model_id == self._offer_choice:
                self.prefs.model_offer = f"chosen:{result.model_id}"
                self.prefs.sync()
            message = self.tr("Now searching with {model}").format(model=result.model_id)
            if result.report.failed:
                message += self.tr(", {n} photos could not be read (see Folders)").format(
                    n=len(result.report.failed)
                )
            self.statusBar().showMessage(message, 10_000)
        self._offer_choice = None
        if self._index_after_switch:
            self._index_after_switch = False
            self.indexer.start()

    def _switch_failed(self, message: str) -> None:
        self.switch_progress.finish()
        if self._offer_choice is not None:
            # Offline (or the hub failed): the current model stays and the offer waits; it
            # is shown again at the next start (its answer stays unset).
            model_id, self._offer_choice = self._offer_choice, None
            self.statusBar().showMessage(
                self.tr(
                    "Could not get {model} ({error}): the current model stays; the offer is "
                    "shown again next time."
                ).format(model=model_id, error=message),
                20_000,
            )
            if self._index_after_switch:
                self._index_after_switch = False
                self.indexer.start()
            return
        QMessageBox.warning(
            self,
            "mmsearch",
            self.tr("Could not switch the model: {error}").format(error=message),
        )
        if self._index_after_switch:
            self._index_after_switch = False
            self.indexer.start()

    def _open_index(self) -> None:
        """Open the index off the GUI thread (seconds at a million photos): searches answer
        from its preview meanwhile, and the last one is searched again once it is open."""
        library = self.library

        def opened(_: object) -> None:
            if library is self.library and self._answered_from_preview:
                self.run_search()

        def work() -> None:
            library.warm_up()  # the text tower's session, while the window is being built
            library.open_index()

        self.opening.submit(work, opened, opened)  # an error: the search says it

    def _use_library(self, library: Library) -> None:
        """Search with `library` (a new model) from now on. The old one is closed on exit:
        a search running now may still be reading it."""
        self._retired.append(self.library)
        self.library = library
        self.engine = SearchEngine(library)
        self.indexer.library = library
        self.refresh_library()
        self._open_index()
        if self.search_field.text().strip() or self._similar_to is not None:
            self.run_search()

    def _about(self) -> None:
        QMessageBox.about(
            self,
            self.tr("About mmsearch"),
            self.tr("mmsearch finds photos on your disk by what they show.")
            + "\n"
            + self.tr("Everything runs on this computer; your photos never leave it."),
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        # Every background job is cancelled and waited for, and the results still queued
        # for this window are dropped: none may reach a window that is gone.
        self._closed = True
        self._debounce.stop()
        self.watcher.stop()
        self.indexer.cancel()
        self.switcher.cancel()
        self.indexer.close(30_000)
        self.searches.close(10_000)
        self.opening.close(30_000)
        self.changes.close(120_000)  # a root mapped in one transaction: let it commit
        self.thumbnails.close(10_000)
        self.previews.close(10_000)
        self.switcher.close(30_000)
        self.benchmarks.close(30_000)
        for library in self._retired:
            library.close()
        # Closed, the catalog records that it was left sound: the next start skips its
        # integrity check (seconds at a million photos) unless something changed it since.
        self.library.close()
        super().closeEvent(event)

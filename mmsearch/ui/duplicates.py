"""The near-duplicates view (issue 12 §2): groups side by side with what differs, the copy to
keep suggested, and "move the others to the trash" (the system trash, never a delete) with
undo while the window is open."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mmsearch.catalog.db import PhotoInfo
from mmsearch.services.duplicates import DEFAULT_THRESHOLD, DuplicateGroup, find_duplicates
from mmsearch.services.library import Library
from mmsearch.services.trash import Trashed, TrashError, can_undo, restore, trash_photos
from mmsearch.ui.jobs import JobQueue
from mmsearch.ui.thumbnails import load_preview

TILE = 168


def describe(photo: PhotoInfo, group: DuplicateGroup) -> list[str]:
    """What a tile says of its photo; the lines that differ within the group come bold."""
    folders = {p.path.parent for p in group.photos}
    sizes = {(p.width, p.height) for p in group.photos}
    dates = {_taken(p) for p in group.photos}
    kinds = {p.path.suffix.lower() for p in group.photos}

    def line(text: str, differs: bool) -> str:
        return f"<b>{text}</b>" if differs else text

    taken = _taken(photo)
    kind = photo.path.suffix.lstrip(".").upper()
    return [
        line(f"{photo.width} × {photo.height}", len(sizes) > 1),
        line(f"{_bytes(photo.size)} · {kind}", len(kinds) > 1),
        line(taken, len(dates) > 1),
        line(photo.path.parent.name or str(photo.path.parent), len(folders) > 1),
    ]


def _taken(photo: PhotoInfo) -> str:
    """The date as the tile shows it, saying so when it is only the file's name or time."""
    if photo.taken_at is None:
        return "no date"
    source = {"name": " (file name)", "file": " (file time)"}.get(photo.taken_from or "", "")
    return f"{photo.taken_at:%Y-%m-%d %H:%M}{source}"


def _bytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1_000_000 else f"{max(1, round(size / 1e3))} KB"


class _Signals(QObject):
    """What the dialog's background jobs report to the GUI thread."""

    loaded = Signal(str, QImage)  # a thumbnail: path, image
    moved = Signal(int, int)  # the pixel checks: done, total


class GroupRow(QFrame):
    """One group: its photos side by side, the suggested one first, and the trash button."""

    trash_requested = Signal(object)  # DuplicateGroup

    def __init__(self, group: DuplicateGroup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.group = group
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.pictures: dict[str, QLabel] = {}
        tiles = QHBoxLayout()
        for i, photo in enumerate(group.photos):
            tile = QVBoxLayout()
            picture = QLabel()
            picture.setFixedSize(TILE, TILE)
            picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
            picture.setToolTip(str(photo.path))
            self.pictures[os.fsdecode(photo.path)] = picture
            tile.addWidget(picture)
            badge = self.tr("Keep (suggested)") if i == 0 else self.tr("Copy")
            text = QLabel(f"<b>{badge}</b><br>" + "<br>".join(describe(photo, group)))
            text.setTextFormat(Qt.TextFormat.RichText)
            tile.addWidget(text)
            tiles.addLayout(tile)
        tiles.addStretch(1)
        count = len(group.others)
        self.button = QPushButton(
            self.tr("Move the other one to the trash")
            if count == 1
            else self.tr("Move the other {count} to the trash").format(count=count)
        )
        self.button.clicked.connect(lambda: self.trash_requested.emit(self.group))
        layout = QVBoxLayout(self)
        layout.addLayout(tiles)
        bottom = QHBoxLayout()
        bottom.addWidget(QLabel(self.tr("Similarity %1").replace("%1", f"{group.similarity:.3f}")))
        bottom.addWidget(self.button)
        bottom.addStretch(1)
        layout.addLayout(bottom)

    def show_thumbnail(self, path: str, image: QImage) -> None:
        label = self.pictures.get(path)
        if label is not None:
            label.setPixmap(
                QPixmap.fromImage(image).scaled(
                    TILE,
                    TILE,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )


class DuplicatesDialog(QDialog):
    """Finds the library's near-duplicates in the background and shows them."""

    trashed = Signal(int)  # photos moved to the trash (the window refreshes)
    restored = Signal(list)  # paths put back (the window indexes them again)

    def __init__(
        self,
        library: Library,
        parent: QWidget | None = None,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.threshold = threshold
        self.setWindowTitle(self.tr("Near-duplicates"))
        self.resize(900, 640)
        self.jobs = JobQueue(1, self)
        self.thumb_jobs = JobQueue(2, self)
        self._signals = _Signals(self)
        self._signals.loaded.connect(self._thumbnail_loaded)
        self._signals.moved.connect(self._progress)
        self.rows: list[GroupRow] = []
        self.undo_stack: list[list[Trashed]] = []
        self.busy = False

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.list_widget = QWidget()
        self.list_layout = QVBoxLayout(self.list_widget)
        self.list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.list_widget)
        self.undo_button = QPushButton(self.tr("Undo"))
        self.undo_button.setEnabled(False)
        self.undo_button.setVisible(can_undo())
        self.undo_button.clicked.connect(self.undo)
        self.search_button = QPushButton(self.tr("Look again"))
        self.search_button.clicked.connect(self.start)
        close = QPushButton(self.tr("Close"))
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.undo_button)
        buttons.addStretch(1)
        buttons.addWidget(self.search_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)

    # -- finding -------------------------------------------------------------------------

    def start(self) -> None:
        if self.busy:
            return
        self._set_busy(True, self.tr("Looking for near-duplicates…"))
        library, threshold, moved = self.library, self.threshold, self._signals.moved.emit
        self.jobs.submit(
            lambda: find_duplicates(library, threshold, progress=moved),
            self.show_groups,
            self._failed,
        )

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(self.tr("comparing photos %v of %m"))

    def show_groups(self, groups: list[DuplicateGroup]) -> None:
        self._set_busy(False)
        for row in self.rows:
            row.setParent(None)
            row.deleteLater()
        self.rows = []
        for group in groups:
            row = GroupRow(group)
            row.trash_requested.connect(self.trash_others)
            self.list_layout.insertWidget(self.list_layout.count() - 1, row)
            self.rows.append(row)
            for photo in group.photos:
                self._load_thumbnail(photo.path)
        self._say_count()

    def _say_count(self) -> None:
        if not self.rows:
            self.status.setText(self.tr("No near-duplicates found."))
            return
        copies = sum(len(r.group.others) for r in self.rows)
        text = (
            self.tr(
                "1 group of near-duplicates, {copies} copies that could go; the suggested "
                "photo stays."
            )
            if len(self.rows) == 1
            else self.tr(
                "{groups} groups of near-duplicates, {copies} copies that could go; the "
                "suggested photo of each group stays."
            )
        )
        self.status.setText(text.format(groups=len(self.rows), copies=copies))

    def _load_thumbnail(self, path: Path) -> None:
        emit = self._signals.loaded.emit
        key = os.fsdecode(path)
        self.thumb_jobs.submit(lambda: emit(key, load_preview(path, min_side=TILE)))

    def _thumbnail_loaded(self, path: str, image: QImage) -> None:
        for row in self.rows:
            row.show_thumbnail(path, image)

    # -- the trash -----------------------------------------------------------------------

    def trash_others(self, group: DuplicateGroup) -> None:
        if self.busy:
            return
        others = list(group.others)
        self._set_busy(
            True, self.tr("Moving {count} photos to the trash…").format(count=len(others))
        )
        library = self.library

        def work() -> tuple[list[Trashed], str | None]:
            try:
                return trash_photos(library, others), None
            except TrashError as e:  # those moved before it can still be undone
                return e.trashed, str(e)

        def done(result: tuple[list[Trashed], str | None]) -> None:
            trashed, error = result
            self._set_busy(False)
            if trashed:
                self.undo_stack.append(trashed)
                self.undo_button.setEnabled(True)
                for row in list(self.rows):  # the group is gone, or stale: "Look again"
                    if row.group is group:
                        self.rows.remove(row)
                        row.setParent(None)
                        row.deleteLater()
            self._say_count()
            said = [self.status.text()]
            if trashed:
                moved = self.tr("Moved {count} photos to the trash.")
                said.append(moved.format(count=len(trashed)))
                if can_undo():
                    said.append(self.tr("Undo puts them back."))
            if error is not None:
                said.append(error)
            self.status.setText(" ".join(said))
            if trashed:
                self.trashed.emit(len(trashed))

        self.jobs.submit(work, done, self._failed)

    def undo(self) -> None:
        if self.busy or not self.undo_stack:
            return
        batch = self.undo_stack.pop()
        self.undo_button.setEnabled(bool(self.undo_stack))
        self._set_busy(True, self.tr("Putting photos back…"))

        def done(paths: list[Path]) -> None:
            self._set_busy(False)
            self.status.setText(
                self.tr("Put {count} photos back; they are being indexed again.").format(
                    count=len(paths)
                )
            )
            self.restored.emit(paths)

        self.jobs.submit(lambda: restore(batch), done, self._failed)

    # -- state ---------------------------------------------------------------------------

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self.busy = busy
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
            self.status.setText(text)
        self.search_button.setEnabled(not busy)
        for row in self.rows:
            row.button.setEnabled(not busy)

    def _failed(self, message: str) -> None:
        self._set_busy(False)
        self.status.setText(message)

    def wait(self, msecs: int = 30_000) -> bool:
        return self.jobs.wait(msecs) and self.thumb_jobs.wait(msecs)

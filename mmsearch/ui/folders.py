"""The folders dialog: add and remove folders, watch indexing progress, see failures."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mmsearch.catalog.db import FailureInfo, FolderInfo
from mmsearch.services.indexing import IndexReport


def format_eta(seconds: float) -> str:
    if seconds < 0:
        return "…"
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class IndexProgress(QWidget):
    """A progress bar with count, rate and time left, and a Cancel button."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.label = QLabel()
        self.title = QLabel()  # what the bar is about, when it isn't plain indexing
        self.title.setVisible(False)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.label)
        layout.addWidget(self.cancel_button)
        self.setVisible(False)

    def start(self) -> None:
        self.bar.setRange(0, 0)  # busy until the scan has counted the work
        self.label.setText(self.tr("Looking for photos…"))
        self.cancel_button.setEnabled(True)
        self.setVisible(True)

    def update_progress(self, done: int, total: int, rate: float, left: float) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        self.bar.setFormat(f"{done:,} / {total:,}")
        self.label.setText(
            self.tr("{rate:.1f} photos/s, {eta} left").format(rate=rate, eta=format_eta(left))
        )

    def set_title(self, text: str) -> None:
        self.title.setText(text)
        self.title.setVisible(bool(text))

    def update_bytes(self, done: int, total: int) -> None:
        """Download progress, in megabytes."""
        self.bar.setRange(0, 1000)
        self.bar.setValue(int(1000 * done / total) if total else 0)
        self.bar.setFormat(f"{done / 1e6:,.0f} / {total / 1e6:,.0f} MB")
        self.label.setText(self.tr("Downloading the model…"))

    def cancelling(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText(self.tr("Stopping after the current batch…"))

    def finish(self) -> None:
        self.setVisible(False)


class FoldersDialog(QDialog):
    """Folders with their photo counts and state; indexing progress; failed files."""

    add_requested = Signal(Path)
    remove_requested = Signal(Path)
    reindex_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Folders"))
        self.resize(760, 520)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(
            [self.tr("Folder"), self.tr("Photos"), self.tr("State")]
        )
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        add = QPushButton(self.tr("Add folder…"))
        add.clicked.connect(self._choose_folder)
        self.remove_button = QPushButton(self.tr("Remove"))
        self.remove_button.clicked.connect(self._remove_selected)
        reindex = QPushButton(self.tr("Index now"))
        reindex.clicked.connect(self.reindex_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(reindex)
        self.progress = IndexProgress()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.failures = QTableWidget(0, 2)
        self.failures.setHorizontalHeaderLabels(
            [self.tr("File that could not be read"), self.tr("Reason")]
        )
        self.failures.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.failures.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.failures.verticalHeader().setVisible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 2)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addWidget(self.failures, 1)
        self._indexing = False

    def set_folders(self, folders: list[FolderInfo]) -> None:
        self.table.setRowCount(len(folders))
        for row, f in enumerate(folders):
            state = self.tr("indexing…") if self._indexing else self.tr("up to date")
            if not f.path.is_dir():
                state = self.tr("not found (kept)")
            path_item = QTableWidgetItem(os.fsdecode(f.path))
            path_item.setData(Qt.ItemDataRole.UserRole, f.path)
            count = QTableWidgetItem(f"{f.photos:,}")
            count.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 0, path_item)
            self.table.setItem(row, 1, count)
            self.table.setItem(row, 2, QTableWidgetItem(state))

    def set_failures(self, failures: list[FailureInfo]) -> None:
        self.failures.setRowCount(len(failures))
        for row, f in enumerate(failures):
            self.failures.setItem(row, 0, QTableWidgetItem(os.fsdecode(f.path)))
            self.failures.setItem(row, 1, QTableWidgetItem(f.reason))

    def set_indexing(self, indexing: bool) -> None:
        self._indexing = indexing

    def show_report(self, report: IndexReport) -> None:
        text = self.tr(
            "Last run: {added} new, {updated} changed, {moved} moved, {removed} removed, "
            "{failed} could not be read."
        ).format(
            added=report.added,
            updated=report.updated,
            moved=report.moved,
            removed=report.removed,
            failed=len(report.failed),
        )
        if report.interrupted:
            text += " " + self.tr("Cancelled: indexing resumes where it stopped next time.")
        self.summary.setText(text)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Add a folder of photos"))
        if folder:
            self.add_requested.emit(Path(folder))

    def _remove_selected(self) -> None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        for row in sorted(rows):
            item = self.table.item(row, 0)
            if item is not None:
                self.remove_requested.emit(item.data(Qt.ItemDataRole.UserRole))

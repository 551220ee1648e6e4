"""The caption ranking panel: drop a photo, give captions, see them ranked best first."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QPlainTextEdit,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from mmsearch.services.ranking import RankedCaption
from mmsearch.ui.jobs import JobQueue
from mmsearch.ui.results import display_name
from mmsearch.ui.thumbnails import load_preview

ScoreRole = Qt.ItemDataRole.UserRole + 10
BarRole = Qt.ItemDataRole.UserRole + 11
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic"}


def dropped_paths(event: QDragEnterEvent | QDropEvent) -> list[Path]:
    mime = event.mimeData()
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()] if mime else []


class CaptionList(QPlainTextEdit):
    """One caption per line; a dropped .txt file's lines are added."""

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(p.suffix.lower() == ".txt" for p in dropped_paths(event)):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        texts = [p for p in dropped_paths(event) if p.suffix.lower() == ".txt"]
        if not texts:
            super().dropEvent(event)
            return
        for path in texts:
            try:
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            current = self.toPlainText().rstrip("\n")
            self.setPlainText("\n".join([current, *lines]).strip("\n"))
        event.acceptProposedAction()

    def captions(self) -> list[str]:
        return [line.strip() for line in self.toPlainText().splitlines() if line.strip()]


ModelIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class RankedRow:
    caption: str
    score: float
    bar: float  # 0.1 (worst) .. 1.0 (best): the bar's length


class RankingModel(QAbstractListModel):
    """The ranked captions, best first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RankedRow] = []

    def set_ranking(self, ranked: list[RankedCaption]) -> None:
        rows: list[RankedRow] = []
        if ranked:
            low, high = min(r.score for r in ranked), max(r.score for r in ranked)
            span = high - low or 1.0
            rows = [
                RankedRow(r.caption, r.score, 0.1 + 0.9 * (r.score - low) / span) for r in ranked
            ]
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def entry(self, row: int) -> RankedRow | None:
        """The row's caption, score and bar (what the delegate reads: see
        `ResultsModel.hit_at` for why not `QModelIndex.data()`)."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        entry = self.entry(index.row()) if index.isValid() else None
        if entry is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return entry.caption
        if role == ScoreRole:
            return entry.score
        if role == BarRole:
            return entry.bar
        return None


class ScoreBarDelegate(QStyledItemDelegate):
    """A caption with its score and a bar showing how it compares with the others."""

    def __init__(self, model: RankingModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ranking = model

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return QSize(200, 44)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        entry = self.ranking.entry(index.row())
        if entry is None:
            return
        painter.save()
        rect: QRect = option.rect.adjusted(6, 4, -6, -4)
        palette = option.palette
        bar = QRect(rect.x(), rect.bottom() - 8, int(rect.width() * entry.bar), 8)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(palette.alternateBase())
        painter.drawRoundedRect(QRect(rect.x(), rect.bottom() - 8, rect.width(), 8), 4, 4)
        painter.setBrush(QColor(palette.highlight().color()))
        painter.drawRoundedRect(bar, 4, 4)
        painter.setPen(palette.text().color())
        text_rect = QRect(rect.x(), rect.y(), rect.width(), rect.height() - 10)
        score_text = f"{entry.score:.3f}"
        width = painter.fontMetrics().horizontalAdvance(score_text) + 8
        painter.drawText(
            text_rect.adjusted(0, 0, -width, 0),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            painter.fontMetrics().elidedText(
                entry.caption,
                Qt.TextElideMode.ElideRight,
                text_rect.width() - width,
            ),
        )
        painter.drawText(
            text_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, score_text
        )
        painter.restore()


class CaptionPanel(QWidget):
    """Photo drop zone + caption editor + ranked list. `rank_requested(photo, captions)`
    asks the window to run the ranking off the GUI thread; `show_ranking` shows it."""

    rank_requested = Signal(object, list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.photo: Path | None = None
        self._previews = JobQueue(1, self)
        self.setAcceptDrops(True)
        self.photo_label = QLabel(self.tr("Drop a photo here"))
        self.photo_label.setObjectName("captionPhoto")
        self.photo_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.photo_label.setMinimumSize(220, 160)
        self.photo_label.setStyleSheet("QLabel#captionPhoto { border: 2px dashed palette(mid); }")
        self.captions = CaptionList()
        self.captions.setPlaceholderText(
            self.tr("Candidate captions, one per line (or drop a .txt file)")
        )
        self.rank_button = QPushButton(self.tr("Rank captions"))
        self.rank_button.clicked.connect(self.request_rank)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.ranking = RankingModel(self)
        self.ranked = QListView()
        self.ranked.setModel(self.ranking)
        self.ranked.setItemDelegate(ScoreBarDelegate(self.ranking, self.ranked))
        layout = QVBoxLayout(self)
        layout.addWidget(self.photo_label)
        layout.addWidget(self.captions, 1)
        row = QHBoxLayout()
        row.addWidget(self.rank_button)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        layout.addWidget(self.ranked, 2)

    def set_photo(self, path: Path) -> None:
        """Show the photo to rank captions for (its preview decodes off the GUI thread)."""
        self.photo = path
        self.photo_label.setText(display_name(path))
        self.photo_label.setToolTip(os.fsdecode(path))
        self._previews.submit(
            lambda: load_preview(path, 200), lambda image: self._show_photo(path, image), None
        )

    def _show_photo(self, path: Path, image: QImage) -> None:
        if path != self.photo:
            return  # another photo was dropped meanwhile
        pixmap = QPixmap.fromImage(image).scaled(
            self.photo_label.size(),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.photo_label.setPixmap(pixmap)

    def request_rank(self) -> None:
        captions = self.captions.captions()
        if self.photo is None:
            self.status.setText(self.tr("Drop a photo first."))
            return
        if not captions:
            self.status.setText(self.tr("Type or drop at least one caption."))
            return
        self.status.setText(self.tr("Ranking…"))
        self.rank_requested.emit(self.photo, captions)

    def show_ranking(self, ranked: list[RankedCaption]) -> None:
        self.ranking.set_ranking(ranked)
        if ranked:
            self.status.setText(self.tr("Best first."))

    def show_error(self, message: str) -> None:
        self.status.setText(message)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(p.suffix.lower() in PHOTO_SUFFIXES for p in dropped_paths(event)):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        photos = [p for p in dropped_paths(event) if p.suffix.lower() in PHOTO_SUFFIXES]
        if photos:
            self.set_photo(photos[0])
            event.acceptProposedAction()
            if self.captions.captions():
                self.request_rank()

"""The result grid: a list model of search hits and a delegate that draws thumbnails."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QUrl,
)
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from mmsearch.catalog.db import file_kind
from mmsearch.services.search import SearchHit
from mmsearch.ui.thumbnails import ThumbnailCache

HitRole = Qt.ItemDataRole.UserRole + 1
ScoreRole = Qt.ItemDataRole.UserRole + 2
PathRole = Qt.ItemDataRole.UserRole + 3

CELL = QSize(200, 190)

ModelIndex = QModelIndex | QPersistentModelIndex

SORT_RELEVANCE, SORT_DATE = "relevance", "date"


class ResultsModel(QAbstractListModel):
    """Search hits after the window's own filters (file type, threshold) and sort order."""

    def __init__(self, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self._all: list[SearchHit] = []
        self._shown: list[SearchHit] = []
        self._rows: dict[str, list[int]] = {}
        self.threshold = float("-inf")
        self.file_type = "all"
        self.sort_order = SORT_RELEVANCE
        thumbnails.ready.connect(self._thumbnail_ready)

    # -- contents -----------------------------------------------------------------------------

    def set_hits(self, hits: list[SearchHit]) -> None:
        self._all = list(hits)
        self._refilter()

    def set_view(
        self,
        threshold: float | None = None,
        file_type: str | None = None,
        sort_order: str | None = None,
    ) -> None:
        if threshold is not None:
            self.threshold = threshold
        if file_type is not None:
            self.file_type = file_type
        if sort_order is not None:
            self.sort_order = sort_order
        self._refilter()

    def total(self) -> int:
        return len(self._all)

    def hit(self, row: int) -> SearchHit:
        return self._shown[row]

    def hit_at(self, row: int) -> SearchHit | None:
        """The hit shown in `row`, or None: what the delegate and the window read instead
        of `QModelIndex.data()`, whose None results PySide6-Essentials 6.12.0 miscounts
        (None's reference count drops by one per call until Python aborts)."""
        return self._shown[row] if 0 <= row < len(self._shown) else None

    def thumbnail(self, hit: SearchHit) -> QImage | None:
        return self.thumbnails.get(hit.path)

    def hits(self) -> list[SearchHit]:
        return list(self._shown)

    def _refilter(self) -> None:
        kind = None if self.file_type == "all" else self.file_type
        shown = [
            h
            for h in self._all
            if h.score >= self.threshold and (kind is None or file_kind(h.path) == kind)
        ]
        if self.sort_order == SORT_DATE:
            shown.sort(key=lambda h: h.photo.taken_at or datetime.min, reverse=True)
        self.beginResetModel()
        self._shown = shown
        self._rows = {}
        for row, h in enumerate(shown):
            self._rows.setdefault(os.fsdecode(h.path), []).append(row)
        self.endResetModel()

    # -- Qt model API --------------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self._shown):
            return None
        hit = self._shown[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return display_name(hit.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            taken = f"\n{hit.photo.taken_at:%Y-%m-%d %H:%M}" if hit.photo.taken_at else ""
            score = self.tr("score")
            text = (
                ("\n" + self.tr("Text: {words}").format(words=" / ".join(hit.text)))
                if hit.text
                else ""
            )
            return f"{os.fsdecode(hit.path)}\n{score} {hit.score:.3f}{taken}{text}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnails.get(hit.path)
        if role == HitRole:
            return hit
        if role == ScoreRole:
            return hit.score
        if role == PathRole:
            return hit.path
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # type: ignore[override]
        """Dragged results carry file URLs: drop them on a file manager, or back on the
        search field for a similar-photo search."""
        data = QMimeData()
        data.setUrls([QUrl.fromLocalFile(os.fsdecode(self._shown[i.row()].path)) for i in indexes])
        return data

    def _thumbnail_ready(self, key: str) -> None:
        for row in self._rows.get(key, []):
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


def display_name(path: Path) -> str:
    """A file name fit to show: undecodable bytes become U+FFFD instead of crashing Qt."""
    return os.fsencode(path.name).decode("utf-8", "replace")


class ThumbnailDelegate(QStyledItemDelegate):
    """Draws a thumbnail centred in its cell, the file name under it (or the words of its
    text the query matched) and the score in a corner badge. It reads the hit from `model`
    directly, never through `QModelIndex.data()` (see `ResultsModel.hit_at`)."""

    def __init__(self, model: ResultsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.results = model

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        return CELL

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        hit = self.results.hit_at(index.row())
        if hit is None:
            return
        painter.save()
        rect: QRect = option.rect.adjusted(4, 4, -4, -4)
        palette: QPalette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, palette.highlight())
        image_rect = rect.adjusted(4, 4, -4, -26)
        image = self.results.thumbnail(hit)
        if image is not None and not image.isNull():
            # Thumbnails come pre-sized for this box (THUMB_BOX): no rescaling while painting.
            if image.width() > image_rect.width() or image.height() > image_rect.height():
                image = image.scaled(
                    image_rect.size(),
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.FastTransformation,
                )
            x = image_rect.x() + (image_rect.width() - image.width()) // 2
            y = image_rect.y() + (image_rect.height() - image.height()) // 2
            painter.drawImage(x, y, image)
        else:
            painter.fillRect(image_rect, palette.alternateBase())
        # A photo found by its words shows them instead of its file name, quoted.
        name = f"“{' / '.join(hit.text)}”" if hit.text else display_name(hit.path)
        text_rect = QRect(rect.x() + 4, rect.bottom() - 22, rect.width() - 8, 20)
        colour = palette.link().color() if hit.text else palette.text().color()
        painter.setPen(palette.highlightedText().color() if selected else colour)
        metrics = painter.fontMetrics()
        elided = metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, elided)
        badge = f"{hit.score:.2f}"
        font = QFont(painter.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(badge) + 10
        badge_rect = QRect(image_rect.right() - width - 2, image_rect.y() + 2, width, 18)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(QColor(0, 0, 0, 160))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(badge_rect, 6, 6)
        painter.setPen(QColor("white"))
        painter.drawText(badge_rect, Qt.AlignmentFlag.AlignCenter, badge)
        painter.restore()

"""Thumbnails: decoded off the GUI thread, kept in memory (LRU) and on disk (the data
folder's `thumbs/`, bounded in size), keyed by path, size and mtime so edits refresh them."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from mmsearch.media import DecodeError, decode_photo
from mmsearch.ui.jobs import JobQueue

THUMB_SIZE = 256
#: Thumbnails are made to fit the grid's picture box, so painting never rescales them.
THUMB_BOX = (184, 152)
#: What the raster painter draws without converting.
PAINT_FORMAT = QImage.Format.Format_RGB32


def pil_to_qimage(image: Image.Image) -> QImage:
    """A Pillow RGB image as a QImage that owns its pixels (safe to pass between threads)."""
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    qimage = QImage(data, rgb.width, rgb.height, rgb.width * 3, QImage.Format.Format_RGB888)
    return qimage.copy()


def load_preview(path: Path, min_side: int) -> QImage:
    """A photo decoded at reduced size (for the preview panel), upright, as a QImage."""
    decoded = decode_photo(path, min_side=min_side)
    return pil_to_qimage(decoded.image)


class ThumbnailCache(QObject):
    """Asynchronous thumbnails. `get()` answers at once (None while loading) and `ready`
    announces each path whose thumbnail has arrived."""

    ready = Signal(str)  # os.fsdecode(path)

    def __init__(
        self,
        folder: Path,
        memory_items: int = 2000,
        disk_megabytes: int = 500,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.folder = folder
        self.memory_items = memory_items
        self.disk_megabytes = disk_megabytes
        self._memory: OrderedDict[str, QImage] = OrderedDict()
        self._loading: set[str] = set()
        self._failed: set[str] = set()
        self._lock = threading.Lock()
        self._queue = JobQueue(2, self)
        self._written = 0

    def get(self, path: Path) -> QImage | None:
        key = os.fsdecode(path)
        image = self._memory.get(key)
        if image is not None:
            self._memory.move_to_end(key)
            return image
        if key not in self._loading and key not in self._failed:
            self._loading.add(key)
            self._queue.submit(
                lambda: self._load(path), lambda image: self._arrived(key, image), None
            )
        return None

    def failed(self, path: Path) -> bool:
        return os.fsdecode(path) in self._failed

    def wait(self, msecs: int = 30_000) -> bool:
        return self._queue.wait(msecs)

    def close(self, msecs: int = 30_000) -> bool:
        """Wait for the thumbnails being made; deliver none of them (see `JobQueue.close`)."""
        return self._queue.close(msecs)

    def _disk_path(self, path: Path) -> Path | None:
        try:
            st = path.stat()
        except OSError:
            return None
        key = os.fsencode(path) + f"|{st.st_size}|{st.st_mtime_ns}".encode()
        return self.folder / (hashlib.sha1(key).hexdigest() + ".jpg")

    def _load(self, path: Path) -> QImage | None:
        """The thumbnail in the painter's own format (32-bit RGB), converted here on the pool
        thread: drawing a 24-bit one converted it on every paint, 12 times slower (39 against
        3.3 us a cell, measured offscreen)."""
        cached = self._disk_path(path)
        if cached is not None and cached.is_file():
            image = QImage(str(cached))
            if not image.isNull():
                return image.convertToFormat(PAINT_FORMAT)
        try:
            decoded = decode_photo(path, min_side=THUMB_SIZE)
        except DecodeError:
            return None
        thumb = decoded.image
        thumb.thumbnail(THUMB_BOX, Image.Resampling.LANCZOS)
        if cached is not None:
            self._save(thumb, cached)
        return pil_to_qimage(thumb).convertToFormat(PAINT_FORMAT)

    def _save(self, thumb: Image.Image, target: Path) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{threading.get_ident()}.tmp")
            thumb.save(tmp, "JPEG", quality=85)
            os.replace(tmp, target)
        except OSError:
            return  # a read-only data folder only costs speed
        with self._lock:
            self._written += 1
            if self._written % 200 == 0:
                self._trim()

    def _trim(self) -> None:
        """Keep the disk cache under its size by dropping the least recently written."""
        files = sorted(self.folder.glob("*.jpg"), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in files)
        limit = self.disk_megabytes * 1_000_000
        for old in files:
            if total <= limit:
                break
            total -= old.stat().st_size
            old.unlink(missing_ok=True)

    def _arrived(self, key: str, image: QImage | None) -> None:
        self._loading.discard(key)
        if image is None:
            self._failed.add(key)
        else:
            self._memory[key] = image
            while len(self._memory) > self.memory_items:
                self._memory.popitem(last=False)
        self.ready.emit(key)

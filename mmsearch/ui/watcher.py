"""Watching the indexed folders: photos added, changed, deleted or renamed on disk are
picked up by an incremental index run, debounced so a copy of 1,000 files is one run."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from mmsearch.media import PHOTO_EXTENSIONS, RAW_EXTENSIONS

WATCHED_SUFFIXES = PHOTO_EXTENSIONS | RAW_EXTENSIONS


class _Handler(FileSystemEventHandler):
    def __init__(self, changed: SignalInstance) -> None:
        self.changed = changed

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        for raw in paths:
            path = Path(raw if isinstance(raw, str) else raw.decode(errors="surrogateescape"))
            hidden = any(part.startswith(".") for part in path.parts[1:])
            if (
                raw
                and not hidden
                and (event.is_directory or path.suffix.lower() in WATCHED_SUFFIXES)
            ):
                self.changed.emit()  # queued into the GUI thread
                return


class FolderWatcher(QObject):
    """Emits `changed` once things have been quiet for `delay_ms` after a photo changed."""

    changed = Signal()
    _raw_event = Signal()

    def __init__(self, delay_ms: int = 1500, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.changed)
        self._raw_event.connect(self._timer.start)
        self._observer: Observer | None = None  # type: ignore[valid-type]
        self._folders: list[Path] = []

    def watch(self, folders: list[Path]) -> None:
        """Watch exactly these folders (recursively) from now on."""
        folders = sorted(f for f in folders if f.is_dir())
        if folders == self._folders and self._observer is not None:
            return
        self.stop()
        self._folders = folders
        if not folders:
            return
        observer = Observer()
        handler = _Handler(self._raw_event)
        for folder in folders:
            try:
                observer.schedule(handler, str(folder), recursive=True)
            except OSError:
                continue  # e.g. out of inotify watches: the manual re-index still works
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
        self._folders = []

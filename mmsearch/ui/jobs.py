"""Long work off the GUI thread: every job runs a service call on a pool thread and
reports back through queued signals, so the window never freezes."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from mmsearch.catalog import BackupFailed, CatalogError
from mmsearch.catalog.lock import LibraryBusy, LockHolder, WriterLockError
from mmsearch.encoders import ModelError
from mmsearch.services.indexing import Indexer, IndexReport, ProgressCallback
from mmsearch.services.library import Library
from mmsearch.services.search import QueryError
from mmsearch.services.text import TextReport, read_texts

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Errors whose message is written for a person; anything else is a bug, logged in full.
USER_ERRORS = (QueryError, ModelError, CatalogError, WriterLockError, OSError, ValueError)


def user_message(exc: BaseException) -> str:
    if isinstance(exc, USER_ERRORS):
        return str(exc)
    log.exception("unexpected error in a background job", exc_info=exc)
    return f"Something went wrong ({type(exc).__name__}: {exc}). Details are in the log."


def lower_thread_priority(niceness: int = 10) -> None:
    """Make the calling thread (and the threads it starts: decoders, ONNX Runtime's pool)
    yield the CPU to the window. Linux sets niceness per thread; elsewhere a no-op."""
    setpriority = getattr(os, "setpriority", None)
    if setpriority is None or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError):  # not allowed: indexing competes on equal terms
        setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


def rate_reporter(emit: Callable[[int, int, float, float], None]) -> ProgressCallback:
    """An indexing progress callback that emits (done, total, photos/s, seconds left; -1
    while unknown), timed from now."""
    started_at = time.monotonic()

    def report(done: int, total: int, _path: Path | None) -> None:
        elapsed = time.monotonic() - started_at
        rate = done / elapsed if elapsed > 0 and done else 0.0
        left = (total - done) / rate if rate > 0 else -1.0
        emit(done, total, rate, left)

    return report


class JobSignals(QObject):
    result = Signal(object)
    error = Signal(str)
    done = Signal()


class Job(QRunnable):
    """Run `fn()` on a pool thread; `signals.result` or `signals.error` reports back."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.signals = JobSignals()
        self.setAutoDelete(False)  # we keep the reference until `done`

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as e:  # reported to the window, never raised into Qt
            self.signals.error.emit(user_message(e))
        else:
            self.signals.result.emit(result)
        finally:
            self.signals.done.emit()


class JobQueue(QObject):
    """A thread pool that keeps its jobs alive until they finish."""

    def __init__(self, threads: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._running: set[Job] = set()
        self.closed = False

    def submit(
        self,
        fn: Callable[[], Any],
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> Job:
        """Run `fn()` on the pool; `on_result` or `on_error` on the GUI thread afterwards,
        unless the queue was closed by then. A closed queue starts nothing."""
        job = Job(fn)
        if on_result is not None:
            job.signals.result.connect(self._unless_closed(on_result))
        if on_error is not None:
            job.signals.error.connect(self._unless_closed(on_error))
        job.signals.done.connect(lambda: self._running.discard(job))
        if self.closed:
            return job
        self._running.add(job)
        self.pool.start(job)
        return job

    def _unless_closed(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        def deliver(value: Any) -> None:
            if not self.closed:
                callback(value)

        return deliver

    def wait(self, msecs: int = 30_000) -> bool:
        return self.pool.waitForDone(msecs)

    def close(self, msecs: int = 30_000) -> bool:
        """Wait up to `msecs` for the jobs, and drop the results still to be delivered: their
        owner (a closed window) is gone, and a result that touched it would act on a library
        already closed. False if a job was still running."""
        self.closed = True
        return self.wait(msecs)


class IndexController(QObject):
    """Runs indexing in the background, one run at a time, with progress and cancel.

    A request that comes while a run is going (a watched folder changed) is remembered
    and served by one more run afterwards, so nothing is missed and runs never overlap.
    """

    started = Signal()
    waiting = Signal(str)  # another process is changing the library: who, in words
    progress = Signal(int, int, float, float)  # done, total, photos/s, seconds left (-1: ?)
    finished = Signal(object)  # IndexReport
    failed = Signal(str)
    # The details pass at the end of a run (dates, GPS positions, places): as `progress`.
    details_progress = Signal(int, int, float, float)
    # The text pass (OCR) that follows a run that wasn't cancelled: the new photos are
    # searchable as soon as `finished` comes; their words when `text_finished` does.
    text_started = Signal()
    text_progress = Signal(int, int, float, float)
    text_finished = Signal(object)  # TextReport
    text_failed = Signal(str)

    def __init__(
        self, library: Library, parent: QObject | None = None, read_text: bool = True
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.read_text = read_text
        self._queue = JobQueue(1, self)
        self._cancel = threading.Event()
        self._running = False
        self._again = False
        self.last_report: IndexReport | None = None
        self.last_text_report: TextReport | None = None

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Index every folder now, or right after the run in progress."""
        if self._running:
            self._again = True
            return
        self._running, self._again = True, False
        self._cancel = threading.Event()
        cancel = self._cancel
        report = rate_reporter(self.progress.emit)
        details: list[ProgressCallback] = []

        def details_report(done: int, total: int, path: Path | None) -> None:
            if not details:  # photos/s timed from the pass's start, not the run's
                details.append(rate_reporter(self.details_progress.emit))
            details[0](done, total, path)

        def index() -> IndexReport:
            result = Indexer(self.library, report, cancel, details_progress=details_report).run()
            try:
                self.library.backup()  # at most daily; the last 3 kept
            except BackupFailed as e:  # a warning, not a failed run
                log.warning("%s", e)
            return result

        def run() -> IndexReport:
            return self._locked("indexing run", cancel, index, IndexReport(interrupted=True))

        self.started.emit()
        self._queue.submit(run, self._on_result, self._on_error)

    def _tell_waiting(self, holder: LockHolder) -> None:
        self.waiting.emit(holder.describe())

    def cancel(self) -> None:
        self._cancel.set()
        self._again = False

    def wait(self, msecs: int = 60_000) -> bool:
        return self._queue.wait(msecs)

    def close(self, msecs: int = 60_000) -> bool:
        """Cancel the run, wait for it, and report nothing more (see `JobQueue.close`)."""
        self.cancel()
        return self._queue.close(msecs)

    def _locked(self, purpose: str, cancel: threading.Event, work: Callable[[], T], busy: T) -> T:
        """`work()` on this (lower-priority) thread under the library's writer lock; `busy`
        when cancelled while another process held the lock."""
        lower_thread_priority()
        try:
            with self.library.writing(purpose, on_wait=self._tell_waiting, cancel=cancel):
                return work()
        except LibraryBusy:
            return busy

    def _on_result(self, report: IndexReport) -> None:
        self.last_report = report
        reading = self.read_text and not report.interrupted and not self._cancel.is_set()
        self._running = reading  # the text pass comes next: still running
        self.finished.emit(report)
        if reading:
            self._read_text()
        elif self._again and not report.interrupted:
            self.start()

    def _on_error(self, message: str) -> None:
        self._running = False
        self.failed.emit(message)

    def _read_text(self) -> None:
        cancel = self._cancel
        report = rate_reporter(self.text_progress.emit)

        def run() -> TextReport:
            return self._locked(
                "reading text in photos",
                cancel,
                lambda: read_texts(self.library, report, cancel),
                TextReport(interrupted=True),
            )

        self.text_started.emit()
        self._queue.submit(run, self._on_text_result, self._on_text_error)

    def _on_text_result(self, report: TextReport) -> None:
        self._running = False
        self.last_text_report = report
        self.text_finished.emit(report)
        if self._again and not report.interrupted:
            self.start()

    def _on_text_error(self, message: str) -> None:
        # A text pass that can't run (the OCR model missing or damaged) never fails
        # indexing: the photos are indexed and searchable; the window says what to fix.
        self._running = False
        self.text_failed.emit(message)


class ModelSwitchController(QObject):
    """Switches the active model in the background: downloads it if needed, embeds every
    photo with it (the current model keeps answering searches meanwhile), then reports the
    new model's Library. Cancel stops at a safe point; what was done is kept and resumed by
    the next switch to the same model."""

    started = Signal(str)  # model id
    download_progress = Signal(int, int)  # bytes done, bytes total
    progress = Signal(int, int, float, float)  # as IndexController.progress
    finished = Signal(object, object)  # SwitchResult, the new model's Library (None: not switched)
    failed = Signal(str)

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self._queue = JobQueue(1, self)
        self._cancel = threading.Event()
        self._running = False
        self.model_id: str | None = None

    @property
    def running(self) -> bool:
        return self._running

    def start(self, model_id: str) -> bool:
        """Switch to `model_id` (downloading it first when it is not installed: see
        `install_and_use`); False if a switch is already running."""
        from mmsearch.services.models import SwitchResult, install_and_use

        if self._running:
            return False
        self._running, self.model_id = True, model_id
        self._cancel = threading.Event()
        cancel, data_dir = self._cancel, self.data_dir
        kept: list[Library] = []

        reporter: list[ProgressCallback] = []

        def progress(done: int, total: int, path: Path | None) -> None:
            if not reporter:  # photos/s timed from the embedding's start, not the download's
                reporter.append(rate_reporter(self.progress.emit))
            reporter[0](done, total, path)

        def run() -> tuple[SwitchResult, Library | None]:
            lower_thread_priority()
            result = install_and_use(
                data_dir,
                model_id,
                progress=progress,
                download_progress=lambda p: self.download_progress.emit(p.done, p.total),
                cancel=cancel,
                on_library=kept.append,
            )
            if not result.switched:
                for lib in kept:
                    lib.close()
                return result, None
            return result, kept[0]

        self.started.emit(model_id)
        self._queue.submit(run, self._on_result, self._on_error)
        return True

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, msecs: int = 60_000) -> bool:
        return self._queue.wait(msecs)

    def close(self, msecs: int = 60_000) -> bool:
        """Cancel the switch, wait for it, and report nothing more (see `JobQueue.close`)."""
        self.cancel()
        return self._queue.close(msecs)

    def _on_result(self, outcome: tuple[object, Library | None]) -> None:
        self._running = False
        self.finished.emit(*outcome)

    def _on_error(self, message: str) -> None:
        self._running = False
        self.failed.emit(message)

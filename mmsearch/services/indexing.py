"""The indexing pipeline: scan -> diff against the catalog -> hash and decode in a worker
pool -> encode in batches -> write catalog rows and index vectors.

Every batch is committed to the catalog in one transaction before its vectors enter the
index, so a crash (even `kill -9`) loses at most the batch in flight; the index is saved
every few batches and rebuilt from the catalog when it disagrees with it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from mmsearch.catalog.db import FailureRecord, FolderInfo, KnownPhoto, PhotoRecord, bad_rows
from mmsearch.catalog.lock import LibraryBusy, LockHolder
from mmsearch.catalog.server import CatalogUnreachable
from mmsearch.encoders import ModelError
from mmsearch.media import (
    DecodedPhoto,
    DecodeError,
    FoundFile,
    decode_photo,
    file_hash,
    scan_folder,
)
from mmsearch.media.batch_decode import BatchDecoder, CpuDecoder, choose_decoder
from mmsearch.media.errors import can_heal
from mmsearch.services.details import DetailsReport, update_details
from mmsearch.services.library import Library
from mmsearch.services.workers import bounded_map, default_workers

BATCH_SIZE = 32
log = logging.getLogger(__name__)

SERVER_RETRY_S = 2.0  # a shared library's run, its server gone: how often it asks again
SAVE_EVERY = 1000  # photos added between index checkpoints (the catalog commits every batch)
FAILURES_EVERY = 500  # failures remembered per transaction


class ModelOutputError(ModelError):
    """The model gave vectors that are not finite unit vectors: its files may be damaged.
    Nothing of the batch is stored, and the run stops."""


@dataclass
class IndexReport:
    """What an indexing run did; `failed` lists (path, reason) of files that can't be read."""

    added: int = 0
    updated: int = 0
    moved: int = 0
    copied: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)
    still_failing: int = 0
    missing_folders: list[Path] = field(default_factory=list)
    unavailable_folders: list[Path] = field(default_factory=list)
    """Folders that went away during the run (a drive unplugged): their photos are kept,
    and the next run after they are back catches up."""
    bad_vectors_dropped: int = 0
    """Stored vectors that were not finite unit vectors (from a damaged model), dropped so
    that this run embeds their photos again."""
    details: DetailsReport | None = None
    """The details pass that followed (dates, GPS, places), when the run wasn't stopped."""
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def indexed(self) -> int:
        return self.added + self.updated + self.moved + self.copied

    @property
    def ok(self) -> bool:
        """False when files were found and not one of them is indexed."""
        return (
            self.indexed > 0
            or self.unchanged > 0
            or not (self.failed or self.missing_folders or self.unavailable_folders)
        )


#: progress(done, total, path): called from the indexing thread after each file.
ProgressCallback = Callable[[int, int, Path | None], None]


@dataclass(frozen=True)
class _Hashed:
    """A file whose content is already in the catalog: a move or a copy, no decoding."""

    found: FoundFile
    content_hash: str


@dataclass(frozen=True)
class _Decoded:
    found: FoundFile
    content_hash: str
    pixels: np.ndarray
    width: int
    height: int
    taken_at: datetime | None
    camera: str | None


@dataclass(frozen=True)
class _Failed:
    found: FoundFile
    reason: str


@dataclass(frozen=True)
class _Pending:
    """New content, hashed on a worker, left for the batch decoder (GPU decoding)."""

    found: FoundFile
    content_hash: str


_Result = _Hashed | _Decoded | _Failed | _Pending

_Todo = list[tuple[FoundFile, KnownPhoto | None]]


class _FolderGone(Exception):
    """The folder being indexed is no longer reachable (its drive went away)."""


@dataclass
class _Plan:
    folder: FolderInfo
    root: tuple[int, int]  # (st_dev, st_ino) of the folder when the run planned it
    todo: _Todo
    missing: dict[Path, KnownPhoto]


def _root_id(path: Path) -> tuple[int, int] | None:
    """The folder's (device, inode), None when it is not a reachable folder."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


class Indexer:
    """Indexes the folders of a library with its active model."""

    def __init__(
        self,
        library: Library,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        workers: int | None = None,
        decoder: BatchDecoder | None = None,
        on_wait: Callable[[LockHolder], None] | None = None,
        details_progress: ProgressCallback | None = None,
        on_server_gone: Callable[[str], None] | None = None,
    ) -> None:
        """`decoder` decodes photos in batches (the GPU's nvJPEG); by default, and with a
        `CpuDecoder`, each worker thread decodes the files it hashed (`choose_decoder`
        follows $MMSEARCH_DECODE, CPU unless it says gpu). A run holds the library's writer
        lock: while another process holds it, `on_wait(holder)` is told once and the run
        waits (a cancel ends the wait: an interrupted report). After the photos, the
        details pass reads their dates and positions (`details_progress` follows it).

        A shared library whose server goes away in the middle of the run: `on_server_gone`
        is told why (once per outage), the run waits for the server (a cancel ends the
        wait), then resumes where the server's catalog says it stood."""
        self.lib = library
        self.details_progress = details_progress
        self.model = library.model
        self.index = library.index()
        self.progress = progress
        self.cancel = cancel or threading.Event()
        self.workers = workers or default_workers()
        self.report = IndexReport()
        self._since_save = 0
        self._failures: list[tuple[FailureRecord, KnownPhoto | None]] = []
        self._plan_now: _Plan | None = None
        self.on_wait = on_wait
        self.on_server_gone = on_server_gone
        chosen = decoder or choose_decoder(workers=self.workers).decoder
        self.batch_decoder = None if isinstance(chosen, CpuDecoder) else chosen

    # -- the plan -----------------------------------------------------------------------------

    def _drop_bad_vectors(self) -> None:
        """Once per catalog: drop stored vectors that are not finite unit vectors (an older
        mmsearch stored what a damaged model gave), of every model; this model's photos
        are embedded again by this run, the others' by their next run."""
        catalog = self.lib.catalog
        if catalog.vectors_checked():
            return
        for model_id in catalog.embedded_counts():
            bad = catalog.bad_vector_ids(model_id)
            if bad:
                catalog.drop_vectors(model_id, bad)
            if bad and model_id == self.lib.model_id:
                self.index.remove(np.asarray(bad))
                self.report.bad_vectors_dropped = len(bad)
        catalog.mark_vectors_checked()

    def run(self, folders: list[FolderInfo] | None = None) -> IndexReport:
        """Index `folders` (default: all), holding the library's writer lock."""
        resumed_after = 0  # photos this run wrote before the server went away
        while True:
            try:
                with self.lib.writing("indexing run", on_wait=self.on_wait, cancel=self.cancel):
                    report = self._run(folders)
                # the plan made on resuming found those photos written: not unchanged ones
                report.unchanged -= min(report.unchanged, resumed_after)
                return report
            except LibraryBusy:
                if not self.cancel.is_set():
                    raise
                self.report.interrupted = True  # cancelled while another process held it
                return self.report
            except CatalogUnreachable as gone:
                if not self.lib.shared or self.cancel.is_set() or not self._server_back(gone):
                    raise
                # Every batch is one transaction: the server has each whole or not at all.
                # Planning again skips what it has; the index takes in what it lacks (a
                # batch whose commit went through as the connection dropped).
                self._failures.clear()
                self.lib.follow_catalog(force=True)
                r = self.report
                resumed_after = r.added + r.updated + r.moved + r.copied
                # What planning counts, the new plan counts again, whole: the photos found
                # unchanged (with those this run wrote, taken off above), the failures not
                # retried, the folders missing.
                r.unchanged = r.still_failing = 0
                r.missing_folders, r.unavailable_folders = [], []

    def _server_back(self, gone: CatalogUnreachable) -> bool:
        """Wait until the catalog's server answers again; False when cancelled first."""
        message = f"{gone}; waiting for it (the run resumes when it is back)"
        if self.on_server_gone is not None:
            self.on_server_gone(message)
        else:
            log.warning("%s", message)
        while not self.cancel.wait(SERVER_RETRY_S):
            try:
                self.lib.catalog.schema_version()
                return True
            except CatalogUnreachable:
                continue
        return False

    def _run(self, folders: list[FolderInfo] | None) -> IndexReport:
        started = time.perf_counter()
        self._drop_bad_vectors()
        folders = self.lib.catalog.folders() if folders is None else folders
        plans = [p for p in (self._plan(f) for f in folders) if p is not None]
        total = sum(len(p.todo) for p in plans)
        done = 0
        if self.progress:
            self.progress(0, total, None)
        try:
            for plan in plans:
                if self.cancel.is_set():
                    break
                self._plan_now = plan
                start = done
                try:
                    done = self._process(plan, done, total)
                    self._flush_failures()
                    if not self.cancel.is_set():
                        self._check_folder(plan)
                        self._remove_missing(plan.missing)
                except _FolderGone:
                    self._failures.clear()  # met because the folder went away: not theirs
                    self.report.unavailable_folders.append(plan.folder.path)
                    done = start + len(plan.todo)  # progress goes on with the next folder
                    if self.progress:
                        self.progress(done, total, None)
                finally:
                    self._plan_now = None
        except KeyboardInterrupt:
            self.cancel.set()
        finally:
            # A WriteError ends the run with its reason (the catalog keeps all). A large index
            # is saved only when enough changed: the next open repairs it from the catalog.
            self.index.checkpoint()
        if not self.cancel.is_set():
            self.report.details = update_details(
                self.lib, self.details_progress, self.cancel, self.workers
            )
        self.report.interrupted = self.cancel.is_set()
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _plan(self, folder: FolderInfo) -> _Plan | None:
        """What to do in one folder: files to read, and catalogued photos no longer found."""
        root = _root_id(folder.path)
        if root is None:
            # An unplugged drive must not wipe its photos from the catalog.
            self.report.missing_folders.append(folder.path)
            return None
        catalog = self.lib.catalog
        known = catalog.known_photos(folder.id, self.lib.model_id)
        failed = catalog.failure_states(folder.id)

        unlisted: list[Path] = []
        scan_errors: list[FailureRecord] = []

        def scan_error(path: Path, reason: str) -> None:
            scan_errors.append(FailureRecord(folder.id, path, reason))
            unlisted.append(path)

        todo: _Todo = []
        seen: set[Path] = set()
        healed: list[Path] = []
        for found in scan_folder(folder.path, scan_error):
            seen.add(found.path)
            photo = known.get(found.path)
            if photo is not None:
                if (photo.size, photo.mtime_ns) == (found.size, found.mtime_ns) and (
                    photo.has_embedding
                ):
                    self.report.unchanged += 1
                    if found.path in failed:  # it failed once (drive away?) and is back
                        healed.append(found.path)
                    continue
            else:
                state = failed.get(found.path)
                unchanged = state is not None and state[:2] == (found.size, found.mtime_ns)
                if unchanged and state is not None and not can_heal(state[2]):
                    # Unchanged since it failed for a reason of its content: don't retry.
                    self.report.still_failing += 1
                    continue
            todo.append((found, photo))
        if _root_id(folder.path) != root:
            # The drive went away during the scan: what it did not list is not deleted.
            self.report.unavailable_folders.append(folder.path)
            return None
        if known and not seen and not scan_errors:
            # Every photo gone at once, the folder itself still there: an empty mount point
            # (a drive not plugged in) far more often than a user who deleted them all.
            # `mmsearch folders remove` forgets them on purpose.
            self.report.missing_folders.append(folder.path)
            return None
        catalog.record_failures(scan_errors)
        self.report.failed.extend((f.path, f.reason) for f in scan_errors)
        skipped = set(unlisted)
        gone_failures = [p for p in failed if p not in seen and p not in skipped]
        if gone_failures or healed:
            catalog.clear_failures(gone_failures + healed)
        # A folder that could not be listed keeps its photos: they may well still be there.
        missing = {
            p: k
            for p, k in known.items()
            if p not in seen and not any(p.is_relative_to(u) for u in unlisted)
        }
        return _Plan(folder, root, todo, missing)

    def _check_folder(self, plan: _Plan) -> None:
        """Raise `_FolderGone` when the folder is no longer the one the run planned."""
        if _root_id(plan.folder.path) != plan.root:
            raise _FolderGone(plan.folder.path)

    # -- the work -----------------------------------------------------------------------------

    def _process(self, plan: _Plan, done: int, total: int) -> int:
        folder, todo, missing = plan.folder, plan.todo, plan.missing
        known_hashes = self.lib.catalog.embedded_hashes(self.lib.model_id)
        missing_by_hash: dict[str, list[KnownPhoto]] = {}
        for gone in missing.values():
            missing_by_hash.setdefault(gone.content_hash, []).append(gone)
        previous = {found.path: photo for found, photo in todo}
        batch: list[_Decoded] = []

        pending: list[_Pending] = []

        def take(result: _Result) -> None:
            photo = previous.get(result.found.path)
            if isinstance(result, _Failed):
                self._fail(folder, result, photo)
            elif isinstance(result, _Hashed):
                if not self._reuse(folder, result, photo, missing, missing_by_hash):
                    # Its twin vanished meanwhile: read it after all.
                    again = self._read_all([(result.found, photo)], set())
                    try:
                        for one in again:
                            take(one)
                    finally:
                        again.close()
            elif isinstance(result, _Pending):
                pending.append(result)
                if len(pending) >= BATCH_SIZE:
                    for decoded in self._decode_pending(pending):
                        take(decoded)
                    pending.clear()
            else:
                batch.append(result)

        results = self._read_all(todo, known_hashes)
        try:
            for result in results:
                take(result)
                if len(batch) >= BATCH_SIZE:
                    self._write(folder, batch, previous)
                    batch = []
                done += 1
                if self.progress:
                    self.progress(done, total, result.found.path)
            for decoded in self._decode_pending(pending):
                take(decoded)
        except _FolderGone:
            results.close()  # stop the folder's reads now
            if batch:  # photos read before the folder went away are good: keep them
                self._write(folder, batch, previous)
            raise
        finally:
            results.close()
        if batch:
            self._write(folder, batch, previous)
        return done

    def _fail(self, folder: FolderInfo, result: _Failed, photo: KnownPhoto | None) -> None:
        """Remember a failure (written in batches); a failure that could come from the
        folder going away is checked against the folder first."""
        if can_heal(result.reason) and self._plan_now is not None:
            self._check_folder(self._plan_now)
        found = result.found
        record = FailureRecord(folder.id, found.path, result.reason, found.size, found.mtime_ns)
        self._failures.append((record, photo))
        if len(self._failures) >= FAILURES_EVERY:
            self._flush_failures()

    def _flush_failures(self) -> None:
        """Write the failures met so far in one transaction (unless the folder went away,
        in which case they are the drive's doing, not the files')."""
        if not self._failures:
            return
        if self._plan_now is not None:
            self._check_folder(self._plan_now)
        records = [record for record, _ in self._failures]
        self._failures = []
        forgotten = self.lib.catalog.record_failures(records)
        if forgotten:
            self.index.remove(np.asarray(forgotten))
        self.report.failed.extend((r.path, r.reason) for r in records)

    def _decode_pending(self, pending: list[_Pending]) -> list[_Decoded | _Failed]:
        """Decode a batch with the batch decoder, then preprocess each photo."""
        if not pending:
            return []
        assert self.batch_decoder is not None
        size = self.model.spec.image.size
        decoded = self.batch_decoder.decode_batch([p.found.path for p in pending], size)
        out: list[_Decoded | _Failed] = []
        for item, result in zip(pending, decoded, strict=True):
            if isinstance(result, DecodeError):
                out.append(_Failed(item.found, str(result)))
            else:
                out.append(self._prepared(item.found, item.content_hash, result))
        return out

    def _prepared(self, found: FoundFile, content_hash: str, photo: DecodedPhoto) -> _Decoded:
        """A decoded photo, preprocessed for the model's image graph."""
        return _Decoded(
            found,
            content_hash,
            self.model.image.preprocess(photo.image),
            photo.width,
            photo.height,
            photo.taken_at,
            photo.camera,
        )

    def _read_all(self, todo: _Todo, known_hashes: set[str]) -> Generator[_Result, None, None]:
        """Hash and decode files on the worker threads, yielding results as they complete."""
        size = self.model.spec.image.size

        def read(found: FoundFile, photo: KnownPhoto | None) -> _Result:
            try:
                content_hash = file_hash(found.path)
            except DecodeError as e:
                return _Failed(found, str(e))
            if photo is not None and photo.content_hash == content_hash and photo.has_embedding:
                return _Hashed(found, content_hash)
            if content_hash in known_hashes:
                return _Hashed(found, content_hash)
            if self.batch_decoder is not None:
                return _Pending(found, content_hash)
            try:
                return self._prepared(found, content_hash, decode_photo(found.path, min_side=size))
            except DecodeError as e:
                return _Failed(found, str(e))

        return bounded_map(lambda item: read(*item), todo, self.workers, self.cancel)

    def _reuse(
        self,
        folder: FolderInfo,
        result: _Hashed,
        photo: KnownPhoto | None,
        missing: dict[Path, KnownPhoto],
        missing_by_hash: dict[str, list[KnownPhoto]],
    ) -> bool:
        """Record a file whose content the catalog already has. False if it can't be."""
        catalog, found = self.lib.catalog, result.found
        if photo is not None and photo.content_hash == result.content_hash:
            catalog.touch_photo(photo.id, found.size, found.mtime_ns)  # same bytes, new mtime
            self.report.unchanged += 1
            return True
        twins = missing_by_hash.get(result.content_hash)
        if photo is None and twins:
            moved = twins.pop()
            missing.pop(moved.path, None)
            catalog.move_photo(moved.id, found.path, found.size, found.mtime_ns)
            self.report.moved += 1
            return True
        template = catalog.photo_by_hash(result.content_hash, self.lib.model_id)
        if template is None:
            return False
        record, vector = template
        regions = catalog.regions(self.lib.model_id, [record.id]).get(record.id)
        ids = catalog.add_photos(
            folder.id,
            self.lib.model_id,
            [
                PhotoRecord(
                    found.path,
                    found.size,
                    found.mtime_ns,
                    result.content_hash,
                    record.width,
                    record.height,
                    # the EXIF date only: one from the other file's name or time isn't this one's
                    record.taken_at if record.taken_from in (None, "exif") else None,
                    record.camera,
                    vector,
                    regions,
                )
            ],
        )
        self._indexed(ids, vector.reshape(1, -1))
        if photo is not None:
            self.report.updated += 1
        else:
            self.report.copied += 1
        return True

    def _write(
        self, folder: FolderInfo, batch: list[_Decoded], previous: dict[Path, KnownPhoto | None]
    ) -> None:
        """Encode a batch, commit it to the catalog, then add it to the index.

        A model with a fusion head also gives each photo's regions, committed in the same
        transaction as its vector, so re-ranking never meets a photo without them.
        """
        vectors, regions = self.model.image.encode_with_regions(np.stack([d.pixels for d in batch]))
        self._check_vectors(vectors, regions)
        records = [
            PhotoRecord(
                d.found.path,
                d.found.size,
                d.found.mtime_ns,
                d.content_hash,
                d.width,
                d.height,
                d.taken_at,
                d.camera,
                v,
                None if regions is None else regions[i],
            )
            for i, (d, v) in enumerate(zip(batch, vectors, strict=True))
        ]
        ids = self.lib.catalog.add_photos(folder.id, self.lib.model_id, records)
        self._indexed(ids, vectors)
        for d in batch:
            if previous.get(d.found.path) is not None:
                self.report.updated += 1
            else:
                self.report.added += 1
        self._since_save += len(batch)
        if self._since_save >= SAVE_EVERY:
            self._since_save = 0
            # A WriteError (full or read-only disk; the old index kept): the catalog has the
            # batch, so carry on; the save at the end of the run tries again and ends the run
            # with the reason if it still fails.
            with contextlib.suppress(OSError):
                self.index.checkpoint()

    def _indexed(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Add vectors just committed to the catalog to the index, with the write number
        it then holds."""
        if self.lib.shared:
            # Other computers take write numbers in between: the index takes every row
            # written since its number (ours and theirs), so that its number never claims a
            # row it lacks.
            self.lib.follow_catalog(force=True)
        else:
            self.index.add(np.asarray(ids), vectors, seq=self._written())

    def _written(self) -> int:
        """The catalog's write number of this model's newest vector (this run's, under the
        writer lock): what the index holds once the batch just committed is added."""
        return self.lib.catalog.embedding_seq(self.lib.model_id)

    def _check_vectors(self, vectors: np.ndarray, regions: np.ndarray | None) -> None:
        """Raise `ModelOutputError` unless every vector is a finite unit vector (and the
        regions are finite): a damaged model must not poison the catalog."""
        vectors = np.asarray(vectors, dtype=np.float32)
        finite = np.isfinite(vectors).all(axis=1)
        if regions is not None:
            flat = np.asarray(regions, dtype=np.float32).reshape(len(vectors), -1)
            finite &= np.isfinite(flat).all(axis=1)
        bad = bad_rows(vectors)
        if not len(bad) and finite.all():
            return
        if not finite.all():
            what = f"non-finite vectors for {int((~finite).sum())} photos"
        else:
            what = f"vectors that are not unit length for {len(bad)} photos"
        raise ModelOutputError(
            f"the model {self.lib.model_id} gave {what}: its files may be damaged; "
            "run `mmsearch doctor` (nothing of this batch was stored)"
        )

    def _remove_missing(self, missing: dict[Path, KnownPhoto]) -> None:
        if not missing:
            return
        ids = [p.id for p in missing.values()]
        self.lib.catalog.delete_photos(ids)
        self.index.remove(np.asarray(ids))
        self.report.removed += len(ids)


def index_library(
    library: Library,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    workers: int | None = None,
) -> IndexReport:
    """Index every folder of the library; see `Indexer`."""
    return Indexer(library, progress, cancel, workers).run()

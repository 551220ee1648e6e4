"""A library: one data folder with its catalog, the active model and its vector index."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from mmsearch.catalog import Catalog, backup_catalog
from mmsearch.catalog.db import FailureInfo, FolderInfo, PhotoInfo, PlaceCount
from mmsearch.catalog.lock import LibraryBusy, LockHolder, writer_lock
from mmsearch.catalog.roots import RootMap
from mmsearch.catalog.server import ServerCatalog, is_server_url
from mmsearch.devices import DeviceChoice, device_for
from mmsearch.encoders import Model, ModelError, find_model_dir, load_model
from mmsearch.files import WriteError, write_json
from mmsearch.index import VectorIndex
from mmsearch.index.backend import (
    Answers,
    DeviceBackend,
    SearchBackend,
    ServerAnswers,
    make_search_backend,
)
from mmsearch.index.hnsw import index_file_stem
from mmsearch.index.preview import Preview, draw_sample, needs_preview, preview_path
from mmsearch.paths import BUNDLED_MODEL_ID, data_dir, model_search_path

ACTIVE_MODEL_FILE = "active-model.json"
"""`<data dir>/active-model.json`: the model the window and the CLI use by default, written
by `mmsearch models use` and the window's Settings once the model's embeddings are built."""


MODEL_VERSIONS_FILE = "model-versions.json"
"""`<data dir>/model-versions.json`: {model id: the model version its stored vectors come
from}. A model whose version changed (new weights under the same id, e.g. after an update)
has its old vectors dropped before anything searches them."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RootInfo:
    """A named library root: this computer's folder for it (None: not mapped here) and
    how many of the library's folders are under it."""

    name: str
    folder: Path | None
    folders: int


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_active_model(data: Path) -> str | None:
    """The data folder's active model id, None when none was chosen (or the file is bad)."""
    value = _read_json(Path(data) / ACTIVE_MODEL_FILE)
    model = value.get("model") if isinstance(value, dict) else None
    return model if isinstance(model, str) and model else None


def write_active_model(data: Path, model_id: str) -> None:
    """Make `model_id` the data folder's active model (atomically: a crash leaves the old
    choice or the new one, never a broken file)."""
    write_json(
        Path(data) / ACTIVE_MODEL_FILE,
        {"model": model_id},
        what="the choice of model",
        fix=f"run `mmsearch models use {model_id}` again",
        # (the vectors are in the catalog: choosing it again switches at once)
    )


def read_model_versions(data: Path) -> dict[str, str]:
    value = _read_json(Path(data) / MODEL_VERSIONS_FILE)
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


class Library:
    """Everything one data folder holds, opened lazily: the model and index only when used."""

    def __init__(
        self,
        data: str | os.PathLike[str] | None = None,
        model_id: str | None = None,
        device: str | None = None,
        catalog: str | None = None,
    ):
        """`device` is the user's setting ("auto", "cpu", "gpu"; $MMSEARCH_DEVICE beats it).
        `catalog` (else $MMSEARCH_CATALOG) names a shared catalog on a PostgreSQL server,
        postgresql://user@host/db; by default the catalog is the SQLite file in the data
        folder. With a server catalog the data folder keeps what stays on this computer:
        the models, thumbnails, and the vector index built from the server's rows (under
        `servers/<server>/`)."""
        self.data_dir = data_dir(data)
        self.device_setting = device
        location = catalog or os.environ.get("MMSEARCH_CATALOG") or None
        self.catalog, self.local_dir = self._open_catalog(location)
        """`local_dir`: this computer's own files of the library (the index, the lock)."""
        self.model_id = (
            model_id
            or os.environ.get("MMSEARCH_MODEL")
            or read_active_model(self.data_dir)
            or BUNDLED_MODEL_ID
        )
        self._index_lock = threading.Lock()
        self._index: VectorIndex | None = None
        self.index_rebuilt = False
        self.stale_vectors_dropped = 0
        """Vectors of an older version of the model, dropped when the index was opened."""
        self._backend_lock = threading.Lock()
        self._backend: SearchBackend | None = None
        self._preview_lock = threading.Lock()
        self._preview: Preview | None = None
        self._preview_read = False
        self._followed_at: int | None = None  # the catalog's data_version last followed

    @cached_property
    def device(self) -> DeviceChoice:
        """Where the encoders and the matcher run, and why (probed once per process)."""
        return device_for(self.device_setting)

    @cached_property
    def model_dir(self) -> Path:
        return find_model_dir(self.model_id, model_search_path(self.data_dir))

    @cached_property
    def model(self) -> Model:
        """The model, its graphs on the chosen device (fp16 twins on a GPU, if it has them)."""
        choice = self.device
        return load_model(
            self.model_dir,
            providers=choice.providers,
            precision="fp16" if choice.use_fp16 else "fp32",
            fp16_cache=self.data_dir / "cache" / "fp16",
            verified_cache=self.data_dir / "cache",
        )

    @property
    def shared(self) -> bool:
        """Whether the catalog is on a server that other computers share."""
        return isinstance(self.catalog, ServerCatalog)

    @property
    def index_dir(self) -> Path:
        return self.local_dir / "index"

    def index(self) -> VectorIndex:
        """The vector index of the active model, repaired from the catalog's rows written
        since its last save (a crash, another process's run), rebuilt from the catalog if
        it is damaged. On a read-only or full disk a rebuilt index that can't be saved
        answers from memory (`index_unsaved` says why; a warning is logged once)."""
        with self._index_lock:
            if self._index is None:
                self._drop_stale_vectors()
                count, seq = self.catalog.embedding_count_and_seq(self.model_id)
                self._index, self.index_rebuilt = VectorIndex.open(
                    self.index_dir,
                    self.model_id,
                    self.model.spec.dim,
                    lambda: self.catalog.embedding_ids(self.model_id),
                    lambda: self.catalog.vectors(self.model_id),
                    seq=seq,
                    count=count,
                    written_since=lambda seq: self.catalog.vectors_since(self.model_id, seq),
                )
            return self._index

    def follow_catalog(self, *, force: bool = False) -> tuple[int, int]:
        """A shared library: bring this computer's open index up to what the server's
        catalog holds now (other computers' photos, added or removed). One cheap query when
        nothing was committed since the last look, unless `force`. Returns (added or
        replaced, removed); (0, 0) for a local library or an index not yet open."""
        index = self._index
        if not self.shared or index is None:
            return 0, 0
        version = self.catalog.data_version()
        if version == self._followed_at and not force:
            return 0, 0
        count, seq = self.catalog.embedding_count_and_seq(self.model_id)
        changes = index.follow(
            seq,
            count,
            lambda since: self.catalog.vectors_since(self.model_id, since),
            lambda: self.catalog.embedding_ids(self.model_id),
        )
        self._followed_at = version
        if any(changes):
            log.info("index %s followed the catalog: %d added, %d removed", self.model_id, *changes)
        return changes

    @property
    def index_open(self) -> bool:
        """Whether the index is open: `index()` answers at once."""
        return self._index is not None

    def preview(self) -> Preview | None:
        """A sample of the index's vectors to answer from while the index opens (see
        `mmsearch.index.preview`); None when the library has none, or once the index is
        open (then it is let go)."""
        with self._preview_lock:
            if self.index_open:
                self._preview = None
                return None
            if not self._preview_read:
                self._preview_read = True
                self._preview = Preview.load(self.index_dir, self.model_id, self.model.spec.dim)
            return self._preview

    def interim(self) -> Answers | None:
        """What answers while the index opens: a shared library's server (every photo,
        through its own vector index), else the index's preview; None once the index is
        open."""
        if isinstance(self.catalog, ServerCatalog) and not self.index_open:
            return ServerAnswers(self.catalog, self.model_id)
        return self.preview()

    def warm_up(self) -> None:
        """Load the model and start its text tower's session (a first query's cost)."""
        self.model.text.encode(["a photo"])

    def open_index(self) -> VectorIndex:
        """Open the index (a window starts this on a pool thread as it opens, answering from
        the preview meanwhile), then draw its preview again if it is missing or stale (a
        local library's: a shared library answers from its server meanwhile)."""
        index = self.index()
        if self.shared:
            return index
        try:
            self._draw_preview(index)
        except WriteError as e:  # only a preview the next start goes without
            log.warning("the index preview could not be saved: %s", e)
        return index

    def _draw_preview(self, index: VectorIndex) -> None:
        path = preview_path(self.index_dir, self.model_id)
        if not needs_preview(len(index)):
            path.unlink(missing_ok=True)
            return
        old = Preview.load(self.index_dir, self.model_id, index.dim)
        if old is not None and not old.stale(len(index), index.seq):
            return
        ids, matrix = self.catalog.vectors(self.model_id, draw_sample(index.labels()).tolist())
        Preview.write(self.index_dir, self.model_id, ids, matrix, len(index), index.seq)

    # -- the user's verbs: all the CLI and the window ask of a library ----------------------
    # (services such as the indexer and the search engine work on the catalog and the index
    # directly; the front ends go through these, so that a library kept elsewhere is one
    # change behind them)

    def writing(
        self,
        purpose: str,
        *,
        wait: bool = True,
        on_wait: Callable[[LockHolder], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> AbstractContextManager[None]:
        """Hold the library's writer lock for the block: one writer at a time, across
        processes. `wait` False raises `LibraryBusy` at once when another holds it; else
        `on_wait(holder)` is told once and the block waits (a set `cancel` ends the wait
        with `LibraryBusy`). Every verb below that writes is called inside one."""
        # (a server library: this computer's processes take turns; other computers write
        # at the same time, their transactions ordered by the server)
        if self.shared:
            self.local_dir.mkdir(parents=True, exist_ok=True)
        return writer_lock(self.local_dir, purpose, wait=wait, on_wait=on_wait, cancel=cancel)

    def require_writable(self) -> None:
        """Raise the reason (a CatalogError naming the file and the fix) when the library
        can only be read: a read-only disk or folder, a catalog opened read-only."""
        if self.catalog.read_only:
            raise self.catalog.write_refusal()

    def folders(self) -> list[FolderInfo]:
        """The indexed folders, with their photo and failure counts, by path."""
        return self.catalog.folders()

    def roots(self) -> list[RootInfo]:
        """The library's named roots: those its folders use and those this computer maps,
        by name, each with this computer's folder for it (None: not mapped here)."""
        used = self.catalog.stored_roots()
        mounts = self.catalog.roots.mounts
        return [
            RootInfo(name, mounts.get(name), used.get(name, 0))
            for name in sorted(set(used) | set(mounts))
        ]

    def map_root(self, name: str, folder: Path) -> int:
        """Map the root `name` (new, or another computer's) to `folder` on this computer:
        its photos are found there from now on, and folders added under it are stored
        relative to it. Photos catalogued by their absolute path under `folder` are moved
        under the root (returns how many rows). Raises RootError. The caller holds the
        writer lock."""
        roots = self.catalog.roots.mapped(name, folder)
        roots.write(self.local_dir)
        self.catalog.use_roots(roots)
        return self.catalog.adopt_root(name)

    def unmap_root(self, name: str) -> bool:
        """Forget this computer's folder for the root `name` (the catalog keeps its photos:
        they read as not mapped here). Returns whether it was mapped."""
        roots = self.catalog.roots
        if name not in roots.mounts:
            return False
        roots = roots.without(name)
        roots.write(self.local_dir)
        self.catalog.use_roots(roots)
        return True

    def label(self, path: Path) -> str:
        """`path` for the user: itself, or `@root/…` when its root is not mapped here."""
        return self.catalog.roots.label(path)

    def add_folder(self, folder: Path) -> tuple[FolderInfo, str]:
        """Add a folder to index (the indexer reads it next); returns it and a note for the
        user. A folder inside a known one is not added twice; one that holds known ones
        takes their photos over. The caller holds the writer lock."""
        return self.catalog.add_folder(folder)

    def counts(self) -> dict[str, int]:
        """Photos, those embedded by the active model, failures and the like."""
        return self.catalog.counts(self.model_id)

    def failures(self) -> list[FailureInfo]:
        """The files that could not be read, with why, newest first."""
        return self.catalog.failures()

    def place_counts(self) -> list[PlaceCount]:
        """Every named place with its photo count (the place filter's choices)."""
        return self.catalog.place_counts()

    def camera_counts(self) -> list[tuple[str, int]]:
        """Every camera with its photo count (the camera filter's choices)."""
        return self.catalog.camera_counts()

    def photo(self, path: Path) -> PhotoInfo | None:
        """The indexed photo at `path`, None when it is not in the library."""
        return self.catalog.photo_by_path(path)

    def backup(self) -> Path | None:
        """The daily backup of the catalog after a run (at most one a day, the last 3 kept);
        returns the new file, None when today's exists (or the catalog is on a server, whose
        backups are its administrator's: `pg_dump`). Raises BackupFailed."""
        if self.shared:
            return None
        return backup_catalog(self.data_dir)

    def status(self) -> dict[str, Any]:
        """What `mmsearch status` reports, as plain data: the data folder, its schema, the
        model, folders and failures (as `FolderInfo` / `FailureInfo`), the counts, the
        device, details and text-reading progress, and the index's health. A model that
        can't be loaded is reported under "model_error", not raised."""
        from mmsearch.services.details import DETAILS_VERSION
        from mmsearch.services.text import shared_reader

        counts = self.counts()
        status: dict[str, Any] = {
            "data_dir": str(self.data_dir),
            "catalog": str(self.catalog) if self.shared else str(self.catalog.path),
            "schema": self.catalog.schema_version(),
            "model": self.model_id,
            "folders": self.folders(),
            "roots": self.roots(),
            **counts,
            "failed": self.failures(),
            "device": f"{self.device.label} ({self.device.reason})",
            "details": self.catalog.details_counts(DETAILS_VERSION),
        }
        try:
            reader = shared_reader()
            status["text"] = {"reader": reader.version, **self.catalog.text_counts(reader.version)}
        except ModelError as e:
            status["text"] = {"error": str(e)}
        try:
            status["model_dir"] = str(self.model_dir)
            status["matching"] = self.backend().description
            index = self.index()
            status["index"] = {
                "vectors": len(index),
                "agrees_with_catalog": len(index) == counts["embedded"],
                "rebuilt_now": self.index_rebuilt,
                "repaired_now": None
                if index.repaired is None
                else dict(zip(("added", "removed"), index.repaired, strict=True)),
                "stale_vectors_dropped": self.stale_vectors_dropped,
                "file": str(index.index_path),
                "unsaved": None if self.index_unsaved is None else str(self.index_unsaved),
            }
            status["bad_vectors"] = (
                0
                if self.catalog.vectors_checked()
                else len(self.catalog.bad_vector_ids(self.model_id))
            )
        except ModelError as e:
            status["model_error"] = str(e)
        return status

    def copy_to(
        self, location: str, progress: Callable[[str, int, int], None] | None = None
    ) -> dict[str, int]:
        """Copy this library into a new, empty one at `location`: a postgresql://... server
        (to share it) or a data folder (to take a shared one back home). Every row goes,
        ids included, then this computer's index files, so that the copy opens without a
        rebuild. Returns the rows copied per table; raises TargetNotEmpty, CatalogError.
        The caller holds the writer lock."""
        from mmsearch.catalog.transfer import copy_catalog

        target, folder = self._open_catalog(location)
        try:
            # The rows go as stored (root-relative paths too, of roots mapped here or not):
            # both sides translate with this computer's map, which the copy keeps.
            roots = self.catalog.roots
            if roots.mounts:
                RootMap(target.roots.unmapped_dir, roots.mounts).write(folder)
            target.use_roots(roots)
            copied = copy_catalog(self.catalog, target, progress)
        finally:
            target.close()
        self._carry_index(folder)
        return copied

    def _open_catalog(self, location: str | None) -> tuple[Catalog, Path]:
        """The catalog at `location` (a postgresql://... server, a data folder, or None:
        this library's data folder) and the folder of this computer's files for it."""
        catalog: Catalog
        if location is not None and is_server_url(location):
            catalog = ServerCatalog.connect(location, self.data_dir)
        else:
            catalog = Catalog.open(self.data_dir if location is None else data_dir(location))
        return catalog, catalog.local_dir

    def _carry_index(self, folder: Path) -> None:
        """This computer's index files and model-version record, into the copy's folder
        (they describe the same rows and write numbers)."""
        try:
            (folder / "index").mkdir(parents=True, exist_ok=True)
            for path in self.index_dir.glob("*"):
                if path.is_file():
                    shutil.copy2(path, folder / "index" / path.name)
            versions = self.local_dir / MODEL_VERSIONS_FILE
            if versions.is_file():
                shutil.copy2(versions, folder / MODEL_VERSIONS_FILE)
        except OSError as e:  # only time: the copy's first open builds its index
            log.warning("the index was not copied with the library (%s): it is rebuilt", e)

    def remove_folder(self, folder: Path) -> list[int] | None:
        """Forget an indexed folder and its photos (the files stay): their rows, and their
        vectors in the index (saved when worth it: the catalog has the removal either way).
        Returns the ids forgotten, None when `folder` is not one of the indexed folders.
        The caller holds the writer lock."""
        removed = self.catalog.remove_folder(folder)
        if removed is None:
            return None
        if removed:
            index = self.index()
            index.remove(np.asarray(removed))
            index.checkpoint()
        return removed

    @property
    def index_unsaved(self) -> WriteError | None:
        """Why the opened index lives in memory only (it was rebuilt and couldn't be saved)."""
        return None if self._index is None else self._index.unsaved

    def forget_vectors(self) -> int:
        """Delete this model's vectors, regions and index files (not its model folder);
        returns how many photo vectors there were. Photos and other models' data stay."""
        dropped = self.catalog.delete_model_data(self.model_id)
        for suffix in (".hnsw", ".json", ".preview.npz"):
            (self.index_dir / f"{index_file_stem(self.model_id)}{suffix}").unlink(missing_ok=True)
        return dropped

    def _drop_stale_vectors(self) -> None:
        """If the stored vectors come from another version of this model (new weights under
        the same id), drop them: they live in another space, and mixing them with the new
        model's query vectors would return nonsense. Indexing embeds the photos again."""
        current = self.model.spec.version
        versions = read_model_versions(self.local_dir)
        recorded = versions.get(self.model_id)
        if recorded == current:
            return
        try:  # a write: under the writer lock, but a search never waits for it
            with self.writing("model update", wait=False):
                self._forget_version(versions, recorded, current)
        except LibraryBusy as busy:
            log.warning(
                "model %s changed (version %s -> %s), but %s: its old vectors are dropped "
                "when the library is free",
                self.model_id,
                recorded,
                current,
                busy.holder.describe(),
            )

    def _forget_version(self, versions: dict[str, str], recorded: str | None, current: str) -> None:
        if recorded is not None:
            self.stale_vectors_dropped = self.forget_vectors()
            log.warning(
                "model %s changed (version %s -> %s): its %d stored vectors were dropped; "
                "indexing embeds the photos again",
                self.model_id,
                recorded,
                current,
                self.stale_vectors_dropped,
            )
        versions[self.model_id] = current
        try:
            write_json(
                self.local_dir / MODEL_VERSIONS_FILE,
                versions,
                what="the record of model versions",
                fix="run `mmsearch index` again",
            )
        except WriteError as e:
            if recorded is not None:
                raise  # vectors were dropped: their version must be on record before use
            # First sight of this model on a read-only or full disk: nothing depends on the
            # record yet (it is written by the next open that can).
            log.info("%s", e)

    def backend(self) -> SearchBackend:
        """What answers queries: exact matching on the GPU when one works, else the HNSW
        index (which the indexer keeps up to date either way; the GPU copy follows it). A
        shared library too answers from this computer's index, brought up to the server's
        rows first: at a million photos it keeps recall@10 0.995 where the server's own
        graph gives 0.74-0.86 (docs/shared-library.md)."""
        index = self.index()  # outside _backend_lock: index() takes _index_lock
        self.follow_catalog()  # (a shared library: what other computers added meanwhile)
        with self._backend_lock:
            if self._backend is None or self._backend.hnsw is not index:
                self._backend = make_search_backend(self.device, index)
            return self._backend

    def close(self) -> None:
        if isinstance(self._backend, DeviceBackend):
            self._backend.close()
        self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def compute_device(setting: str | None = None) -> str:
    """Where the encoders run: "GPU (CUDA)" or "CPU" (`device_for(setting).status_line`
    says why)."""
    return device_for(setting).label

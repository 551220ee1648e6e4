"""The model manager: which models there are, which one is active, and switching safely.

`install_and_use` is the one verb the CLI (`mmsearch models use`) and the window (Settings)
call to switch models: it downloads a catalogue model that is not installed yet, then
switches to it.

A data folder has one active model (`active-model.json`, see `Library`). Every photo's
vector is stored per model id, and each model has its own vector index, so models never
mix: a search encodes the query with the active model and looks only at that model's
vectors. Switching builds the new model's vectors first (the indexer over every folder,
with progress, cancellable and resumable: what was embedded stays) while the old model
keeps answering; only when every photo has a vector of the new model does the active model
change. A cancelled or failed switch leaves the old model active.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mmsearch.catalog.lock import LockHolder, writer_lock
from mmsearch.encoders import ModelError, ModelSpec, is_model_dir, load_spec, probe_model
from mmsearch.paths import BUNDLED_MODEL_ID, model_search_path
from mmsearch.services.indexing import Indexer, IndexReport, ProgressCallback
from mmsearch.services.library import Library, read_active_model, write_active_model
from mmsearch.services.models.catalogue import available_specs, download_size

if TYPE_CHECKING:
    from mmsearch.services.models.download import Progress

KINDS = ("bundled", "installed", "available")


@dataclass(frozen=True)
class ModelEntry:
    """One model as the manager lists it.

    `status` is "bundled" (ships with the app), "installed" (in the data folder: downloaded,
    imported or exported by `mmsearch export`) or "available" (in the catalog of CLIP
    models, not installed yet: `downloadable` says whether the hub has it in our layout).
    """

    id: str
    display_name: str
    status: str
    family: str
    dim: int
    languages: tuple[str, ...]
    license: str
    path: Path | None
    size: int | None
    downloadable: bool
    active: bool
    embedded: int

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.display_name,
            "status": self.status,
            "family": self.family,
            "dim": self.dim,
            "languages": list(self.languages),
            "license": self.license,
            "path": None if self.path is None else str(self.path),
            "size": self.size,
            "downloadable": self.downloadable,
            "active": self.active,
            "embedded": self.embedded,
        }


def active_model(data_dir: Path) -> str:
    """The model id a Library of `data_dir` uses when none is asked for."""
    return os.environ.get("MMSEARCH_MODEL") or read_active_model(data_dir) or BUNDLED_MODEL_ID


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def installed(data_dir: Path) -> dict[str, tuple[ModelSpec, Path]]:
    """Every model found on the search path (the first folder of an id wins), by id."""
    found: dict[str, tuple[ModelSpec, Path]] = {}
    for folder in model_search_path(Path(data_dir)):
        if not folder.is_dir():
            continue
        for candidate in sorted(folder.iterdir()):
            name = candidate.name
            if name.startswith(".") or name in found or not is_model_dir(candidate):
                continue
            try:
                spec = load_spec(candidate)
            except ModelError:
                continue  # a broken folder is not offered (`mmsearch doctor` names it)
            if spec.id == name:
                found[name] = (spec, candidate)
    return found


def broken_models(data_dir: Path) -> dict[str, str]:
    """Model folders on the search path that `installed` leaves out because they can't be
    read, by folder name: what is wrong with each (the ModelError's message, which names
    the file and the fix). For `models use ID` and `doctor` to say why ID is not offered."""
    broken: dict[str, str] = {}
    for folder in model_search_path(Path(data_dir)):
        if not folder.is_dir():
            continue
        for candidate in sorted(folder.iterdir()):
            if candidate.name.startswith(".") or not is_model_dir(candidate):
                continue
            try:
                load_spec(candidate)
            except ModelError as e:
                broken.setdefault(candidate.name, str(e))
    return broken


def removable(data_dir: Path, path: Path) -> bool:
    """Whether a model folder is the user's to remove (it is in the data folder)."""
    return Path(path).parent.resolve() == (Path(data_dir) / "models").resolve()


def list_models(data_dir: Path, library: Library | None = None) -> list[ModelEntry]:
    """Installed models first (the active one on top), then the catalog's others."""
    data_dir = Path(data_dir)
    if library is not None:
        active, embedded = library.model_id, library.catalog.embedded_counts()
    else:
        active = active_model(data_dir)
        with Library(data_dir, active) as lib:
            embedded = lib.catalog.embedded_counts()
    entries = []
    for model_id, (spec, path) in installed(data_dir).items():
        entries.append(
            ModelEntry(
                id=model_id,
                display_name=spec.display_name,
                status="installed" if removable(data_dir, path) else "bundled",
                family=spec.family,
                dim=spec.dim,
                languages=spec.languages,
                license=spec.license,
                path=path,
                size=_folder_size(path),
                downloadable=spec.layout != "mmsearch" and bool(spec.hub_repo),
                active=model_id == active,
                embedded=embedded.get(model_id, 0),
            )
        )
    present = {e.id for e in entries}
    for clip in available_specs():
        if clip.id in present:
            continue
        entries.append(
            ModelEntry(
                id=clip.id,
                display_name=clip.display_name,
                status="available",
                family=clip.family,
                dim=clip.dim,
                languages=clip.languages,
                license=clip.license,
                path=None,
                size=download_size(clip),
                downloadable=bool(clip.hub_repo),
                active=False,
                embedded=embedded.get(clip.id, 0),
            )
        )
    order = {"bundled": 1, "installed": 1, "available": 2}
    return sorted(entries, key=lambda e: (not e.active, order[e.status], e.display_name))


@dataclass
class SwitchResult:
    """What `use_model` did: the indexing report of the new model's vectors, and whether
    the active model changed (False when cancelled or when photos failed to embed)."""

    model_id: str
    report: IndexReport
    switched: bool


def use_model(
    data_dir: Path,
    model_id: str,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    on_library: Callable[[Library], None] | None = None,
) -> SwitchResult:
    """Make `model_id` the active model once every photo has a vector of it.

    Runs the indexer with the new model over every folder (photos embedded before, e.g. by
    an earlier cancelled switch, are kept). Meanwhile the old model stays active. Returns
    with `switched=False` if cancelled; raises ModelError if the model isn't installed,
    can't be loaded or fails its probe (`mmsearch.encoders.probe_model`).
    `on_library` receives the new model's Library before indexing (the window keeps it to
    search with once switched).
    """
    data_dir = Path(data_dir)
    lib = Library(data_dir, model_id)
    try:
        # A missing, damaged (SHA-256) or fake model (a graph that doesn't give finite unit
        # vectors of the spec's size) fails here, before anything is embedded with it, even
        # in a library with no photos yet.
        probe_model(lib.model, lib.model_dir)
        if on_library is not None:
            on_library(lib)
        report = Indexer(lib, progress, cancel).run()
    except BaseException:
        lib.close()
        raise
    if on_library is None:
        lib.close()
    switched = not report.interrupted
    if switched:
        write_active_model(data_dir, model_id)
    return SwitchResult(model_id, report, switched)


def install_from_hub(
    data_dir: Path,
    model_id: str,
    *,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    endpoint: str | None = None,
) -> Path:
    """Download the catalogue model `model_id` from the hub and install it in the data folder
    (`mmsearch.services.models.download.download_model`); returns its folder. ModelError
    (unknown id) or a DownloadError subclass (DownloadCancelled when `cancel` was set)."""
    from mmsearch.services.models.catalogue import get_spec
    from mmsearch.services.models.download import download_model

    return download_model(
        get_spec(model_id), Path(data_dir), progress=progress, cancel=cancel, endpoint=endpoint
    )


def install_and_use(
    data_dir: Path,
    model_id: str,
    *,
    progress: ProgressCallback | None = None,
    download_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    on_library: Callable[[Library], None] | None = None,
    endpoint: str | None = None,
    wait: bool = True,
    on_wait: Callable[[LockHolder], None] | None = None,
) -> SwitchResult:
    """Switch to `model_id`, downloading it first when it is not installed.

    An installed model is switched to at once (`use_model`). One that isn't (or whose folder
    can't be read) but is in the catalogue with a hub repository is downloaded first
    (`install_from_hub`: `download_progress` as bytes arrive, `cancel` raises
    DownloadCancelled; files fetched so far are kept for the next attempt) without holding the
    writer lock, since the install is atomic and touches no catalog. Anything else is a
    ModelError that says how to get the model (import it).

    The switch itself holds the data folder's writer lock ("model switch"): `wait=False`
    raises LibraryBusy at once if another writer holds it, else `on_wait(holder)` is told once
    and the call waits; a set `cancel` ends the wait with LibraryBusy. `progress`, `cancel`
    and `on_library` then act as in `use_model`.
    """
    data_dir = Path(data_dir)
    if model_id not in installed(data_dir):
        install_from_hub(
            data_dir,
            _downloadable(data_dir, model_id),
            progress=download_progress,
            cancel=cancel,
            endpoint=endpoint,
        )
    with writer_lock(data_dir, "model switch", wait=wait, on_wait=on_wait, cancel=cancel):
        return use_model(data_dir, model_id, progress, cancel, on_library)


def _downloadable(data_dir: Path, model_id: str) -> str:
    """`model_id` if the catalogue can download it, else the ModelError saying how to get it
    (naming what is wrong with its folder, if it has one that can't be read)."""
    broken = broken_models(data_dir).get(model_id)
    spec = next((s for s in available_specs() if s.id == model_id), None)
    if spec is not None and spec.hub_repo:
        return model_id
    if broken is not None:
        raise ModelError(f"model {model_id!r} can't be used: {broken}")
    if spec is None:
        raise ModelError(
            f"model {model_id!r} is not installed, and the catalogue has no model of that id to "
            "download: `mmsearch models list` shows the models there are; import one's files "
            "with `mmsearch models import PATH --id ID`."
        )
    raise ModelError(
        f"model {model_id!r} is not installed and is not published in the ONNX layout on the "
        f"hub: export it with `python -m models.clip.export --spec {model_id} --out FOLDER` "
        f"and import that folder (`mmsearch models import FOLDER --id {model_id}`)."
    )


def remove_model(data_dir: Path, model_id: str) -> int:
    """Delete an installed model's folder, its vectors and its index files; returns how many
    photo vectors were dropped. The active model and bundled models can't be removed."""
    data_dir = Path(data_dir)
    found = installed(data_dir).get(model_id)
    if found is None:
        raise ModelError(f"model {model_id!r} is not installed (see `mmsearch models list`).")
    _, path = found
    if not removable(data_dir, path):
        raise ModelError(f"{model_id!r} ships with mmsearch ({path}) and can't be removed.")
    if model_id == active_model(data_dir):
        raise ModelError(
            f"{model_id!r} is the active model: switch to another one first "
            "(`mmsearch models use ID`)."
        )
    trash = Path(tempfile.mkdtemp(prefix=f".old-{model_id}-", dir=path.parent))
    os.replace(path, trash / model_id)  # gone from the app's view at once
    shutil.rmtree(trash, ignore_errors=True)
    with Library(data_dir, model_id) as lib:
        return lib.forget_vectors()

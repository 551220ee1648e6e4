"""Downloading CLIP models from the model hub, with progress, cancel and integrity checks.

Files come through `huggingface_hub` (`hf_hub_download`), so `HF_ENDPOINT` (a mirror),
`HF_TOKEN`, `HTTPS_PROXY`/`NO_PROXY` and its retries all apply. A model is fetched into a
staging folder `<data dir>/models/.partial/<id>/` (huggingface_hub's local-dir cache: a file
that completed is not fetched again on the next attempt) and installed from there with
`mmsearch.services.models.install.install_model`, atomically. Within one file, a dropped
connection is resumed with an HTTP range request.

Every file is checked before it is installed: its size against the server's and the spec's,
and its SHA-256 against the spec's or, where the spec has none, against the hub's LFS ETag
(which is the file's SHA-256). Only ONNX, JSON and tokenizer files are fetched; nothing is
unpickled. Errors are `DownloadError` subclasses with a message a person can act on.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from tqdm.auto import tqdm

from mmsearch.encoders.spec import ModelError, ModelSpec, sha256_file
from mmsearch.services.models.install import install_model, models_dir

_SHA256 = re.compile(r"[0-9a-f]{64}")
# Room for the file system's own needs beyond the bytes we write.
_DISK_MARGIN = 64 << 20


class DownloadError(ModelError):
    """A download failed; the message says why and what to do."""


class NoNetworkError(DownloadError):
    """The hub (or the mirror in HF_ENDPOINT) can't be reached."""


class MissingFileError(DownloadError):
    """The repository, revision or one of its files doesn't exist on the hub."""


class DiskFullError(DownloadError):
    """Not enough free space for the model."""


class ChecksumError(DownloadError):
    """A downloaded file is not the expected one (size or SHA-256); it has been deleted."""


class DownloadCancelled(DownloadError):
    """The caller cancelled; files completed so far are kept for the next attempt."""


@dataclass(frozen=True)
class Progress:
    """Where a download stands: the current file and the bytes of the whole model."""

    file: str
    file_index: int
    file_count: int
    done: int
    total: int


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class RemoteFile:
    """A file on the hub as its metadata request describes it."""

    name: str
    size: int
    sha256: str | None
    commit: str


def staging_dir(spec: ModelSpec, data_dir: Path) -> Path:
    """Where the files of `spec` gather before they are installed."""
    return models_dir(data_dir) / ".partial" / spec.id


def download_model(
    spec: ModelSpec,
    data_dir: Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    endpoint: str | None = None,
    revision: str | None = None,
    token: str | bool | None = None,
) -> Path:
    """Download the runtime files of `spec` from its hub repository and install them as
    `<data dir>/models/<id>/`; returns that folder.

    `progress` is called from this thread as bytes arrive; setting `cancel` stops the
    download (DownloadCancelled) at the next chunk. `endpoint` overrides HF_ENDPOINT;
    `revision` the spec's (a branch, tag or commit: all files come from the one commit the
    first file resolves to). Raises NoNetworkError, MissingFileError, DiskFullError,
    ChecksumError, DownloadCancelled or DownloadError.
    """
    if not spec.hub_repo:
        raise MissingFileError(
            f"model {spec.id!r} is not published in the ONNX layout on the hub: export it with "
            "`python -m models.clip.export` and import the folder (`mmsearch models import`)."
        )
    revision = revision or spec.revision
    # HF_ENDPOINT as it is now (huggingface_hub reads it once, when first imported).
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or None
    cancel = cancel or threading.Event()
    remote = [_remote_file(spec, name, revision, endpoint, token) for name in spec.runtime_files]
    commit = remote[0].commit
    if any(r.commit != commit for r in remote):
        # The branch moved while we asked: ask again for all of them at one commit.
        remote = [_remote_file(spec, r.name, commit, endpoint, token) for r in remote]
    staging = staging_dir(spec, data_dir)
    staging.mkdir(parents=True, exist_ok=True)
    needed = sum(r.size for r in remote if not _complete(staging / r.name, r))
    _check_space(staging, needed)
    total = sum(r.size for r in remote)
    done = 0
    for index, item in enumerate(remote):
        if cancel.is_set():
            raise DownloadCancelled(f"download of {spec.id!r} cancelled.")
        base = done

        def report(
            done_in_file: int, item: RemoteFile = item, index: int = index, base: int = base
        ) -> None:
            if progress is not None:
                progress(Progress(item.name, index, len(remote), base + done_in_file, total))

        fetch_file(
            spec.hub_repo,
            item,
            staging,
            endpoint=endpoint,
            token=token,
            on_bytes=report,
            cancel=cancel,
        )
        done += item.size
        report(item.size)
    origin = {"from": "hub", "repo": spec.hub_repo, "revision": commit}
    target = install_model(spec, staging, data_dir, move=True, origin=origin)
    shutil.rmtree(staging, ignore_errors=True)
    return target


def _complete(path: Path, item: RemoteFile) -> bool:
    return path.is_file() and path.stat().st_size == item.size


def _remote_file(
    spec: ModelSpec, name: str, revision: str, endpoint: str | None, token: str | bool | None
) -> RemoteFile:
    assert spec.hub_repo is not None
    url = hf_hub_url(spec.hub_repo, name, revision=revision, endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(url, token=token, endpoint=endpoint)
    except Exception as e:
        raise _translate(e, spec.hub_repo, name, revision, endpoint) from e
    if meta.commit_hash is None or meta.size is None:
        raise DownloadError(
            f"{url} did not answer like the model hub (no commit or size): check HF_ENDPOINT "
            "and your proxy settings."
        )
    want = spec.file(name)
    if want.size is not None and want.size != meta.size:
        raise ChecksumError(
            f"{spec.hub_repo}/{name} has {meta.size} bytes on the hub, but model {spec.id!r} "
            f"expects {want.size}: the repository changed; update mmsearch."
        )
    etag = (meta.etag or "").lower()
    sha = want.sha256 or (etag if _SHA256.fullmatch(etag) else None)
    return RemoteFile(name, meta.size, sha, meta.commit_hash)


def fetch_file(
    repo: str,
    item: RemoteFile,
    folder: Path,
    *,
    endpoint: str | None = None,
    token: str | bool | None = None,
    on_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Download one file of `repo` at `item.commit` into `folder/item.name` (kept when it is
    already there and complete) and check its size and SHA-256; a file that fails the check
    is deleted (ChecksumError)."""
    bar = _progress_class(on_bytes, cancel)
    try:
        path = Path(
            str(
                hf_hub_download(
                    repo,
                    item.name,
                    revision=item.commit,
                    local_dir=folder,
                    endpoint=endpoint,
                    token=token,
                    tqdm_class=bar,
                )
            )
        )
    except Exception as e:
        raise _translate(e, repo, item.name, item.commit, endpoint) from e
    size = path.stat().st_size
    if size != item.size:
        path.unlink(missing_ok=True)
        raise ChecksumError(
            f"{item.name} arrived with {size} bytes instead of {item.size}: deleted; try again."
        )
    if item.sha256 is not None and sha256_file(path) != item.sha256:
        path.unlink(missing_ok=True)
        raise ChecksumError(
            f"{item.name} from {repo} does not match its SHA-256 (expected {item.sha256}): the "
            "file was corrupted on the way or the mirror serves another file; deleted."
        )
    return path


def _progress_class(
    on_bytes: Callable[[int], None] | None, cancel: threading.Event | None
) -> type[tqdm]:  # type: ignore[type-arg]
    """A tqdm class for huggingface_hub that reports to `on_bytes` and raises
    DownloadCancelled from inside the transfer when `cancel` is set (huggingface_hub only
    catches network errors, so ours reaches the caller and its partial file is removed)."""

    class Bar(tqdm):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True  # nothing on the terminal: the caller shows progress
            super().__init__(*args, **kwargs)
            self.done = int(kwargs.get("initial") or 0)

        def update(self, n: float | None = 1) -> bool | None:
            self.done += int(n or 0)
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled("download cancelled.")
            if on_bytes is not None:
                on_bytes(self.done)
            return None

    return Bar


def _check_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed + _DISK_MARGIN:
        raise DiskFullError(
            f"the model needs {needed / 1e6:,.0f} MB more, but {folder} has only "
            f"{free / 1e6:,.0f} MB free: make room and try again (files fetched so far are kept)."
        )


def _translate(
    error: Exception, repo: str, name: str, revision: str, endpoint: str | None
) -> Exception:
    """The DownloadError a person should see for an error from huggingface_hub/httpx (one
    we don't recognise keeps its type's name in the message)."""
    where = endpoint or "the model hub (HF_ENDPOINT)"
    if isinstance(error, DownloadError):
        return error
    if isinstance(error, RevisionNotFoundError):
        return MissingFileError(f"{repo} has no revision {revision!r} on {where}.")
    if isinstance(error, RepositoryNotFoundError):
        return MissingFileError(f"{repo} does not exist on {where} (or needs a token).")
    if isinstance(error, EntryNotFoundError) and not isinstance(error, LocalEntryNotFoundError):
        return MissingFileError(f"{repo} has no file {name!r} at revision {revision!r}.")
    chain = _causes(error)
    if any(isinstance(e, OSError) and e.errno == errno.ENOSPC for e in chain):
        return DiskFullError(f"the disk filled up while downloading {name}: make room and retry.")
    if any(isinstance(e, OfflineModeIsEnabled) for e in chain):
        return NoNetworkError(f"can't fetch {name}: offline mode is on (HF_HUB_OFFLINE).")
    if any(isinstance(e, httpx2.ProxyError) for e in chain):
        return NoNetworkError(f"the proxy refused the connection to {where}: check HTTPS_PROXY.")
    if any(isinstance(e, httpx2.ConnectError | httpx2.TimeoutException) for e in chain):
        return NoNetworkError(
            f"no network: can't reach {where} to fetch {repo}/{name}. Check the connection "
            "(or import the model from a file)."
        )
    if any(isinstance(e, httpx2.TransportError) for e in chain):
        return DownloadError(
            f"the transfer of {name} was interrupted and could not be resumed: try again "
            "(completed files are kept)."
        )
    if isinstance(error, HfHubHTTPError):
        return DownloadError(f"the hub refused {repo}/{name}: {error}")
    if isinstance(error, OSError) and "Consistency check failed" in str(error):
        return DownloadError(f"the transfer of {name} ended early: try again.")
    if isinstance(error, LocalEntryNotFoundError):
        return NoNetworkError(f"can't reach {where} to fetch {repo}/{name}: {error}")
    if isinstance(error, OSError):
        return DownloadError(
            f"can't write {name} of {repo}: {error.strerror or error}. Check the data folder "
            "is writable and try again."
        )
    # Anything else (an answer the client didn't expect): still a message, never a traceback.
    return DownloadError(
        f"the download of {repo}/{name} failed ({type(error).__name__}: {error}): try again; "
        "if it keeps failing, check HF_ENDPOINT and your proxy settings."
    )


def _causes(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen

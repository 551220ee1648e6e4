"""Model files checked against the SHA-256 recorded when they were installed, cheaply.

Every model folder's spec records the SHA-256 of its files: `spec.json` (written by our
build and export recipes) and an installed hub model's `model.json` (written by
`mmsearch.services.models.install.install_model`, for downloads and imports alike). A file
damaged in place (a bad sector, a garbled copy, same size) would otherwise load and give NaN or
meaningless vectors for every photo, so `verify_model_files` hashes each file and compares.

Hashing ~120 MB on every start would cost a few hundred milliseconds, so what was verified
is remembered per file as (size, mtime_ns, ctime_ns, sha256): in the process (a second load
of the same files checks nothing but `stat`), and on disk in the data folder's
`<cache dir>/verified-models/` (never inside the app's own installation), or in
`<model dir>/.verified.json` where no cache folder is given (an install records it there).
A file is hashed again when any of the three changes: an edit changes mtime and ctime; a
tool that restores the mtime (`touch -r`, `cp -p`) still changes the ctime, which only the
kernel sets. A file whose recorded SHA-256 is unknown (never the case for folders installed
by this code) is only checked for its size.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mmsearch.encoders.formats import fix_for
from mmsearch.encoders.spec import ModelError, ModelSpec, sha256_file

log = logging.getLogger(__name__)

VERIFIED_FILE = ".verified.json"
"""The verified-state cache inside a model folder."""
_CACHE_LAYOUT = 1

State = tuple[int, int, int]
"""(size, mtime_ns, ctime_ns) of a file: what, unchanged, spares a re-hash."""

_memo: dict[str, tuple[State, str]] = {}
_owners: dict[str, tuple[str, str]] = {}
"""Resolved path -> (model id, fix) of every file verified in this process."""
_memo_lock = threading.Lock()


@dataclass
class VerifyReport:
    """What one `verify_model_files` call did: files hashed (and their bytes) and files
    whose unchanged state was already verified."""

    hashed: int = 0
    hashed_bytes: int = 0
    cached: int = 0
    seconds: float = 0.0
    cache_file: Path | None = None


def recorded_hashes(spec: ModelSpec) -> dict[str, str | None]:
    """{file name: recorded SHA-256 or None} of every file a model's spec names."""
    return {f.name: f.sha256 for f in spec.files}


def reinstall_hint(spec: ModelSpec, model_dir: Path) -> str:
    """What to do about a damaged file of this model, by where the model came from."""
    if spec.layout == "mmsearch":
        return (
            "reinstall mmsearch, or in a source checkout run `make install` (a model you "
            "trained: export it again with `mmsearch export`)"
        )
    return fix_for(spec)


def _state(path: Path) -> State:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _cache_candidates(model_dir: Path, cache_dir: Path | None) -> list[Path]:
    """Where the verified state is kept, first choice first: the data folder's cache when
    there is one (the app never writes into its own installation, even where it could, as
    root), else the model folder."""
    places = [model_dir / VERIFIED_FILE]
    if cache_dir is not None:
        key = hashlib.sha256(str(model_dir.resolve()).encode("utf-8", "surrogateescape"))
        name = f"{model_dir.name}-{key.hexdigest()[:16]}.json"
        places.insert(0, Path(cache_dir) / "verified-models" / name)
    return places


def _read_cache(path: Path) -> dict[str, tuple[State, str]]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return {}  # missing, unreadable or damaged: it is only a cache, hash again
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or data.get("layout") != _CACHE_LAYOUT:
        return {}
    out: dict[str, tuple[State, str]] = {}
    for name, entry in files.items():
        try:
            state = (int(entry["size"]), int(entry["mtime_ns"]), int(entry["ctime_ns"]))
            sha = str(entry["sha256"])
        except (KeyError, TypeError, ValueError):
            continue
        out[name] = (state, sha)
    return out


def _write_cache(places: list[Path], entries: Mapping[str, tuple[State, str]]) -> Path | None:
    """Write the cache to the first place that takes it; None when none does (read-only
    everywhere: the process memo still spares re-hashing within this process)."""
    from mmsearch.files import write_json

    value = {
        "layout": _CACHE_LAYOUT,
        "files": {
            name: {"size": s[0], "mtime_ns": s[1], "ctime_ns": s[2], "sha256": sha}
            for name, (s, sha) in sorted(entries.items())
        },
    }
    for place in places:
        try:
            write_json(place, value, indent=1)
            return place
        except OSError as e:
            log.debug("can't write %s (%s): trying the next place", place, e)
    return None


def verify_model_files(
    model_dir: Path,
    spec: ModelSpec,
    cache_dir: Path | None = None,
    *,
    force: bool = False,
) -> VerifyReport:
    """Raise ModelError unless every file of the model whose SHA-256 is recorded in its spec
    has that SHA-256. Files whose (size, mtime, ctime) were verified before (in this process
    or as recorded in the verified-state cache) are not read again; `force` hashes all.

    The cache lives in `model_dir/.verified.json`, or under `cache_dir` (the data folder's
    cache) when the model folder is read-only. The message of a mismatch names the file,
    the model and what to run to repair it.
    """
    started = time.perf_counter()
    model_dir = Path(model_dir)
    report = VerifyReport()
    expected = recorded_hashes(spec)
    places = _cache_candidates(model_dir, cache_dir)
    disk: list[dict[str, tuple[State, str]]] | None = None
    fresh: dict[str, tuple[State, str]] = {}
    for name, sha in expected.items():
        if sha is None:
            continue
        path = model_dir / name
        try:
            state = _state(path)
        except OSError:
            fix = reinstall_hint(spec, model_dir)
            raise ModelError(
                f"the file {path} of model {spec.id!r} is missing: {fix}.", hint=fix
            ) from None
        key = str(path.resolve())
        if not force:
            with _memo_lock:
                seen = _memo.get(key)
            if seen == (state, sha):
                report.cached += 1
                fresh[name] = (state, sha)
                continue
            if disk is None:
                disk = [_read_cache(place) for place in places]
            # Any place will do: a read-only folder may carry a stale cache of its own.
            if any(cache.get(name) == (state, sha) for cache in disk):
                report.cached += 1
                fresh[name] = (state, sha)
                with _memo_lock:
                    _memo[key] = (state, sha)
                continue
        try:
            digest = sha256_file(path)
        except OSError as e:
            raise ModelError(
                f"can't read the file {path} of model {spec.id!r}: {e.strerror or e}."
            ) from e
        report.hashed += 1
        report.hashed_bytes += state[0]
        if digest != sha:
            with _memo_lock:
                _memo.pop(key, None)
            fix = reinstall_hint(spec, model_dir)
            raise ModelError(
                f"the file {path} of model {spec.id!r} is damaged (its SHA-256 differs from "
                f"the one recorded when it was installed): {fix}.",
                hint=fix,
            )
        # The state after hashing: a file changed while we read it is hashed next time.
        fresh[name] = (state, sha)
        with _memo_lock:
            _memo[key] = (state, sha)
    with _memo_lock:
        for name in expected:
            _owners[str((model_dir / name).resolve())] = (spec.id, reinstall_hint(spec, model_dir))
    if report.hashed:  # nothing hashed: every file matched a cache, nothing to record
        report.cache_file = _write_cache(places, fresh)
    report.seconds = time.perf_counter() - started
    if report.hashed:
        log.info(
            "verified %d file(s) of %s (%.0f MB) in %.0f ms",
            report.hashed,
            spec.id,
            report.hashed_bytes / 1e6,
            report.seconds * 1e3,
        )
    return report


def check_unchanged(path: Path) -> None:
    """Before a graph is read (sessions start on first use, maybe hours after the model was
    loaded): if `path` was verified in this process and its state changed since, hash it
    again; ModelError if it no longer has its SHA-256. Files never verified are left alone."""
    key = str(Path(path).resolve())
    with _memo_lock:
        seen = _memo.get(key)
        owner = _owners.get(key)
    if seen is None:
        return
    try:
        state = _state(Path(path))
    except OSError:
        return  # the session's own load names a missing file
    if state == seen[0]:
        return
    model_id, fix = owner or ("?", "install the model again")
    if sha256_file(Path(path)) != seen[1]:
        with _memo_lock:
            _memo.pop(key, None)
        raise ModelError(
            f"the file {path} of model {model_id!r} is damaged (its SHA-256 changed since the "
            f"model was loaded): {fix}.",
            hint=fix,
        )
    with _memo_lock:
        _memo[key] = (state, seen[1])


def forget_verified() -> None:
    """Drop the process's memo of verified files (tests measure cold and warm starts)."""
    with _memo_lock:
        _memo.clear()
        _owners.clear()


def record_verified(model_dir: Path, hashes: Mapping[str, str]) -> Path | None:
    """Write the verified-state cache of files just hashed (an install): the first start
    after it then hashes nothing. Returns the cache file, None if the folder is read-only."""
    model_dir = Path(model_dir)
    entries = {name: (_state(model_dir / name), sha) for name, sha in hashes.items()}
    return _write_cache([model_dir / VERIFIED_FILE], entries)

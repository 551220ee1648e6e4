"""The details pass (issue 12 §3): after indexing, each photo's header is read again for its
GPS position and EXIF date; a photo without an EXIF date is dated from its file name or,
failing that, the file's time (`mmsearch.media.dates`); then every position is named after
a place offline (`mmsearch.places.geocoder`).

Only photos not read by this version (`DETAILS_VERSION`) since their content or path changed
are read: a new photo once, an old library once after the upgrade. Reads run on the worker
threads (headers only, no pixels) and are committed every `READS_PER_COMMIT`, so a stop
keeps what was read. Naming needs no file: a new place database names every photo again
from the stored positions. A missing place database is a warning: photos keep their
positions and are named when it is back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mmsearch.encoders.spec import ModelError
from mmsearch.media.dates import best_date
from mmsearch.media.decode import read_details
from mmsearch.places.geocoder import Place, shared_geocoder
from mmsearch.services.workers import bounded_map

if TYPE_CHECKING:
    from mmsearch.services.library import Library  # (it imports this module)

DETAILS_VERSION = 1
READS_PER_COMMIT = 200
NAMES_PER_COMMIT = 2000

ProgressCallback = Callable[[int, int, Path | None], None]


@dataclass
class DetailsReport:
    read: int = 0  # headers read
    located: int = 0  # of them with a GPS position
    dated_by_name: int = 0  # no EXIF date: dated from the file name
    dated_by_file: int = 0  # ... from the file's time
    named: int = 0  # photos named after a place (or found far from any)
    place_error: str | None = None  # the place database could not be loaded
    interrupted: bool = False
    seconds: float = 0.0


Row = tuple[int, Path, int, datetime | None]


Read = tuple[int, datetime | None, str | None, tuple[float, float] | None]


def _read(row: Row) -> Read | None:
    """(id, date, its source, position); None when the file can't be read now (gone, or
    its drive unplugged): left unread, for the next run."""
    photo_id, path, mtime_ns, indexed_date = row
    try:
        found = read_details(path)
    except OSError:
        return None
    taken_at, source = best_date(found.taken_at or indexed_date, path.name, mtime_ns)
    return photo_id, taken_at, source, found.gps


def update_details(
    lib: Library,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    workers: int | None = None,
) -> DetailsReport:
    """Read the headers of the photos that need it, then name their places."""
    started = time.perf_counter()
    cancel = cancel or threading.Event()
    report = DetailsReport()
    catalog = lib.catalog
    todo = catalog.photos_needing_details(DETAILS_VERSION)
    if progress and todo:
        progress(0, len(todo), None)
    batch: dict[int, tuple[datetime | None, str | None, tuple[float, float] | None]] = {}
    paths = {row[0]: row[1] for row in todo}
    for done, read in enumerate(bounded_map(_read, todo, workers, cancel), 1):
        if read is not None:
            photo_id, taken_at, source, gps = read
            batch[photo_id] = (taken_at, source, gps)
            report.read += 1
            report.located += gps is not None
            report.dated_by_name += source == "name"
            report.dated_by_file += source == "file"
            if len(batch) >= READS_PER_COMMIT:
                catalog.store_details(DETAILS_VERSION, batch)
                batch = {}
        if progress:  # an unreadable file counts too: the bar reaches its end
            progress(done, len(todo), None if read is None else paths[read[0]])
    if batch:
        catalog.store_details(DETAILS_VERSION, batch)
    if not cancel.is_set():
        _name_places(lib, report, cancel)
    report.interrupted = cancel.is_set()
    report.seconds = time.perf_counter() - started
    return report


def _name_places(lib: Library, report: DetailsReport, cancel: threading.Event) -> None:
    try:
        geocoder = shared_geocoder()
    except ModelError as e:
        report.place_error = str(e)
        return
    rows = lib.catalog.photos_to_place(geocoder.version)
    seen: dict[tuple[float, float], Place | None] = {}  # photos come in clusters
    named: dict[int, Place | None] = {}
    for photo_id, lat, lon in rows:
        key = (round(lat, 4), round(lon, 4))  # ~10 m
        if key not in seen:
            seen[key] = geocoder.locate(lat, lon)
        named[photo_id] = seen[key]
        if len(named) >= NAMES_PER_COMMIT:
            lib.catalog.store_places(geocoder.version, named)
            report.named += len(named)
            named = {}
            if cancel.is_set():
                return
    if named or rows:
        lib.catalog.store_places(geocoder.version, named)
        report.named += len(named)

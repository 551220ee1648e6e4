"""Reading the text in photos (issue 12 §1): the background pass after embedding, and
finding photos by their words.

The pass reads every embedded photo the current OCR reader (`TextReader.version`) has not
read since its content last changed, oldest first, and commits every `READS_PER_COMMIT`
photos: stopped (cancel, Ctrl-C, crash) it resumes where it was, and a new reader version
reads everything again. Per photo it decodes a small copy (`DETECT_MIN_SIDE`); a first
look at a quarter of its pixels (`TextReader.may_hold_text`) decides whether the detector
runs at all; only when that finds text does it decode a larger one (`READ_MIN_SIDE`) to
cut the lines from. Photos without text (most) cost one small decode and the first look.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mmsearch.media import DecodeError, decode_photo
from mmsearch.ocr import words
from mmsearch.ocr.reader import DETECT_SIDE, READ_SIDE, TextLine, TextReader, default_folder

if TYPE_CHECKING:
    from mmsearch.services.library import Library  # (it imports this module)

READS_PER_COMMIT = 25
DETECT_MIN_SIDE = DETECT_SIDE * 3 // 4
"""Shorter side of the copy the detector sees (a 4:3 photo: 960 x 720)."""
READ_MIN_SIDE = READ_SIDE * 3 // 4

ProgressCallback = Callable[[int, int, Path | None], None]


@dataclass
class TextReport:
    read: int = 0
    with_text: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0


_readers: dict[Path, TextReader] = {}
_readers_lock = threading.Lock()


def shared_reader(folder: Path | None = None) -> TextReader:
    """One TextReader per model folder in this process (it checks its files when made,
    and its sessions are costly to start)."""
    key = (folder or default_folder()).resolve()
    with _readers_lock:
        if key not in _readers:
            _readers[key] = TextReader(key)
        return _readers[key]


def read_photo(reader: TextReader, path: Path) -> list[TextLine]:
    """The text lines of the photo at `path` (DecodeError when it can't be read)."""
    small = decode_photo(path, min_side=DETECT_MIN_SIDE).image
    if not reader.may_hold_text(small):
        return []
    boxes = reader.detect(small)
    if not boxes:
        return []
    large = small
    if min(small.size) >= DETECT_MIN_SIDE:  # the photo is bigger than the copy: read finer
        large = decode_photo(path, min_side=READ_MIN_SIDE).image
    return reader.read(
        large, [b.scaled(large.width / small.width, large.height / small.height) for b in boxes]
    )


def read_texts(
    lib: Library,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    reader: TextReader | None = None,
) -> TextReport:
    """Read the text of every photo that needs it (see the module's notes)."""
    start = time.monotonic()
    reader = reader or shared_reader()
    report = TextReport()
    todo = lib.catalog.photos_to_read(reader.version, lib.model_id)
    pending: dict[int, tuple[str, str]] = {}
    if progress is not None:
        progress(0, len(todo), None)
    for done, (photo_id, path) in enumerate(todo, 1):
        if cancel is not None and cancel.is_set():
            report.interrupted = True
            break
        try:
            lines = read_photo(reader, path)
        except DecodeError as e:  # gone or damaged since it was indexed: the indexer says so
            report.failed.append((path, str(e)))
        else:
            pending[photo_id] = (words.search_form(lines), words.lines_json(lines))
            report.read += 1
            report.with_text += bool(lines)
        if len(pending) >= READS_PER_COMMIT:
            lib.catalog.store_texts(reader.version, pending)
            pending = {}
        if progress is not None:
            progress(done, len(todo), path)
    lib.catalog.store_texts(reader.version, pending)
    report.seconds = time.monotonic() - start
    return report


@dataclass(frozen=True)
class TextHit:
    photo_id: int
    found: float
    """The share of the query's terms the photo's text holds (1.0: all)."""
    lines: list[str]
    """The lines of the photo's text that hold them."""


def find_text(lib: Library, terms: tuple[str, ...], every: bool = True) -> dict[int, TextHit]:
    """Photos whose text holds every one of `terms` (folded), or with `every=False` any
    of them, with the share found and the lines that hold them."""
    if not terms:
        return {}
    if every and not any(words.fuzzy(t) for t in terms):
        found = lib.catalog.text_matches(terms)
    else:  # each term's candidates; the lines decide below
        found = {}
        for term in terms:
            found.update(lib.catalog.text_matches((term,)))
            if words.fuzzy(term):  # one edit away keeps one of its trigrams at least
                found.update(lib.catalog.texts_with_any(words.trigrams(term)))
    out: dict[int, TextHit] = {}
    for photo_id, data in found.items():
        held, lines = words.held(words.lines_from_json(data), terms)
        if held and (not every or len(held) == len(terms)):
            out[photo_id] = TextHit(photo_id, len(held) / len(terms), lines)
    return out

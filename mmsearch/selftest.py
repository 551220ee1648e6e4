"""`--self-test`: prove that this copy of mmsearch works, without a screen and without
touching the user's data.

    mmsearch --self-test [--model ID] [--no-gui]       (a packaged build)
    python -m mmsearch.selftest [--record FILE]         (a source checkout)

In a temporary data folder it indexes the few photos it carries (`packaging/selftest/`,
free of copyright; see the LICENSE.md there) plus a mirrored copy, a half-size copy and a
note with words on it that it makes, then, for every model in the bundle:

- checks the model files against the checksums in their spec;
- a text query must put the coffee photo first, a similar-photo query for the cat must put
  its near-duplicate first, and caption ranking must put the coffee caption first: answers
  the repository's own tests demand of the bundled models, so they hold for any model that
  is fit to ship;
- every photo and text embedding, and every score, must equal the values that the
  unpackaged app recorded at build time (`--record`, stored in the bundle as
  `reference.json`) within `TOLERANCE`: the strongest proof that the frozen app decodes,
  preprocesses, tokenizes and runs the ONNX graphs exactly as the source does;
- the text pass must read the note, and `text:invoice` (and a plain `invoice`) find it;
  the duplicate finder must group the half-size copy with its original, and nothing else;
  the half-size copy, tagged with a GPS position in Lisbon, must be named after Lisbon,
  and "a rocket in Lisbon" must be read as a place and find it.

Then it opens the real window offscreen on the same library (icon, translation, a search
typed into the window). It prints one line per check and exits 0, or 1 naming what failed.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmsearch import __version__
from mmsearch.paths import BUNDLED_MODEL_ID, repo_root

PHOTOS = ("cat.jpg", "coffee.jpg", "rocket.jpg", "astronaut.jpg")
DUPLICATE_OF, DUPLICATE = "cat.jpg", "cat-copy.jpg"
RESIZED_OF, RESIZED = "rocket.jpg", "rocket-small.jpg"
TEXT_PHOTO, TEXT_WORDS = "note.png", ("INVOICE 2024", "Total 42.00")
MADE = 3
"""Photos `make_photos` makes beside the carried ones."""
TEXT_QUERY, TEXT_EXPECTED = "a cup of coffee", "coffee.jpg"
CAPTION_PHOTO = "coffee.jpg"
CAPTIONS = ("a rocket on a launch pad", "a cup of coffee on a saucer", "a cat sleeping")
CAPTION_EXPECTED = "a cup of coffee on a saucer"
REFERENCE_NAME = "reference.json"
TOLERANCE = 2e-3
"""Largest difference allowed between an embedding component or score and its reference:
float32 sums in another order (thread count, CPU features) move the 4th-6th decimal, while a
wrong preprocessing step, tokenizer or graph moves the 1st or 2nd."""

Record = dict[str, Any]


def selftest_dir() -> Path:
    """The self-test's photos: `packaging/selftest/` in the checkout and in the bundle."""
    return repo_root() / "packaging" / "selftest"


def bundled_models() -> list[Path]:
    """The model folder this copy carries: the default model (`build/models/<id>/`)."""
    folder = repo_root() / "build" / "models" / BUNDLED_MODEL_ID
    return [folder] if (folder / "spec.json").is_file() else []


def is_frozen() -> bool:
    """True in a PyInstaller build."""
    return bool(getattr(sys, "frozen", False))


def make_photos(folder: Path) -> Path:
    """Copy the carried photos into `folder` and add the near-duplicate (the cat cropped,
    mirrored and recompressed: different bytes, same picture)."""
    from PIL import Image, ImageOps

    from mmsearch.media.decode import camera_exif

    folder.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        shutil.copyfile(selftest_dir() / name, folder / name)
    with Image.open(folder / DUPLICATE_OF) as im:
        w, h = im.size
        copy = ImageOps.mirror(im.convert("RGB").crop((12, 8, w - 8, h - 12)))
        copy.save(folder / DUPLICATE, quality=80)
    with Image.open(folder / RESIZED_OF) as im:
        small = im.convert("RGB").resize((im.width // 2, im.height // 2))
        # Taken in Lisbon, as a phone tags it: the places check.
        small.save(folder / RESIZED, quality=70, exif=camera_exif(gps=(38.7139, -9.1394)))
    make_text_photo(folder / TEXT_PHOTO)
    return folder


def make_text_photo(path: Path) -> None:
    """A note with `TEXT_WORDS` on it, in Pillow's own font (no system font needed)."""
    from PIL import Image, ImageDraw, ImageFont

    note = Image.new("RGB", (640, 360), (236, 232, 220))
    draw = ImageDraw.Draw(note)
    font = ImageFont.load_default(size=52)
    for row, line in enumerate(TEXT_WORDS):
        draw.text((48, 80 + row * 120), line, font=font, fill=(30, 30, 40))
    note.save(path)


def _rounded(vector: np.ndarray) -> list[float]:
    return [round(float(x), 6) for x in vector]


def measure(data: Path, photos: Path, model_id: str) -> tuple[Record, float]:
    """Index `photos` into a library at `data` with `model_id`, run the three kinds of
    query, and return every embedding and score (with the indexing time)."""
    from mmsearch.services.indexing import index_library
    from mmsearch.services.library import Library
    from mmsearch.services.ranking import rank_captions
    from mmsearch.services.search import SearchEngine

    with Library(data, model_id) as lib:
        lib.catalog.add_folder(photos)
        start = time.monotonic()
        report = index_library(lib, workers=2)
        seconds = time.monotonic() - start
        engine = SearchEngine(lib)
        names = sorted(p.name for p in photos.iterdir())
        texts = [TEXT_QUERY, *CAPTIONS]
        record: Record = {
            "indexed": report.indexed,
            "failed": [f"{p.name}: {reason}" for p, reason in report.failed],
            "photos": {n: _rounded(engine.photo_vector(photos / n)) for n in names},
            "texts": dict(zip(texts, map(_rounded, lib.model.text.encode(texts)), strict=True)),
            "text_query": [
                [h.path.name, round(h.score, 6)] for h in engine.search(TEXT_QUERY, top=10)
            ],
            "similar": [
                [h.path.name, round(h.score, 6)]
                for h in engine.similar(photos / DUPLICATE_OF, top=10)
            ],
            "captions": [
                [r.caption, round(r.score, 6)]
                for r in rank_captions(lib, photos / CAPTION_PHOTO, list(CAPTIONS))
            ],
        }
    return record, seconds


@dataclass
class Results:
    """Checks run so far: printed as they finish, counted for the exit status."""

    out: Callable[[str], None] = field(default=functools.partial(print, flush=True))
    failures: list[str] = field(default_factory=list)
    passed: int = 0

    def check(self, name: str, test: Callable[[], str]) -> bool:
        """Run `test` (returns a short detail, raises AssertionError or anything on
        failure) and print one line for it."""
        try:
            detail = test()
        except AssertionError as e:
            self.failures.append(f"{name}: {e}")
            self.out(f"  FAIL  {name}: {e}")
            return False
        except Exception as e:  # any crash is a failed check, reported, not a traceback
            self.failures.append(f"{name}: {type(e).__name__}: {e}")
            self.out(f"  FAIL  {name}: {type(e).__name__}: {e}")
            if os.environ.get("MMSEARCH_SELFTEST_DEBUG"):
                traceback.print_exc()
            return False
        self.passed += 1
        self.out(f"  ok    {name}{': ' + detail if detail else ''}")
        return True


def _first(ranked: list[list[Any]], expected: str, what: str) -> str:
    assert ranked, f"no {what} at all"
    scores = [float(s) for _, s in ranked]
    assert scores == sorted(scores, reverse=True), f"{what} not best first: {scores}"
    assert ranked[0][0] == expected, f"expected {expected!r} first, got " + ", ".join(
        f"{n} ({s:.3f})" for n, s in ranked
    )
    return f"{expected!r} first ({scores[0]:.3f}) of {len(ranked)}"


def _compare(got: Record, want: Record) -> str:
    """Largest difference between `got` and the reference `want`; raises past TOLERANCE."""
    worst, where = 0.0, ""

    def diff(a: Sequence[float], b: Sequence[float], label: str) -> None:
        nonlocal worst, where
        assert len(a) == len(b), f"{label}: {len(a)} values, reference has {len(b)}"
        d = float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
        if d > worst:
            worst, where = d, label
        assert d <= TOLERANCE, f"{label} differs from the build-time reference by {d:.2e}"

    for kind in ("photos", "texts"):
        assert set(got[kind]) == set(want[kind]), f"{kind}: {sorted(got[kind])} vs reference"
        for key in want[kind]:
            diff(got[kind][key], want[kind][key], f"embedding of {key!r}")
    for kind in ("text_query", "similar", "captions"):
        mine, theirs = dict(map(tuple, got[kind])), dict(map(tuple, want[kind]))
        assert set(mine) == set(theirs), f"{kind}: {sorted(mine)} vs reference {sorted(theirs)}"
        keys = sorted(theirs)
        diff([mine[k] for k in keys], [theirs[k] for k in keys], f"{kind} scores")
    count = len(want["photos"]) + len(want["texts"])
    if worst == 0:
        return f"{count} embeddings and 3 rankings, all identical"
    return f"{count} embeddings and 3 rankings, largest difference {worst:.1e} ({where})"


def check_model(
    results: Results, model_dir: Path, work: Path, reference: Record | None
) -> Path | None:
    """Every check of one model; returns its data folder (indexed) for the window check."""
    from mmsearch.encoders import load_spec
    from mmsearch.encoders.formats import fix_for

    model_id = model_dir.name
    results.out(f"model {model_id}")

    def files() -> str:
        spec = load_spec(model_dir)
        spec.verify_files(model_dir, fix_for(spec))
        return f"{len(spec.files)} files match their SHA-256 ({spec.display_name})"

    results.check("model files", files)
    photos = make_photos(work / "photos")
    data = work / f"data-{model_id}"
    measured: dict[str, Any] = {}

    def index() -> str:
        record, seconds = measure(data, photos, model_id)
        measured.update(record)
        assert not record["failed"], f"photos failed: {record['failed']}"
        assert record["indexed"] == len(PHOTOS) + MADE, f"indexed {record['indexed']} photos"
        return f"{record['indexed']} photos in {seconds:.1f} s"

    if not results.check("index the self-test photos", index):
        return None
    results.check(
        f"text query {TEXT_QUERY!r}",
        lambda: _first(measured["text_query"], TEXT_EXPECTED, "results"),
    )
    results.check(
        f"similar to {DUPLICATE_OF}",
        lambda: _first(measured["similar"], DUPLICATE, "similar photos"),
    )
    results.check(
        f"caption ranking for {CAPTION_PHOTO}",
        lambda: _first(measured["captions"], CAPTION_EXPECTED, "captions"),
    )
    results.check("text in photos", lambda: _text_in_photos(data, model_id))
    results.check("near-duplicates", lambda: _duplicates(data, model_id))
    results.check("places", lambda: _places(data, model_id))
    if reference is None:
        results.out("  skip  build-time reference: none here (only a packaged build has one)")
    else:

        def same() -> str:
            models = reference["models"]
            assert model_id in models, f"no reference recorded for {model_id} at build time"
            return _compare(measured, models[model_id])

        results.check("same answers as the unpackaged app", same)
    return data


def _text_in_photos(data: Path, model_id: str) -> str:
    """The OCR pass reads the note, and `text:invoice` and a plain `invoice` find it first."""
    from mmsearch.services.library import Library
    from mmsearch.services.search import SearchEngine
    from mmsearch.services.text import read_texts

    with Library(data, model_id) as lib:
        report = read_texts(lib)
        assert not report.failed, f"photos not read: {report.failed}"
        engine = SearchEngine(lib)
        only = engine.search("text:invoice", top=10)
        assert [h.path.name for h in only] == [TEXT_PHOTO], (
            f"text:invoice found {[h.path.name for h in only]}, not only {TEXT_PHOTO}"
        )
        merged = engine.search("invoice", top=3)
        assert merged and merged[0].path.name == TEXT_PHOTO, (
            f"'invoice' put {[h.path.name for h in merged]} first, not {TEXT_PHOTO}"
        )
    return f"read {report.read} photos in {report.seconds:.1f} s; {TEXT_PHOTO}: {only[0].text}"


def _places(data: Path, model_id: str) -> str:
    """Indexing named the photo with GPS after its town offline, and a query naming the
    town finds it there."""
    from mmsearch.catalog.db import Filters
    from mmsearch.services.library import Library
    from mmsearch.services.search import SearchEngine

    with Library(data, model_id) as lib:
        places = lib.catalog.place_counts()
        assert [(p.city, p.country, p.photos) for p in places] == [("Lisbon", "Portugal", 1)], (
            f"places: {places}"
        )
        engine = SearchEngine(lib)
        guess = engine.read_place("a rocket in Lisbon")
        assert guess is not None and guess.rest == "a rocket", f"place read as {guess}"
        hits = engine.search(guess.rest, 10, Filters(places=guess.ids))
        assert [h.path.name for h in hits] == [RESIZED], f"found {[h.path.name for h in hits]}"
    return f"{RESIZED}: {hits[0].photo.place}"


def _duplicates(data: Path, model_id: str) -> str:
    """The half-size copy of the rocket is its only near-duplicate (the mirrored cat is
    not one: mirrored copies are kept apart by design)."""
    from mmsearch.services.duplicates import find_duplicates
    from mmsearch.services.library import Library

    with Library(data, model_id) as lib:
        groups = [sorted(p.path.name for p in g.photos) for g in find_duplicates(lib)]
    assert groups == [sorted([RESIZED_OF, RESIZED])], f"groups: {groups}"
    return f"{RESIZED} grouped with {RESIZED_OF}, nothing else"


def _quiet_qt(kind: object, context: object, message: str) -> None:
    """Qt's messages, less the offscreen platform's note that it can't size windows the
    way a window manager would (it says so for every window and means nothing here)."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr, flush=True)


def check_window(results: Results, data: Path, model_id: str, work: Path) -> None:
    """The real window, offscreen, on an indexed library: the icon (Qt's SVG plugin), the
    compiled Chinese translation, and a search typed into it."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import (
        QEventLoop,
        QLocale,
        QSettings,
        QTimer,
        QTranslator,
        qInstallMessageHandler,
    )
    from PySide6.QtWidgets import QApplication

    from mmsearch.services.library import Library
    from mmsearch.ui.main_window import MainWindow
    from mmsearch.ui.qtcheck import check_qt_binding
    from mmsearch.ui.resources import TRANSLATIONS, icon_path
    from mmsearch.ui.settings import Preferences

    results.out("window")
    results.check("Qt binding counts None", check_qt_binding)
    qInstallMessageHandler(_quiet_qt)
    app = QApplication.instance() or QApplication(["mmsearch"])
    assert isinstance(app, QApplication)

    def icon() -> str:
        from PySide6.QtGui import QIcon

        pixmap = QIcon(str(icon_path())).pixmap(64, 64)
        assert not pixmap.isNull(), f"{icon_path()} does not render (Qt's SVG plugin?)"
        return f"{icon_path().name} renders"

    def translation() -> str:
        translator = QTranslator()
        assert translator.load(QLocale("zh_CN"), "mmsearch", "_", str(TRANSLATIONS)), (
            f"no Chinese translation in {TRANSLATIONS}"
        )
        translated = translator.translate("MainWindow", "&File")
        return f"zh_CN loads ({translated or 'loaded'})"

    def search() -> str:
        # Settings in a throw-away INI file: the user's preferences are never read or written.
        prefs = Preferences(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(Library(data, model_id), prefs)
        try:
            window.show()
            loop = QEventLoop()
            window.search_finished.connect(loop.quit)
            QTimer.singleShot(60_000, loop.quit)
            window.search_field.setText(TEXT_QUERY)
            window.run_search()
            loop.exec()
            rows = window.results.rowCount()
            names = [window.results.hit(i).path.name for i in range(rows)]
            assert names, "the window shows no results"
            assert names[0] == TEXT_EXPECTED, f"the window shows {names}"
            return f"{TEXT_EXPECTED!r} first of {rows} on screen"
        finally:
            window.close()
            window.library.close()

    results.check("icon", icon)
    results.check("translation", translation)
    results.check(f"search {TEXT_QUERY!r} in the window", search)


def load_reference(path: Path | None) -> Record | None:
    """The values recorded at build time, if this copy carries them."""
    path = path or selftest_dir() / REFERENCE_NAME
    if not path.is_file():
        return None
    data: Record = json.loads(path.read_text(encoding="utf-8"))
    return data


def record(out_file: Path, model_dirs: list[Path]) -> None:
    """Measure every model with the unpackaged app and write the reference file."""
    models: dict[str, Record] = {}
    with tempfile.TemporaryDirectory(prefix="mmsearch-selftest-") as tmp:
        photos = make_photos(Path(tmp) / "photos")
        for model_dir in model_dirs:
            models[model_dir.name], _ = measure(Path(tmp) / model_dir.name, photos, model_dir.name)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    payload = {"version": __version__, "tolerance": TOLERANCE, "models": models}
    out_file.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"self-test reference for {', '.join(models)} written to {out_file}")


def run(model_ids: Sequence[str] = (), gui: bool = True, reference_file: Path | None = None) -> int:
    """The self-test; returns the exit status."""
    start = time.monotonic()
    results = Results()
    # The model the window and the command line will use here, by Library's own rule.
    default = os.environ.get("MMSEARCH_MODEL") or BUNDLED_MODEL_ID
    # Only what this copy carries counts: models elsewhere (MMSEARCH_MODELS) are not its.
    for var in ("MMSEARCH_MODELS", "MMSEARCH_MODEL", "MMSEARCH_HOME"):
        os.environ.pop(var, None)
    available = bundled_models()
    chosen = [d for d in available if not model_ids or d.name in model_ids]
    reference = load_reference(reference_file)
    with tempfile.TemporaryDirectory(prefix="mmsearch-selftest-") as tmp:
        work = Path(tmp)
        print(
            f"mmsearch {__version__} self-test ({'packaged' if is_frozen() else 'source'}, "
            f"{sys.platform}, temporary data folder {work})"
        )
        print("bundle")

        def default_model() -> str:
            names = [d.name for d in available]
            assert default in names, (
                f"the default model {default} is not in {repo_root() / 'build/models'}"
                f" (found: {', '.join(names) or 'none'})"
            )
            return f"{default} (of {len(names)}: {', '.join(names)})"

        def no_torch() -> str:
            loaded = sorted(m for m in ("torch", "torchvision", "transformers") if m in sys.modules)
            assert not loaded, f"loaded: {loaded}"
            return "torch, torchvision and transformers are not loaded"

        def model_catalog() -> str:
            from mmsearch.services.models import available_specs

            specs = available_specs()
            assert specs, "no CLIP model specs in this copy: the model manager offers nothing"
            return f"{len(specs)} downloadable models ({', '.join(s.id for s in specs)})"

        def download_path() -> str:
            from huggingface_hub import hf_hub_url

            from mmsearch.services.models import get_spec
            from mmsearch.services.models.download import download_model

            assert callable(download_model)

            spec = get_spec("clip-vit-b-32-openai")
            assert spec.hub_repo, "the catalog names no hub repository"
            return f"huggingface_hub ready ({hf_hub_url(spec.hub_repo, spec.runtime_files[0])})"

        results.check("default model present", default_model)
        results.check("model catalog", model_catalog)
        results.check("model downloads", download_path)
        if model_ids and not chosen:
            results.check("models chosen", lambda: f"none of {model_ids} in this copy")
        windows: list[tuple[Path, str]] = []
        for model_dir in chosen:
            data = check_model(results, model_dir, work / model_dir.name, reference)
            if data is not None:
                windows.append((data, model_dir.name))
        if gui and windows:
            # The window runs on the default model when it is here, else on the first.
            data, model_id = next((w for w in windows if w[1] == default), windows[0])
            check_window(results, data, model_id, work)
        results.out("process")
        results.check("ONNX Runtime only", no_torch)
    total = results.passed + len(results.failures)
    seconds = time.monotonic() - start
    if results.failures:
        print(f"self-test FAILED: {len(results.failures)} of {total} checks ({seconds:.1f} s):")
        for failure in results.failures:
            print(f"  - {failure}")
        return 1
    print(f"self-test passed: {total} checks in {seconds:.1f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of the self-test (after `--self-test` in a packaged build)."""
    parser = argparse.ArgumentParser(
        prog="mmsearch --self-test", description="check that this copy of mmsearch works"
    )
    parser.add_argument("--model", action="append", default=[], help="test only this model id")
    parser.add_argument("--no-gui", action="store_true", help="skip the window checks")
    parser.add_argument("--reference", type=Path, help="reference values (default: bundled)")
    parser.add_argument(
        "--record", type=Path, metavar="FILE", help="write reference values from this copy"
    )
    args = parser.parse_args(argv)
    if args.record:
        models = [d for d in bundled_models() if not args.model or d.name in args.model]
        if not models:
            print(f"no model in {repo_root() / 'build' / 'models'}: run `make install`")
            return 1
        record(args.record, models)
        return 0
    return run(args.model, gui=not args.no_gui, reference_file=args.reference)


if __name__ == "__main__":
    raise SystemExit(main())

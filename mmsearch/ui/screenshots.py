"""`make screenshots`: render the real window on real photos to PNG files for the docs.

Runs on the offscreen platform (or Xvfb). Photos: ../shared/photos-large when present,
plus scikit-image's sample photos (a test extra). Fonts: install a CJK font (Debian's
fonts-noto-cjk) for the Chinese screenshot.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from mmsearch.paths import BUNDLED_MODEL_ID, CONSE_MODEL_ID, repo_root
from mmsearch.services.library import Library
from mmsearch.services.models import list_models
from mmsearch.ui.app import install_translators
from mmsearch.ui.main_window import MainWindow
from mmsearch.ui.settings import Preferences, SettingsDialog

SAMPLES = ("chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "astronaut.png")


def spin(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(condition: Callable[[], bool], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        spin(50)


def gather_photos(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    large = repo_root().parent / "shared" / "photos-large"
    if large.is_dir():
        for photo in sorted(large.glob("*.jpg")):
            shutil.copy(photo, target / photo.name)
    try:
        data = Path(str(files("skimage") / "data"))
        for name in SAMPLES:
            shutil.copy(data / name, target / name)
    except ModuleNotFoundError:
        pass
    return target


def save(widget: QWidget, out: Path, name: str) -> None:
    spin(300)
    path = out / name
    widget.grab().save(str(path))
    print(f"wrote {path}")


def search(window: MainWindow, text: str) -> None:
    done: list[bool] = []
    window.search_finished.connect(lambda: done.append(True))
    window.search_field.setText(text)
    wait_for(lambda: bool(done), 60)
    model = window.results
    wait_for(
        lambda: all(
            model.data(model.index(i), 1) is not None for i in range(min(12, model.rowCount()))
        ),
        60,
    )
    if model.rowCount():
        window.grid.setCurrentIndex(model.index(0))
        wait_for(lambda: not window.preview.image.pixmap().isNull(), 30)


# Sample photo -> where it was "taken" and with what, for the places screenshot.
TRIP = {
    "chelsea.png": ((38.7139, -9.1394), "2021:05:01 10:00:00", ("Apple", "iPhone 13")),
    "coffee.png": ((38.7169, -9.1399), "2021:05:02 09:30:00", ("Apple", "iPhone 13")),
    "rocket.jpg": ((48.8584, 2.2945), "2019:08:10 18:00:00", ("Canon", "Canon EOS R5")),
    "astronaut.png": ((35.6586, 139.7454), "2018:03:03 12:00:00", None),
}


def places_shot(work: Path, photos: Path, out: Path, prefs: Preferences) -> None:
    """A library of GPS-tagged photos: a place typed in the query, the place and camera
    lists, the preview's place."""
    from PIL import Image

    from mmsearch.media.decode import camera_exif

    trip = work / "Holidays"
    trip.mkdir()
    for name, (gps, taken, camera) in TRIP.items():
        if (photos / name).is_file():
            with Image.open(photos / name) as im:
                exif = camera_exif(gps, taken, camera)
                im.convert("RGB").save(trip / f"{Path(name).stem}.jpg", quality=90, exif=exif)
    window = MainWindow(Library(work / "places-data"), prefs)
    window.indexer.read_text = False
    window.resize(1280, 760)
    window.show()
    window.add_folder(trip)
    wait_for(lambda: not window.indexer.running and window.place_filter.count() > 1, 120)
    search(window, "a cat in Lisbon")
    save(window, out, "places.png")
    window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/screenshots")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setStyle("Fusion")
    work = Path(tempfile.mkdtemp(prefix="mmsearch-shots-"))
    try:
        photos = gather_photos(work / "Photos")
        prefs = Preferences(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
        translators = install_translators(app, "en")
        window = MainWindow(Library(work / "data"), prefs)
        window.resize(1280, 800)
        window.show()
        save(window, out, "empty-state.png")

        progress: list[int] = []
        window.indexer.progress.connect(lambda done, total, rate, left: progress.append(done))
        window.add_folder(photos)
        window.show_folders()
        dialog = window.folders_dialog
        assert dialog is not None
        dialog.resize(820, 480)
        wait_for(lambda: any(d >= 3 for d in progress), 60)
        save(dialog, out, "folders-indexing.png")
        wait_for(lambda: not window.indexer.running, 300)
        dialog.close()

        search(window, "a dragonfly on a green leaf")
        save(window, out, "search-results.png")

        window.captions.captions.setPlainText(
            "a cat lying on a rug\n"
            "a cup of coffee on a saucer\n"
            "a rocket on its launch pad\n"
            "a red motorcycle\n"
            "an astronaut in a spacesuit"
        )
        window.rank_photo(photos / "coffee.png")
        window.captions.request_rank()
        wait_for(lambda: window.captions.ranking.rowCount() == 5, 60)
        wait_for(
            lambda: (
                window.captions.photo_label.pixmap() is not None
                and not window.captions.photo_label.pixmap().isNull()
            ),
            30,
        )
        save(window, out, "caption-ranking.png")

        settings = SettingsDialog(
            prefs,
            list_models(window.library.data_dir, window.library),
            window.library.model_id,
            window.library.data_dir,
            gpu_available=False,
            parent=window,
        )
        settings.show()
        save(settings, out, "settings.png")
        settings.close()
        switched: list[int] = []
        window.switcher.progress.connect(lambda done, total, rate, left: switched.append(done))
        window.switch_model(CONSE_MODEL_ID)
        wait_for(lambda: any(d >= 4 for d in switched), 120)
        save(window, out, "model-switch.png")
        wait_for(lambda: not window.switcher.running, 300)
        window.switch_model(BUNDLED_MODEL_ID)  # back: its vectors are all there, a rescan only
        wait_for(lambda: not window.switcher.running, 300)
        window.close()

        for translator in translators:
            app.removeTranslator(translator)
        install_translators(app, "zh_CN")
        chinese = MainWindow(window.library, prefs)
        chinese.resize(1280, 800)
        chinese.show()
        search(chinese, "a glass of red wine")
        save(chinese, out, "chinese-ui.png")
        chinese.close()

        install_translators(app, "en")
        places_shot(work, photos, out, prefs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

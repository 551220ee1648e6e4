"""The GUI thread's longest stall while 1,000 photos are indexed and 20 queries are typed.

A 5 ms timer in the GUI thread records when it actually fires; the longest gap between two
firings, minus the interval, is the longest time the window could not respond. Run with
`make bench-gui` (offscreen). Prints the figures; asserts nothing (machines are noisy).
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from importlib.resources import files
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from mmsearch.paths import repo_root
from mmsearch.services.library import Library
from mmsearch.services.workers import bounded_map
from mmsearch.ui.app import keep_gui_responsive, settle_memory
from mmsearch.ui.main_window import MainWindow
from mmsearch.ui.settings import Preferences

QUERIES = [
    "a dog running on the beach",
    "two kids playing in the snow",
    "a red car",
    "a man riding a bicycle",
    "sunset over the mountains",
    "a cup of coffee",
    "a cat sleeping on a sofa",
    "people at a concert",
    "a bridge over a river",
    "a bird on a branch",
    "a plate of food",
    "a city street at night",
    "a boat on a lake",
    "a child with a balloon",
    "flowers in a garden",
    "a football match",
    "an old building",
    "a forest path",
    "a horse in a field",
    "a girl in a pink dress",
]


def source_photos() -> list[Path]:
    found = sorted((repo_root().parent / "shared" / "photos-large").glob("*.jpg"))
    data = Path(str(files("skimage") / "data"))
    found += [data / n for n in ("chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png")]
    return found


def make_photos(folder: Path, count: int) -> None:
    """`count` distinct ~2 MP JPEGs cut from real photos."""
    folder.mkdir(parents=True)
    sources = []
    for path in source_photos():
        with Image.open(path) as im:
            im.draft("RGB", (1600, 1600))
            sources.append(ImageOps.exif_transpose(im).convert("RGB"))

    def make(i: int) -> None:
        rng = random.Random(i)
        src = sources[i % len(sources)]
        w, h = src.size
        scale = rng.uniform(0.6, 1.0)
        cw, ch = int(w * scale), int(h * scale)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        im = src.crop((x, y, x + cw, y + ch)).resize((1600, 1200) if cw >= ch else (1200, 1600))
        im.save(folder / f"photo_{i:04d}.jpg", quality=88)

    list(bounded_map(make, range(count)))


def spin(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=1000)
    args = parser.parse_args()
    keep_gui_responsive()  # as mmsearch.ui.app.main does
    _app = QApplication.instance() or QApplication([])  # kept alive for the run
    work = Path(tempfile.mkdtemp(prefix="mmsearch-stall-"))
    try:
        print(f"making {args.photos} photos ...", flush=True)
        make_photos(work / "photos", args.photos)
        prefs = Preferences(QSettings(str(work / "s.ini"), QSettings.Format.IniFormat))
        window = MainWindow(Library(work / "data"), prefs)
        window.resize(1280, 800)
        window.show()
        _ = window.library.model  # loaded before measuring, as the app does at start
        settle_memory()  # as mmsearch.ui.app.main does once the window is up
        spin(200)

        clock = QElapsedTimer()
        clock.start()
        gaps: list[float] = []
        last = [clock.nsecsElapsed()]

        def tick() -> None:
            now = clock.nsecsElapsed()
            gaps.append((now - last[0]) / 1e6)
            last[0] = now

        ticker = QTimer()
        ticker.setInterval(5)
        ticker.timeout.connect(tick)
        ticker.start()

        started = time.perf_counter()
        window.add_folder(work / "photos")
        searches = 0
        window.search_finished.connect(lambda: None)
        for query in QUERIES:
            window.search_field.clear()
            QTest.keyClicks(window.search_field, query, delay=20)  # a fast typist
            spin(600)
            searches += 1
        while window.indexer.running:
            spin(100)
        indexing_s = time.perf_counter() - started
        ticker.stop()
        stalls = np.asarray(gaps) - 5.0
        counts = window.library.catalog.counts(window.library.model_id)
        print(
            f"indexed {counts['embedded']} photos in {indexing_s:.1f} s "
            f"({counts['embedded'] / indexing_s:.1f} photos/s) while typing {searches} queries"
        )
        print(
            f"GUI thread stall: longest {stalls.max():.1f} ms, p99 {np.percentile(stalls, 99):.1f} "
            f"ms, p50 {np.percentile(stalls, 50):.1f} ms over {len(stalls)} ticks of a 5 ms timer"
        )
        window.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

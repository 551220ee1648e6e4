"""Shared fixtures: the bundled model, real sample photos, a CLI runner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image, ImageOps

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the window's tests need no screen
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"  # none, never the user's

from mmsearch.cli import main
from mmsearch.media.decode import camera_exif
from mmsearch.paths import BUNDLED_MODEL_ID, CONSE_MODEL_ID, model_search_path, repo_root

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytestqt.qtbot import QtBot

    from mmsearch.ui.main_window import MainWindow
    from mmsearch.ui.settings import Preferences

pytest_plugins = ["tests.pg_support"]  # a real PostgreSQL server, for the shared library

REPO = repo_root()
SHARED = REPO.parent / "shared"


def _built_model(model_id: str) -> Path:
    """A model built by `make install`; built here if a bare pytest run lacks it."""
    for folder in model_search_path(Path("/nonexistent")):
        if (folder / model_id / "spec.json").is_file():
            return folder / model_id
    out = REPO / "build" / "models"
    subprocess.run(
        [sys.executable, "-m", "models.bundled.build", "--out", str(out), "--only", model_id],
        check=True,
        cwd=REPO,
    )
    return out / model_id


@pytest.fixture(scope="session")
def bundled_model_dir() -> Path:
    """The default model (the trained matching model), as `make install` builds it."""
    return _built_model(BUNDLED_MODEL_ID)


@pytest.fixture(scope="session")
def conse_model_dir() -> Path:
    """The ConSE model, the untrained one the default replaced (also built by install)."""
    return _built_model(CONSE_MODEL_ID)


def skimage_photo(name: str) -> Path:
    """A real photo that ships inside scikit-image (a test extra)."""
    return Path(str(files("skimage") / "data" / name))


# name in the test folder -> (scikit-image file, what it shows)
SAMPLE_PHOTOS = {
    "cat.png": "chelsea.png",
    "coffee.png": "coffee.png",
    "rocket.jpg": "rocket.jpg",
    "motorcycle.png": "motorcycle_left.png",
    "astronaut.png": "astronaut.png",
}


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    """A folder of real photos: a cat (twice, the second a cropped mirrored JPEG), coffee,
    a rocket, a motorcycle and an astronaut."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, source in SAMPLE_PHOTOS.items():
        shutil.copy(skimage_photo(source), folder / name)
    with Image.open(skimage_photo("chelsea.png")) as cat:
        w, h = cat.size
        ImageOps.mirror(cat.convert("RGB").crop((20, 10, w - 10, h - 20))).save(
            folder / "cat2.jpg", quality=90
        )
    return folder


def save_with_exif(
    source: Path,
    target: Path,
    gps: tuple[float, float] | None = None,
    taken: str | None = None,
    camera: tuple[str, str] | None = None,
) -> Path:
    """`source` saved as a JPEG at `target` with the EXIF a camera writes (`camera_exif`)."""
    exif = camera_exif(gps, taken, camera)
    with Image.open(source) as im:
        im.convert("RGB").save(target, quality=90, exif=exif)
    return target


# name -> (scikit-image photo, GPS, EXIF date, camera): real photos as a phone would tag them
PLACED_PHOTOS = {
    "cat.jpg": ("chelsea.png", (38.7139, -9.1394), "2021:05:01 10:00:00", ("Apple", "iPhone 13")),
    "coffee.jpg": ("coffee.png", (38.7169, -9.1399), "2021:05:02 09:30:00", ("Apple", "iPhone 13")),
    "rocket.jpg": (
        "rocket.jpg",
        (48.8584, 2.2945),
        "2019:08:10 18:00:00",
        ("Canon", "Canon EOS R5"),
    ),
    "astronaut.jpg": ("astronaut.png", (35.6586, 139.7454), "2018:03:03 12:00:00", None),
}


@pytest.fixture
def placed_folder(tmp_path: Path) -> Path:
    """Real photos tagged as phones tag them: two in Lisbon and one in Paris (with GPS,
    date and camera), one in Tokyo without a camera; one without EXIF named as a phone
    names it (IMG_20230714_153012.jpg) and one without EXIF nor a dated name."""
    folder = tmp_path / "placed"
    folder.mkdir()
    for name, (source, gps, taken, camera) in PLACED_PHOTOS.items():
        save_with_exif(skimage_photo(source), folder / name, gps, taken, camera)
    save_with_exif(skimage_photo("motorcycle_left.png"), folder / "IMG_20230714_153012.jpg")
    plain = save_with_exif(skimage_photo("coins.png"), folder / "scan.jpg")
    when = datetime(2016, 2, 29, 8, 0).timestamp()
    os.utime(plain, (when, when))
    return folder


@pytest.fixture
def home(tmp_path: Path, bundled_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data folder, through MMSEARCH_HOME as a user would set it."""
    data = tmp_path / "data"
    monkeypatch.setenv("MMSEARCH_HOME", str(data))
    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
    return data


CliRunner = Callable[..., Any]


@pytest.fixture
def cli(home: Path, capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run `mmsearch ARGS --json` in-process and return the parsed JSON (and exit code)."""

    def run(*args: str, expect: int = 0) -> Any:
        capsys.readouterr()
        code = main([*args, "--json"])
        out = capsys.readouterr().out
        assert code == expect, out
        return json.loads(out) if out.strip() else None

    return run


def run_mmsearch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m mmsearch ARGS` in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "mmsearch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def subprocess_env(home: Path, model_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(MMSEARCH_HOME=str(home), MMSEARCH_MODELS=str(model_dir.parent), PYTHONUNBUFFERED="1")
    return env


# -- the window's tests (Qt is imported only by the tests that use these) ----------------------


@pytest.fixture
def prefs(tmp_path: Path) -> Preferences:
    """Settings in a temporary INI file, never the user's."""
    from PySide6.QtCore import QSettings

    from mmsearch.ui.settings import Preferences

    return Preferences(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def window(
    qtbot: QtBot,
    tmp_path: Path,
    bundled_model_dir: Path,
    prefs: Preferences,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MainWindow]:
    """The real main window on a fresh data folder, with the bundled model."""
    from mmsearch.services.library import Library
    from mmsearch.ui.main_window import MainWindow

    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
    win = MainWindow(Library(tmp_path / "data"), prefs)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()

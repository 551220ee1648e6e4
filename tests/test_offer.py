"""The model offer (size, languages, published quality, estimated time for this library) and
the language notice, in the window against the local hub imitation of tests/test_hub.py,
in the CLI, and the estimates themselves."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from clip_support import SPECS

from mmsearch.cli import main
from mmsearch.encoders import languages
from mmsearch.encoders.formats import hub_spec
from mmsearch.paths import CONSE_MODEL_ID
from mmsearch.services.models import get_spec, recommend

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from mmsearch.ui.main_window import MainWindow
    from mmsearch.ui.settings import Preferences

TEST_SOURCE = "test figure (tests/test_offer.py), not a published one"

# Figures for a test catalogue: ViT-B-32 (served by the hub imitation) and laion2b with
# measured speeds and quality, the others with their architecture's estimate only.
FIELDS: dict[str, dict[str, Any]] = {
    "clip-vit-b-32-openai": {
        "download_size": 605_000_000,
        "download_size_source": TEST_SOURCE,
        "quality": [
            {
                "metric": "text->image R@1",
                "dataset": "Flickr30k",
                "value": 58.8,
                "source": TEST_SOURCE,
            }
        ],
        "speed": {"photos_per_s": 7.4, "query_ms": 20, "machine": "reference", "command": "-"},
    },
    "clip-vit-b-32-laion2b": {
        "download_size": 605_000_000,
        "download_size_source": TEST_SOURCE,
        "quality": [
            {
                "metric": "text->image R@1",
                "dataset": "Flickr30k",
                "value": 66.8,
                "source": TEST_SOURCE,
            }
        ],
        "speed": {"photos_per_s": 7.0, "query_ms": 20, "machine": "reference", "command": "-"},
    },
}


def write_catalogue(folder: Path) -> Path:
    """The catalogue with the test's figures: FIELDS for its two entries, no published
    quality or measured speed for the others (so the picks depend on the test alone)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in SPECS.glob("*.json"):
        data = json.loads(path.read_text())
        data.update({"quality": [], "speed": None})
        data.update(FIELDS.get(data["id"], {}))
        (folder / path.name).write_text(json.dumps(data))
    return folder


@pytest.fixture
def catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The catalogue the app reads (models/specs/) with the new fields filled in."""
    folder = write_catalogue(tmp_path / "specs")
    monkeypatch.setattr(
        "mmsearch.services.models.catalogue.catalogue_files",
        lambda: sorted(folder.glob("*.json")),
    )
    return recommend.catalogue()


# -- the estimates (no Qt) ------------------------------------------------------------------


def test_query_languages_by_script() -> None:
    assert languages.query_languages("海滩上的狗") == ["zh"]
    assert languages.query_languages("a dog on a beach") == ["en"]
    assert languages.query_languages("犬がビーチにいる") == ["ja"]  # kanji + kana: Japanese
    assert languages.query_languages("해변의 개") == ["ko"]
    assert languages.query_languages("собака на пляже") == ["ru"]
    assert languages.query_languages("café au lait") == ["latin"]
    assert languages.query_languages("2024 🐶 !") == []
    assert not languages.understands(["en"], "海滩上的狗")
    assert languages.understands(["en"], "a dog on a beach")
    assert languages.understands(["zh", "en"], "海滩上的狗 beach")
    assert languages.understands(["multilingual"], "собака")
    assert languages.understands(["fr"], "café au lait")
    assert not languages.understands(["zh"], "a dog")


def test_estimates_scale_with_this_machine(catalogue: list[Any]) -> None:
    entry = next(e for e in catalogue if e.id == "clip-vit-b-32-openai")
    reference = recommend.REFERENCE_BUNDLED_PHOTOS_PER_S
    assert recommend.estimated_photos_per_s(entry, reference) == pytest.approx(7.4)
    assert recommend.estimated_photos_per_s(entry, 2 * reference) == pytest.approx(14.8)
    assert recommend.estimated_photos_per_s(entry, None) is None
    # no speed of its own: its architecture's measured ratio
    mobile = next(e for e in catalogue if e.id == "mobileclip-s2")
    assert recommend.reference_photos_per_s(mobile) == (
        pytest.approx(recommend.RELATIVE_SPEED["open_clip:MobileCLIP-S2"] * reference),
        "architecture",
    )
    # an architecture nobody measured: no estimate, not a candidate
    datacomp = next(e for e in catalogue if e.id == "clip-vit-b-32-256-datacomp")
    assert recommend.reference_photos_per_s(datacomp) is None
    found = recommend.candidates(catalogue, reference, 12_000)
    assert 2 <= len(found) <= 3
    assert "clip-vit-b-32-256-datacomp" not in [c.id for c in found]
    best = found[0]
    assert best.id == "clip-vit-b-32-laion2b" and "best-quality" in best.reasons
    assert best.seconds == pytest.approx(12_000 / 7.0)
    assert recommend.describe_duration(best.seconds) == "about 30 min"
    assert any("fastest" in c.reasons for c in found)
    chinese = next(e for e in catalogue if e.id == "chinese-clip-vit-b-16")
    for found_zh in recommend.candidates(catalogue, reference, 10, ["zh"]):
        assert languages.understands(found_zh.languages, "海滩上的狗"), found_zh.id
    # a language only unmeasured models read: offered, its time unknown, never "fastest"
    unmeasured = hub_spec({**chinese.data, "architecture": {"cn_clip": "ViT-L-14"}})
    (only,) = recommend.candidates([unmeasured], reference, 10, ["zh"])
    assert only.seconds is None and only.reasons == ("fits", "languages")
    assert recommend.candidates([unmeasured], reference, 10) == []
    assert [recommend.describe_duration(s) for s in (30, 100, 2460, 12_000)] == [
        "under a minute",
        "about 2 min",
        "about 40 min",
        "about 3 h 20 min",
    ]


def test_machine_speed_times_the_bundled_model(bundled_model_dir: Path) -> None:
    speed = recommend.machine_speed(0.5, model_dir=bundled_model_dir)
    assert 0.5 < speed < 10_000


# -- the window -----------------------------------------------------------------------------


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    """tests/test_hub.py's hub imitation serving the recipe's ViT-B-32 export."""
    pytest.importorskip("open_clip")
    from clip_support import exported_model
    from test_hub import serving

    with serving(exported_model("clip-vit-b-32-openai")[1], monkeypatch) as served:
        yield served


def new_window(
    qtbot: QtBot, data: Path, prefs: Preferences, model_id: str | None = None
) -> MainWindow:
    from mmsearch.services.library import Library
    from mmsearch.ui.main_window import MainWindow

    window = MainWindow(Library(data, model_id), prefs)
    qtbot.addWidget(window)
    window.show()
    return window


@pytest.fixture
def offer_env(
    catalogue: list[Any],
    bundled_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))


def indexed(qtbot: QtBot, window: MainWindow, folder: Path) -> None:
    with qtbot.waitSignal(window.indexer.finished, timeout=120_000):
        window.add_folder(folder)


def test_first_start_offers_models_from_the_catalogue_without_a_request(
    qtbot: QtBot,
    tmp_path: Path,
    prefs: Preferences,
    photo_folder: Path,
    hub: tuple[Any, str],
    offer_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, endpoint = hub
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    assert prefs.check_updates is False  # the default: nothing at start
    quiet = new_window(qtbot, tmp_path / "data", prefs)
    indexed(qtbot, quiet, photo_folder)
    qtbot.wait(100)
    assert quiet.offer is None
    quiet.close()

    prefs.check_updates = True
    window = new_window(qtbot, tmp_path / "data", prefs)
    qtbot.waitUntil(lambda: window.offer is not None and window.offer.isVisible(), timeout=5000)
    offer = window.offer
    assert offer is not None
    # this machine's speed is measured (a few seconds), then every card has a time
    qtbot.waitUntil(lambda: "for your 6 photos" in offer.cards[0].time_label.text(), timeout=30_000)
    assert 2 <= len(offer.cards) <= 3
    card = offer.card("clip-vit-b-32-openai")
    assert card is not None
    details = card.details.text()
    assert "605 MB" in details and "English" in details
    assert "58.8" in details and TEST_SOURCE in details and "Flickr30k" in details
    assert "for your 6 photos on this computer" in card.time_label.text()
    assert card.use_button.isEnabled()
    assert prefs.machine_speed(recommend.speed_key()) is not None  # remembered
    assert state.requests == []  # nothing went over the network
    window.close()


def test_not_now_is_remembered(
    qtbot: QtBot, tmp_path: Path, prefs: Preferences, offer_env: None
) -> None:
    prefs.check_updates = True
    prefs.set_machine_speed(recommend.speed_key(), 10.0)
    window = new_window(qtbot, tmp_path / "data", prefs)
    qtbot.waitUntil(lambda: window.offer is not None and window.offer.isVisible(), timeout=5000)
    assert window.offer is not None
    window.offer.not_now.click()
    assert prefs.model_offer == "not-now"
    window.close()
    again = new_window(qtbot, tmp_path / "data", prefs)
    qtbot.wait(200)
    assert again.offer is None
    again.close()


def test_settings_opens_the_offer(
    qtbot: QtBot, tmp_path: Path, prefs: Preferences, offer_env: None
) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from mmsearch.ui.settings import SettingsDialog

    prefs.set_machine_speed(recommend.speed_key(), 10.0)
    window = new_window(qtbot, tmp_path / "data", prefs)
    qtbot.wait(100)
    assert window.offer is None  # update checks are off

    def click() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, SettingsDialog):
            QTimer.singleShot(50, click)
            return
        assert not dialog.check_updates.isChecked()
        dialog.offer_button.click()

    QTimer.singleShot(50, click)
    window.show_settings()
    qtbot.waitUntil(lambda: window.offer is not None and window.offer.isVisible(), timeout=5000)
    window.close()


def test_offline_the_bundled_model_stays_and_the_offer_waits(
    qtbot: QtBot,
    tmp_path: Path,
    prefs: Preferences,
    offer_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as s:  # a port nobody listens on: no network
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    prefs.check_updates = True
    prefs.set_machine_speed(recommend.speed_key(), 10.0)
    window = new_window(qtbot, tmp_path / "data", prefs)
    qtbot.waitUntil(lambda: window.offer is not None and window.offer.isVisible(), timeout=5000)
    before = window.library.model_id
    assert window.offer is not None
    card = window.offer.card("clip-vit-b-32-openai")
    assert card is not None
    with qtbot.waitSignal(window.switcher.failed, timeout=60_000):
        card.use_button.click()
    assert window.library.model_id == before
    assert prefs.model_offer == ""  # not answered: offered again
    assert "shown again next time" in window.statusBar().currentMessage()
    window.close()
    again = new_window(qtbot, tmp_path / "data", prefs)
    qtbot.waitUntil(lambda: again.offer is not None, timeout=5000)
    again.close()


@pytest.mark.slow
def test_picking_a_candidate_downloads_it_and_switches(
    qtbot: QtBot,
    tmp_path: Path,
    prefs: Preferences,
    photo_folder: Path,
    hub: tuple[Any, str],
    offer_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mmsearch.services.library import read_active_model

    state, endpoint = hub
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    for name in ("cat2.jpg", "astronaut.png", "motorcycle.png", "rocket.jpg"):
        (photo_folder / name).unlink()  # 2 photos: the download is the test, not embedding
    window = new_window(qtbot, tmp_path / "data", prefs)
    indexed(qtbot, window, photo_folder)
    prefs.set_machine_speed(recommend.speed_key(), recommend.REFERENCE_BUNDLED_PHOTOS_PER_S)
    offer = window.show_model_offer()
    card = offer.card("clip-vit-b-32-openai")
    assert card is not None and "for your 2 photos" in card.time_label.text()
    assert state.requests == []
    with qtbot.waitSignal(window.switcher.finished, timeout=300_000):
        card.use_button.click()
    assert any(r[0] == "GET" for r in state.requests)
    assert window.library.model_id == "clip-vit-b-32-openai"
    assert read_active_model(tmp_path / "data") == "clip-vit-b-32-openai"
    assert prefs.model_offer == "chosen:clip-vit-b-32-openai"
    window.close()


@pytest.fixture
def english_window(
    qtbot: QtBot, tmp_path: Path, prefs: Preferences, conse_model_dir: Path, offer_env: None
) -> Iterator[MainWindow]:
    """The window on an English-only model (the ConSE one: the default reads Chinese)."""
    from mmsearch.services.library import Library
    from mmsearch.ui.main_window import MainWindow

    window = MainWindow(Library(tmp_path / "data", CONSE_MODEL_ID), prefs)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


def test_language_notice_for_a_query_the_model_does_not_read(
    qtbot: QtBot, english_window: MainWindow, catalogue: list[Any]
) -> None:
    window = english_window
    with qtbot.waitSignal(window.search_finished, timeout=30_000):
        window.search_field.setText("海滩上的狗")
        window.run_search()
    assert window.notice_bar.isVisible()
    assert "Chinese" in window.notice_label.text()
    assert window.notice_button.isVisible()
    window.prefs.set_machine_speed(recommend.speed_key(), 10.0)
    window.notice_button.click()
    offer = window.offer
    assert offer is not None and offer.languages == ("zh",)
    offered = [c.candidate.id for c in offer.cards]
    readers = {e.id for e in catalogue if languages.understands(e.languages, "海滩上的狗")}
    assert offered and set(offered) <= readers
    details = [card.details.text() for card in offer.cards]
    assert all("Chinese" in d or "many languages" in d for d in details), details
    offer.close()
    with qtbot.waitSignal(window.search_finished, timeout=30_000):
        window.search_field.setText("a dog on a beach")
        window.run_search()
    assert not window.notice_bar.isVisible()


def test_cli_search_prints_the_language_notice(
    home: Path, conse_model_dir: Path, photo_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    english = ["--model", CONSE_MODEL_ID]  # an English-only model: the default reads Chinese
    assert main([*english, "index", str(photo_folder), "--json"]) == 0
    capsys.readouterr()
    assert main([*english, "search", "海滩上的狗", "--json"]) == 0
    out, err = capsys.readouterr()
    assert isinstance(json.loads(out), list)  # the hits, as before
    notice = json.loads(err.strip().splitlines()[-1])["notice"]
    assert notice["languages"] == ["zh"]
    suggested = get_spec(notice["suggestion"])  # a catalogue model that reads Chinese
    assert languages.understands(suggested.languages, "海滩上的狗")
    assert notice["downloadable"] == bool(suggested.hub_repo)
    assert main([*english, "search", "海滩上的狗"]) == 0
    assert "notice: This query looks Chinese" in capsys.readouterr().err
    assert main([*english, "search", "a dog on a beach", "--json"]) == 0
    assert "notice" not in capsys.readouterr().err


def test_the_notice_and_the_offer_are_translated(
    qtbot: QtBot,
    tmp_path: Path,
    prefs: Preferences,
    catalogue: list[Any],
    offer_env: None,
    conse_model_dir: Path,
) -> None:
    from PySide6.QtWidgets import QApplication

    from mmsearch.ui.app import install_translators

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    translators = install_translators(app, "zh_CN")
    try:
        assert translators, "the compiled Chinese translation is missing: run `make install`"
        prefs.set_machine_speed(recommend.speed_key(), 10.0)
        window = new_window(qtbot, tmp_path / "data", prefs, CONSE_MODEL_ID)
        window.show_language_notice("海滩上的狗")
        assert "当前模型读不懂" in window.notice_label.text()
        assert window.notice_button.text() == "能读中文的模型…"
        window.notice_button.click()
        assert window.offer is not None
        assert window.offer.not_now.text() == "以后再说"
        details = [card.details.text() for card in window.offer.cards]
        assert any("语言：中文" in d for d in details)  # Chinese-CLIP
        assert any("语言：多种语言" in d for d in details)  # a multilingual model
        window.close()
    finally:
        for translator in translators:
            app.removeTranslator(translator)
        install_translators(app, "en")

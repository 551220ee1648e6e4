"""Places, cameras and dates (issue 12 §3): GPS from EXIF, offline reverse geocoding, dates
from file names and file times, the details pass, the filters, a place named in a query,
in the catalog, the CLI and the window."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image

from mmsearch.media.dates import best_date, date_from_name
from mmsearch.media.decode import read_details
from mmsearch.places import geocoder as geo
from mmsearch.places.geocoder import Geocoder
from tests.conftest import CliRunner, save_with_exif, skimage_photo

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from mmsearch.ui.main_window import MainWindow


@pytest.fixture(scope="module")
def geocoder() -> Geocoder:
    try:
        return Geocoder()
    except Exception as e:  # a checkout without `make install`
        pytest.skip(f"the place database is not built ({e}): run `make install`")


# -- reverse geocoding -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon", "city", "region", "country"),
    [
        (38.7139, -9.1394, "Lisbon", "Lisbon", "Portugal"),  # Rossio
        (48.8584, 2.2945, "Paris", "Île-de-France", "France"),  # the Eiffel tower
        (40.7580, -73.9855, "New York City", "New York", "United States"),  # Times Square
        (35.6586, 139.7454, "Tokyo", "Tokyo", "Japan"),  # Tokyo tower (in Minato: Tokyo's)
        (-33.8568, 151.2153, "Sydney", "New South Wales", "Australia"),  # the Opera House
        (31.2304, 121.4737, "Shanghai", "Shanghai", "China"),  # People's Square
        # Across the river a district of 5.7M is its own town; its region names Shanghai.
        (31.2400, 121.4900, "Pudong", "Shanghai", "China"),  # the Bund
        (-22.9519, -43.2105, "Rio de Janeiro", "Rio de Janeiro", "Brazil"),  # Corcovado
    ],
)
def test_landmarks_are_named_after_their_city(
    geocoder: Geocoder, lat: float, lon: float, city: str, region: str, country: str
) -> None:
    place = geocoder.locate(lat, lon)
    assert place is not None
    assert (place.city, place.region, place.country) == (city, region, country)


def test_far_from_any_town_names_no_town_and_the_open_sea_nothing(geocoder: Geocoder) -> None:
    assert geocoder.locate(0.0, -140.0) is None  # the middle of the Pacific
    assert geocoder.locate(91.0, 0.0) is None and geocoder.locate(float("nan"), 0.0) is None
    # In the Sahara, ~60 km from the nearest town: Algeria, no town.
    far = geocoder.locate(26.0, 5.0)
    if far is not None:
        assert far.city is None and far.country_code == "DZ"


def test_the_latitude_band_finds_the_same_nearest_place_as_brute_force(
    geocoder: Geocoder,
) -> None:
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.uniform(-60, 70, 300), rng.uniform(-180, 180, 300)])
    for lat, lon in points:
        got = geocoder._nearest(float(lat), float(lon), geo.REGION_KM)
        km = geo._km(float(lat), float(lon), geocoder._lat, geocoder._lon)
        best = int(np.argmin(km))
        if km[best] > geo.REGION_KM:
            assert got is None
        else:
            assert got is not None and abs(got[1] - km[best]) < 1e-6


def test_other_names_include_chinese_and_local_ones(geocoder: Geocoder) -> None:
    lisbon = geocoder.locate(38.7139, -9.1394)
    assert lisbon is not None
    assert {"Lisboa", "里斯本"} <= set(geocoder.other_names(lisbon.entry))


def test_a_damaged_place_database_is_an_error_that_names_the_fix(
    geocoder: Geocoder, tmp_path: Path
) -> None:
    from mmsearch.encoders.spec import ModelError

    copy = tmp_path / "geonames"
    shutil.copytree(geocoder.folder, copy)
    with open(copy / geo.DATA_FILE, "r+b") as f:
        f.seek(1000)
        f.write(b"\0" * 16)
    with pytest.raises(ModelError, match="make install"):
        Geocoder(copy)


# -- the file: GPS and dates -------------------------------------------------------------------


def test_gps_is_read_from_exif_with_its_hemispheres(tmp_path: Path) -> None:
    photo = skimage_photo("chelsea.png")
    south_west = save_with_exif(photo, tmp_path / "rio.jpg", gps=(-22.9519, -43.2105))
    lat, lon = read_details(south_west).gps or (0, 0)
    assert abs(lat + 22.9519) < 1e-4 and abs(lon + 43.2105) < 1e-4
    assert read_details(save_with_exif(photo, tmp_path / "none.jpg")).gps is None
    # (0, 0): what cameras write before they have a fix, not a place in the sea off Africa.
    assert read_details(save_with_exif(photo, tmp_path / "zero.jpg", gps=(0.0, 0.0))).gps is None
    dated = save_with_exif(photo, tmp_path / "d.jpg", taken="2020:01:02 03:04:05")
    assert read_details(dated).taken_at == datetime(2020, 1, 2, 3, 4, 5)


def test_broken_gps_and_files_pillow_cant_open_have_no_position(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (91.0, 0.0, 0.0), 3: "E", 4: (10.0, 0.0, 0.0)}  # latitude 91
    Image.new("RGB", (8, 8)).save(tmp_path / "bad.jpg", exif=exif)
    assert read_details(tmp_path / "bad.jpg").gps is None
    (tmp_path / "raw.nef").write_bytes(b"not a photo Pillow reads")
    assert read_details(tmp_path / "raw.nef").gps is None


@pytest.mark.parametrize(
    ("name", "when"),
    [
        ("IMG_20230714_153012.jpg", datetime(2023, 7, 14, 15, 30, 12)),
        ("PXL_20230714_153012345.jpg", datetime(2023, 7, 14, 15, 30, 12)),
        ("Screenshot_2023-07-14-15-30-12.png", datetime(2023, 7, 14, 15, 30, 12)),
        ("IMG-20230714-WA0001.jpg", datetime(2023, 7, 14)),  # WhatsApp
        ("2023-07-14 15.30.12.jpg", datetime(2023, 7, 14, 15, 30, 12)),
        ("signal-2023-07-14-153012.jpg", datetime(2023, 7, 14, 15, 30, 12)),
        ("DSC01234.jpg", None),
        ("IMG_9999.JPG", None),
        ("photo_123456789012.jpg", None),  # a counter, not a date
        ("20231301.jpg", None),  # month 13
        ("20190230_1200.jpg", None),  # 30 February
        ("19850101.jpg", None),  # before digital cameras wrote names
    ],
)
def test_dates_in_file_names(name: str, when: datetime | None) -> None:
    assert date_from_name(name) == when


def test_the_date_comes_from_exif_then_the_name_then_the_file() -> None:
    exif = datetime(2020, 1, 1)
    mtime = int(datetime(2016, 2, 29, 8, 0).timestamp() * 1e9)
    assert best_date(exif, "IMG_20230714_153012.jpg", mtime) == (exif, "exif")
    assert best_date(None, "IMG_20230714_153012.jpg", mtime)[1] == "name"
    assert best_date(None, "scan.jpg", mtime) == (datetime(2016, 2, 29, 8, 0), "file")
    assert best_date(None, "scan.jpg", 0) == (None, None)  # 1970: an unset clock


# -- the catalog -------------------------------------------------------------------------------


def test_a_0004_catalog_is_upgraded_and_its_photos_read_again(
    cli: CliRunner, home: Path, placed_folder: Path, geocoder: Geocoder
) -> None:
    from alembic import command

    from mmsearch.catalog.db import Catalog, _migrations_config

    cli("index", str(placed_folder), "--no-text")
    catalog = Catalog.open(home)
    with catalog.engine.begin() as conn:
        command.downgrade(_migrations_config(conn), "0004")
    catalog.close()
    with sqlite3.connect(home / "catalog.sqlite") as db:
        columns = {r[1] for r in db.execute("PRAGMA table_info(photos)")}
    assert "place_id" not in columns
    report = cli("index", "--no-text")  # what a user's next run after the upgrade does
    assert report["unchanged"] == 6 and report["added"] == 0
    assert report["details"]["read"] == 6 and report["details"]["with_gps"] == 4
    assert {p["city"]: p["photos"] for p in cli("places")} == {
        "Lisbon": 2,
        "Paris": 1,
        "Tokyo": 1,
    }
    assert cli("index", "--no-text")["details"]["read"] == 0  # read once


# -- the CLI -----------------------------------------------------------------------------------


def test_index_reads_places_cameras_and_dates(
    cli: CliRunner, placed_folder: Path, geocoder: Geocoder
) -> None:
    report = cli("index", str(placed_folder), "--no-text")
    details = report["details"]
    assert details["read"] == 6 and details["with_gps"] == 4
    assert details["dated_by_name"] == 1 and details["dated_by_file"] == 1
    assert details["place_error"] is None
    places = cli("places")
    assert places[0] == {
        "city": "Lisbon",
        "region": "Lisbon",
        "country": "Portugal",
        "country_code": "PT",
        "photos": 2,
    }
    assert cli("cameras") == [
        {"camera": "Apple iPhone 13", "photos": 2},
        {"camera": "Canon EOS R5", "photos": 1},
    ]
    status = cli("status")["details"]
    assert status["read"] == 6 and status["with_place"] == 4
    assert status["dated_from_name"] == 1 and status["dated_from_file"] == 1


def _names(hits: list[dict[str, object]]) -> list[str]:
    return [Path(str(h["path"])).name for h in hits]


def test_place_camera_and_type_filters(
    cli: CliRunner, placed_folder: Path, geocoder: Geocoder
) -> None:
    shutil.copy(skimage_photo("chelsea.png"), placed_folder / "cat.png")
    cli("index", str(placed_folder), "--no-text")
    assert sorted(_names(cli("search", "a photo", "--place", "Lisbon"))) == [
        "cat.jpg",
        "coffee.jpg",
    ]
    assert sorted(_names(cli("search", "a photo", "--place", "lisboa, portugal"))) == [
        "cat.jpg",
        "coffee.jpg",
    ]
    assert _names(cli("search", "a photo", "--place", "Île-de-France")) == ["rocket.jpg"]
    assert _names(cli("search", "a photo", "--place", "japan")) == ["astronaut.jpg"]
    assert sorted(_names(cli("search", "a photo", "--camera", "iphone"))) == [
        "cat.jpg",
        "coffee.jpg",
    ]
    assert _names(cli("search", "a cat", "--type", "png")) == ["cat.png"]
    assert "cat.png" not in _names(cli("search", "a cat", "--type", "jpeg", "--top", "50"))
    hits = cli("search", "a cat", "--place", "Lisbon", "--top", "1")
    assert hits[0]["place"] == "Lisbon, Portugal" and hits[0]["camera"] == "Apple iPhone 13"
    assert hits[0]["gps"] == [38.7139, -9.1394] and hits[0]["taken_from"] == "exif"
    similar = cli("similar", str(placed_folder / "cat.jpg"), "--place", "Lisbon")
    assert _names(similar) == ["coffee.jpg"]


def test_a_place_without_photos_is_an_error_that_lists_the_places(
    cli: CliRunner, placed_folder: Path, geocoder: Geocoder, capsys: pytest.CaptureFixture[str]
) -> None:
    from mmsearch.cli import main

    cli("index", str(placed_folder), "--no-text")
    assert main(["search", "a cat", "--place", "Reykjavik"]) != 0
    said = capsys.readouterr().err
    assert "Reykjavik" in said and "Lisbon" in said and "mmsearch places" in said


def test_a_place_named_in_the_query_becomes_a_filter_and_says_so(
    cli: CliRunner, placed_folder: Path, geocoder: Geocoder, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from mmsearch.cli import main

    cli("index", str(placed_folder), "--no-text")
    for query in ("a cat in Lisbon", "a cat in lisboa", "Lisbon cat", "里斯本的猫"):
        capsys.readouterr()
        assert main(["search", query, "--json"]) == 0
        out, err = capsys.readouterr()
        assert sorted(_names(json.loads(out))) == ["cat.jpg", "coffee.jpg"], query
        said = json.loads(err.strip().splitlines()[0])["place"]
        assert said["label"] == "Lisbon, Portugal" and said["query"] in ("a cat", "cat", "猫")
    # A region or a country names what it is, not one of its towns.
    for query, label, found in (
        ("a rocket in Île-de-France", "Île-de-France, France", ["rocket.jpg"]),
        ("a photo taken in Portugal", "Portugal", ["cat.jpg", "coffee.jpg"]),
    ):
        capsys.readouterr()
        assert main(["search", query, "--json"]) == 0
        out, err = capsys.readouterr()
        assert sorted(_names(json.loads(out))) == found
        assert json.loads(err.strip().splitlines()[0])["place"]["label"] == label
    # The cat first: the rest of the query is the visual one.
    assert _names(cli("search", "a cat in Lisbon"))[0] == "cat.jpg"
    # As typed: every photo, no place.
    assert len(cli("search", "a cat in Lisbon", "--no-place-guess")) == 6
    # Only the place: its photos, newest first.
    assert _names(cli("search", "Lisbon")) == ["coffee.jpg", "cat.jpg"]
    # A lower-case town name without "in" is not taken for a place; nor a town with no photo.
    assert len(cli("search", "a paris cat")) == 6
    assert len(cli("search", "a cat in Madrid")) == 6


def test_photos_without_exif_dates_are_dated_and_found_by_date(
    cli: CliRunner, placed_folder: Path
) -> None:
    cli("index", str(placed_folder), "--no-text")
    hits = {Path(h["path"]).name: h for h in cli("search", "a photo", "--top", "10")}
    assert hits["IMG_20230714_153012.jpg"]["taken_at"] == "2023-07-14T15:30:12"
    assert hits["IMG_20230714_153012.jpg"]["taken_from"] == "name"
    assert hits["scan.jpg"]["taken_at"] == "2016-02-29T08:00:00"
    assert hits["scan.jpg"]["taken_from"] == "file"
    after = _names(cli("search", "a photo", "--after", "2022-01-01"))
    assert after == ["IMG_20230714_153012.jpg"]
    assert _names(cli("search", "a photo", "--before", "2017-01-01")) == ["scan.jpg"]


def test_a_renamed_photo_is_dated_by_its_new_name(cli: CliRunner, placed_folder: Path) -> None:
    cli("index", str(placed_folder), "--no-text")
    os.rename(placed_folder / "scan.jpg", placed_folder / "IMG_20200101_120000.jpg")
    report = cli("index", "--no-text")
    assert report["moved"] == 1 and report["details"]["read"] == 1
    hits = {Path(h["path"]).name: h for h in cli("search", "a photo", "--top", "10")}
    assert hits["IMG_20200101_120000.jpg"]["taken_at"] == "2020-01-01T12:00:00"


def test_a_changed_photo_is_read_again(
    cli: CliRunner, placed_folder: Path, geocoder: Geocoder
) -> None:
    cli("index", str(placed_folder), "--no-text")
    save_with_exif(skimage_photo("rocket.jpg"), placed_folder / "rocket.jpg", gps=(38.72, -9.14))
    report = cli("index", "--no-text")
    assert report["updated"] == 1 and report["details"]["read"] == 1
    assert {p["city"]: p["photos"] for p in cli("places")} == {"Lisbon": 3, "Tokyo": 1}


def test_a_missing_place_database_keeps_positions_and_names_them_later(
    cli: CliRunner,
    placed_folder: Path,
    geocoder: Geocoder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MMSEARCH_PLACES", str(tmp_path / "no-places-here"))
    report = cli("index", str(placed_folder), "--no-text")
    assert report["added"] == 6 and "make install" in report["details"]["place_error"]
    assert report["details"]["with_gps"] == 4 and cli("places") == []
    monkeypatch.delenv("MMSEARCH_PLACES")
    again = cli("index", "--no-text")["details"]
    assert again["read"] == 0 and again["named"] == 4  # named from the stored positions
    assert len(cli("places")) == 3


def test_the_pass_stops_when_cancelled_and_resumes(
    home: Path, placed_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import update

    from mmsearch.catalog.models import Photo
    from mmsearch.services import details
    from mmsearch.services.indexing import Indexer
    from mmsearch.services.library import Library

    for i in range(6):  # 12 photos: copies are catalogued (and dated) on their own
        shutil.copy(placed_folder / "cat.jpg", placed_folder / f"cat-{i}.jpg")
    monkeypatch.setattr(details, "READS_PER_COMMIT", 2)
    with Library(home) as lib:
        lib.catalog.add_folder(placed_folder)
        Indexer(lib).run()
        with lib.catalog.session() as s:
            s.execute(update(Photo).values(details=None))  # as if never read
        cancel = threading.Event()

        def progress(done: int, _total: int, _path: object) -> None:
            if done == 4:
                cancel.set()

        first = details.update_details(lib, progress, cancel, workers=1)
        assert first.interrupted and 4 <= first.read <= 8  # the reads in flight finish
        second = details.update_details(lib)
        assert not second.interrupted and first.read + second.read == 12


# -- the window --------------------------------------------------------------------------------


def test_the_window_lists_places_and_cameras_and_filters_by_them(
    qtbot: QtBot, window: MainWindow, placed_folder: Path, geocoder: Geocoder
) -> None:
    from tests.test_ui import index_folder, type_query

    window.indexer.read_text = False
    seen: list[tuple[int, int]] = []
    window.indexer.details_progress.connect(lambda done, total, *_: seen.append((done, total)))
    index_folder(qtbot, window, placed_folder)
    assert seen[-1] == (6, 6)  # the details pass showed its progress
    places = [window.place_filter.itemText(i) for i in range(window.place_filter.count())]
    assert places[:3] == ["All places", "Portugal (2)", "    Lisbon (2)"]
    assert "Japan (1)" in places and "France (1)" in places
    cameras = [window.camera_filter.itemText(i) for i in range(window.camera_filter.count())]
    assert cameras == ["All cameras", "Apple iPhone 13 (2)", "Canon EOS R5 (1)"]
    assert len(type_query(qtbot, window, "a photo")) == 6
    with qtbot.waitSignal(window.search_finished, timeout=30_000):
        window.place_filter.setCurrentIndex(places.index("    Lisbon (2)"))
    assert sorted(window.results.hit(i).path.name for i in range(window.results.rowCount())) == [
        "cat.jpg",
        "coffee.jpg",
    ]
    with qtbot.waitSignal(window.search_finished, timeout=30_000):
        window.camera_filter.setCurrentIndex(2)  # Canon, in Lisbon: none
    assert window.results.rowCount() == 0
    assert "Canon EOS R5" in window.message.text() and "Lisbon" in window.message.text()


def test_the_window_says_when_it_took_a_word_for_a_place_and_undoes_it(
    qtbot: QtBot, window: MainWindow, placed_folder: Path, geocoder: Geocoder
) -> None:
    from tests.test_ui import index_folder, type_query

    window.indexer.read_text = False
    index_folder(qtbot, window, placed_folder)
    found = type_query(qtbot, window, "a cat in Lisbon")
    assert sorted(found) == ["cat.jpg", "coffee.jpg"] and found[0] == "cat.jpg"
    assert window.place_note.isVisibleTo(window) and window.place_undo.isVisibleTo(window)
    assert window.place_note.text() == "In Lisbon, Portugal: a cat"
    with qtbot.waitSignal(window.search_finished, timeout=30_000):
        window.place_undo.click()
    assert window.results.rowCount() == 6
    assert not window.place_note.isVisibleTo(window)
    # Another query guesses again.
    type_query(qtbot, window, "coffee in Lisbon")
    assert window.place_note.isVisibleTo(window)


def test_the_preview_shows_where_a_date_came_from_and_newest_first_includes_them(
    qtbot: QtBot, window: MainWindow, placed_folder: Path, geocoder: Geocoder
) -> None:
    from mmsearch.ui.results import SORT_DATE
    from tests.test_ui import index_folder, type_query

    window.indexer.read_text = False
    index_folder(qtbot, window, placed_folder)
    type_query(qtbot, window, "a photo")
    window.sort_order.setCurrentIndex(window.sort_order.findData(SORT_DATE))
    order = [window.results.hit(i).path.name for i in range(window.results.rowCount())]
    assert order == [
        "IMG_20230714_153012.jpg",
        "coffee.jpg",
        "cat.jpg",
        "rocket.jpg",
        "astronaut.jpg",
        "scan.jpg",
    ]
    window.grid.setCurrentIndex(window.results.index(0))
    assert window.preview.fields["taken"].text() == "2023-07-14 15:30 (from the file name)"
    window.grid.setCurrentIndex(window.results.index(5))
    assert "the file's time" in window.preview.fields["taken"].text()
    window.grid.setCurrentIndex(window.results.index(1))
    assert window.preview.fields["place"].text() == "Lisbon, Portugal"
    assert window.preview.fields["camera"].text() == "Apple iPhone 13"

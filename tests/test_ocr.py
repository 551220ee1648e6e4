"""Text in photos (issue 12 §1): the OCR reader (PP-OCRv4 on ONNX Runtime, our own pre-
and post-processing), the catalog's FTS5 text index, the background pass after indexing,
`text:` searches and words merged into ordinary searches, in the CLI and the window."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from conftest import REPO, SHARED, CliRunner, skimage_photo
from PIL import Image, ImageDraw, ImageFont

from mmsearch.ocr import geometry, words
from mmsearch.ocr.reader import TextLine, TextReader, default_folder

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from mmsearch.ui.main_window import MainWindow

LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
CJK_FONTS = [
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
]


@pytest.fixture(scope="session")
def reader() -> TextReader:
    """The OCR model `make install` copies into build/ocr/ (copied here if a bare pytest
    run lacks it)."""
    if not (default_folder() / "ocr.json").is_file():
        from models.bundled import ocr

        ocr.build(REPO / "build" / "ocr")
    return TextReader()


def _font(size: int, path: Path = LATIN_FONT) -> ImageFont.FreeTypeFont:
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)  # Pillow's own face: no system font needed


def sign(photo: Path, out: Path, text: str, angle: float = 0.0, font: Path = LATIN_FONT) -> Path:
    """A real photo with `text` on a plate, about 40 px high, turned by `angle` degrees."""
    with Image.open(photo) as im:
        base = im.convert("RGB")
    face = _font(40, font)
    left, top, right, bottom = face.getbbox(text)
    layer = Image.new("RGBA", (right - left + 24, bottom - top + 24), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.rounded_rectangle((0, 0, layer.width - 1, layer.height - 1), 8, fill=(250, 245, 230))
    draw.text((12 - left, 12 - top), text, font=face, fill=(20, 30, 90))
    layer = layer.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
    base.paste(layer, (30, 40), layer)
    base.save(out, quality=92)
    return out


# -- geometry: connected components and rotated boxes, without OpenCV ---------------------------


def test_components_are_eight_connected_blobs() -> None:
    mask = np.zeros((10, 12), dtype=bool)
    mask[1:3, 1:4] = True  # a block
    mask[3, 4] = True  # touches it diagonally: the same blob
    mask[6:9, 7:11] = True  # another
    blobs = geometry.components(mask)
    pixels = sorted(int((b[:, 2] - b[:, 1]).sum()) for b in blobs)
    assert pixels == [7, 12]


def test_min_area_rect_finds_a_turned_rectangle() -> None:
    angle = np.deg2rad(20)
    corners = geometry.rect_corners(np.array([50.0, 40.0]), 60.0, 12.0, angle)
    rng = np.random.default_rng(0)
    inside = corners[0] + rng.random((400, 1)) * (corners[1] - corners[0])
    inside = inside + rng.random((400, 1)) * (corners[3] - corners[0])
    points = np.vstack([corners, inside])
    centre, width, height, found = geometry.min_area_rect(points)
    assert np.allclose(centre, [50, 40], atol=0.5)
    assert width == pytest.approx(60, abs=0.5) and height == pytest.approx(12, abs=0.5)
    assert found == pytest.approx(angle, abs=1e-3)


def test_a_tall_box_is_turned_to_read_left_to_right() -> None:
    image = Image.new("RGB", (100, 200), "white")
    box = geometry.Box(np.array([[40.0, 20.0], [60.0, 20.0], [60.0, 180.0], [40.0, 180.0]]), 1.0)
    line = geometry.crop(image, box, 48)
    assert line.height == 48 and line.width == 384  # 160 x 20 turned, scaled to 48 high


# -- the reader ----------------------------------------------------------------------------------


@pytest.mark.parametrize("angle", [0.0, 18.0])
def test_the_reader_reads_a_sign_on_a_real_photo(
    reader: TextReader, tmp_path: Path, angle: float
) -> None:
    path = sign(skimage_photo("rocket.jpg"), tmp_path / "sign.jpg", "INVOICE", angle)
    with Image.open(path) as im:
        lines = reader.read(im)
    assert [line.text.upper() for line in lines] == ["INVOICE"], lines
    (x0, y0), (x1, _), _, (_, y3) = lines[0].box
    assert 0 < x0 < x1 < 1 and 0 < y0 < y3 < 1  # its corners, as fractions of the photo


def test_a_photo_without_text_reads_nothing(reader: TextReader) -> None:
    with Image.open(skimage_photo("coffee.png")) as im:
        assert reader.read(im) == []


def test_chinese_text_is_read(reader: TextReader, tmp_path: Path) -> None:
    font = next((f for f in CJK_FONTS if f.is_file()), None)
    if font is None:
        pytest.skip("no Chinese font: apt-get install fonts-wqy-microhei (.ci/run does)")
    path = sign(skimage_photo("astronaut.png"), tmp_path / "cn.jpg", "生日快乐", font=font)
    with Image.open(path) as im:
        assert [line.text for line in reader.read(im)] == ["生日快乐"]


def test_same_text_as_the_package_the_models_come_from(reader: TextReader, tmp_path: Path) -> None:
    """Our numpy/Pillow pipeline against rapidocr-onnxruntime's OpenCV one, same graphs."""
    if importlib.util.find_spec("cv2") is None:
        pytest.skip("OpenCV is not installed (rapidocr-onnxruntime brings it)")
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as e:
        pytest.skip(f"rapidocr-onnxruntime can't be imported here: {e}")
    theirs = RapidOCR()
    for i, (text, angle) in enumerate([("Fresh Bakery", 0.0), ("PARKING 24", 12.0)]):
        path = sign(skimage_photo("rocket.jpg"), tmp_path / f"s{i}.jpg", text, angle)
        found, _ = theirs(str(path))
        with Image.open(path) as im:
            ours = [line.text for line in reader.read(im)]
        assert ours == [r[1] for r in found or []], (text, ours, found)


# -- words: what a query asks of the text index -------------------------------------------------


def test_queries_ask_their_content_words() -> None:
    assert words.text_query("a sign that says open").terms == ("open",)
    assert words.text_query("two kids on a beach").terms == ("two", "kids", "beach")
    asked = words.text_query("text:Invoice 2024")
    assert asked.only_text and asked.terms == ("invoice", "2024")
    assert words.text_query("写着生日快乐的横幅").terms == ("生日快乐", "横幅")
    assert words.text_query("text: ok").terms == ("ok",)  # text: keeps even short words


@pytest.mark.parametrize(
    ("line", "term", "found"),
    [
        ("invoice2024", "invoice", True),  # a run-together line: letters, then digits
        ("invoices", "invoice", True),
        ("the theatre", "theatre", True),
        ("theatre", "the", False),  # a short word is never part of a longer one
        ("book", "ok", False),
        ("安全出口", "出口", True),  # Chinese has no spaces: anywhere
        ("abc中文", "abc", True),
        ("room 2024b", "2024", True),
    ],
)
def test_word_matching_rules(line: str, term: str, found: bool) -> None:
    assert words.contains(line, term) is found


# -- the catalog's text index -------------------------------------------------------------------


def _catalog_with_photos(tmp_path: Path, n: int) -> tuple[object, list[int]]:
    from mmsearch.catalog.db import Catalog, PhotoRecord

    catalog = Catalog.open(tmp_path / "data")
    folder, _ = catalog.add_folder(tmp_path / "photos")
    vector = np.ones(8, dtype=np.float32) / np.sqrt(8)
    records = [
        PhotoRecord(tmp_path / "photos" / f"{i}.jpg", 10, 20, f"h{i}", 64, 48, None, None, vector)
        for i in range(n)
    ]
    catalog.add_photos(folder.id, "m", records)
    return catalog, sorted(int(i) for i in catalog.embedding_ids("m"))


def _lines(*texts: str) -> tuple[str, str]:
    lines = [TextLine(t, 0.9, ((0, 0), (1, 0), (1, 1), (0, 1))) for t in texts]
    return words.search_form(lines), words.lines_json(lines)


def test_the_text_index_finds_words_and_forgets_deleted_photos(tmp_path: Path) -> None:
    catalog, ids = _catalog_with_photos(tmp_path, 4)
    catalog.store_texts("r/1", {ids[0]: _lines("HAPPY BIRTHDAY"), ids[1]: _lines("生日快乐")})
    catalog.store_texts("r/1", {ids[2]: ("", "[]")})  # read: no text
    assert catalog.photos_to_read("r/1", "m") == [(ids[3], tmp_path / "photos" / "3.jpg")]
    assert len(catalog.photos_to_read("r/2", "m")) == 4  # a new reader reads them all again
    assert set(catalog.text_matches(("birthday",))) == {ids[0]}
    assert set(catalog.text_matches(("生日",))) == {ids[1]}  # two characters: no trigram
    assert set(catalog.text_matches(("happy", "birthday"))) == {ids[0]}
    assert catalog.text_matches(("happy", "生日")) == {}
    assert catalog.text_counts("r/1") == {"read": 3, "with_text": 2}
    catalog.delete_photos([ids[0]])
    assert catalog.text_matches(("birthday",)) == {}  # the FTS row went with it (trigger)
    catalog.store_texts("r/1", {ids[1]: _lines("新年快乐")})  # read again: replaced
    assert catalog.text_matches(("生日",)) == {} and set(catalog.text_matches(("新年",))) == {
        ids[1]
    }


def test_a_0003_catalog_is_upgraded_and_its_photos_read(tmp_path: Path) -> None:
    from alembic import command

    from mmsearch.catalog.db import Catalog, _migrations_config

    catalog, ids = _catalog_with_photos(tmp_path, 2)
    with catalog.engine.begin() as conn:
        command.downgrade(_migrations_config(conn), "0003")
    catalog.close()
    tables = {
        r[0]
        for r in sqlite3.connect(tmp_path / "data" / "catalog.sqlite").execute(
            "SELECT name FROM sqlite_master"
        )
    }
    assert not {"photo_text", "photo_text_fts", "photo_text_ai"} & tables
    reopened = Catalog.open(tmp_path / "data")
    assert reopened.schema_version() == "0008"
    assert [i for i, _ in reopened.photos_to_read("r/1", "m")] == ids  # kept, to be read
    reopened.store_texts("r/1", {ids[0]: _lines("OPEN")})
    assert set(reopened.text_matches(("open",))) == {ids[0]}


# -- the pass, the CLI and search ---------------------------------------------------------------


@pytest.fixture
def signs(photo_folder: Path) -> Path:
    """The sample photos plus two signs: INVOICE on the rocket, PIZZA on the motorcycle."""
    sign(skimage_photo("rocket.jpg"), photo_folder / "invoice.jpg", "INVOICE")
    sign(skimage_photo("motorcycle_left.png"), photo_folder / "pizza.jpg", "Pizza", 10.0)
    return photo_folder


def test_index_reads_text_and_text_queries_find_it(
    cli: CliRunner, signs: Path, reader: TextReader
) -> None:
    report = cli("index", str(signs))
    assert report["added"] == 8
    text = report["text"]
    assert text["read"] == 8 and text["with_text"] == 2 and not text["interrupted"]
    assert cli("index")["text"]["read"] == 0  # done once per photo, not again
    only = cli("search", "text:invoice")
    assert [(Path(h["path"]).name, h["text"]) for h in only] == [("invoice.jpg", ["INVOICE"])]
    assert cli("search", "text:calendar") == []
    # A plain query: the photo whose text holds the word comes first, marked as such.
    merged = cli("search", "pizza", "--top", "3")
    assert Path(merged[0]["path"]).name == "pizza.jpg" and merged[0]["text"] == ["Pizza"]
    assert all("text" not in h for h in merged[1:])
    # Filters hold for text matches too.
    assert cli("search", "text:pizza", "--before", "1990-01-01") == []
    assert cli("search", "pizza", "--before", "1990-01-01") == []  # words found, all filtered


def test_a_changed_photo_is_read_again(cli: CliRunner, signs: Path, reader: TextReader) -> None:
    cli("index", str(signs))
    sign(skimage_photo("rocket.jpg"), signs / "invoice.jpg", "RECEIPT")
    report = cli("index")
    assert report["updated"] == 1 and report["text"]["read"] == 1
    assert cli("search", "text:invoice") == []
    assert [Path(h["path"]).name for h in cli("search", "text:receipt")] == ["invoice.jpg"]


def test_index_no_text_skips_the_pass(cli: CliRunner, signs: Path) -> None:
    report = cli("index", str(signs), "--no-text")
    assert "text" not in report
    assert cli("search", "text:invoice") == []


def test_the_pass_stops_when_cancelled_and_resumes(
    home: Path, signs: Path, reader: TextReader
) -> None:
    from mmsearch.services.indexing import Indexer
    from mmsearch.services.library import Library
    from mmsearch.services.text import read_texts

    with Library(home) as lib:
        lib.catalog.add_folder(signs)
        Indexer(lib).run()
        cancel = threading.Event()

        def progress(done: int, _total: int, _path: object) -> None:
            if done == 3:
                cancel.set()

        first = read_texts(lib, progress, cancel)
        assert first.interrupted and first.read == 3
        second = read_texts(lib)
        assert not second.interrupted and second.read == 5
        assert lib.catalog.text_counts(reader.version) == {"read": 8, "with_text": 2}


def test_a_missing_ocr_model_is_a_warning_not_a_failed_index(
    cli: CliRunner, signs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMSEARCH_OCR", str(tmp_path / "no-ocr-here"))
    report = cli("index", str(signs))
    assert report["added"] == 8 and "make install" in report["text"]["error"]
    assert "make install" in cli("status")["text"]["error"]


def test_status_counts_the_photos_read(cli: CliRunner, signs: Path, reader: TextReader) -> None:
    cli("index", str(signs))
    text = cli("status")["text"]
    assert text == {"reader": reader.version, "read": 8, "with_text": 2}


def test_a_text_query_without_words_says_what_to_type(cli: CliRunner, signs: Path) -> None:
    cli("index", str(signs), "--no-text")
    from mmsearch.cli import main

    assert main(["search", "text:  "]) != 0


# -- the window ---------------------------------------------------------------------------------


def test_the_window_reads_text_after_indexing_and_shows_the_words(
    qtbot: QtBot, window: MainWindow, signs: Path, reader: TextReader
) -> None:
    from PySide6.QtCore import Qt

    with qtbot.waitSignal(window.indexer.text_finished, timeout=180_000) as done:
        window.add_folder(signs)
    assert done.args[0].read == 8 and done.args[0].with_text == 2
    assert not window.indexer.running and not window.index_progress.isVisible()
    # The toggle is the window's `text:`: only the photo whose text holds the word.
    window.text_only.setChecked(True)
    window.search_field.clear()
    with qtbot.waitSignal(window.search_finished, timeout=30_000):
        qtbot.keyClicks(window.search_field, "invoice")
    assert window.results.rowCount() == 1
    hit = window.results.hit(0)
    assert hit.path.name == "invoice.jpg" and hit.text == ("INVOICE",)
    tooltip = window.results.data(window.results.index(0), Qt.ItemDataRole.ToolTipRole)
    assert "INVOICE" in str(tooltip)
    window.grid.setCurrentIndex(window.results.index(0))
    assert window.preview.fields["text"].text() == "INVOICE"
    # Off again: every photo, the sign first.
    with qtbot.waitSignal(window.search_finished, timeout=30_000):
        window.text_only.setChecked(False)
    assert window.results.rowCount() == 8 and window.results.hit(0).path.name == "invoice.jpg"


def test_a_missing_ocr_model_never_fails_indexing(
    qtbot: QtBot,
    window: MainWindow,
    signs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mmsearch.services import text

    monkeypatch.setenv("MMSEARCH_OCR", str(tmp_path / "no-ocr-here"))
    monkeypatch.setattr(text, "_readers", {})
    with qtbot.waitSignal(window.indexer.text_failed, timeout=120_000) as failed:
        window.add_folder(signs)
    assert "make install" in failed.args[0]
    assert window.library.catalog.counts(window.library.model_id)["embedded"] == 8
    assert "make install" in window.statusBar().currentMessage()


# -- the bar, on a small draw of the benchmark's set ------------------------------------


def test_word_recall_and_precision_on_real_photos(home: Path, reader: TextReader) -> None:
    """A smaller draw than benchmarks/ocr.py's (60 photos with words, 40 without): the
    figures in docs/photos.md come from the full run."""
    if not (SHARED / "evalset" / "flickr8k" / "images").is_dir():
        pytest.skip(f"{SHARED}/evalset/flickr8k is not here (the evaluation photos)")
    spec = importlib.util.spec_from_file_location("bench_ocr", REPO / "benchmarks" / "ocr.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_ocr"] = bench
    spec.loader.exec_module(bench)
    if not bench.available(bench.CJK_FONTS):
        pytest.skip("no Chinese font: apt-get install fonts-wqy-microhei (.ci/run does)")
    result = bench.measure(60, 40, seed=2, keep=None)
    print(json.dumps(result, ensure_ascii=False))
    assert result["word_recall"] >= 0.85, result["missed"]
    assert result["precision"] >= 0.98, result["false_photos"]
    assert result["r_precision_merged"] > result["r_precision_visual_only"]

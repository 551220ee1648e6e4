"""End to end through the command line, on real photos and the bundled model."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from PIL import Image

from mmsearch.cli import main
from tests.conftest import CliRunner


def names(hits: list[dict[str, object]]) -> list[str]:
    return [Path(str(h["path"])).name for h in hits]


def test_index_search_similar_rank(cli: CliRunner, photo_folder: Path) -> None:
    report = cli("index", str(photo_folder))
    assert report["added"] == 6 and report["failed"] == []

    hits = cli("search", "a cat", "--top", "3")
    assert names(hits)[0] in {"cat.png", "cat2.jpg"}
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert names(cli("search", "a cup of coffee", "--top", "1")) == ["coffee.png"]
    assert names(cli("search", "a motorcycle", "--top", "1")) == ["motorcycle.png"]

    similar = cli("similar", str(photo_folder / "cat.png"), "--top", "2")
    assert names(similar)[0] == "cat2.jpg"
    assert "cat.png" not in names(similar)

    ranked = cli(
        "rank",
        str(photo_folder / "coffee.png"),
        "a rocket on a launch pad",
        "a cup of coffee on a saucer",
        "a cat sleeping",
    )
    assert ranked[0]["caption"] == "a cup of coffee on a saucer"
    assert len(ranked) == 3

    # Combined queries: a photo part plus text, and an exclusion.
    combined = cli("search", f"{photo_folder / 'cat.png'} + a cup of coffee", "--top", "6")
    assert set(names(combined)[:3]) >= {"coffee.png"}
    excluded = cli("search", "an animal - a cat", "--top", "6")
    assert names(excluded)[-1] in {"cat.png", "cat2.jpg"}

    status = cli("status")
    assert status["photos"] == 6 and status["embedded"] == 6
    assert status["index"]["agrees_with_catalog"]


def test_reindex_follows_added_changed_deleted_and_renamed_files(
    cli: CliRunner, photo_folder: Path
) -> None:
    cli("index", str(photo_folder))
    assert cli("index")["unchanged"] == 6

    (photo_folder / "space").mkdir()
    (photo_folder / "astronaut.png").rename(photo_folder / "space" / "astro.png")
    (photo_folder / "motorcycle.png").unlink()
    with Image.open(photo_folder / "coffee.png") as im:
        im.rotate(90, expand=True).save(photo_folder / "coffee.png")
    shutil.copy(photo_folder / "rocket.jpg", photo_folder / "rocket copy.jpg")
    later = time.time() + 5
    os.utime(photo_folder / "cat.png", (later, later))  # touched, same bytes

    report = cli("index")
    assert report["moved"] == 1  # recognised by content hash: no decode, no re-embedding
    assert report["removed"] == 1
    assert report["updated"] == 1
    assert report["copied"] == 1
    assert report["added"] == 0
    assert report["unchanged"] == 3  # cat (touched: same bytes), cat2, rocket

    paths = {Path(h["path"]).name for h in cli("search", "a photo", "--top", "50")}
    assert paths == {
        "cat.png",
        "cat2.jpg",
        "coffee.png",
        "rocket.jpg",
        "rocket copy.jpg",
        "astro.png",
    }
    status = cli("status")
    assert status["photos"] == 6 and status["index"]["vectors"] == 6
    # a removed folder forgets its photos, and the index follows
    cli("folders", "remove", str(photo_folder))
    assert cli("status")["index"]["vectors"] == 0


def test_search_filters(cli: CliRunner, photo_folder: Path) -> None:
    cli("index", str(photo_folder))
    hits = cli("search", "a cat", "--folder", str(photo_folder / "nowhere"))
    assert hits == []
    assert len(cli("search", "a cat", "--folder", str(photo_folder))) == 6
    assert cli("search", "a cat", "--after", "2999") == []


def test_errors_are_messages_not_tracebacks(
    home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["index"]) == 2
    assert "no folders to index" in capsys.readouterr().err
    assert main(["index", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["search", "   "]) == 2
    assert "empty" in capsys.readouterr().err
    assert main(["rank", str(tmp_path / "nope.jpg"), "a cat"]) == 2
    assert main(["--model", "no-such-model", "search", "a cat"]) == 2
    assert "no-such-model" in capsys.readouterr().err

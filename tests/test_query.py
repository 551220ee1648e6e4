"""Query parsing: operators, weights, photo parts."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from mmsearch.services.search import QueryError, QueryPart, parse_query


def test_plain_text_is_one_part() -> None:
    assert parse_query("two kids on a beach at sunset") == [
        QueryPart(1.0, text="two kids on a beach at sunset")
    ]


def test_operators_need_spaces_so_hyphenated_words_stay_whole() -> None:
    assert parse_query("black-and-white dog + snow - people") == [
        QueryPart(1.0, text="black-and-white dog"),
        QueryPart(1.0, text="snow"),
        QueryPart(-1.0, text="people"),
    ]


def test_weights() -> None:
    assert parse_query("2:beach + 0.5:sunset - 1.5:people") == [
        QueryPart(2.0, text="beach"),
        QueryPart(0.5, text="sunset"),
        QueryPart(-1.5, text="people"),
    ]


def test_photo_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "ref.jpg")
    monkeypatch.chdir(tmp_path)
    parts = parse_query("./ref.jpg + snow")
    assert parts == [QueryPart(1.0, photo=tmp_path / "ref.jpg"), QueryPart(1.0, text="snow")]
    # a photo part that doesn't exist says so instead of being searched as text
    with pytest.raises(QueryError, match=r"no photo at \./missing\.jpg"):
        parse_query("./missing.jpg + snow")
    # words that merely mention a file type stay text
    assert parse_query("a photo of a jpg sign") == [QueryPart(1.0, text="a photo of a jpg sign")]


@pytest.mark.parametrize("weight", ["1" * 400, "1001", "-5000"])
def test_weights_out_of_range_say_so(weight: str) -> None:
    with pytest.raises(QueryError, match="out of range"):
        parse_query(f"{weight}:beach + snow")


@pytest.mark.parametrize("query", ["", "   ", "- people", "beach + ", "beach -", "+", "-1:beach"])
def test_bad_queries_say_why(query: str) -> None:
    with pytest.raises(QueryError):
        parse_query(query)

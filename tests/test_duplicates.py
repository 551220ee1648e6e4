"""Near-duplicates (issue 12 §2): `mmsearch duplicates` groups the transformed copies of real
photos (half size at JPEG quality 60, a 5 % crop, +10 % brightness, turned by EXIF, another
format) and nothing else; the suggested copy to keep is the original."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import CliRunner
from PIL import Image, ImageEnhance

from mmsearch.services.duplicates import _groups, candidate_pairs, dhash, hash_distance


def _copies(folder: Path) -> None:
    with Image.open(folder / "rocket.jpg") as im:
        rocket = im.convert("RGB")
    w, h = rocket.size
    rocket.resize((w // 2, h // 2), Image.Resampling.LANCZOS).save(
        folder / "rocket-half.jpg", quality=60
    )
    dx, dy = round(w * 0.025), round(h * 0.025)
    rocket.crop((dx, dy, w - dx, h - dy)).save(folder / "rocket-crop.jpg", quality=90)
    ImageEnhance.Brightness(rocket).enhance(1.1).save(folder / "rocket-bright.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise: upright again
    rocket.rotate(90, expand=True).save(folder / "rocket-turned.jpg", quality=92, exif=exif)
    with Image.open(folder / "coffee.png") as im:
        im.convert("RGB").save(folder / "coffee.webp", quality=80)


def test_duplicates_groups_the_copies_and_nothing_else(cli: CliRunner, photo_folder: Path) -> None:
    _copies(photo_folder)
    cli("index", str(photo_folder))
    groups = cli("duplicates")["groups"]
    names = [sorted(Path(p["path"]).name for p in g["photos"]) for g in groups]
    rockets = ["rocket-bright.png", "rocket-crop.jpg", "rocket-half.jpg", "rocket-turned.jpg"]
    assert names == [sorted(["rocket.jpg", *rockets]), ["coffee.png", "coffee.webp"]]
    rocket, coffee = groups
    # The original is suggested: the largest resolution (ahead of the crop, the half-size
    # copy and the brighter PNG), a camera format (ahead of the PNG) and the larger file.
    assert Path(rocket["best"]).name == "rocket.jpg"
    assert Path(coffee["best"]).name == "coffee.png"
    first = rocket["photos"][0]
    assert (first["width"], first["height"]) == Image.open(photo_folder / "rocket.jpg").size
    assert set(first) == {"path", "size", "width", "height", "taken_at"}
    assert 0.75 <= rocket["similarity"] <= 1.0


def test_duplicates_with_a_strict_threshold_and_none_found(
    cli: CliRunner, photo_folder: Path
) -> None:
    _copies(photo_folder)
    cli("index", str(photo_folder))
    loose = cli("duplicates")["groups"]
    strict = cli("duplicates", "--max-bits", "0", "--threshold", "0.99")["groups"]
    # A stricter check only ever splits or drops groups.
    assert len(strict) < len(loose) or strict != loose
    for g in strict:
        members = {p["path"] for p in g["photos"]}
        assert any(members <= {p["path"] for p in h["photos"]} for h in loose)
    for p in photo_folder.glob("*-*"):
        p.unlink()
    (photo_folder / "coffee.webp").unlink()
    cli("index", str(photo_folder))
    assert cli("duplicates")["groups"] == []


def test_a_bad_threshold_is_a_usage_error(cli: CliRunner) -> None:
    out = cli("duplicates", "--threshold", "1.5", expect=2)
    assert "between 0 and 1" in out["error"]


def test_dhash_sees_the_copies_alike_and_other_photos_apart(photo_folder: Path) -> None:
    _copies(photo_folder)
    original = dhash(photo_folder / "rocket.jpg")
    for name in ["rocket-half.jpg", "rocket-crop.jpg", "rocket-bright.png", "rocket-turned.jpg"]:
        assert hash_distance(original, dhash(photo_folder / name)) <= 10, name
    for name in ["astronaut.png", "motorcycle.png", "coffee.png", "cat.png"]:
        assert hash_distance(original, dhash(photo_folder / name)) > 16, name


def test_candidates_are_the_same_exact_or_from_neighbours(tmp_path: Path) -> None:
    """The HNSW path (large libraries) finds the pairs the exact one does on clustered
    vectors: copies a little apart around distinct photos."""
    from mmsearch.index.hnsw import VectorIndex

    rng = np.random.default_rng(0)
    base = rng.normal(size=(300, 64)).astype(np.float32)
    copies = base[:60] + rng.normal(scale=0.08, size=(60, 64)).astype(np.float32)
    vectors = np.concatenate([base, copies])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1, len(vectors) + 1, dtype=np.int64)
    exact = candidate_pairs(ids, vectors, 0.95)
    assert len(exact) == 60
    index = VectorIndex(tmp_path, "test", 64)
    index.add(ids, vectors)
    import mmsearch.services.duplicates as dup

    small = dup.EXACT_UP_TO
    try:
        dup.EXACT_UP_TO = 10
        approximate = candidate_pairs(ids, vectors, 0.95, index.neighbours)
    finally:
        dup.EXACT_UP_TO = small
    assert set(approximate) == set(exact)
    assert all(abs(approximate[p] - exact[p]) < 1e-4 for p in exact)
    assert _groups(list(exact)) == [[i, i + 300] for i in range(1, 61)]


@pytest.mark.parametrize("pairs", [[(1, 2), (2, 3), (5, 4)], [(3, 1), (2, 3), (4, 5)]])
def test_groups_join_chains(pairs: list[tuple[int, int]]) -> None:
    assert _groups(pairs) == [[1, 2, 3], [4, 5]]

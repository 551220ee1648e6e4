"""Tests for mmsearch.media: scanning folders and decoding photos.

Every image is generated here; nothing comes from outside the test.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import shutil
import stat
import struct
import sys
import tempfile
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from mmsearch import media
from mmsearch.media import (
    MAX_PIXELS,
    PHOTO_EXTENSIONS,
    RAW_EXTENSIONS,
    DecodedPhoto,
    DecodeError,
    FoundFile,
    decode_photo,
    file_hash,
    scan_folder,
)
from mmsearch.media import decode as decode_mod

RED = (220, 20, 20)
GREEN = (20, 200, 20)
BLUE = (20, 20, 220)
YELLOW = (230, 220, 20)


# ---------------------------------------------------------------------------------------------
# helpers


def quadrants(size: tuple[int, int]) -> Image.Image:
    """An image whose four quadrants have distinct colours: any flip or turn shows."""
    w, h = size
    im = Image.new("RGB", size, RED)
    draw = ImageDraw.Draw(im)
    draw.rectangle((w // 2, 0, w, h // 2), fill=GREEN)
    draw.rectangle((0, h // 2, w // 2, h), fill=BLUE)
    draw.rectangle((w // 2, h // 2, w, h), fill=YELLOW)
    return im


def quadrant_colours(im: Image.Image) -> list[tuple[int, ...]]:
    w, h = im.size
    points = [
        (w // 4, h // 4),
        (3 * w // 4, h // 4),
        (w // 4, 3 * h // 4),
        (3 * w // 4, 3 * h // 4),
    ]
    return [tuple(im.convert("RGB").getpixel(p)) for p in points]  # type: ignore[arg-type]


def close(a: tuple[int, ...], b: tuple[int, ...], tol: int = 12) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def photo_like(size: tuple[int, int]) -> Image.Image:
    """Smooth gradients plus a little noise: cheap to make, JPEG-compresses like a photo."""
    small = (size[0] // 8, size[1] // 8)
    r = Image.linear_gradient("L").resize(small)
    g = Image.radial_gradient("L").resize(small)
    b = Image.effect_noise(small, 40)
    im = Image.merge("RGB", (r, g, b)).resize(size, Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(im)
    for i in range(0, size[0], max(1, size[0] // 12)):
        draw.line((i, 0, size[0] - i, size[1]), fill=(255, 255, 255), width=3)
    return im


def make_exif(
    orientation: int | None = None,
    make: str | None = None,
    model: str | None = None,
    original: str | None = None,
    modified: str | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if make is not None:
        exif[0x010F] = make
    if model is not None:
        exif[0x0110] = model
    if modified is not None:
        exif[0x0132] = modified
    if original is not None:
        exif.get_ifd(0x8769)[0x9003] = original
    return exif


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that announces width x height in its IHDR and has no pixel data at all."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def jpeg_bytes(im: Image.Image, **kwargs: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def reason(path: Path, min_side: int = 224) -> str:
    with pytest.raises(DecodeError) as info:
        decode_photo(path, min_side)
    return str(info.value)


@pytest.fixture(scope="module")
def large_jpegs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 4000x3000 photo-like JPEG, baseline and progressive (made once: ~0.5 s)."""
    folder = tmp_path_factory.mktemp("large")
    im = photo_like((4000, 3000))
    paths = {"baseline": folder / "large.jpg", "progressive": folder / "large_progressive.jpg"}
    im.save(paths["baseline"], quality=90)
    im.save(paths["progressive"], quality=90, progressive=True)
    return paths


def reference(path: Path, size: tuple[int, int]) -> Image.Image:
    """What a slow, obviously correct decoder makes of `path` at `size`."""
    with Image.open(path) as im:
        upright = ImageOps.exif_transpose(im).convert("RGB")
    return upright.resize(size, Image.Resampling.LANCZOS)


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size
    return float(np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).mean())


# ---------------------------------------------------------------------------------------------
# public API


def test_public_api() -> None:
    assert set(media.__all__) >= {
        "PHOTO_EXTENSIONS",
        "RAW_EXTENSIONS",
        "FoundFile",
        "scan_folder",
        "DecodeError",
        "DecodedPhoto",
        "decode_photo",
        "file_hash",
        "MAX_PIXELS",
    }
    photo_exts = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
    assert photo_exts | {".heic", ".heif"} == PHOTO_EXTENSIONS
    assert {".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2"} == RAW_EXTENSIONS
    assert MAX_PIXELS == 200_000_000
    # Pillow keeps a bomb check of its own for the rest of the process, never a lower one.
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS >= MAX_PIXELS // 2


# ---------------------------------------------------------------------------------------------
# decode: sizes and speed


def test_large_jpeg_is_drafted_small_and_reports_full_size(large_jpegs: dict[str, Path]) -> None:
    path = large_jpegs["baseline"]
    photo = decode_photo(path)
    assert isinstance(photo, DecodedPhoto)
    assert (photo.width, photo.height) == (4000, 3000)
    assert photo.image.mode == "RGB"
    assert photo.image.size == (299, 224)
    assert mean_abs_diff(photo.image, reference(path, photo.image.size)) < 4

    def full() -> None:
        with Image.open(path) as im:
            im.convert("RGB")

    def timed(fn: Callable[[], object], n: int = 3) -> float:
        best = float("inf")
        for _ in range(n):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        return best

    t_full, t_ours = timed(full), timed(lambda: decode_photo(path))
    # Printed, not asserted: timings on a shared machine are not a test.
    print(
        f"\n4000x3000 baseline JPEG: full decode {t_full * 1e3:.1f} ms, "
        f"decode_photo {t_ours * 1e3:.1f} ms, {t_full / t_ours:.1f}x faster"
    )


def test_large_progressive_jpeg_decodes_from_dc_scans(large_jpegs: dict[str, Path]) -> None:
    path = large_jpegs["progressive"]
    data = path.read_bytes()
    dc_only = decode_mod._progressive_dc_stream(data)
    assert dc_only is not None and len(dc_only) < len(data) / 2
    assert decode_mod._progressive_dc_stream(large_jpegs["baseline"].read_bytes()) is None

    photo = decode_photo(path)
    assert (photo.width, photo.height) == (4000, 3000)
    assert photo.image.size == (299, 224)
    assert mean_abs_diff(photo.image, reference(path, photo.image.size)) < 4
    # And what the ordinary draft decode would have given: only chroma detail may differ.
    with Image.open(path) as im:
        ordinary = decode_mod._decode_opened(im, 224, None).image
    assert mean_abs_diff(photo.image, ordinary) < 3

    t = time.perf_counter()
    decode_photo(path)
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    with Image.open(path) as im:
        im.load()
    t_full = time.perf_counter() - t
    print(f"\n4000x3000 progressive JPEG: full {t_full * 1e3:.1f} ms, ours {t_ours * 1e3:.1f} ms")


@pytest.mark.parametrize("min_side", [64, 224, 500, 1000])
def test_min_side(large_jpegs: dict[str, Path], min_side: int) -> None:
    photo = decode_photo(large_jpegs["baseline"], min_side=min_side)
    assert min(photo.image.size) == min_side
    assert photo.image.size[0] == round(4000 * min_side / 3000)


def test_small_image_is_not_upscaled(tmp_path: Path) -> None:
    path = tmp_path / "small.jpg"
    quadrants((120, 90)).save(path)
    photo = decode_photo(path)
    assert photo.image.size == (120, 90)
    assert (photo.width, photo.height) == (120, 90)


def test_min_side_must_be_positive(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    quadrants((10, 10)).save(path)
    with pytest.raises(ValueError):
        decode_photo(path, min_side=0)


def test_returned_image_outlives_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tiny.png"
    quadrants((40, 30)).save(path)
    photo = decode_photo(path)  # no resize, no conversion: the copy path
    path.unlink()
    assert photo.image.getpixel((5, 5)) == RED


# ---------------------------------------------------------------------------------------------
# decode: orientation and metadata


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("kind", ["small", "drafted", "progressive"])
def test_exif_orientation(tmp_path: Path, orientation: int, kind: str) -> None:
    size = (400, 300) if kind == "small" else (1800, 2400)
    path = tmp_path / f"o{orientation}.jpg"
    exif = make_exif(orientation=orientation)
    quadrants(size).save(path, exif=exif, quality=95, progressive=kind == "progressive")
    photo = decode_photo(path, min_side=100)
    with Image.open(path) as im:
        expected = ImageOps.exif_transpose(im)
    assert (photo.width, photo.height) == expected.size
    assert photo.image.size[0] < photo.image.size[1] if expected.width < expected.height else True
    assert min(photo.image.size) == 100
    for got, want in zip(quadrant_colours(photo.image), quadrant_colours(expected), strict=True):
        assert close(got, want), (orientation, got, want)


def test_exif_date_and_camera(tmp_path: Path) -> None:
    path = tmp_path / "meta.jpg"
    exif = make_exif(
        orientation=6,
        make="Canon\x00",
        model=" Canon EOS 5D Mark IV \x00",
        original="2019:07:14 15:30:45\x00",
        modified="2020:01:01 00:00:00",
    )
    quadrants((300, 200)).save(path, exif=exif)
    photo = decode_photo(path)
    assert photo.taken_at == datetime(2019, 7, 14, 15, 30, 45)
    assert photo.taken_at.tzinfo is None
    assert photo.camera == "Canon EOS 5D Mark IV"
    assert (photo.width, photo.height) == (200, 300)


def test_exif_date_falls_back_to_datetime(tmp_path: Path) -> None:
    path = tmp_path / "meta.jpg"
    exif = make_exif(make="Apple", model="iPhone 12", modified="2020:02:03 04:05:06")
    quadrants((300, 200)).save(path, exif=exif)
    photo = decode_photo(path)
    assert photo.taken_at == datetime(2020, 2, 3, 4, 5, 6)
    assert photo.camera == "Apple iPhone 12"


def test_no_exif(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    quadrants((300, 200)).save(path)
    photo = decode_photo(path)
    assert photo.taken_at is None and photo.camera is None


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow on broken EXIF
def test_broken_exif_does_not_cost_the_pixels(tmp_path: Path) -> None:
    path = tmp_path / "badexif.jpg"
    quadrants((300, 200)).save(path, exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f garbage")
    photo = decode_photo(path)
    assert photo.image.size == (300, 200)
    assert photo.taken_at is None and photo.camera is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019:07:14 15:30:45", datetime(2019, 7, 14, 15, 30, 45)),
        ("2019-07-14T15:30:45", datetime(2019, 7, 14, 15, 30, 45)),
        ("2019:07:14", datetime(2019, 7, 14)),
        (b"2019:07:14 15:30:45\x00", datetime(2019, 7, 14, 15, 30, 45)),
        ("0000:00:00 00:00:00", None),
        ("    :  :     :  :  ", None),
        ("2019:13:45 10:00:00", None),
        ("", None),
        (None, None),
        (12345, None),
    ],
)
def test_parse_exif_datetime(value: object, expected: datetime | None) -> None:
    assert decode_mod._parse_exif_datetime(value) == expected


@pytest.mark.parametrize(
    ("make", "model", "expected"),
    [
        ("Canon", "Canon EOS R5", "Canon EOS R5"),
        ("NIKON CORPORATION", "NIKON D750", "NIKON D750"),
        ("EASTMAN KODAK COMPANY", "KODAK EASYSHARE C813", "KODAK EASYSHARE C813"),
        ("OLYMPUS IMAGING CORP.", "E-M10", "OLYMPUS E-M10"),
        ("SONY", "ILCE-7M3", "SONY ILCE-7M3"),
        ("Apple\x00\x00", "  iPhone\t12  ", "Apple iPhone 12"),
        ("samsung", "SM-G991B", "samsung SM-G991B"),
        ("", "Pixel 7", "Pixel 7"),
        ("FUJIFILM", None, "FUJIFILM"),
        ("\x00\x00", "   ", None),
        (None, None, None),
    ],
)
def test_camera_name(make: str | None, model: str | None, expected: str | None) -> None:
    assert decode_mod._exif_camera(make_exif(make=make, model=model)) == expected


# ---------------------------------------------------------------------------------------------
# decode: formats and colour modes


def test_png_rgba_is_composited_on_white(tmp_path: Path) -> None:
    im = Image.new("RGBA", (600, 400), (0, 0, 0, 0))  # transparent black
    ImageDraw.Draw(im).rectangle((300, 0, 600, 400), fill=(255, 0, 0, 128))  # half-red
    path = tmp_path / "alpha.png"
    im.save(path)
    photo = decode_photo(path)
    assert photo.image.mode == "RGB" and photo.image.size == (336, 224)
    assert close(photo.image.getpixel((50, 100)), (255, 255, 255), 2)  # type: ignore[arg-type]
    assert close(photo.image.getpixel((300, 100)), (255, 127, 127), 3)  # type: ignore[arg-type]


def test_palette_with_transparency(tmp_path: Path) -> None:
    im = Image.new("P", (100, 100), 0)
    im.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    ImageDraw.Draw(im).rectangle((50, 0, 100, 100), fill=1)
    path = tmp_path / "pal.png"
    im.save(path, transparency=0)
    photo = decode_photo(path)
    assert photo.image.getpixel((10, 50)) == (255, 255, 255)
    assert photo.image.getpixel((90, 50)) == (0, 0, 255)


def test_16_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 512).astype(np.uint16), (256, 1))
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)
    with Image.open(path) as im:
        assert im.mode.startswith("I")  # Pillow keeps the 16 bits
    photo = decode_photo(path, min_side=256)
    assert photo.image.size == (512, 256)
    row = np.asarray(photo.image)[128, :, 0]
    assert row[0] <= 1 and row[-1] >= 254
    assert 120 <= row[256] <= 135  # mid grey, not clipped to white
    assert (np.diff(row.astype(int)) >= 0).all()


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (500, 300), (0, 255, 255, 0)).save(path)  # pure red in CMYK
    photo = decode_photo(path)
    assert photo.image.mode == "RGB"
    assert close(photo.image.getpixel((100, 100)), (255, 0, 0), 10)  # type: ignore[arg-type]


def test_greyscale_and_bilevel(tmp_path: Path) -> None:
    Image.new("L", (300, 300), 77).save(tmp_path / "grey.jpg")
    Image.new("1", (300, 300), 1).save(tmp_path / "bw.png")
    grey = decode_photo(tmp_path / "grey.jpg").image
    assert grey.mode == "RGB" and close(grey.getpixel((5, 5)), (77, 77, 77), 2)  # type: ignore[arg-type]
    assert decode_photo(tmp_path / "bw.png").image.getpixel((5, 5)) == (255, 255, 255)


def test_gif_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (300, 240), c).convert("P") for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(path) as im:
        assert getattr(im, "n_frames", 1) == 2
    photo = decode_photo(path)
    assert close(photo.image.getpixel((10, 10)), (255, 0, 0), 2)  # type: ignore[arg-type]
    assert (photo.width, photo.height) == (300, 240)


def test_tiff_first_page(tmp_path: Path) -> None:
    path = tmp_path / "pages.tiff"
    pages = [Image.new("RGB", (400, 300), c) for c in (GREEN, BLUE)]
    pages[0].save(path, save_all=True, append_images=pages[1:], compression="tiff_lzw")
    photo = decode_photo(path)
    assert photo.image.getpixel((10, 10)) == GREEN
    assert photo.image.size == (299, 224)


def test_tiff_orientation_tag(tmp_path: Path) -> None:
    path = tmp_path / "turned.tif"
    quadrants((400, 300)).save(path, exif=make_exif(orientation=8))
    photo = decode_photo(path, min_side=100)
    assert (photo.width, photo.height) == (300, 400)
    with Image.open(path) as im:
        expected = ImageOps.exif_transpose(im)
    assert quadrant_colours(photo.image) == quadrant_colours(expected)


@pytest.mark.parametrize("ext", [".webp", ".bmp", ".png", ".tif", ".jpeg"])
def test_other_formats(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"q{ext}"
    quadrants((800, 600)).save(path, quality=95)  # ignored by the lossless formats
    photo = decode_photo(path)
    assert photo.image.size == (299, 224)
    assert (photo.width, photo.height) == (800, 600)
    for got, want in zip(quadrant_colours(photo.image), [RED, GREEN, BLUE, YELLOW], strict=True):
        assert close(got, want, 16)


def test_mpo_first_picture(tmp_path: Path) -> None:
    path = tmp_path / "stereo.jpg"
    left, right = Image.new("RGB", (2000, 1800), RED), Image.new("RGB", (2000, 1800), BLUE)
    left.save(path, format="MPO", save_all=True, append_images=[right], progressive=True)
    photo = decode_photo(path)
    assert (photo.width, photo.height) == (2000, 1800)
    assert close(photo.image.getpixel((10, 10)), RED, 6)  # type: ignore[arg-type]


def test_extension_does_not_matter(tmp_path: Path) -> None:
    path = tmp_path / "really_a_png.jpg"
    quadrants((300, 300)).save(path, format="PNG")
    assert decode_photo(path).image.getpixel((10, 10)) == RED


def _heif_encoder_available() -> bool:
    try:
        import pillow_heif
    except ImportError:
        return False
    return bool(pillow_heif.libheif_info().get("HEIF"))


heif_only = pytest.mark.skipif(not _heif_encoder_available(), reason="no HEIF encoder (x265)")


@heif_only
def test_heic(tmp_path: Path) -> None:
    import pillow_heif

    path = tmp_path / "phone.HEIC"
    exif = make_exif(orientation=6, make="Apple", model="iPhone 12", original="2021:05:06 07:08:09")
    pillow_heif.from_pillow(quadrants((800, 600))).save(path, exif=exif.tobytes(), quality=90)
    photo = decode_photo(path)
    # libheif applies the HEIF's own rotation and pillow_heif resets EXIF orientation to 1: what
    # pillow_heif shows upright is the truth, and must not be turned a second time.
    pillow_heif.register_heif_opener()
    with Image.open(path) as im:
        expected = im.convert("RGB")
    assert (photo.width, photo.height) == expected.size
    for got, want in zip(quadrant_colours(photo.image), quadrant_colours(expected), strict=True):
        assert close(got, want, 16)
    assert photo.taken_at == datetime(2021, 5, 6, 7, 8, 9)
    assert photo.camera == "Apple iPhone 12"


@heif_only
def test_heic_embedded_thumbnail(tmp_path: Path) -> None:
    import pillow_heif

    path = tmp_path / "thumbed.heif"
    pillow_heif.from_pillow(quadrants((1200, 900))).save(path, thumbnails=[400], quality=90)
    photo = decode_photo(path)
    assert (photo.width, photo.height) == (1200, 900)
    assert photo.image.size == (299, 224)
    for got, want in zip(quadrant_colours(photo.image), [RED, GREEN, BLUE, YELLOW], strict=True):
        assert close(got, want, 20)


# ---------------------------------------------------------------------------------------------
# decode: bad files


def test_truncated_jpeg(tmp_path: Path, large_jpegs: dict[str, Path]) -> None:
    for kind, src in large_jpegs.items():
        data = src.read_bytes()
        for fraction in (0.02, 0.3, 0.9, 0.999):
            path = write(tmp_path / f"{kind}{fraction}.jpg", data[: int(len(data) * fraction)])
            assert reason(path) == "truncated JPEG", (kind, fraction)
    small = write(tmp_path / "small.jpg", jpeg_bytes(quadrants((200, 100)))[:-300])
    assert reason(small) == "truncated JPEG"


def test_truncated_png(tmp_path: Path) -> None:
    buf = io.BytesIO()
    photo_like((300, 300)).save(buf, "PNG")
    path = write(tmp_path / "cut.png", buf.getvalue()[: buf.tell() // 2])
    assert reason(path) == "truncated PNG"


def test_empty_file(tmp_path: Path) -> None:
    assert reason(write(tmp_path / "empty.jpg", b"")) == "empty file (0 bytes)"
    assert reason(write(tmp_path / "empty.cr2", b"")) == "empty file (0 bytes)"


def test_not_an_image(tmp_path: Path) -> None:
    text = write(tmp_path / "notes.jpg", "Shopping list: café, thé\n".encode() * 3)
    assert reason(text) == "not an image (text file?)"
    html = write(tmp_path / "download.jpg", b"<!DOCTYPE html><html><body>404</body></html>")
    assert reason(html) == "not an image (web page?)"
    binary = write(tmp_path / "blob.png", bytes(range(256)) * 4)
    assert reason(binary) == "not an image (unknown format)"
    # Formats Pillow could read but a photo library has no business parsing.
    eps = write(tmp_path / "vector.jpg", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    assert reason(eps).startswith("not an image")


def test_corrupt_header_of_known_format(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert reason(path) == "corrupt or truncated PNG file"


def test_decompression_bomb_refused_from_header(tmp_path: Path) -> None:
    path = write(tmp_path / "bomb.png", png_header_only(30000, 30000))
    assert path.stat().st_size < 100
    t = time.perf_counter()
    message = reason(path)
    assert time.perf_counter() - t < 1.0  # nothing allocated, nothing decoded
    assert message == "image too large (30000x30000 = 900 MP, limit 200 MP)"


def test_bomb_between_our_limit_and_pillows(tmp_path: Path) -> None:
    path = write(tmp_path / "big.png", png_header_only(15000, 14000))  # 210 MP
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        assert reason(path) == "image too large (15000x14000 = 210 MP, limit 200 MP)"


def test_just_under_the_limit_is_not_refused_for_size(tmp_path: Path) -> None:
    path = write(tmp_path / "ok.png", png_header_only(16320, 12240))  # a 199.7 MP phone photo
    message = reason(path)  # got past the size check; then fails for lack of pixel data
    assert message == "corrupt PNG file"


def test_jpeg_bomb(tmp_path: Path) -> None:
    data = bytearray(jpeg_bytes(Image.new("RGB", (16, 16))))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)
    message = reason(write(tmp_path / "bomb.jpg", bytes(data)))
    assert message.startswith("image too large (") and "3600 MP, limit 200 MP" in message


def test_not_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "folder.jpg").mkdir()
    assert reason(tmp_path / "folder.jpg") == "not a regular file"
    assert reason(tmp_path / "missing.jpg") == "file not found"


def test_permission_denied_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever user runs the tests: make open() fail the way chmod 000 makes it fail."""
    path = tmp_path / "locked.jpg"
    quadrants((50, 50)).save(path)
    real_open = open

    def guarded_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if os.fspath(file) == os.fspath(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", guarded_open)
    assert reason(path) == "permission denied"
    with pytest.raises(DecodeError, match=r"^permission denied$"):
        file_hash(path)


def _run_as_nobody(fn: Callable[[], str]) -> str:
    """Run `fn` in a forked child that dropped root for uid/gid 65534; return its output."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            out = fn()
        except BaseException as exc:
            out = f"child failed: {type(exc).__name__}: {exc}"
        try:
            os.write(write_end, out.encode("utf-8", "replace"))
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temp folder another user can enter (pytest's tmp_path is private to its owner)."""
    folder = Path(tempfile.mkdtemp(prefix="mmsearch-media-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for root, dirs, _files in os.walk(folder):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)
        shutil.rmtree(folder)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and POSIX permissions")
def test_permission_denied_for_real(shared_tmp: Path) -> None:
    """chmod 000 as the user really meets it. Root reads anything, so as root the check runs in
    a forked child that became `nobody`: a real EACCES from the kernel, not a simulation."""
    locked = shared_tmp / "locked.jpg"
    quadrants((50, 50)).save(locked)
    locked.chmod(0)
    closed_dir = shared_tmp / "closed"
    (closed_dir / "inner").mkdir(parents=True)
    quadrants((50, 50)).save(closed_dir / "inner" / "hidden_from_me.jpg")
    closed_dir.chmod(0)
    open_photo = shared_tmp / "open.jpg"
    quadrants((50, 50)).save(open_photo)
    decode_photo(open_photo)  # imports every plugin the child will need before it forks

    def check() -> str:
        results = []
        try:
            decode_photo(locked)
        except DecodeError as exc:
            results.append(f"decode:{exc}")
        errors: list[tuple[Path, str]] = []
        found = [f.path.name for f in scan_folder(shared_tmp, lambda p, r: errors.append((p, r)))]
        results.append(f"found:{','.join(sorted(found))}")
        results.extend(f"error:{p.name}:{r}" for p, r in errors)
        return "|".join(results)

    out = _run_as_nobody(check) if os.geteuid() == 0 else check()
    assert out.split("|") == [
        "decode:permission denied",
        "found:locked.jpg,open.jpg",  # the scan yields it; the decoder says why it fails
        "error:closed:permission denied",
    ]


def test_fake_raw_files(tmp_path: Path) -> None:
    tiff = io.BytesIO()
    quadrants((64, 48)).save(tiff, "TIFF")
    assert reason(write(tmp_path / "fake.dng", tiff.getvalue())) == "unsupported RAW file"
    assert reason(write(tmp_path / "notes.CR2", b"not a raw file at all\n" * 10)) == (
        "unsupported RAW file"
    )
    assert reason(write(tmp_path / "jpeg.nef", jpeg_bytes(quadrants((64, 48))))) == (
        "unsupported RAW file"
    )


class _FakeRaw:
    """Stands in for rawpy.RawPy: real RAW files cannot be generated here."""

    def __init__(self, thumb: Any, width: int, height: int, flip: int) -> None:
        import rawpy

        self._thumb = thumb
        self.sizes = rawpy.ImageSizes(
            raw_height=height, raw_width=width, height=height, width=width, top_margin=0,
            left_margin=0, iheight=height, iwidth=width, pixel_aspect=1.0, flip=flip,
            crop_left_margin=0, crop_top_margin=0, crop_width=width, crop_height=height,
        )  # fmt: skip

    def __enter__(self) -> _FakeRaw:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def extract_thumb(self) -> Any:
        if isinstance(self._thumb, Exception):
            raise self._thumb
        return self._thumb


def _patch_rawpy(monkeypatch: pytest.MonkeyPatch, raw: _FakeRaw) -> list[object]:
    import rawpy

    calls: list[object] = []

    def fake_imread(source: object) -> _FakeRaw:
        calls.append(source)
        return raw

    monkeypatch.setattr(rawpy, "imread", fake_imread)
    return calls


def test_raw_jpeg_preview(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rawpy

    preview = quadrants((3000, 2000))
    thumb = rawpy.Thumbnail(rawpy.ThumbFormat.JPEG, jpeg_bytes(preview, quality=95))
    calls = _patch_rawpy(monkeypatch, _FakeRaw(thumb, width=6000, height=4000, flip=6))
    path = write(tmp_path / "IMG_0001.CR2", b"raw bytes")
    photo = decode_photo(path)
    assert calls == [str(path)]
    assert (photo.width, photo.height) == (4000, 6000)  # LibRaw flip 6 = EXIF 6
    assert photo.image.size == (224, 336)
    expected = preview.transpose(Image.Transpose.ROTATE_270)
    for got, want in zip(quadrant_colours(photo.image), quadrant_colours(expected), strict=True):
        assert close(got, want)


def test_raw_bitmap_preview(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rawpy

    bitmap = np.asarray(quadrants((600, 400)))
    thumb = rawpy.Thumbnail(rawpy.ThumbFormat.BITMAP, bitmap)
    _patch_rawpy(monkeypatch, _FakeRaw(thumb, width=6000, height=4000, flip=5))
    photo = decode_photo(write(tmp_path / "x.nef", b"raw"))
    assert (photo.width, photo.height) == (4000, 6000)
    expected = quadrants((600, 400)).transpose(Image.Transpose.ROTATE_90)  # flip 5 = EXIF 8
    assert quadrant_colours(photo.image) == quadrant_colours(expected)


def test_raw_without_preview(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rawpy

    raw = _FakeRaw(rawpy.LibRawNoThumbnailError("no thumbnail"), 100, 100, 0)
    _patch_rawpy(monkeypatch, raw)
    assert reason(write(tmp_path / "x.arw", b"raw")) == "RAW file without an embedded preview"


def test_raw_with_non_utf8_name_is_passed_as_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rawpy

    thumb = rawpy.Thumbnail(rawpy.ThumbFormat.JPEG, jpeg_bytes(quadrants((300, 300))))
    calls = _patch_rawpy(monkeypatch, _FakeRaw(thumb, 300, 300, 0))
    name = os.fsdecode(b"caf\xe9.dng")
    path = write(tmp_path / name, b"raw")
    decode_photo(path)
    assert len(calls) == 1 and not isinstance(calls[0], str)


def _damaged_variants(data: bytes) -> Iterator[bytes]:
    rng = np.random.default_rng(1234)
    for cut in (1, 2, 8, 20, 50, 100, len(data) // 3, len(data) // 2, len(data) - 2):
        yield data[:cut]
    for _ in range(25):
        damaged = bytearray(data)
        for pos in rng.integers(0, len(data), size=int(rng.integers(1, 12))):
            damaged[pos] = int(rng.integers(0, 256))
        yield bytes(damaged)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow on broken EXIF
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "progressive"])
def test_damaged_files_only_raise_decode_error(tmp_path: Path, fmt: str) -> None:
    buf = io.BytesIO()
    image = quadrants((96, 64)) if fmt != "progressive" else photo_like((1900, 1800))
    exif = make_exif(orientation=6, make="Canon", model="EOS", original="2019:01:01 00:00:00")
    if fmt in ("GIF", "BMP"):
        image.save(buf, fmt)
    elif fmt == "progressive":
        image.save(buf, "JPEG", progressive=True, exif=exif, quality=70)
    else:
        image.save(buf, fmt, exif=exif)
    path = tmp_path / "damaged.img"
    outcomes = set()
    for variant in _damaged_variants(buf.getvalue()):
        path.write_bytes(variant)
        try:
            photo = decode_photo(path)
        except DecodeError as exc:
            assert str(exc) and len(str(exc)) < 100
            outcomes.add(str(exc))
        else:
            assert photo.image.mode == "RGB"
            outcomes.add("decoded")
    print(f"\n{fmt}: {sorted(outcomes)}")


# ---------------------------------------------------------------------------------------------
# file_hash


def test_file_hash(tmp_path: Path) -> None:
    data = os.urandom((3 << 20) + 5)  # spans several 1 MiB chunks
    path = write(tmp_path / "big.bin", data)
    assert file_hash(path) == hashlib.sha256(data).hexdigest()
    assert file_hash(write(tmp_path / "empty.bin", b"")) == hashlib.sha256(b"").hexdigest()
    with pytest.raises(DecodeError, match=r"^file not found$"):
        file_hash(tmp_path / "missing.bin")


# ---------------------------------------------------------------------------------------------
# scan_folder


def scan(root: Path) -> tuple[list[FoundFile], list[tuple[Path, str]]]:
    errors: list[tuple[Path, str]] = []
    found = list(scan_folder(root, lambda path, why: errors.append((path, why))))
    return found, errors


def rel(found: list[FoundFile], root: Path) -> list[str]:
    return [os.path.relpath(f.path, root) for f in found]


def test_scan_finds_photos_recursively(tmp_path: Path) -> None:
    write(tmp_path / "a.jpg", b"x")
    write(tmp_path / "B.JPEG", b"xx")
    write(tmp_path / "c.Png", b"x")
    write(tmp_path / "notes.txt", b"x")
    write(tmp_path / "noext", b"x")
    write(tmp_path / "2019" / "summer" / "d.heic", b"x")
    write(tmp_path / "2019" / "e.TIFF", b"x")
    write(tmp_path / "2019" / "f.webp", b"x")
    write(tmp_path / "raw" / "g.dng", b"x")
    write(tmp_path / "z.gif", b"x")
    write(tmp_path / "y.bmp", b"x")
    write(tmp_path / "x.tif", b"x")
    write(tmp_path / "w.heif", b"x")
    found, errors = scan(tmp_path)
    assert errors == []
    assert rel(found, tmp_path) == [
        "B.JPEG",
        "a.jpg",
        "c.Png",
        "w.heif",
        "x.tif",
        "y.bmp",
        "z.gif",
        os.path.join("2019", "e.TIFF"),
        os.path.join("2019", "f.webp"),
        os.path.join("2019", "summer", "d.heic"),
        os.path.join("raw", "g.dng"),
    ]
    first = found[0]
    st = first.path.stat()
    assert first.path.is_absolute()
    assert (first.size, first.mtime_ns) == (2, st.st_mtime_ns)


def test_scan_relative_root_gives_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "photos" / "a.jpg", b"x")
    monkeypatch.chdir(tmp_path)
    found, _ = scan(Path("photos"))
    assert [f.path for f in found] == [tmp_path / "photos" / "a.jpg"]


def test_scan_skips_hidden_and_system_folders(tmp_path: Path) -> None:
    write(tmp_path / ".hidden.jpg", b"x")
    write(tmp_path / ".thumbnails" / "a.jpg", b"x")
    write(tmp_path / "@eaDir" / "a.jpg" / "SYNOPHOTO_THUMB_XL.jpg", b"x")
    write(tmp_path / "visible" / ".trash" / "b.jpg", b"x")
    write(tmp_path / "visible" / "c.jpg", b"x")
    found, errors = scan(tmp_path)
    assert rel(found, tmp_path) == [os.path.join("visible", "c.jpg")]
    assert errors == []


def test_scan_zero_byte_files_are_yielded(tmp_path: Path) -> None:
    write(tmp_path / "empty.jpg", b"")
    found, _ = scan(tmp_path)
    assert [(f.path.name, f.size) for f in found] == [("empty.jpg", 0)]


def test_scan_raw_twin_is_skipped(tmp_path: Path) -> None:
    for name in ("IMG_1.CR2", "img_1.JPG", "IMG_2.NEF", "IMG_3.arw", "IMG_3.jpeg", "IMG_4.cr3"):
        write(tmp_path / name, b"x")
    write(tmp_path / "other" / "IMG_2.jpg", b"x")  # a twin elsewhere does not count
    found, _ = scan(tmp_path)
    assert sorted(f.path.name for f in found) == sorted(
        ["img_1.JPG", "IMG_2.NEF", "IMG_3.jpeg", "IMG_4.cr3", "IMG_2.jpg"]
    )


posix_links = pytest.mark.skipif(sys.platform == "win32", reason="POSIX symlinks")


@posix_links
def test_scan_symlink_loop(tmp_path: Path) -> None:
    write(tmp_path / "a.jpg", b"x")
    write(tmp_path / "sub" / "b.jpg", b"x")
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "sub" / "self").symlink_to(tmp_path / "sub", target_is_directory=True)
    (tmp_path / "sub" / "deeper").mkdir()
    (tmp_path / "sub" / "deeper" / "back").symlink_to("../..", target_is_directory=True)
    found, errors = scan(tmp_path)
    assert rel(found, tmp_path) == ["a.jpg", os.path.join("sub", "b.jpg")]
    assert errors == []


@posix_links
def test_scan_follows_symlinked_folders_once(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "trip" / "x.jpg", b"x")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link1").symlink_to(outside / "trip", target_is_directory=True)
    (root / "link2").symlink_to(outside / "trip", target_is_directory=True)
    (root / "photo.jpg").symlink_to(outside / "trip" / "x.jpg")  # a symlinked file
    found, errors = scan(root)
    # The path stays the one under root (not resolved), and the folder is listed once.
    assert rel(found, root) == ["photo.jpg", os.path.join("link1", "x.jpg")]
    assert all(f.size == 1 for f in found)
    assert errors == []


@posix_links
def test_scan_symlinked_root(tmp_path: Path) -> None:
    write(tmp_path / "real" / "a.jpg", b"x")
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    found, _ = scan(tmp_path / "alias")
    assert [f.path for f in found] == [tmp_path / "alias" / "a.jpg"]


@posix_links
def test_scan_reports_broken_symlink(tmp_path: Path) -> None:
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (tmp_path / "gone_dir").symlink_to(tmp_path / "nowhere", target_is_directory=True)
    write(tmp_path / "ok.jpg", b"x")
    found, errors = scan(tmp_path)
    assert [f.path.name for f in found] == ["ok.jpg"]
    assert errors == [(tmp_path / "gone.jpg", "broken symlink")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_scan_skips_fifos_and_descends_folders_named_like_photos(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.jpg")
    write(tmp_path / "album.jpg" / "inside.png", b"x")
    found, errors = scan(tmp_path)
    assert rel(found, tmp_path) == [os.path.join("album.jpg", "inside.png")]
    assert errors == []


def test_scan_non_utf8_names(tmp_path: Path) -> None:
    if sys.platform in ("win32", "darwin"):
        pytest.skip("file names there are always Unicode")
    raw_dir = os.path.join(os.fsencode(tmp_path), b"r\xe9pertoire")
    try:
        os.mkdir(raw_dir)
    except OSError as exc:
        pytest.skip(f"file system refuses non-UTF-8 names: {exc}")
    raw_file = os.path.join(raw_dir, b"caf\xe9.jpg")
    with open(raw_file, "wb") as f:
        f.write(jpeg_bytes(quadrants((400, 300))))
    found, errors = scan(tmp_path)
    assert errors == []
    assert len(found) == 1
    assert os.fsencode(found[0].path) == raw_file
    photo = decode_photo(found[0].path)
    assert (photo.width, photo.height) == (400, 300)
    with open(raw_file, "rb") as f:
        assert file_hash(found[0].path) == hashlib.sha256(f.read()).hexdigest()


def test_scan_unreadable_folder_is_reported_and_scan_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulated with a failing os.scandir, since root reads any folder (see the real test)."""
    write(tmp_path / "a" / "one.jpg", b"x")
    write(tmp_path / "b" / "two.jpg", b"x")
    write(tmp_path / "c" / "three.jpg", b"x")
    real_scandir = os.scandir
    locked = os.fspath(tmp_path / "b")

    def scandir(path: Any) -> Any:
        if os.fspath(path) == locked:
            raise PermissionError(errno.EACCES, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found, errors = scan(tmp_path)
    assert [f.path.name for f in found] == ["one.jpg", "three.jpg"]
    assert errors == [(tmp_path / "b", "permission denied")]


def test_scan_bad_roots(tmp_path: Path) -> None:
    found, errors = scan(tmp_path / "unplugged")
    assert found == [] and errors == [(tmp_path / "unplugged", "folder not found")]
    write(tmp_path / "file.jpg", b"x")
    found, errors = scan(tmp_path / "file.jpg")
    assert found == [] and errors == [(tmp_path / "file.jpg", "not a folder")]


def test_scan_without_on_error_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert list(scan_folder(tmp_path / "missing")) == []
    assert "folder not found" in caplog.text


def test_scan_is_lazy(tmp_path: Path) -> None:
    for i in range(3):
        write(tmp_path / f"d{i}" / "p.jpg", b"x")
    it = scan_folder(tmp_path)
    first = next(it)
    assert first.path.name == "p.jpg"
    assert stat.S_ISREG(first.path.stat().st_mode)

"""Decode a photo file into a small RGB image plus the facts the catalog keeps.

Decoding is what dominates indexing of real photos, so the decoder never builds the full-size
pixels when it can avoid it: JPEG is decoded by libjpeg at 1/2, 1/4 or 1/8 scale (Pillow's
`draft`), HEIC from its embedded thumbnail when one is big enough, RAW from its embedded
preview. Everything else is decoded and then shrunk with a fast, antialiased reduction.

Every failure caused by the file (broken, truncated, too large, unreadable, not an image)
raises `DecodeError` whose text is a short reason meant for the user.

Thread safety: `decode_photo` and `file_hash` keep no shared state beyond a one-time plugin
registration (locked), and Pillow's decoders release the GIL, so a thread pool scales.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import math
import os
import re
import stat
import struct
import sys
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from mmsearch.media.errors import os_error_reason
from mmsearch.media.scan import RAW_EXTENSIONS

log = logging.getLogger(__name__)

MAX_PIXELS: int = 200_000_000
"""Decompression-bomb limit: images with more pixels than this are refused from their header.

200 MP leaves room for today's largest phone sensors (16320x12240 = 199.7 MP)."""

# Pillow refuses images above 2 * MAX_IMAGE_PIXELS itself, at open time, and by default that is
# 179 MP: lower than ours, so 200 MP phone photos would be refused. Raise Pillow's limit to ours
# (never lower it, never disable it) so that other code in the process keeps a bomb check, and do
# the real check ourselves from the header size before any pixel is decoded.
if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < MAX_PIXELS:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_READ_CHUNK = 1 << 20

DECODE_BUDGET_BYTES: int = 256 * 1024 * 1024
"""How many bytes of full-size decoded pixels all decodes of the process may hold at once.

Each decode asks the budget for what its pixels will take (known from the header, after
JPEG/HEIF drafting) before it decodes, and gives it back once the small copy exists. Photos
of ordinary size (a 12 MP JPEG drafted to 1/8 takes 0.8 MB) all run at once; a folder of
200 MP PNGs decodes one at a time instead of one per worker (800 MB each). An image larger
than the whole budget still decodes, alone. $MMSEARCH_DECODE_MEMORY_MB overrides it."""


class DecodeBudget:
    """A counting semaphore over bytes, first come first served; see `DECODE_BUDGET_BYTES`."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, int(limit))
        self.in_use = 0
        self.holders = 0
        self.peak_bytes = 0
        self.peak_holders = 0
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0  # the ticket allowed to take its share next

    @contextlib.contextmanager
    def hold(self, nbytes: int) -> Iterator[None]:
        """Hold `nbytes` of the budget for the duration of the block."""
        nbytes = max(0, int(nbytes))
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            # In order of arrival, so a big image is not starved by a stream of small ones;
            # one bigger than the whole budget waits until nothing else runs.
            while ticket != self._serving or (self.holders and self.in_use + nbytes > self.limit):
                self._cond.wait()
            self._serving += 1
            self.in_use += nbytes
            self.holders += 1
            self.peak_bytes = max(self.peak_bytes, self.in_use)
            self.peak_holders = max(self.peak_holders, self.holders)
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self.in_use -= nbytes
                self.holders -= 1
                self._cond.notify_all()


def _default_budget() -> DecodeBudget:
    try:
        megabytes = int(os.environ.get("MMSEARCH_DECODE_MEMORY_MB", ""))
    except ValueError:
        megabytes = 0
    return DecodeBudget(megabytes * 1024 * 1024 if megabytes > 0 else DECODE_BUDGET_BYTES)


_budget = _default_budget()


def _return_big_blocks_to_the_os() -> None:
    """Let glibc hand big freed blocks (Pillow's 16 MB image blocks) back to the system.

    By default glibc raises its mmap threshold after the first big free, so later image
    blocks come from per-thread heaps that keep the memory: after one 200 MP decode per
    worker thread, the process holds all of them for good. A fixed threshold keeps them
    mmapped, and a decoded image's memory goes back when it is freed."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 4 * 1024 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


_return_big_blocks_to_the_os()


def set_decode_budget(budget: DecodeBudget) -> DecodeBudget:
    """Use `budget` for every decode from now on; returns the one used so far."""
    global _budget
    previous, _budget = _budget, budget
    return previous


# Bytes per pixel that Pillow keeps for a mode (RGB is stored as 4 bytes a pixel).
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}


def _decode_cost(im: Image.Image) -> int:
    """Bytes that decoding `im` at its current (drafted) size will hold at the most."""
    width, height = im.size
    pixels = width * height
    mode = im.mode
    held = _MODE_BYTES.get(mode, 4)
    if mode.startswith("I;16") or mode in ("I", "F"):
        held += 8 + 1  # _high_depth_to_l's wide copy and its 8-bit result
    elif mode not in ("RGB", "L", "RGBA", "LA"):
        held += 4  # converted to RGB(A) before shrinking
    elif im.info.get("transparency") is not None:
        held += 4  # colour-key transparency: converted to RGBA
    return pixels * held


# Formats Pillow may try. Restricting them keeps exotic parsers (EPS calls Ghostscript, PSD,
# ICNS, ...) away from files that merely carry a photo extension.
_PILLOW_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "HEIF", "AVIF")

# Human format names for messages, keyed by Pillow's `format`.
_FORMAT_NAMES = {"JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WebP", "HEIF": "HEIF", "AVIF": "AVIF"}

_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)

# EXIF tags.
_ORIENTATION = 0x0112
_MAKE = 0x010F
_MODEL = 0x0110
_DATETIME = 0x0132
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_DATETIME_DIGITIZED = 0x9004

# EXIF orientation -> the transpose that shows the image upright (as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# LibRaw's `sizes.flip` (dcraw's code) -> EXIF orientation; the inverse of dcraw's "50132467".
_LIBRAW_FLIP_TO_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}


class DecodeError(Exception):
    """A photo could not be decoded; `str(error)` is a short reason for the user."""


@dataclass
class DecodedPhoto:
    """A decoded photo, small enough for an encoder, and what its file says about it."""

    image: Image.Image  # RGB, upright, shorter side == min_side (or smaller if the photo is)
    width: int  # full-size width and height, upright (what the user sees)
    height: int
    taken_at: datetime | None  # EXIF DateTimeOriginal, naive local time as the camera wrote it
    camera: str | None  # "Make Model", cleaned


def decode_photo(path: Path, min_side: int = 224) -> DecodedPhoto:
    """Decode `path` into an upright RGB image whose shorter side is `min_side` pixels.

    The image is never upscaled: a photo whose shorter side is already below `min_side` comes
    back at its own size. `width` and `height` are the full size after EXIF orientation.
    Raises `DecodeError` (and nothing else) for any file it cannot decode.
    """
    if min_side < 1:
        raise ValueError(f"min_side must be positive, not {min_side}")
    path = Path(path)
    try:
        return _decode_file(path, min_side)
    except DecodeError:
        raise
    except Exception as exc:  # the promise: nothing but DecodeError escapes for a bad file
        log.debug("decoding %s failed", path, exc_info=True)
        raise DecodeError(_exception_reason(exc, "image")) from exc


#: What a batch decoder gives for one path: the photo, or the reason it could not be decoded.
DecodeResult = DecodedPhoto | DecodeError


def decode_or_error(path: Path, min_side: int) -> DecodeResult:
    """`decode_photo`, with its `DecodeError` returned instead of raised."""
    try:
        return decode_photo(path, min_side=min_side)
    except DecodeError as e:
        return e


def file_hash(path: Path) -> str:
    """The SHA-256 (hex) of the file's bytes, read in 1 MiB chunks.

    Raises `DecodeError` with a short reason when the file cannot be read.
    """
    digest = hashlib.sha256()
    buf = bytearray(_READ_CHUNK)
    view = memoryview(buf)
    try:
        with open(path, "rb", buffering=0) as f:
            while n := f.readinto(buf):
                digest.update(view[:n])
    except OSError as exc:
        raise DecodeError(os_error_reason(exc)) from exc
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Files


def _decode_file(path: Path, min_side: int) -> DecodedPhoto:
    try:
        # stat before open: opening a FIFO for reading would block until a writer comes.
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise DecodeError("not a regular file")
        if st.st_size == 0:
            raise DecodeError("empty file (0 bytes)")
        f = open(path, "rb")  # noqa: SIM115 - closed by the `with` right below
    except OSError as exc:
        raise DecodeError(os_error_reason(exc)) from exc
    with f:
        if path.suffix.lower() in RAW_EXTENSIONS:
            return _decode_raw(path, f, min_side)
        return _decode_with_pillow(f, min_side)


# --------------------------------------------------------------------------------------------
# Pillow (JPEG, PNG, GIF, BMP, TIFF, WebP, HEIF)


def _decode_with_pillow(
    fp: IO[bytes], min_side: int, *, orientation: int | None = None
) -> DecodedPhoto:
    """Decode an open image file; `orientation` overrides the one in its EXIF (RAW previews)."""
    head = fp.read(64)
    fp.seek(0)
    kind = _sniff(head)
    if kind == "HEIF":
        _register_heif()
    try:
        im = Image.open(fp, formats=_available_formats())
    except UnidentifiedImageError as exc:
        raise DecodeError(_unidentified_reason(head, kind)) from exc
    except Image.DecompressionBombError as exc:
        raise DecodeError(_pillow_bomb_reason(exc, head)) from exc
    except Exception as exc:
        raise DecodeError(_exception_reason(exc, kind or "image")) from exc

    with im:
        name = _FORMAT_NAMES.get(im.format or "", im.format or kind or "image")
        try:
            if _is_large_progressive_jpeg(im, min_side):
                fast = _decode_progressive_dc(fp, min_side, orientation)
                if fast is not None:
                    return fast
            return _decode_opened(im, min_side, orientation)
        except DecodeError:
            raise
        except Exception as exc:
            log.debug("decoding %s data failed", name, exc_info=True)
            raise DecodeError(_exception_reason(exc, name)) from exc


def _decode_opened(im: Image.Image, min_side: int, orientation: int | None) -> DecodedPhoto:
    width, height = im.size  # from the header; nothing decoded yet
    _check_size(width, height)

    # Decode at reduced size where the format allows it. Orientation only swaps the sides, so
    # asking for both sides >= min_side keeps the shorter side >= min_side either way.
    if im.format in ("JPEG", "MPO"):
        # libjpeg's DCT scaling: 1/2, 1/4 or 1/8, the largest that keeps both sides >= min_side.
        im.draft("RGB", (min_side, min_side))
    elif im.format == "HEIF":
        # pillow_heif picks the smallest embedded thumbnail with both sides >= min_side that is
        # a true scaled copy of the image (iPhones store a 320x240 one), else decodes it all.
        im.draft(None, (min_side, min_side))
    strips = _png_strip_rows(im, min_side)
    if strips:
        banded = _decode_png_in_strips(im, strips, min_side)
        if banded is not None:
            reduced, exif = banded
            small = _to_small_rgb(reduced, min_side)
            return _upright(small, width, height, orientation, exif)
    with _budget.hold(_decode_cost(im)):
        im.load()  # the first frame / page / primary image
        # After load(): a PNG may keep its eXIf chunk after the pixel data.
        exif = _read_exif(im)
        small = _to_small_rgb(im, min_side)
        if small is im:  # `im` is closed with its file: hand back an independent image
            small = small.copy()
        im._im = None  # the full-size pixels go now, inside the budget (the file stays open)
    return _upright(small, width, height, orientation, exif)


def _upright(
    small: Image.Image, width: int, height: int, orientation: int | None, exif: Image.Exif
) -> DecodedPhoto:
    """The decoded photo turned as its EXIF orientation says (read from `exif` unless the
    container gave it), with its full size and EXIF date and camera."""
    if orientation is None:
        orientation = _exif_orientation(exif)
    if orientation in _TRANSPOSE:
        small = small.transpose(_TRANSPOSE[orientation])
        if orientation >= 5:
            width, height = height, width
    return DecodedPhoto(small, width, height, _exif_taken_at(exif), _exif_camera(exif))


_STRIP_BYTES = 16 * 1024 * 1024  # decoded bytes per strip of a large PNG
_STRIP_MIN_PIXELS = 50_000_000  # below, a full decode (200 MB at the most) is faster


def _png_strip_rows(im: Image.Image, min_side: int) -> int:
    """Rows per strip when `im` is a large plain PNG that can be decoded strip by strip
    (8-bit RGB or greyscale, not interlaced, no colour key, one frame), else 0."""
    width, height = im.size
    if im.format != "PNG" or width * height < _STRIP_MIN_PIXELS or im.mode not in ("RGB", "L"):
        return 0
    if not isinstance(im, ImageFile.ImageFile):
        return 0
    tile = im.tile
    if len(tile) != 1 or tile[0][0] != "zip" or tile[0][3] not in (im.mode, (im.mode,)):
        return 0
    if im.info.get("interlace") or "transparency" in im.info:
        return 0
    if getattr(im, "n_frames", 1) != 1:
        return 0
    factor = max(1, min(width, height) // (2 * min_side))
    if factor < 2:
        return 0
    rows = max(1, _STRIP_BYTES // (width * 4))
    return max(factor, rows - rows % factor)


def _decode_png_in_strips(
    im: Image.Image, rows: int, min_side: int
) -> tuple[Image.Image, Image.Exif] | None:
    """Decode a large PNG `rows` rows at a time, box-reducing each strip as it comes, so
    that the full-size pixels never exist at once (a 200 MP PNG holds 16 MB, not 800).

    The IDAT stream is inflated here; each strip's filtered rows go to Pillow's PNG row
    decoder (re-wrapped as a stored zlib stream) behind the previous strip's last row,
    unfiltered, which the first row's filter refers to. None on anything unexpected (the
    ordinary decode then runs and reports damaged files as usual)."""
    fp = im.fp if isinstance(im, ImageFile.ImageFile) else None
    if fp is None:
        return None
    width, height = im.size
    mode = im.mode
    channels = 3 if mode == "RGB" else 1
    stride = width * channels + 1
    factor = max(1, min(width, height) // (2 * min_side))
    cost = (rows + 1) * width * 4 * 2 + (width // factor + 1) * (height // factor + 1) * 4
    before = im.info.get("exif")  # an eXIf chunk ahead of the pixels, read at open
    exif_data: bytes | None = before if isinstance(before, bytes) else None
    try:
        with _budget.hold(cost):
            fp.seek(8)
            inflate = zlib.decompressobj()
            pending = bytearray()
            previous: bytes | None = None
            done = 0
            pieces: list[Image.Image] = []

            canvas: list[Image.Image] = []  # one strip image, reused

            def flush(count: int) -> None:
                nonlocal previous, done
                size = count * stride
                with memoryview(pending) as view, view[:size] as rows:
                    stream = _stored_zlib([b"\x00", previous, rows] if previous else [rows])
                del pending[:size]
                first = 1 if previous else 0
                lines = count + first
                if not canvas or canvas[0].height != lines:
                    canvas[:] = [Image.new(mode, (width, lines))]
                strip = canvas[0]
                decoder = Image._getdecoder(mode, "zip", mode)
                decoder.setimage(strip.im, (0, 0, width, lines))
                try:
                    status, error = decoder.decode(stream)
                finally:
                    decoder.cleanup()
                if status >= 0 or error != 0:
                    raise ValueError("damaged PNG strip")
                previous = strip.crop((0, lines - 1, width, lines)).tobytes()
                pieces.append(strip.reduce(factor, box=(0, first, width, lines)))
                done += count

            while True:
                head = fp.read(8)
                if len(head) < 8:
                    return None
                length, kind = struct.unpack(">I4s", head)
                if kind == b"IDAT":
                    left = length
                    while left:
                        block = fp.read(min(left, 1 << 20))
                        if not block:
                            return None
                        left -= len(block)
                        chunk = block
                        while chunk:
                            pending.extend(inflate.decompress(chunk, rows * stride))
                            chunk = inflate.unconsumed_tail
                            while len(pending) >= rows * stride and done + rows <= height:
                                flush(rows)
                    fp.read(4)
                    continue
                body = fp.read(length)
                fp.read(4)
                if kind == b"eXIf":
                    exif_data = body
                if kind == b"IEND":
                    break
            left = height - done
            if left <= 0 or len(pending) < left * stride:
                return None if left != 0 else _stitch(pieces, exif_data)
            flush(left)
            return _stitch(pieces, exif_data)
    except Exception:  # anything unexpected: the ordinary decode runs and says what is wrong
        log.debug("strip decoding failed, decoding normally", exc_info=True)
        return None


def _stored_zlib(parts: list[Any]) -> bytes:
    """`parts` (bytes-like) as a zlib stream of stored (uncompressed) blocks: what Pillow's
    PNG row decoder reads, made without the cost of compressing."""
    data = b"".join(parts)
    out: list[Any] = [b"\x78\x01"]
    with memoryview(data) as view:
        for start in range(0, len(data), 65535):
            block = view[start : start + 65535]
            final = 1 if start + 65535 >= len(data) else 0
            out.append(struct.pack("<BHH", final, len(block), len(block) ^ 0xFFFF))
            out.append(block)
        out.append(zlib.adler32(data).to_bytes(4, "big"))
        stream = b"".join(out)
        for part in out:
            if isinstance(part, memoryview):
                part.release()
    return stream


def _stitch(pieces: list[Image.Image], exif_data: bytes | None) -> tuple[Image.Image, Image.Exif]:
    width = pieces[0].width
    out = Image.new(pieces[0].mode, (width, sum(p.height for p in pieces)))
    y = 0
    for piece in pieces:
        out.paste(piece, (0, y))
        y += piece.height
    exif = Image.Exif()
    if exif_data:
        with contextlib.suppress(Exception):
            exif.load(exif_data)
    return out, exif


def _is_large_progressive_jpeg(im: Image.Image, min_side: int) -> bool:
    """True when draft() will pick 1/8 scale for a progressive JPEG (see _decode_progressive_dc)."""
    progressive = bool(im.info.get("progressive") or im.info.get("progression"))
    return im.format in ("JPEG", "MPO") and progressive and min(im.size) // min_side >= 8


def _decode_progressive_dc(
    fp: IO[bytes], min_side: int, orientation: int | None
) -> DecodedPhoto | None:
    """Decode a progressive JPEG at 1/8 scale from its DC scans only, or None to fall back.

    At 1/8 scale libjpeg's IDCT reads only the DC coefficient of each luma block, yet for a
    progressive file it still entropy-decodes every AC scan first, which is most of the work
    (and most of the bytes). Dropping the AC scans makes it 2-5x faster; the luma is the same,
    the chroma (which libjpeg would decode at 2x2 for 4:2:0 files) loses a little sharpness,
    invisible at encoder sizes. Anything unusual returns None and the ordinary decode runs,
    which is also what reports truncated or corrupt files.
    """
    try:
        fp.seek(0)
        stream = _progressive_dc_stream(fp.read())
        if stream is None:
            return None
        with Image.open(io.BytesIO(stream), formats=["JPEG"]) as dc_im:
            return _decode_opened(dc_im, min_side, orientation)
    except Exception:
        log.debug("DC-only decode failed, decoding normally", exc_info=True)
        return None


# A marker: 0xFF then neither a stuffed zero, a restart marker (D0-D7) nor a fill byte (FF).
_JPEG_MARKER_RE = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")
_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # minus DHT, JPG, DAC


def _progressive_dc_stream(data: bytes) -> bytes | None:
    """`data` (a progressive Huffman JPEG) with its AC scans removed, or None if unusual.

    Every other segment (tables, EXIF, ICC...) is kept in order, so each kept scan sees the
    same Huffman tables as in the original; only the multi-picture index (MPF) is dropped since
    its offsets would point past the shortened stream.
    """
    if not data.startswith(b"\xff\xd8"):
        return None
    out = [b"\xff\xd8"]
    pos, size = 2, len(data)
    while True:
        found = _JPEG_MARKER_RE.search(data, pos)
        if found is None:
            return None  # no EOI: truncated; let the ordinary decode say so
        pos = found.start()
        marker = data[pos + 1]
        if marker == 0xD9:  # EOI
            out.append(b"\xff\xd9")
            return b"".join(out)
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if pos + 4 > size or end > size:
            return None
        if marker in _JPEG_SOF_MARKERS and marker != 0xC2:
            return None  # baseline, lossless or arithmetic-coded: not for us
        if marker == 0xDA:  # SOS: header, then entropy-coded data up to the next marker
            components = data[pos + 4]
            spectral_start = data[min(pos + 5 + 2 * components, size - 1)]
            following = _JPEG_MARKER_RE.search(data, end)
            if following is None:
                return None
            if spectral_start == 0:  # a DC scan (first pass or refinement): keep it
                out.append(data[pos : following.start()])
            pos = following.start()
            continue
        if not (marker == 0xE2 and data[pos + 4 : pos + 8] == b"MPF\x00"):
            out.append(data[pos:end])
        pos = end


def _check_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise DecodeError(f"invalid image size ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise DecodeError(_too_large(width * height, (width, height)))


def _to_small_rgb(im: Image.Image, min_side: int) -> Image.Image:
    """Shrink to shorter side == min_side (never up) and flatten to RGB on white."""
    mode = im.mode
    if mode in ("RGB", "L", "P") and im.has_transparency_data:
        im = im.convert("RGBA")  # palette or colour-key transparency
    elif mode == "P":
        im = im.convert("RGB")
    elif mode == "1":
        im = im.convert("L")  # so that the reduction below averages instead of picking
    elif mode in ("PA", "RGBa"):
        im = im.convert("RGBA")
    elif mode == "La":
        im = im.convert("LA")
    elif mode.startswith("I;16") or mode in ("I", "F"):
        im = _high_depth_to_l(im)
    elif mode not in ("RGB", "L", "RGBA", "LA"):
        im = im.convert("RGB")  # CMYK (Adobe inversion already handled), YCbCr, LAB, HSV, ...

    im = _shrink(im, min_side)

    if im.mode in ("RGBA", "LA"):
        # After the shrink, which premultiplies alpha itself, so transparent pixels' colours do
        # not bleed in; and on the small image, which is cheaper.
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im if im.mode == "RGB" else im.convert("RGB")


def _shrink(im: Image.Image, min_side: int) -> Image.Image:
    width, height = im.size
    short = min(width, height)
    if short <= min_side:
        return im
    scale = min_side / short
    if width <= height:
        size = (min_side, max(min_side, round(height * scale)))
    else:
        size = (max(min_side, round(width * scale)), min_side)
    # reducing_gap: box-reduce by an integer factor first (fast), then a bicubic pass over at
    # least 2x the target: as good as a full-resolution bicubic to the eye, several times faster.
    return im.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _high_depth_to_l(im: Image.Image) -> Image.Image:
    """16-bit / 32-bit / float greyscale to 8-bit by scaling (Pillow's convert clips at 255)."""
    arr = np.asarray(im)
    if im.mode == "F":
        values = np.nan_to_num(arr.astype(np.float32))
        if values.size and float(values.max()) <= 1.0:
            values = values * 255.0
        out = np.clip(values + 0.5, 0, 255).astype(np.uint8)
    else:
        wide = arr.astype(np.int64)
        if im.mode.startswith("I;16") or (wide.size and int(wide.max()) > 255):
            wide = (np.clip(wide, 0, 65535) + 128) // 257  # 16-bit range -> 8-bit, rounded
        out = np.clip(wide, 0, 255).astype(np.uint8)
    return Image.fromarray(out)


# --------------------------------------------------------------------------------------------
# HEIF


_heif_lock = threading.Lock()
_heif_registered: bool | None = None  # None: not tried yet; False: pillow_heif missing


def _register_heif() -> None:
    """Register pillow_heif's Pillow opener, once, on the first HEIF file."""
    global _heif_registered
    with _heif_lock:
        if _heif_registered is None:
            try:
                import pillow_heif
            except ImportError:
                _heif_registered = False
            else:
                pillow_heif.register_heif_opener()
                _heif_registered = True
    if not _heif_registered:
        raise DecodeError("HEIC/HEIF support is not installed (pillow-heif)")


# --------------------------------------------------------------------------------------------
# RAW


def _decode_raw(path: Path, f: BinaryIO, min_side: int) -> DecodedPhoto:
    """Decode a RAW file from its embedded preview (developing the RAW would take seconds)."""
    try:
        import rawpy
    except ImportError as exc:
        raise DecodeError("RAW support is not installed (rawpy)") from exc

    try:
        # LibRaw takes a UTF-8 path; for names that are not UTF-8 hand it the bytes instead.
        source: str | BinaryIO = str(path)
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:
            source = f
        with rawpy.imread(source) as raw:
            sizes = raw.sizes
            thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError) as exc:
        raise DecodeError("RAW file without an embedded preview") from exc
    except rawpy.LibRawFileUnsupportedError as exc:
        raise DecodeError("unsupported RAW file") from exc
    except rawpy.LibRawIOError as exc:
        raise DecodeError("truncated or unreadable RAW file") from exc
    except rawpy.LibRawTooBigError as exc:
        raise DecodeError("RAW image too large") from exc
    except rawpy.LibRawUnsufficientMemoryError as exc:
        raise DecodeError("not enough memory to decode") from exc
    except rawpy.LibRawError as exc:
        raise DecodeError("corrupt RAW file") from exc

    # The preview is stored unrotated; LibRaw's flip says how the camera was held.
    orientation = _LIBRAW_FLIP_TO_ORIENTATION.get(int(sizes.flip), 1)
    if thumb.format == rawpy.ThumbFormat.JPEG and isinstance(thumb.data, bytes):
        decoded = _decode_with_pillow(io.BytesIO(thumb.data), min_side, orientation=orientation)
    else:
        try:
            bitmap = Image.fromarray(np.ascontiguousarray(thumb.data))
        except (TypeError, ValueError) as exc:
            raise DecodeError("RAW file with an unreadable preview") from exc
        decoded = _decode_opened(bitmap, min_side, orientation)

    width, height = int(sizes.width), int(sizes.height)
    if width > 0 and height > 0:  # the RAW's own size, not the preview's
        if orientation >= 5:
            width, height = height, width
        decoded = replace(decoded, width=width, height=height)
    if decoded.taken_at is None or decoded.camera is None:
        exif = _raw_tiff_exif(f)
        decoded = replace(
            decoded,
            taken_at=decoded.taken_at or _exif_taken_at(exif),
            camera=decoded.camera or _exif_camera(exif),
        )
    return decoded


def _raw_tiff_exif(f: IO[bytes]) -> Image.Exif:
    """EXIF of TIFF-based RAW files (DNG, CR2, NEF, ARW, ...), read from the header only."""
    try:
        f.seek(0)
        with Image.open(f, formats=["TIFF"]) as tiff:
            return tiff.getexif()
    except Exception:  # metadata is a bonus: a RAW that Pillow cannot parse has none
        return Image.Exif()


# --------------------------------------------------------------------------------------------
# EXIF


def _read_exif(im: Image.Image) -> Image.Exif:
    try:
        return im.getexif()
    except Exception:  # broken EXIF must not cost the pixels: treat it as absent
        log.debug("unreadable EXIF", exc_info=True)
        return Image.Exif()


def _exif_orientation(exif: Image.Exif) -> int:
    try:
        value = int(exif.get(_ORIENTATION, 1))
    except Exception:
        return 1
    return value if 1 <= value <= 8 else 1


_DATE_RE = re.compile(
    r"(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})(?:[ T]+(\d{1,2})[:.](\d{1,2})(?:[:.](\d{1,2}))?)?"
)


def _exif_taken_at(exif: Image.Exif) -> datetime | None:
    """DateTimeOriginal, else DateTimeDigitized, else DateTime (the file's last edit)."""
    try:
        sub = exif.get_ifd(_EXIF_IFD)
        candidates = [sub.get(_DATETIME_ORIGINAL), sub.get(_DATETIME_DIGITIZED)]
    except Exception:
        candidates = []
    with contextlib.suppress(Exception):
        candidates.append(exif.get(_DATETIME))
    for value in candidates:
        parsed = _parse_exif_datetime(value)
        if parsed is not None:
            return parsed
    return None


def _parse_exif_datetime(value: Any) -> datetime | None:
    """'YYYY:MM:DD HH:MM:SS' (and the variants cameras write) to a naive datetime, else None."""
    text = _exif_text(value)
    if text is None:
        return None
    match = _DATE_RE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(p) if p else 0 for p in match.groups())
    if year < 1800:  # "0000:00:00 00:00:00" and other placeholders
        return None
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


_CORPORATE_SUFFIX_RE = re.compile(
    r"[\s,]*\b(imaging|optical|corporation|corp\.?|company|co\.?,?\s*ltd\.?|ltd\.?|inc\.?)$",
    re.IGNORECASE,
)


def _exif_camera(exif: Image.Exif) -> str | None:
    """ "Make Model", without the make twice ("Canon Canon EOS R5") or corporate suffixes."""
    try:
        make = _exif_text(exif.get(_MAKE))
        model = _exif_text(exif.get(_MODEL))
    except Exception:
        return None
    if not make or not model:
        return make or model
    make_words = make.casefold().split()
    if model.casefold().split()[0] in make_words or model.casefold().startswith(make.casefold()):
        return model  # "NIKON CORPORATION" + "NIKON D750" -> "NIKON D750"
    short = make
    while True:
        stripped = _CORPORATE_SUFFIX_RE.sub("", short)
        if stripped == short or not stripped:
            break
        short = stripped
    return f"{short} {model}"


def _exif_text(value: Any) -> str | None:
    """An EXIF ASCII value, stripped of NULs, control characters and extra whitespace."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = "".join(ch if ch.isprintable() else " " for ch in value)
    text = " ".join(text.split())[:100]
    return text or None


# --------------------------------------------------------------------------------------------
# Reasons


def _available_formats() -> tuple[str, ...]:
    # Image.open raises KeyError for a format no plugin registered (HEIF before pillow_heif).
    Image.init()
    return tuple(f for f in _PILLOW_FORMATS if f in Image.OPEN)


_MAGIC_PREFIXES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF8", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"RIFF", "WebP"),
)


_BMP_HEADER_SIZES = frozenset(struct.pack("<I", n) for n in (12, 40, 52, 56, 64, 108, 124))


def _sniff(head: bytes) -> str | None:
    """The format the first bytes announce, for messages and for registering HEIF."""
    if len(head) < 12:  # a file cut within its signature
        for magic, name in _MAGIC_PREFIXES:
            if head and (magic.startswith(head) or head.startswith(magic)):
                return name
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head.startswith(b"BM") and head[14:18] in _BMP_HEADER_SIZES:  # "BM" alone is weak
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[4:8] == b"ftyp":
        if head[8:12] in _HEIF_BRANDS:
            return "HEIF"
        if head[8:12] in (b"avif", b"avis"):
            return "AVIF"
    return None


def _unidentified_reason(head: bytes, kind: str | None) -> str:
    if kind is not None:
        return f"corrupt or truncated {kind} file"
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "not an image (web page?)"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # a multi-byte character cut by the 64-byte window is still text
            if exc.reason != "unexpected end of data":
                return "not an image (unknown format)"
        return "not an image (text file?)"
    return "not an image (unknown format)"


def _format_mp(pixels: int) -> str:
    return f"{pixels / 1e6:.1f}".rstrip("0").rstrip(".")


def _too_large(pixels: int, size: tuple[int, int] | None) -> str:
    dims = f"{size[0]}x{size[1]} = " if size else ""
    return f"image too large ({dims}{_format_mp(pixels)} MP, limit {_format_mp(MAX_PIXELS)} MP)"


def _pillow_bomb_reason(exc: Exception, head: bytes) -> str:
    """Pillow refused the size before we saw it: recover what we can for the message."""
    size: tuple[int, int] | None = None
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        size = struct.unpack(">II", head[16:24])
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        size = struct.unpack("<HH", head[6:10])
    match = re.search(r"\((\d+) pixels\)", str(exc))
    pixels = size[0] * size[1] if size else int(match.group(1)) if match else 0
    if not pixels:
        return "image too large"
    return _too_large(pixels, size)


def _exception_reason(exc: BaseException, fmt: str) -> str:
    """A short reason for whatever a broken `fmt` file made a decoder throw."""
    if isinstance(exc, Image.DecompressionBombError):
        return _pillow_bomb_reason(exc, b"")
    if isinstance(exc, MemoryError):
        return "not enough memory to decode"
    if isinstance(exc, OSError) and exc.errno is not None:
        return os_error_reason(exc)  # the disk, not the data
    message = str(exc).lower()
    if isinstance(exc, EOFError) or "truncated" in message or "premature end" in message:
        return f"truncated {fmt}"
    if isinstance(exc, (OSError, SyntaxError, ValueError, struct.error, IndexError, TypeError)):
        return f"corrupt {fmt} file"
    return f"cannot decode {fmt} file ({type(exc).__name__})"


# --------------------------------------------------------------------------------------------
# What a file's header says (read again after indexing: places and dates, issue 12 §3)

_GPS_IFD = 0x8825
_GPS_LATITUDE_REF, _GPS_LATITUDE, _GPS_LONGITUDE_REF, _GPS_LONGITUDE = 1, 2, 3, 4


@dataclass(frozen=True)
class FileDetails:
    """The EXIF date and GPS position of a photo file (None: the file has none)."""

    taken_at: datetime | None
    gps: tuple[float, float] | None  # (latitude, longitude), degrees, north and east positive


def read_details(path: Path) -> FileDetails:
    """The EXIF date and GPS position of the photo at `path`, from its header only (no
    pixels decoded). A file Pillow cannot open (RAW, damaged) has neither; never raises
    for a bad file, only OSError for one that can't be read."""
    with open(path, "rb") as f:
        head = f.read(64)
        f.seek(0)
        if _sniff(head) == "HEIF":
            _register_heif()
        try:
            with Image.open(f, formats=_available_formats()) as im:
                exif = _read_exif(im)
        except UnidentifiedImageError:  # (an OSError): not a file Pillow reads
            return FileDetails(None, None)
        except OSError:
            raise
        except Exception:
            log.debug("no header to read in %s", path, exc_info=True)
            return FileDetails(None, None)
    return FileDetails(_exif_taken_at(exif), _exif_gps(exif))


def camera_exif(
    gps: tuple[float, float] | None = None,
    taken: str | None = None,
    camera: tuple[str, str] | None = None,
) -> Image.Exif:
    """The EXIF a camera or phone writes, for photos the self-test, the screenshots and the
    tests make: GPS position (degrees, minutes, seconds with N/S and E/W), DateTimeOriginal
    ("2021:05:01 10:00:00"), make and model."""

    def dms(x: float) -> tuple[float, float, float]:
        x = abs(x)
        d, m = int(x), int(x * 60) % 60
        return float(d), float(m), round((x - d - m / 60) * 3600, 4)

    exif = Image.Exif()
    if camera is not None:
        exif[_MAKE], exif[_MODEL] = camera
    if gps is not None:
        lat, lon = gps
        exif[_GPS_IFD] = {
            _GPS_LATITUDE_REF: "N" if lat >= 0 else "S",
            _GPS_LATITUDE: dms(lat),
            _GPS_LONGITUDE_REF: "E" if lon >= 0 else "W",
            _GPS_LONGITUDE: dms(lon),
        }
    if taken is not None:
        exif[_EXIF_IFD] = {_DATETIME_ORIGINAL: taken}
    return exif


def _degrees(value: Any) -> float | None:
    """EXIF's (degrees, minutes, seconds) rationals (or one number) to degrees."""
    try:
        parts = [float(v) for v in value] if isinstance(value, tuple | list) else [float(value)]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not parts or len(parts) > 3 or not all(math.isfinite(p) and p >= 0 for p in parts):
        return None
    return float(sum(p / 60**i for i, p in enumerate(parts)))


def _exif_gps(exif: Image.Exif) -> tuple[float, float] | None:
    """The GPS IFD's position, or None when it is missing, broken, out of range or the
    (0, 0) that cameras write before they have a fix."""
    try:
        gps = exif.get_ifd(_GPS_IFD)
    except Exception:
        return None
    if not gps:
        return None
    lat, lon = _degrees(gps.get(_GPS_LATITUDE)), _degrees(gps.get(_GPS_LONGITUDE))
    if lat is None or lon is None:
        return None
    if (_exif_text(gps.get(_GPS_LATITUDE_REF)) or "N").upper().startswith("S"):
        lat = -lat
    if (_exif_text(gps.get(_GPS_LONGITUDE_REF)) or "E").upper().startswith("W"):
        lon = -lon
    if abs(lat) > 90 or abs(lon) > 180 or (abs(lat) < 1e-6 and abs(lon) < 1e-6):
        return None
    return lat, lon

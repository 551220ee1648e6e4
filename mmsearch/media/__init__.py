"""Files and pixels: find photos on disk and decode them small, upright and RGB.

Nothing here knows about models; see `scan` and `decode`.
"""

from mmsearch.media.decode import (
    MAX_PIXELS,
    DecodedPhoto,
    DecodeError,
    decode_photo,
    file_hash,
)
from mmsearch.media.scan import PHOTO_EXTENSIONS, RAW_EXTENSIONS, FoundFile, scan_folder

__all__ = [
    "MAX_PIXELS",
    "PHOTO_EXTENSIONS",
    "RAW_EXTENSIONS",
    "DecodeError",
    "DecodedPhoto",
    "FoundFile",
    "decode_photo",
    "file_hash",
    "scan_folder",
]

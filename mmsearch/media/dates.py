"""When a photo was taken, for photos whose file has no EXIF date (issue 12 §3): the date a
phone or an app wrote into the file name, else the file's own time. Each is marked with its
source in the catalog (`Photo.taken_from`) and shown as such, since a file time is only
when the file was last written (a copy, an edit), not when the photo was taken.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

EXIF, NAME, FILE = "exif", "name", "file"
"""`Photo.taken_from`: the EXIF date, the file name's, the file's modification time."""

EARLIEST = datetime(1990, 1, 1)
"""Digits before this are not a date a camera wrote (a counter, a phone number)."""

# YYYY MM DD, optionally hh mm ss, with or without separators, not inside a longer number:
# IMG_20230714_153012.jpg, PXL_20230714_153012345.jpg, Screenshot_2023-07-14-15-30-12.png,
# IMG-20230714-WA0001.jpg (WhatsApp), 2023-07-14 15.30.12.jpg, signal-2023-07-14-153012.jpg.
_NAME_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d\d)(?P<s>[-_.]?)(?P<m>0[1-9]|1[0-2])(?P=s)(?P<d>0[1-9]|[12]\d|3[01])"
    r"(?:[-_ T.]{0,3}(?P<H>[01]\d|2[0-3])[-_.:h]?(?P<M>[0-5]\d)[-_.:m]?(?P<S>[0-5]\d)?)?"
    r"(?!\d{1,2}(?!\d))"
)


def date_from_name(name: str, latest: datetime | None = None) -> datetime | None:
    """The date (and time, when written) in a file name, or None. Dates before 1990 or after
    `latest` (default: tomorrow) are not taken: they are counters, not dates."""
    latest = latest or datetime.now() + timedelta(days=1)
    for match in _NAME_DATE.finditer(name):
        g = match.groupdict()
        try:
            when = datetime(
                int(g["y"]),
                int(g["m"]),
                int(g["d"]),
                int(g["H"] or 0),
                int(g["M"] or 0),
                int(g["S"] or 0),
            )
        except ValueError:  # 2023-02-30
            continue
        if EARLIEST <= when <= latest:
            return when
    return None


def date_from_file(mtime_ns: int) -> datetime | None:
    """The file's modification time as naive local time (as EXIF dates are), or None for a
    time that can't be a photo's (before 1990: an unset clock)."""
    try:
        when = datetime.fromtimestamp(mtime_ns / 1e9)
    except (OverflowError, OSError, ValueError):
        return None
    return when if when >= EARLIEST else None


def best_date(
    exif: datetime | None, name: str, mtime_ns: int
) -> tuple[datetime | None, str | None]:
    """(date, source): the EXIF date, else the file name's, else the file's time."""
    if exif is not None:
        return exif, EXIF
    named = date_from_name(name)
    if named is not None:
        return named, NAME
    filed = date_from_file(mtime_ns)
    return (filed, FILE) if filed is not None else (None, None)

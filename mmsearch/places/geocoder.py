"""Offline reverse geocoding: a GPS position to the town, region and country it is in.

The database (built by `models/bundled/places.py` into build/places/geonames/) holds every
GeoNames place of 1,000 people or more, sorted by latitude. A position is named after the
nearest of them, found exactly with a latitude band: every place outside a band of ±d
degrees is at least d × 111.2 km away, so the nearest place inside the band is the nearest
of all as soon as it lies closer than that (the band doubles until it does).

Point data, not borders: near a border the nearest town can be across it, and a position
far from any town (sea, wilderness) names no town. Measured in docs/photos.md.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmsearch.datafiles import read_manifest
from mmsearch.encoders.spec import ModelError
from mmsearch.paths import repo_root

FORMAT = 1
PLACES_DIR_NAME = "geonames"
MANIFEST = "places.json"
DATA_FILE = "places.npz"

CITY_KM = 40.0
"""Beyond this distance from the nearest town, a photo is given its region and country
only (a mountain or a lake between towns still is in that region)."""
REGION_KM = 120.0
"""Beyond this, nothing: open sea or a wilderness where the nearest town says little."""
BIGGER_PLACE = 10
"""A place this many times as large as the nearest one whose extent reaches the photo names
it instead: a photo in a city's district is searched for by the city's name."""

SPAN_DIVISOR = 150.0
_SPAN_REACH_KM = 35.0  # sqrt(the largest population, 22M) / SPAN_DIVISOR, and some

_EARTH_KM = 6371.0088
_KM_PER_DEGREE = _EARTH_KM * math.pi / 180.0
_FIX = "run `make install` (it builds the place database into build/places/)"


def default_folder() -> Path:
    """Where `make install` (and the packaged app) keep the place database."""
    env = os.environ.get("MMSEARCH_PLACES")
    return Path(env) if env else repo_root() / "build" / "places" / PLACES_DIR_NAME


@dataclass(frozen=True)
class Place:
    """A named place: `entry` is its row in the database (`Geocoder.version`'s)."""

    entry: int
    city: str | None
    region: str | None
    country: str
    country_code: str

    def label(self) -> str:
        return place_label(self.city, self.region, self.country)


def place_label(town: str | None, region: str | None, country: str | None) -> str:
    """ "Lisbon, Portugal": the town (or, without one, the region) and the country, each
    once: how a photo's place is shown and compared everywhere."""
    return ", ".join(dict.fromkeys(x for x in (town or region, country) if x))


def _lines(blob: np.ndarray) -> list[str]:
    return bytes(blob).decode("utf-8").split("\n") if len(blob) else []


def _km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle distances (haversine) from one position to many."""
    p1, p2 = math.radians(lat), np.radians(lats.astype(np.float64))
    dp = p2 - p1
    dl = np.radians(lons.astype(np.float64) - lon)
    a = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    km: np.ndarray = 2 * _EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return km


class Geocoder:
    """The place database of one folder (`default_folder()` unless told)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()
        info = read_manifest(self.folder, MANIFEST, "the place database", _FIX)
        if info.get("format") != FORMAT:
            raise ModelError(
                f"the place database in {self.folder} is format {info.get('format')}, "
                f"this version reads format {FORMAT}: {_FIX}"
            )
        self.version = f"geonames/{FORMAT}/{info['sha256'][DATA_FILE][:12]}"
        self._data_file = self.folder / info["files"]["data"]
        self._loaded = False
        self._load_lock = threading.Lock()

    def _load(self) -> None:
        """The arrays, on first use (about 0.5 s): a run with no position to name never
        pays for them."""
        with self._load_lock:
            if self._loaded:
                return
            with np.load(self._data_file, allow_pickle=False) as data:
                self._lat = data["lat"]
                self._lon = data["lon"]
                self._population = data["population"]
                self._region = data["region"]
                self._names = _lines(data["names"])
                regions = [line.split("\t", 1) for line in _lines(data["regions"])]
                self._countries = dict(line.split("\t", 1) for line in _lines(data["countries"]))
                alternates = _lines(data["alternates"])
            self._region_names = [name or None for _code, name in regions]
            self._region_country = [code for code, _name in regions]
            self._alternates: dict[int, list[str]] = {}
            for line in alternates:
                entry, names = line.split("\t", 1)
                self._alternates[int(entry)] = names.split("|")
            self._loaded = True

    def __len__(self) -> int:
        self._load()
        return len(self._names)

    def _nearest(self, lat: float, lon: float, within_km: float) -> tuple[int, float] | None:
        """The nearest place within `within_km` and its distance, exactly."""
        self._load()
        band = 0.25
        while True:
            lo = int(np.searchsorted(self._lat, lat - band, "left"))
            hi = int(np.searchsorted(self._lat, lat + band, "right"))
            if hi > lo:
                km = _km(lat, lon, self._lat[lo:hi], self._lon[lo:hi])
                best = int(np.argmin(km))
                if km[best] <= band * _KM_PER_DEGREE:
                    return (lo + best, float(km[best])) if km[best] <= within_km else None
            if band * _KM_PER_DEGREE > within_km:
                return None  # nothing inside the band, and the band holds all within reach
            band *= 2

    def _named_after(self, lat: float, lon: float, entry: int) -> int:
        """`entry`, or a place `BIGGER_PLACE` times larger whose own extent reaches the
        photo: a city of P people is taken to span sqrt(P) / `SPAN_DIVISOR` km from its
        centre (8.8M, New York: 20 km; 500k, Lisbon: 4.7 km)."""
        band = _SPAN_REACH_KM / _KM_PER_DEGREE
        lo = int(np.searchsorted(self._lat, lat - band, "left"))
        hi = int(np.searchsorted(self._lat, lat + band, "right"))
        dist = _km(lat, lon, self._lat[lo:hi], self._lon[lo:hi])
        pop = self._population[lo:hi].astype(np.float64)
        big = pop >= max(1, int(self._population[entry])) * BIGGER_PLACE
        big &= dist <= np.sqrt(pop) / SPAN_DIVISOR
        if not big.any():
            return entry
        return lo + int(np.argmax(np.where(big, pop, -1.0)))

    def locate(self, lat: float, lon: float) -> Place | None:
        """The place a GPS position is in, or None where no town is within `REGION_KM`
        (or the position is not one)."""
        if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
            return None
        self._load()
        found = self._nearest(lat, lon, REGION_KM)
        if found is None:
            return None
        entry, km = found
        if km <= CITY_KM:
            entry = self._named_after(lat, lon, entry)
        region = int(self._region[entry])
        code = self._region_country[region]
        return Place(
            entry,
            self._names[entry] if km <= CITY_KM else None,
            self._region_names[region],
            self._countries.get(code, code),
            code,
        )

    def other_names(self, entry: int) -> list[str]:
        """The other names the place at `entry` is known by ("Lisboa", "里斯本")."""
        self._load()
        return self._alternates.get(entry, [])


_shared: dict[Path, Geocoder] = {}
_shared_lock = threading.Lock()


def shared_geocoder(folder: Path | None = None) -> Geocoder:
    """One geocoder per database folder in this process (its arrays load once, 0.5 s)."""
    key = (folder or default_folder()).resolve()
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Geocoder(key)
        return _shared[key]

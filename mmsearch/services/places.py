"""Places in searches (issue 12 §3): a place name to the library's place ids (`--place`,
the window's place list), and a place named inside a typed query ("beach in Lisbon",
"里斯本的海滩") recognised as a place filter plus the rest as the visual query.

Only places the library's photos were named after are recognised, by their town, region
or country name, or another name GeoNames knows the town by ("Lisboa", "里斯本"). So a
word is never taken for a place the user has no photo of, and a common word that is also a
town ("Nice", "Bath") is taken only where the query says it is a place: after "in", "at",
"near", "from", "around", "of", written with a capital letter, or alone. Chinese
names are taken anywhere (with a 在 before or a 的 after them). Callers show what was
recognised, so the user can search the words as typed instead.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from mmsearch.catalog.db import PlaceInfo
from mmsearch.encoders.spec import ModelError
from mmsearch.places.geocoder import place_label, shared_geocoder
from mmsearch.services.library import Library

_PREPOSITIONS = frozenset({"in", "at", "near", "from", "around", "of"})
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_MAX_WORDS = 4  # "Santa Cruz de Tenerife"


def fold(text: str) -> str:
    """Case, accents, hyphens and spacing folded: "Île-de-France" -> "ile de france"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().replace("-", " ").split())


def _names(place: PlaceInfo, others: list[str]) -> list[str]:
    return [n for n in (place.city, *others, place.region, place.country) if n]


def _library_places(lib: Library) -> list[tuple[PlaceInfo, list[str]]]:
    """The library's places, each with all the names it answers to."""
    places = lib.catalog.known_places()
    try:
        geocoder = shared_geocoder()
    except ModelError:  # no place database here: the stored names still work
        geocoder = None
    return [
        (p, _names(p, geocoder.other_names(p.entry) if geocoder and p.city else [])) for p in places
    ]


def place_ids(lib: Library, name: str) -> tuple[int, ...]:
    """The ids of the library's places `name` names: a town, region or country, or several
    of them comma-separated to narrow it ("Lisbon, Portugal"; "Springfield, Illinois")."""
    wanted = [fold(part) for part in name.split(",") if part.strip()]
    found = []
    for place, names in _library_places(lib):
        folded = {fold(n) for n in names}
        if wanted and all(w in folded for w in wanted):
            found.append(place.id)
    return tuple(found)


@dataclass(frozen=True)
class PlaceGuess:
    """A place recognised in a query: its name as typed, the place it is (label), the
    library's place ids, and the rest of the query (the visual part; may be empty)."""

    said: str
    label: str
    ids: tuple[int, ...]
    rest: str


def _label(place: PlaceInfo, key: str) -> str:
    """What the name `key` (folded) names of `place`: its country ("Portugal"), region
    ("Île-de-France, France") or town ("Lisbon, Portugal")."""
    if key == fold(place.country):
        return place.country
    if place.region and key == fold(place.region):
        return place_label(place.region, None, place.country)
    return place_label(place.city, place.region, place.country)


def guess_place(lib: Library, query: str) -> PlaceGuess | None:
    """The place a plain text query names, or None. Queries with operators ("a + b"),
    photo paths or `text:` are left alone by the caller."""
    places = _library_places(lib)
    if not places or not query.strip():
        return None
    by_name: dict[str, list[PlaceInfo]] = {}
    for place, names in places:
        for n in names:
            key = fold(n)
            if place not in by_name.setdefault(key, []):
                by_name[key].append(place)
    found = _cjk_place(query, by_name) or _latin_place(query, by_name)
    if found is None:
        return None
    start, end, key, typed = found
    chosen = by_name[key]
    labels = {_label(p, key) for p in chosen}  # as typed when it names several places
    label = labels.pop() if len(labels) == 1 else typed
    rest = " ".join((query[:start] + " " + query[end:]).split())
    return PlaceGuess(typed, label, tuple(p.id for p in chosen), rest)


# A place found in a query: (start, end) of what to take out of it (with "in", 在, 的),
# the folded name it matched, and the name as typed.
Found = tuple[int, int, str, str]


def _cjk_place(query: str, by_name: dict[str, list[PlaceInfo]]) -> Found | None:
    if not _CJK.search(query):
        return None
    best: tuple[int, int, str] | None = None
    for key in by_name:
        if not _CJK.search(key):
            continue
        at = query.find(key)
        if at >= 0 and (best is None or len(key) > best[1] - best[0]):
            best = (at, at + len(key), key)
    if best is None:
        return None
    start, end, key = best
    typed = query[start:end]
    if query[start - 1 : start] == "在":
        start -= 1
    if query[end : end + 1] == "的":
        end += 1
    return start, end, key, typed


def _latin_place(query: str, by_name: dict[str, list[PlaceInfo]]) -> Found | None:
    words = list(_WORD.finditer(query))
    for size in range(min(_MAX_WORDS, len(words)), 0, -1):
        for i in range(len(words) - size + 1):
            span = words[i : i + size]
            key = fold(" ".join(w.group() for w in span))
            if key not in by_name:
                continue
            before = words[i - 1].group().casefold() if i > 0 else None
            capitalised = all(w.group()[:1].isupper() for w in span)
            typed = query[span[0].start() : span[-1].end()]
            if before in _PREPOSITIONS:
                return words[i - 1].start(), span[-1].end(), key, typed
            if capitalised or len(words) == size:
                return span[0].start(), span[-1].end(), key, typed
    return None

"""Which model fits this machine and this library, from the catalogue's own figures: no Qt,
no network.

- `machine_speed()` times the bundled model's image encoder on fixed probe pictures for a
  few seconds (photos/s of the model alone, decoding not included).
- A catalogue entry's `speed.photos_per_s` was measured on our reference machine; on the
  user's machine it is scaled by how much faster or slower the bundled model runs there
  (`estimated_photos_per_s`). Where an entry has no measured speed yet, its image tower's
  architecture gives a figure measured here relative to the bundled model
  (`RELATIVE_SPEED`); an architecture we have not measured gives no estimate, and such an
  entry is left out of the candidates.
- `candidates()` picks 2-3 models (the fastest one, the best-quality one that indexes the
  library within a reasonable time, a balanced one), each with its reason.
- `query_languages()` / `understands()` / `suggest_for()`: the language notice (a Chinese
  query on an English-only model).

The catalogue's new fields are read from the spec's raw JSON (`spec.data`), so this works
before the runtime models them (see docs/models-clip.md, "Which model fits").
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmsearch.encoders.languages import not_understood
from mmsearch.encoders.spec import ModelSpec
from mmsearch.services.models.catalogue import download_size

# The reference machine: where `speed.photos_per_s` of the catalogue is measured (the bench
# helper's figures) and where REFERENCE_BUNDLED_PHOTOS_PER_S was measured, with
#   PYTHONPATH=$PWD .venv/bin/python -m mmsearch.services.models.recommend
# (machine_speed(), 5 s, fp32 CPU, after one warm-up batch).
REFERENCE_MACHINE = "mmsearch dev box: 2 shared CPU cores, ONNX Runtime CPU, fp32"
REFERENCE_BUNDLED_PHOTOS_PER_S = 45.6  # 2026-12-01, load average 0.5 when it started

# Image towers by architecture (the spec's `architecture` open_clip / cn_clip name): photos/s
# relative to the bundled model's image encoder, measured on the reference machine with the
# recipe's random-weight exports (speed doesn't depend on the weights) by
#   PYTHONPATH=$PWD .venv/bin/python -m mmsearch.services.models.recommend --seconds 5 --towers \
#     clip-vit-b-32-openai=build/cache/clip-parity/clip-vit-b-32-openai-<key> \
#     mobileclip-s2=build/cache/clip-parity/mobileclip-s2-<key> \
#     chinese-clip-vit-b-16=build/cache/clip-parity/chinese-clip-vit-b-16-<key>
# which printed bundled 45.6 photos/s; ViT-B-32 7.38 (0.162); MobileCLIP-S2 3.73 (0.082:
# 256 px and its convolutions cost more here than ViT-B-32's 49 patches); cn_clip ViT-B-16
# 2.05 (0.045). The other towers are scaled from ViT-B-32 by the CPU time per photo of the
# whole indexing pipeline that `mmsearch bench --model ...` measured side by side (12 MP
# JPEGs, `python benchmarks/models.py --exports build/cache/clip-parity --count 48 --rounds 2`:
# ViT-B-32 130.9 ms, MobileCLIP-S2 232.1 (0.56x, agreeing with the 0.082 above), SigLIP
# B/16 454.8, SigLIP 2 B/16 442.1, XLM-R B/32 130.6, NLLB-SigLIP (384 px) 1430.3, cn_clip
# B/16 461.9 (0.28x, agreeing with 0.045)); MobileCLIP2-S0 (1.35x ViT-B-32) and MobileCLIP-B
# (0.32x) from the same bench's earlier run. Keyed "<builder>:<architecture>" as in the
# spec's `architecture`. Used only for an entry without its own `speed`; other architectures
# have no estimate.
RELATIVE_SPEED: dict[str, float] = {
    "open_clip:ViT-B-32": 0.162,
    "open_clip:MobileCLIP-S2": 0.082,
    "cn_clip:ViT-B-16": 0.045,
    "open_clip:ViT-B-16-SigLIP": 0.047,
    "open_clip:ViT-B-16-SigLIP2": 0.048,
    "open_clip:xlm-roberta-base-ViT-B-32": 0.162,
    "open_clip:nllb-clip-base-siglip": 0.015,
    "open_clip:MobileCLIP2-S0": 0.219,
    "open_clip:MobileCLIP-B": 0.052,
}

REASONABLE_SECONDS = 3 * 3600.0
"""The best-quality candidate must index the library within this time on this machine."""

BENCH_BATCH = 8


# -- this machine -----------------------------------------------------------------------------


def machine_speed(
    seconds: float = 3.0, data: Path | None = None, model_dir: Path | None = None
) -> float:
    """Photos/s of the bundled model's image encoder here: batches of the fixed probe
    pictures for about `seconds` after a warm-up batch. Raises ModelError when the bundled
    model can't be found or loaded (the caller then shows no time estimates)."""
    from mmsearch.encoders import find_model_dir, load_model
    from mmsearch.paths import BUNDLED_MODEL_ID, data_dir, model_search_path

    if model_dir is None:
        folder = data if data is not None else data_dir()
        model_dir = find_model_dir(BUNDLED_MODEL_ID, model_search_path(folder))
    model = load_model(model_dir)
    return encoder_speed(model.image, seconds)


def speed_key() -> str:
    """What a remembered `machine_speed` was measured with: this release's bundled model
    (a new release measures again)."""
    from mmsearch import __version__
    from mmsearch.paths import BUNDLED_MODEL_ID

    return f"{BUNDLED_MODEL_ID}@{__version__}"


def encoder_speed(image_encoder: Any, seconds: float = 3.0) -> float:
    """Photos/s of an image encoder (`preprocess` + `encode` per batch) on the probe
    pictures, preprocessing included (as indexing does), decoding not."""
    from mmsearch.encoders.model import probe_images

    probes = probe_images()
    batch = [probes[i % len(probes)] for i in range(BENCH_BATCH)]

    def one_batch() -> None:
        import numpy as np

        pixels = np.stack([image_encoder.preprocess(im) for im in batch])
        image_encoder.encode(pixels)

    one_batch()  # the session starts and warms up; not timed
    done, started = 0, time.perf_counter()
    while True:
        one_batch()
        done += len(batch)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return done / elapsed


# -- estimates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quality:
    """A published quality figure, with where it comes from."""

    metric: str
    dataset: str
    value: float
    source: str
    url: str | None = None

    def describe(self) -> str:
        where = f" on {self.dataset}" if self.dataset else ""
        return f"{self.metric}{where}: {self.value:g} ({self.source})"


def quality_figures(entry: ModelSpec) -> list[Quality]:
    """The entry's published figures (`quality` in its JSON), malformed ones skipped."""
    figures = []
    for item in entry.data.get("quality") or []:
        if not isinstance(item, Mapping):
            continue
        try:
            value = float(item["value"])
        except (KeyError, TypeError, ValueError):
            continue
        figures.append(
            Quality(
                metric=str(item.get("metric") or ""),
                dataset=str(item.get("dataset") or ""),
                value=value,
                source=str(item.get("source") or "source not recorded"),
                url=str(item["url"]) if item.get("url") else None,
            )
        )
    return figures


def headline_quality(entry: ModelSpec) -> Quality | None:
    """The figure candidates are compared by: text->image R@1 (Flickr30k first), else the
    entry's first figure."""
    figures = quality_figures(entry)
    retrieval = [q for q in figures if q.metric.lower().startswith("text->image r@1")]
    retrieval.sort(key=lambda q: q.dataset.lower() != "flickr30k")
    if retrieval:
        return retrieval[0]
    return figures[0] if figures else None


def architecture_name(entry: ModelSpec) -> str | None:
    """ "<builder>:<architecture>" from the spec's `architecture` ("open_clip:ViT-B-32",
    "cn_clip:ViT-B-16", "transformers:SiglipModel"), None when it has none."""
    arch = entry.data.get("architecture") or {}
    for key in ("open_clip", "cn_clip", "transformers"):
        if isinstance(arch.get(key), str):
            return f"{key}:{arch[key]}"
    return None


def reference_photos_per_s(entry: ModelSpec) -> tuple[float, str] | None:
    """The entry's photos/s on the reference machine and how it is known: "measured" (its
    `speed`) or "architecture" (RELATIVE_SPEED); None when neither."""
    speed = entry.data.get("speed")
    if isinstance(speed, Mapping):
        try:
            value = float(speed.get("photos_per_s") or 0)
        except (TypeError, ValueError):
            value = 0.0
        if value > 0:
            return value, "measured"
    relative = RELATIVE_SPEED.get(architecture_name(entry) or "")
    if relative and REFERENCE_BUNDLED_PHOTOS_PER_S > 0:
        return relative * REFERENCE_BUNDLED_PHOTOS_PER_S, "architecture"
    return None


def estimated_photos_per_s(entry: ModelSpec, machine: float | None) -> float | None:
    """The entry's photos/s on a machine where the bundled model runs at `machine`
    photos/s: its reference speed x (machine / reference bundled speed). None when the
    entry's speed is unknown or the machine wasn't measured."""
    known = reference_photos_per_s(entry)
    if known is None or not machine or machine <= 0 or REFERENCE_BUNDLED_PHOTOS_PER_S <= 0:
        return None
    return known[0] * machine / REFERENCE_BUNDLED_PHOTOS_PER_S


def index_seconds(photos: int, photos_per_s: float | None) -> float | None:
    """Seconds to embed `photos` photos at `photos_per_s` (None when unknown)."""
    if photos_per_s is None or photos_per_s <= 0:
        return None
    return photos / photos_per_s


def duration_parts(seconds: float) -> tuple[int, int] | None:
    """(hours, minutes) rounded as a person would say them: to the minute under 10 min, to
    5 min under an hour, to 10 min beyond; None for under a minute."""
    if seconds < 60:
        return None
    minutes = round(seconds / 60)
    if minutes < 60:
        step = 1 if minutes < 10 else 5
        return 0, max(1, round(minutes / step) * step)
    hours, rest = divmod(round(seconds / 600) * 10, 60)
    return int(hours), int(rest)


def describe_duration(seconds: float) -> str:
    """ "under a minute", "about 40 min", "about 3 h 20 min" (English; the window says its
    own, translated, from `duration_parts`)."""
    parts = duration_parts(seconds)
    if parts is None:
        return "under a minute"
    hours, minutes = parts
    if not hours:
        return f"about {minutes} min"
    return f"about {hours} h" + (f" {minutes} min" if minutes else "")


# -- candidates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One model the offer shows, with what the offer says about it."""

    id: str
    display_name: str
    languages: tuple[str, ...]
    download_size: int | None
    download_size_source: str | None
    quality: Quality | None
    photos_per_s: float | None  # on this machine (estimated)
    speed_basis: str | None  # "measured" (the catalogue's speed), "architecture", None
    seconds: float | None  # to index the library on this machine
    downloadable: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)  # keys of REASONS

    def reason_text(self) -> str:
        return "; ".join(REASONS.get(key, key) for key in self.reasons)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.display_name,
            "languages": list(self.languages),
            "download_size": self.download_size,
            "download_size_source": self.download_size_source,
            "quality": None if self.quality is None else self.quality.describe(),
            "photos_per_s": self.photos_per_s,
            "speed_basis": self.speed_basis,
            "seconds": self.seconds,
            "downloadable": self.downloadable,
            "reasons": list(self.reasons),
        }


REASONS = {
    "best-quality": "best published quality that indexes your photos in reasonable time",
    "fastest": "fastest on this computer",
    "balanced": "balanced: good quality at a good speed",
    "good-quality": "good published quality",
    "fits": "another model that fits",
    "languages": "reads the languages asked for",
}
"""What a candidate's reason keys say (the window has its own translated texts)."""


def reads_languages(model_languages: Iterable[str], wanted: Iterable[str]) -> bool:
    """Whether a model trained for `model_languages` reads every one of `wanted`."""
    have = {code.lower() for code in model_languages}
    if "multilingual" in have:
        return True
    return all(code.lower() in have for code in wanted)


def _candidate(entry: ModelSpec, machine: float | None, photos: int) -> Candidate:
    rate = estimated_photos_per_s(entry, machine)
    known = reference_photos_per_s(entry)
    source = entry.data.get("download_size_source")
    return Candidate(
        id=entry.id,
        display_name=entry.display_name,
        languages=tuple(entry.text.languages),
        download_size=download_size(entry),
        download_size_source=str(source) if source else None,
        quality=headline_quality(entry),
        photos_per_s=rate,
        speed_basis=None if known is None else known[1],
        seconds=index_seconds(photos, rate),
        downloadable=bool(entry.hub_repo),
    )


def candidates(
    entries: Sequence[ModelSpec],
    machine: float | None,
    photos: int,
    languages: Sequence[str] = (),
    *,
    exclude: Iterable[str] = (),
    limit: int = 3,
    reasonable_seconds: float = REASONABLE_SECONDS,
) -> list[Candidate]:
    """Up to `limit` (2-3) models of `entries` to offer, each with its reasons.

    Only entries that read every language of `languages` (empty: any) and whose speed is
    known (measured, or estimated from the architecture) are considered (for `languages`,
    when none has a known speed, those without one); `exclude` drops ids (the active
    model). The picks, in this order, without repeats:
    - the best published quality among those that index `photos` within
      `reasonable_seconds` on this machine (or all of them when the machine wasn't
      measured);
    - the fastest;
    - a balanced one: the best quality per second of the rest.
    When fewer than `limit` are picked this way, the others follow by quality (figures
    first), then speed.
    """
    skip = set(exclude)
    pool = [
        _candidate(e, machine, photos)
        for e in entries
        if e.id not in skip
        and reads_languages(e.text.languages, languages)
        and reference_photos_per_s(e) is not None
    ]
    if not pool and languages:
        # A language the notice promised a model for: better a model whose time isn't
        # known yet than an empty offer.
        pool = [
            _candidate(e, machine, photos)
            for e in entries
            if e.id not in skip and reads_languages(e.text.languages, languages)
        ]
    if not pool:
        return []

    def score(c: Candidate) -> float:
        return c.quality.value if c.quality is not None else float("-inf")

    def rate(c: Candidate) -> float:
        known = c.photos_per_s
        if known is None:  # machine unknown: compare reference speeds
            entry = next(e for e in entries if e.id == c.id)
            ref = reference_photos_per_s(entry)
            known = ref[0] if ref else 0.0
        return known

    picked: list[Candidate] = []

    def pick(c: Candidate, reason: str) -> None:
        for i, already in enumerate(picked):
            if already.id == c.id:
                picked[i] = _with_reason(already, reason)
                return
        picked.append(_with_reason(c, reason))

    in_time = [c for c in pool if c.seconds is None or c.seconds <= reasonable_seconds]
    rated = [c for c in in_time if c.quality is not None]
    if rated:
        pick(max(rated, key=score), "best-quality")
    timed = [c for c in pool if c.speed_basis is not None]
    if timed:
        pick(max(timed, key=rate), "fastest")
    rest = [c for c in timed if c.id not in {p.id for p in picked} and c.quality is not None]
    if rest and len(picked) < limit:
        balanced = max(rest, key=lambda c: score(c) * rate(c) ** 0.5)
        pick(balanced, "balanced")
    others = [c for c in pool if c.id not in {p.id for p in picked}]
    for c in sorted(others, key=lambda c: (score(c), rate(c)), reverse=True):
        if len(picked) >= limit:
            break
        pick(c, "fits" if c.quality is None else "good-quality")
    if languages:
        picked = [_with_reason(c, "languages") for c in picked]
    return picked[:limit]


def _with_reason(c: Candidate, reason: str) -> Candidate:
    if reason in c.reasons:
        return c
    return Candidate(**{**c.__dict__, "reasons": (*c.reasons, reason)})


# -- the language of a query ------------------------------------------------------------------

LANGUAGE_NAMES = {
    "en": "English",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "ru": "Russian",
    "el": "Greek",
    "ar": "Arabic",
    "he": "Hebrew",
    "hi": "Hindi",
    "th": "Thai",
}


@dataclass(frozen=True)
class LanguageNotice:
    """A query the active model can't read: in which language(s), and a catalogue model
    that reads them (None when the catalogue has none)."""

    languages: tuple[str, ...]
    suggestion: str | None  # a catalogue model id
    suggestion_name: str | None
    downloadable: bool = False  # the suggestion is on the hub (else: import only)

    def language_names(self) -> str:
        return ", ".join(LANGUAGE_NAMES.get(code, code) for code in self.languages)

    def text(self) -> str:
        """The notice in English (the window translates its own copy)."""
        said = (
            f"This query looks {self.language_names()}: the active model reads only the "
            "languages it was trained for, so the results may be poor."
        )
        if self.suggestion is not None:
            said += f" {self.suggestion_name} ({self.suggestion}) reads it."
        return said

    def to_dict(self) -> dict[str, object]:
        return {
            "languages": list(self.languages),
            "suggestion": self.suggestion,
            "downloadable": self.downloadable,
            "text": self.text(),
        }


def suggest_for(
    entries: Sequence[ModelSpec], languages: Sequence[str], exclude: Iterable[str] = ()
) -> ModelSpec | None:
    """A catalogue model that reads `languages`: downloadable ones first, then the best
    published quality, then a known speed."""
    skip = set(exclude)
    fits = [e for e in entries if e.id not in skip and reads_languages(e.text.languages, languages)]
    if not fits:
        return None

    def rank(e: ModelSpec) -> tuple[bool, float, bool]:
        q = headline_quality(e)
        return (
            bool(e.hub_repo),
            q.value if q is not None else float("-inf"),
            reference_photos_per_s(e) is not None,
        )

    return max(fits, key=rank)


def language_notice(
    model_languages: Iterable[str],
    text: str,
    entries: Sequence[ModelSpec],
    active_id: str | None = None,
) -> LanguageNotice | None:
    """The notice for a query the model can't read (None when it reads it)."""
    missing = not_understood(model_languages, text)
    if not missing:
        return None
    wanted = [code for code in missing if code not in ("en", "latin")] or ["en"]
    found = suggest_for(entries, wanted, exclude=[active_id] if active_id else [])
    if found is None:
        return LanguageNotice(tuple(missing), None, None)
    on_hub = bool(found.hub_repo)
    return LanguageNotice(tuple(missing), found.id, found.display_name, on_hub)


def catalogue() -> list[Any]:
    """The catalogue's entries."""
    from mmsearch.services.models.catalogue import available_specs

    return list(available_specs())


# -- measuring the reference figures ----------------------------------------------------------


def _main(argv: Sequence[str] | None = None) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(description="measure this machine's model speeds")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--towers",
        nargs="*",
        metavar="SPEC_ID=FOLDER",
        help="also time these exports' image towers (relative to the bundled model)",
    )
    args = parser.parse_args(argv)
    bundled = machine_speed(args.seconds)
    figures: dict[str, object] = {"bundled_photos_per_s": round(bundled, 2)}
    from mmsearch.encoders import load_model
    from mmsearch.services.models.catalogue import get_spec

    for item in args.towers or []:
        spec_id, folder = item.split("=", 1)
        spec = get_spec(spec_id)
        model = load_model(Path(folder), spec=spec)
        rate = encoder_speed(model.image, args.seconds)
        figures[spec_id] = {
            "architecture": architecture_name(spec),
            "photos_per_s": round(rate, 2),
            "relative": round(rate / bundled, 3),
        }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())

"""Model specs as data: what a model folder holds and how to feed it.

A model folder is `<dir>/<model-id>/` with a `spec.json` beside the ONNX files it names. The
spec owns everything a caller must not re-type: embedding size, input size, resize rule,
mean/std, tokenizer and context length, plus the files' checksums and the licenses.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPEC_FILE = "spec.json"
SCHEMA_VERSION = 1
"""The spec.json layout this code reads; a folder written for a newer layout is refused."""

RESIZE_RULES = ("shorter_side_center_crop", "squash")
"""Resize rules the runtime implements (see `ImageEncoder.preprocess`)."""

INTERPOLATIONS = ("bicubic", "bilinear")
TEXT_INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")

_INSTALL_HINT = "run `make install` (or `python -m models.bundled.build --out build/models`)"


def read_json_file(path: Path, fix: str, damaged_fix: str | None = None) -> Any:
    """A model's JSON file (spec.json, model.json, a catalogue spec), or a ModelError that
    names it, says what is wrong (missing, unreadable, not UTF-8, not JSON) and what to do:
    `fix`, or for a damaged file `damaged_fix` when given."""
    damaged_fix = damaged_fix or fix
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{path} is missing: {fix}.") from None
    except OSError as e:
        raise ModelError(f"can't read {path}: {e.strerror or e}.") from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ModelError(
            f"{path} is not UTF-8 text (byte {e.start} is {raw[e.start]:#04x}): the file is "
            f"damaged; {damaged_fix}."
        ) from None
    try:
        return json.loads(text)
    except ValueError as e:
        raise ModelError(
            f"{path} is not valid JSON ({e}): the file is damaged; {damaged_fix}."
        ) from e


class ModelError(Exception):
    """A model folder is missing, incomplete or unusable; the message says which file and what
    to do about it. `hint`, when set, is that fix alone (the CLI's JSON errors carry it)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class ModelFile:
    """One file of a model folder, as recorded when the folder was built."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class SourcePackage:
    """Where a part of the model came from (a package on PyPI) and under which license."""

    name: str
    version: str
    license: str
    role: str


@dataclass(frozen=True)
class FusionSpec:
    """A model's fusion head: a graph that scores (photo, text) pairs from the extra outputs
    of the image graph (`regions_output`, (N, regions, region_dim), stored per photo) and of
    the text graph (`tokens_output`, (N, L, region_dim)). Its inputs are named `regions`,
    `tokens` and `attention_mask`; its output `score_output` is a logit (N,). Ranking uses
    cosine + `weight` x logit."""

    file: str
    regions: int
    region_dim: int
    weight: float
    regions_output: str = "regions"
    tokens_output: str = "tokens"
    score_output: str = "score"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "regions": self.regions,
            "region_dim": self.region_dim,
            "weight": self.weight,
            "regions_output": self.regions_output,
            "tokens_output": self.tokens_output,
            "score_output": self.score_output,
        }


@dataclass(frozen=True)
class ModelSpec:
    """Everything in a model folder's spec.json (schema 1).

    `mean` and `std` apply to RGB pixel values scaled to 0..1. `resize` is one of
    `RESIZE_RULES`; `interpolation` one of `INTERPOLATIONS`. Text is tokenized with
    `tokenizer_file` (a Hugging Face `tokenizers` JSON file, lower-casing included), truncated to
    `context_length` tokens and padded with `pad_token`/`pad_token_id` to the longest text of a
    batch; the text graph takes the inputs named in `text_inputs` (int64, shape (N, L)).
    `fusion` (optional; folders written before it existed have none) describes a fusion head
    that re-ranks search results and ranks captions.
    """

    id: str
    version: str
    display_name: str
    family: str
    dim: int
    image_file: str
    image_input: str
    image_size: int
    resize: str
    interpolation: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    text_file: str
    text_inputs: tuple[str, ...]
    tokenizer_file: str
    context_length: int
    pad_token: str
    pad_token_id: int
    output: str
    files: tuple[ModelFile, ...]
    license: str
    license_notes: str = ""
    sources: tuple[SourcePackage, ...] = ()
    recipe: Mapping[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA_VERSION
    fusion: FusionSpec | None = None

    @classmethod
    def load(cls, model_dir: Path) -> ModelSpec:
        """Read and check `model_dir/spec.json`, and check that the files it names are there
        with the recorded sizes (cheap; `verify_files` also checks their SHA-256).

        Raises ModelError naming the file and what to do.
        """
        path = Path(model_dir) / SPEC_FILE
        data = read_json_file(path, _INSTALL_HINT, f"{_INSTALL_HINT} again")
        spec = cls.from_dict(data, source=path)
        spec.check_files(Path(model_dir))
        return spec

    @classmethod
    def from_dict(cls, data: object, source: Path | str = SPEC_FILE) -> ModelSpec:
        """Build a spec from parsed spec.json data; ModelError names `source` and the field."""
        return _parse(data, str(source))

    def to_dict(self) -> dict[str, Any]:
        """The spec as spec.json data (the inverse of `from_dict`)."""
        data = {
            "schema": self.schema,
            "id": self.id,
            "version": self.version,
            "display_name": self.display_name,
            "family": self.family,
            "dim": self.dim,
            "image_file": self.image_file,
            "image_input": self.image_input,
            "image_size": self.image_size,
            "resize": self.resize,
            "interpolation": self.interpolation,
            "mean": list(self.mean),
            "std": list(self.std),
            "text_file": self.text_file,
            "text_inputs": list(self.text_inputs),
            "tokenizer_file": self.tokenizer_file,
            "context_length": self.context_length,
            "pad_token": self.pad_token,
            "pad_token_id": self.pad_token_id,
            "output": self.output,
            "files": {f.name: {"sha256": f.sha256, "size": f.size} for f in self.files},
            "license": self.license,
            "license_notes": self.license_notes,
            "sources": [
                {"name": s.name, "version": s.version, "license": s.license, "role": s.role}
                for s in self.sources
            ],
            "recipe": dict(self.recipe),
        }
        if self.fusion is not None:
            data["fusion"] = self.fusion.to_dict()
        return data

    def check_files(self, model_dir: Path) -> None:
        """Raise ModelError unless every recorded file exists with its recorded size."""
        for f in self.files:
            path = Path(model_dir) / f.name
            try:
                size = path.stat().st_size
            except OSError:
                raise ModelError(f"{path} is missing: {_INSTALL_HINT} again.") from None
            if size != f.size:
                raise ModelError(
                    f"{path} has {size} bytes where {Path(model_dir) / SPEC_FILE} records "
                    f"{f.size}: the folder is damaged or half-copied; {_INSTALL_HINT} again."
                )

    def verify_files(self, model_dir: Path) -> None:
        """Raise ModelError unless every recorded file matches its size and SHA-256 (reads
        every byte: for installs and downloads, not for every start)."""
        self.check_files(model_dir)
        for f in self.files:
            path = Path(model_dir) / f.name
            if sha256_file(path) != f.sha256:
                raise ModelError(
                    f"{path} does not match the SHA-256 recorded in "
                    f"{Path(model_dir) / SPEC_FILE}: the file is damaged; {_INSTALL_HINT} again."
                )


def sha256_file(path: Path) -> str:
    """The SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# -- parsing -------------------------------------------------------------------------------


class Fields:
    """Typed access to the fields of one JSON object, with errors that name file and field.
    Both spec formats (`spec.json` here, CLIP's `model.json`) are read through it."""

    def __init__(self, data: object, source: str, where: str = "") -> None:
        if not isinstance(data, dict):
            raise ModelError(f"{source}: {where or 'the top level'} must be a JSON object.")
        self.data: dict[str, Any] = data
        self.source = source
        self.where = where

    def get(self, key: str, default: object = ...) -> object:
        if key in self.data:
            return self.data[key]
        if default is not ...:
            return default
        raise ModelError(f"{self.source}: field {self.where + key!r} is missing.")

    def bad(self, key: str, what: str) -> ModelError:
        return ModelError(
            f"{self.source}: field {self.where + key!r} must be {what}, not {self.data.get(key)!r}."
        )

    def text(self, key: str, default: str | None = None) -> str:
        value = self.get(key, ... if default is None else default)
        if not isinstance(value, str):
            raise self.bad(key, "a string")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self.get(key, None)
        if value is not None and not isinstance(value, str):
            raise self.bad(key, "a string or null")
        return value

    def number(self, key: str) -> float:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.bad(key, "a number")
        return float(value)

    def integer(self, key: str, default: int | None = None, minimum: int = 0) -> int:
        value = self.get(key, ... if default is None else default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.bad(key, f"an integer >= {minimum}")
        return value

    def triple(self, key: str, positive: bool = False) -> tuple[float, float, float]:
        value = self.get(key)
        if (
            not isinstance(value, list)
            or len(value) != 3
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            or not all(math.isfinite(v) for v in value)
            or (positive and not all(v > 0 for v in value))
        ):
            raise self.bad(
                key, "a list of 3 " + ("positive finite numbers" if positive else "finite numbers")
            )
        return (float(value[0]), float(value[1]), float(value[2]))

    def choice(self, key: str, choices: Sequence[str]) -> str:
        value = self.text(key)
        if value not in choices:
            raise self.bad(key, "one of " + ", ".join(choices) + " (update mmsearch?)")
        return value

    def names(self, key: str, default: object = ...) -> tuple[str, ...]:
        """A list of file names, each a relative path inside the model folder."""
        value = self.get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.bad(key, "a list of strings")
        for name in value:
            check_relative(name, self.source, self.where + key)
        return tuple(value)


def check_relative(name: str, source: str, key: str) -> None:
    """File names in a spec are relative POSIX paths inside the model folder, nothing else:
    a spec must never make us read or write outside it."""
    parts = name.split("/")
    if not name or name.startswith("/") or "\\" in name or ":" in name or ".." in parts:
        raise ModelError(f"{source}: {key} names {name!r}, not a relative path inside the model.")


def _parse(data: object, source: str) -> ModelSpec:
    top = Fields(data, source)
    schema = top.integer("schema", minimum=1)
    if schema > SCHEMA_VERSION:
        raise ModelError(
            f"{source} uses spec layout {schema}, newer than this mmsearch reads "
            f"({SCHEMA_VERSION}): update mmsearch, or rebuild the model with this version."
        )
    text_inputs = top.get("text_inputs")
    if (
        not isinstance(text_inputs, list)
        or not text_inputs
        or not all(name in TEXT_INPUT_NAMES for name in text_inputs)
        or "input_ids" not in text_inputs
    ):
        raise top.bad("text_inputs", "a list of names among " + ", ".join(TEXT_INPUT_NAMES))
    files_data = top.get("files")
    if not isinstance(files_data, dict):
        raise top.bad("files", "an object of {name: {sha256, size}}")
    files = []
    for name, entry in files_data.items():
        check_relative(name, source, "files")
        f = Fields(entry, source, f"files.{name}.")
        sha = f.text("sha256").lower()
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise f.bad("sha256", "64 hex digits")
        files.append(ModelFile(name=name, sha256=sha, size=f.integer("size")))
    sources_data = top.get("sources", [])
    if not isinstance(sources_data, list):
        raise top.bad("sources", "a list")
    sources = []
    for i, entry in enumerate(sources_data):
        s = Fields(entry, source, f"sources[{i}].")
        sources.append(
            SourcePackage(
                name=s.text("name"),
                version=s.text("version", ""),
                license=s.text("license"),
                role=s.text("role", ""),
            )
        )
    recipe = top.get("recipe", {})
    if not isinstance(recipe, dict):
        raise top.bad("recipe", "an object")
    fusion = None
    if top.data.get("fusion") is not None:
        f = Fields(top.data["fusion"], source, "fusion.")
        fusion = FusionSpec(
            file=f.text("file"),
            regions=f.integer("regions", minimum=1),
            region_dim=f.integer("region_dim", minimum=1),
            weight=f.number("weight"),
            regions_output=f.text("regions_output", "regions"),
            tokens_output=f.text("tokens_output", "tokens"),
            score_output=f.text("score_output", "score"),
        )
    spec = ModelSpec(
        schema=schema,
        id=top.text("id"),
        version=top.text("version"),
        display_name=top.text("display_name"),
        family=top.text("family"),
        dim=top.integer("dim", minimum=1),
        image_file=top.text("image_file"),
        image_input=top.text("image_input"),
        image_size=top.integer("image_size", minimum=1),
        resize=top.choice("resize", RESIZE_RULES),
        interpolation=top.choice("interpolation", INTERPOLATIONS),
        mean=top.triple("mean"),
        std=top.triple("std", positive=True),
        text_file=top.text("text_file"),
        text_inputs=tuple(text_inputs),
        tokenizer_file=top.text("tokenizer_file"),
        context_length=top.integer("context_length", minimum=2),
        pad_token=top.text("pad_token"),
        pad_token_id=top.integer("pad_token_id"),
        output=top.text("output"),
        files=tuple(files),
        license=top.text("license"),
        license_notes=top.text("license_notes", ""),
        sources=tuple(sources),
        recipe=recipe,
        fusion=fusion,
    )
    named = {f.name for f in spec.files}
    for key in ("image_file", "text_file", "tokenizer_file"):
        if getattr(spec, key) not in named:
            raise ModelError(f"{source}: {key} {getattr(spec, key)!r} is not listed in 'files'.")
    if fusion is not None and fusion.file not in named:
        raise ModelError(f"{source}: fusion.file {fusion.file!r} is not listed in 'files'.")
    return spec

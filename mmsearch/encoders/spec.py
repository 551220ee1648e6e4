"""One model spec, in memory: what a model folder holds and how to feed it.

Every model mmsearch runs, whatever its family (our own matching models, CLIP, SigLIP,
MobileCLIP, Chinese-CLIP, multilingual towers) and whatever layout its files came in, is one
`ModelSpec`: an image part (graph + preprocessing), a text part (graph + tokenizer), an
optional fusion head, the files and where they came from. The on-disk formats are read and
written by `mmsearch.encoders.formats` (one reader per layout); nothing else parses JSON.
The spec owns everything a caller must not re-type: embedding size, input size, resize
rule, mean/std, tokenizer, padding and context length, the files' sizes and checksums.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESIZE_RULES = ("shortest", "squash")
""""shortest": the shorter side to S, then the centred S x S square; "squash": the whole photo
to S x S (aspect ratio not kept)."""
SAMPLINGS = ("exact", "box")
"""How the resize is computed: "exact" is torchvision's resize-then-crop, pixel for pixel
(what open_clip and the hubs' processors do); "box" resamples the crop box straight to S x S
in one pass with Pillow's reducing gap (faster; what our own models were trained with)."""
INTERPOLATIONS = ("bicubic", "bilinear")
CROP_OFFSETS = ("round", "floor")
"""How the centre crop's offset (longer side - S) / 2 is rounded: "round" as torchvision and
open_clip, "floor" as transformers' image processors (one pixel apart when it is odd)."""
TOKENIZERS = ("hf", "clip-bpe", "bert-wordpiece")
"""Tokenizer kinds (see `mmsearch.encoders.tokenize`)."""
CLEAN_RULES = (
    "none",
    "ftfy-html-whitespace",
    "ftfy-html-whitespace-lower",
    "ftfy-html-canonicalize",
)
"""Text clean-up before tokenizing (open_clip's "whitespace", "lower", "canonicalize")."""
PADDINGS = ("longest", "max_length")
TEXT_INPUTS = ("input_ids", "text", "attention_mask", "token_type_ids")
"""Names a text graph's inputs may have: ids ("input_ids" or "text"), mask, segment ids."""
PRECISIONS = ("fp32", "fp16", "int8")
_FIX = "download or import the model again, or reinstall mmsearch for its own models"


class ModelError(Exception):
    """A model folder is missing, incomplete or unusable; the message says which file and what
    to do about it. `hint`, when set, is that fix alone (the CLI's JSON errors carry it)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class ModelFile:
    """One file of a model, with its size and SHA-256 when known (None: not known, e.g. a
    catalogue entry written without hub access)."""

    name: str
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class SourcePackage:
    """Where a part of the model came from (a package on PyPI) and under which license."""

    name: str
    version: str
    license: str
    role: str


@dataclass(frozen=True)
class Preprocess:
    """How a photo becomes the image graph's input: resize (`RESIZE_RULES`, `SAMPLINGS`,
    `INTERPOLATIONS`) to `size` x `size` (the centre crop's offset rounded per
    `CROP_OFFSETS`), then `(x / 255 - mean) / std` per RGB channel."""

    size: int
    resize: str = "shortest"
    interpolation: str = "bicubic"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    sampling: str = "exact"
    crop_offset: str = "round"


@dataclass(frozen=True)
class ImagePart:
    """The image graph: `file` takes `input` (N, 3, S, S) float32 and gives `output` (N, dim)."""

    file: str
    input: str
    output: str
    preprocess: Preprocess

    @property
    def size(self) -> int:
        return self.preprocess.size


@dataclass(frozen=True)
class TokenizerSpec:
    """How texts become ids. `kind` is one of `TOKENIZERS`; `file` a Hugging Face
    `tokenizers` JSON file inside the model folder (`companions`: files the hub ships with
    it). Texts are cleaned (`clean`), cut to `context_length` ids and padded with `pad_id`
    (`pad_token` for kind "hf") to the batch's longest text or to `context_length`
    (`padding`); `pad_id` None: the published tokenizer's own pad token (its
    tokenizer_config.json, as transformers reads it). `strip_sep` turns the separator token
    into 0 (open_clip's strip_sep_token)."""

    kind: str
    file: str
    context_length: int
    pad_id: int | None
    padding: str = "max_length"
    clean: str = "none"
    pad_token: str | None = None
    strip_sep: bool = False
    companions: tuple[str, ...] = ()


@dataclass(frozen=True)
class TextPart:
    """The text graph: `file` takes `inputs` (int32 or int64 (N, L), see `TEXT_INPUTS`) and
    gives `output` (N, dim). `languages` are the ISO 639-1 codes its tower was trained on."""

    file: str
    inputs: tuple[str, ...]
    output: str
    tokenizer: TokenizerSpec
    languages: tuple[str, ...] = ("en",)

    @property
    def context_length(self) -> int:
        return self.tokenizer.context_length


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


@dataclass(frozen=True)
class ModelSpec:
    """A model as data, whatever its family and on-disk layout.

    `layout` is the on-disk layout its files follow: "mmsearch" (ours: `spec.json`), "immich"
    (`visual/model.onnx`, `textual/...`) or "optimum" (transformers.js / Optimum:
    `onnx/vision_model.onnx`, `onnx/text_model.onnx`, `tokenizer.json`...); the last two are
    described by a catalogue entry or an installed folder's `model.json`. `files` records the
    runtime files (with size and SHA-256 where known); `variants` names the graphs of other
    precisions ({"fp16": {"image": file, "text": file}}) the folder may hold. `data` keeps the
    parsed JSON, so fields this code doesn't model (architecture, quality figures, notes)
    survive a round trip.
    """

    id: str
    version: str
    display_name: str
    family: str
    dim: int
    image: ImagePart
    text: TextPart
    license: str
    layout: str = "mmsearch"
    license_notes: str = ""
    fusion: FusionSpec | None = None
    logit_scale: float | None = 100.0
    """CLIP's softmax temperature; None where the model keeps it in its weights (SigLIP)."""
    files: tuple[ModelFile, ...] = ()
    variants: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    hub_repo: str | None = None
    revision: str = "main"
    upstream: str = ""
    sources: tuple[SourcePackage, ...] = ()
    recipe: Mapping[str, Any] = field(default_factory=dict)
    combined: bool = False
    """The image and text parts are one graph holding both towers (transformers.js publishes
    Chinese-CLIP so): each encoder feeds the other tower a one-row dummy input."""
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def languages(self) -> tuple[str, ...]:
        return self.text.languages

    @property
    def runtime_files(self) -> tuple[str, ...]:
        """The files a download or import brings (and an installed folder must hold)."""
        return tuple(f.name for f in self.files)

    def file(self, name: str) -> ModelFile:
        """The recorded entry of a file (size/sha256 None when unknown)."""
        for f in self.files:
            if f.name == name:
                return f
        return ModelFile(name)

    def graphs(self) -> tuple[str, ...]:
        """The fp32 graph files: image, text (the same file when combined) and the fusion
        head's."""
        names = (self.image.file,) if self.combined else (self.image.file, self.text.file)
        return names + ((self.fusion.file,) if self.fusion is not None else ())

    def graph_files(self, precision: str) -> tuple[str, str] | None:
        """(image, text) graph files at `precision`, None when the spec names none."""
        if precision == "fp32":
            return self.image.file, self.text.file
        variant = self.variants.get(precision)
        if not variant or "image" not in variant or "text" not in variant:
            return None
        return variant["image"], variant["text"]

    def check_files(self, model_dir: Path, fix: str = _FIX) -> None:
        """Raise ModelError unless every file is in `model_dir` with its recorded size (where
        one is recorded). Cheap: for every start. `fix` ends the message (what to do;
        `mmsearch.encoders.formats.fix_for` says it for where the model came from)."""
        for f in self.files:
            path = Path(model_dir) / f.name
            try:
                size = path.stat().st_size
            except OSError:
                raise ModelError(
                    f"{path} is missing: the model {self.id!r} is incomplete; {fix}.", hint=fix
                ) from None
            if f.size is not None and size != f.size:
                raise ModelError(
                    f"{path} has {size} bytes where the spec of {self.id!r} records {f.size}: "
                    f"the file is damaged or half-copied; {fix}.",
                    hint=fix,
                )

    def verify_files(self, model_dir: Path, fix: str = _FIX) -> None:
        """`check_files`, then the SHA-256 of every file that has one recorded (reads every
        byte: for installs and downloads, not for every start)."""
        self.check_files(model_dir, fix)
        for f in self.files:
            if f.sha256 is not None and sha256_file(Path(model_dir) / f.name) != f.sha256:
                raise ModelError(
                    f"{Path(model_dir) / f.name} does not match the SHA-256 recorded for model "
                    f"{self.id!r}: the file is damaged; {fix}.",
                    hint=fix,
                )


def sha256_file(path: Path) -> str:
    """The SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_json_file(path: Path, fix: str, damaged_fix: str | None = None) -> Any:
    """A model's JSON file (spec.json, model.json, a catalogue entry, a hub config), or a
    ModelError that names it, says what is wrong (missing, unreadable, not UTF-8, not JSON)
    and what to do: `fix`, or for a damaged file `damaged_fix` when given."""
    damaged_fix = damaged_fix or fix
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{path} is missing: {fix}.", hint=fix) from None
    except OSError as e:
        raise ModelError(f"can't read {path}: {e.strerror or e}.") from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ModelError(
            f"{path} is not UTF-8 text (byte {e.start} is {raw[e.start]:#04x}): the file is "
            f"damaged; {damaged_fix}.",
            hint=damaged_fix,
        ) from None
    try:
        return json.loads(text)
    except ValueError as e:
        raise ModelError(
            f"{path} is not valid JSON ({e}): the file is damaged; {damaged_fix}.",
            hint=damaged_fix,
        ) from e


# -- typed access to JSON, for the readers -------------------------------------------------


class Fields:
    """Typed access to the fields of one JSON object, with errors that name file and field.
    Every on-disk format is read through it (`mmsearch.encoders.formats`)."""

    def __init__(self, data: object, source: str, where: str = "") -> None:
        if not isinstance(data, dict):
            raise ModelError(f"{source}: {where or 'the top level'} must be a JSON object.")
        self.data: dict[str, Any] = data
        self.source = source
        self.where = where

    def sub(self, key: str) -> Fields:
        return Fields(self.get(key), self.source, f"{self.where}{key}.")

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

    def number(self, key: str, default: float | None = None) -> float:
        value = self.get(key, ... if default is None else default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.bad(key, "a number")
        return float(value)

    def integer(self, key: str, default: int | None = None, minimum: int = 0) -> int:
        value = self.get(key, ... if default is None else default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.bad(key, f"an integer >= {minimum}")
        return value

    def optional_integer(self, key: str) -> int | None:
        value = self.get(key, None)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise self.bad(key, "an integer >= 0 or null")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self.bad(key, "true or false")
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

    def choice(self, key: str, choices: Sequence[str], default: str | None = None) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise self.bad(key, "one of " + ", ".join(choices) + " (update mmsearch?)")
        return value

    def strings(self, key: str, default: object = ...) -> tuple[str, ...]:
        value = self.get(key, default)
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise self.bad(key, "a list of strings")
        return tuple(value)

    def names(self, key: str, default: object = ...) -> tuple[str, ...]:
        """A list of file names, each a relative path inside the model folder."""
        value = self.strings(key, default)
        for name in value:
            check_relative(name, self.source, self.where + key)
        return value

    def file_name(self, key: str, default: str | None = None) -> str:
        """One file name, a relative path inside the model folder."""
        name = self.text(key, default)
        check_relative(name, self.source, self.where + key)
        return name

    def sha256(self, key: str, required: bool = False) -> str | None:
        sha = self.text(key) if required else self.optional_text(key)
        if sha is None:
            return None
        sha = sha.lower()
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise self.bad(key, "64 hex digits" + ("" if required else " or null"))
        return sha


def check_relative(name: str, source: str, key: str) -> None:
    """File names in a spec are relative POSIX paths inside the model folder, nothing else:
    a spec must never make us read or write outside it."""
    parts = name.split("/")
    if not name or name.startswith("/") or "\\" in name or ":" in name or ".." in parts:
        raise ModelError(f"{source}: {key} names {name!r}, not a relative path inside the model.")


def check_model_id(model_id: str, source: str) -> str:
    """A model id names a folder: letters, digits, '-', '_' and '.', not starting with '.'."""
    if (
        not model_id
        or model_id.startswith(".")
        or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in model_id)
    ):
        raise ModelError(
            f"{source}: the model id {model_id!r} must be letters, digits, '-', '_' and '.' "
            "only, not starting with '.' (it names a folder)."
        )
    return model_id

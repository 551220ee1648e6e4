"""The on-disk model formats, each read into the one in-memory `ModelSpec`.

- `spec.json` (layout "mmsearch"): our bundled and trained models, written by the build and
  export recipes in `models/`. Flat, schema 1, every file with its SHA-256.
- `model.json` and catalogue entries (format "clip-onnx"): a model whose runtime files come
  from a hub in the Immich layout (`visual/model.onnx`, `textual/model.onnx` + tokenizer) or
  the transformers.js / Optimum layout (`onnx/vision_model.onnx`, `onnx/text_model.onnx`,
  `tokenizer.json`, `preprocessor_config.json`). An installed folder's `model.json` is its
  catalogue entry plus the installed files' sizes and SHA-256 and where they came from.
- A bare hub folder with no spec of ours (an Immich or Optimum export the user has):
  `describe_folder` reads its own config files (see `mmsearch.encoders.hubconfig`).

`load_spec(model_dir)` opens whichever a folder holds; `spec_to_json` writes a model.json.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmsearch.encoders.spec import (
    CLEAN_RULES,
    CROP_OFFSETS,
    INTERPOLATIONS,
    PADDINGS,
    PRECISIONS,
    RESIZE_RULES,
    SAMPLINGS,
    TEXT_INPUTS,
    TOKENIZERS,
    Fields,
    FusionSpec,
    ImagePart,
    ModelError,
    ModelFile,
    ModelSpec,
    Preprocess,
    SourcePackage,
    TextPart,
    TokenizerSpec,
    check_model_id,
    check_relative,
    read_json_file,
)

SPEC_FILE = "spec.json"
"""Our own models' spec, inside the model folder."""
MODEL_FILE = "model.json"
"""An installed hub model's spec, inside its folder (beside the runtime files)."""
SPEC_SCHEMA = 1
"""The spec.json layout this code reads; a folder written for a newer layout is refused."""
HUB_FORMAT = "clip-onnx"
"""The `format` field of catalogue entries and model.json files."""
HUB_SCHEMA = 1
LAYOUTS = ("mmsearch", "immich", "optimum")

OWN_FIX = "run `make install` (or `python -m models.bundled.build --out build/models`) again"
_FIND_HINT = (
    "run `make install` for the bundled models, or `mmsearch models list` to see the models "
    "you can download or import"
)


def is_model_dir(path: Path) -> bool:
    """Whether `path` holds a model we can open (spec.json or model.json)."""
    return (Path(path) / SPEC_FILE).is_file() or (Path(path) / MODEL_FILE).is_file()


def find_model_dir(model_id: str, search_path: Sequence[Path]) -> Path:
    """The first `<dir>/<model_id>/` holding a model on `search_path`. Raises ModelError
    naming the folders searched when none has it."""
    for folder in search_path:
        candidate = Path(folder) / model_id
        if is_model_dir(candidate):
            return candidate
    searched = ", ".join(str(Path(d)) for d in search_path) or "(no folders)"
    raise ModelError(f"model {model_id!r} not found in {searched}; {_FIND_HINT}.")


def load_spec(model_dir: Path) -> ModelSpec:
    """The spec of the model in `model_dir`, whichever format it holds; its files are
    checked to be there with their recorded sizes (cheap). Raises ModelError naming the
    file and what to do."""
    model_dir = Path(model_dir)
    if (model_dir / SPEC_FILE).is_file() or not (model_dir / MODEL_FILE).is_file():
        path = model_dir / SPEC_FILE
        spec = own_spec(read_json_file(path, OWN_FIX), path)
    else:
        path = model_dir / MODEL_FILE
        spec = hub_spec(read_json_file(path, fix_for(None)), path)
    spec.check_files(model_dir, fix_for(spec))
    return spec


def fix_for(spec: ModelSpec | None) -> str:
    """What a user does about a missing or damaged file of this model."""
    if spec is None:
        return "download or import the model again (`mmsearch models list`)"
    if spec.layout == "mmsearch":
        return OWN_FIX
    installed = spec.data.get("installed")
    if isinstance(installed, dict) and installed.get("from") == "import":
        source = installed.get("path") or "PATH"
        again = f"import it again (`mmsearch models import {source} --id {spec.id}`)"
        if spec.hub_repo:
            again += f" or download it (`mmsearch models download {spec.id}`)"
        return again
    if spec.hub_repo:
        return f"run `mmsearch models download {spec.id}` again"
    return f"import it again (`mmsearch models import PATH --id {spec.id}`)"


# -- spec.json (ours) ----------------------------------------------------------------------

_OWN_RESIZE = {"shorter_side_center_crop": "shortest", "squash": "squash"}
"""spec.json's names for the resize rules; our models always resample the crop box in one
pass (sampling "box")."""


def own_spec(data: object, source: Path | str = SPEC_FILE) -> ModelSpec:
    """A spec from parsed spec.json data; ModelError names `source` and the field."""
    src = str(source)
    top = Fields(data, src)
    schema = top.integer("schema", minimum=1)
    if schema > SPEC_SCHEMA:
        raise ModelError(
            f"{src} uses spec layout {schema}, newer than this mmsearch reads "
            f"({SPEC_SCHEMA}): update mmsearch, or rebuild the model with this version."
        )
    inputs = top.strings("text_inputs")
    if not inputs or not set(inputs) <= set(TEXT_INPUTS) or "input_ids" not in inputs:
        raise top.bad("text_inputs", "a list of names among " + ", ".join(TEXT_INPUTS))
    files_data = top.get("files")
    if not isinstance(files_data, dict):
        raise top.bad("files", "an object of {name: {sha256, size}}")
    files = []
    for name, entry in files_data.items():
        check_relative(name, src, "files")
        f = Fields(entry, src, f"files.{name}.")
        files.append(ModelFile(name, f.integer("size"), f.sha256("sha256", required=True)))
    sources_data = top.get("sources", [])
    if not isinstance(sources_data, list):
        raise top.bad("sources", "a list")
    sources = []
    for i, entry in enumerate(sources_data):
        s = Fields(entry, src, f"sources[{i}].")
        sources.append(
            SourcePackage(
                s.text("name"), s.text("version", ""), s.text("license"), s.text("role", "")
            )
        )
    recipe = top.get("recipe", {})
    if not isinstance(recipe, dict):
        raise top.bad("recipe", "an object")
    fusion = None
    if top.data.get("fusion") is not None:
        f = top.sub("fusion")
        fusion = FusionSpec(
            file=f.file_name("file"),
            regions=f.integer("regions", minimum=1),
            region_dim=f.integer("region_dim", minimum=1),
            weight=f.number("weight"),
            regions_output=f.text("regions_output", "regions"),
            tokens_output=f.text("tokens_output", "tokens"),
            score_output=f.text("score_output", "score"),
        )
    output = top.text("output")
    spec = ModelSpec(
        id=top.text("id"),
        version=top.text("version"),
        display_name=top.text("display_name"),
        family=top.text("family"),
        dim=top.integer("dim", minimum=1),
        image=ImagePart(
            file=top.file_name("image_file"),
            input=top.text("image_input"),
            output=output,
            preprocess=Preprocess(
                size=top.integer("image_size", minimum=1),
                resize=_OWN_RESIZE[top.choice("resize", tuple(_OWN_RESIZE))],
                interpolation=top.choice("interpolation", INTERPOLATIONS),
                mean=top.triple("mean"),
                std=top.triple("std", positive=True),
                sampling="box",
            ),
        ),
        text=TextPart(
            file=top.file_name("text_file"),
            inputs=inputs,
            output=output,
            tokenizer=TokenizerSpec(
                kind="hf",
                file=top.file_name("tokenizer_file"),
                context_length=top.integer("context_length", minimum=2),
                pad_id=top.integer("pad_token_id"),
                pad_token=top.text("pad_token"),
                padding="longest",
            ),
            languages=top.strings("languages", ("en",)),
        ),
        license=top.text("license"),
        license_notes=top.text("license_notes", ""),
        layout="mmsearch",
        fusion=fusion,
        files=tuple(files),
        sources=tuple(sources),
        recipe=recipe,
        data=top.data,
    )
    named = set(spec.runtime_files)
    for key, name in (
        ("image_file", spec.image.file),
        ("text_file", spec.text.file),
        ("tokenizer_file", spec.text.tokenizer.file),
        ("fusion.file", fusion.file if fusion else None),
    ):
        if name is not None and name not in named:
            raise ModelError(f"{src}: {key} {name!r} is not listed in 'files'.")
    return spec


# -- model.json and catalogue entries (hub layouts) ----------------------------------------


def hub_spec(data: object, source: Path | str = "spec") -> ModelSpec:
    """A spec from a catalogue entry's or an installed model.json's data; ModelError names
    `source` and the field at fault."""
    src = str(source)
    top = Fields(data, src)
    if top.text("format") != HUB_FORMAT:
        raise top.bad("format", repr(HUB_FORMAT))
    schema = top.integer("schema", minimum=1)
    if schema > HUB_SCHEMA:
        raise ModelError(
            f"{src} uses model spec layout {schema}, newer than this mmsearch reads "
            f"({HUB_SCHEMA}): update mmsearch."
        )
    layout = top.choice("layout", LAYOUTS[1:], "immich")
    optimum = layout == "optimum"
    im, tx, origin = top.sub("image"), top.sub("text"), top.sub("source")
    image = ImagePart(
        file=im.file_name("file"),
        input=im.text("input", "pixel_values" if optimum else "image"),
        output=im.text("output", "image_embeds" if optimum else "embedding"),
        preprocess=Preprocess(
            size=im.integer("size", minimum=1),
            resize=im.choice("resize", RESIZE_RULES),
            interpolation=im.choice("interpolation", INTERPOLATIONS),
            mean=im.triple("mean"),
            std=im.triple("std", positive=True),
            sampling=im.choice("sampling", SAMPLINGS, "exact"),
            crop_offset=im.choice("crop_offset", CROP_OFFSETS, "round"),
        ),
    )
    if "inputs" in tx.data:
        inputs = tx.strings("inputs")
    else:
        inputs = (tx.text("input", "input_ids" if optimum else "text"),)
    if not inputs or not set(inputs) <= set(TEXT_INPUTS) or not {"text", "input_ids"} & set(inputs):
        raise tx.bad("inputs", "a list of names among " + ", ".join(TEXT_INPUTS))
    kind = tx.choice("tokenizer", TOKENIZERS)
    text = TextPart(
        file=tx.file_name("file"),
        inputs=inputs,
        output=tx.text("output", "text_embeds" if optimum else "embedding"),
        tokenizer=TokenizerSpec(
            kind=kind,
            file=tx.file_name("tokenizer_file"),
            context_length=tx.integer("context_length", minimum=2),
            pad_id=tx.optional_integer("pad_id"),
            padding=tx.choice("padding", PADDINGS, "max_length"),
            clean=tx.choice("clean", CLEAN_RULES, "none"),
            pad_token=tx.optional_text("pad_token"),
            strip_sep=tx.flag("strip_sep"),
            companions=tx.names("tokenizer_companions", []),
        ),
        languages=tx.strings("languages", ["en"]),
    )
    files_data = origin.get("files", {})
    if not isinstance(files_data, dict):
        raise origin.bad("files", "an object of {name: {size, sha256}}")
    recorded: dict[str, ModelFile] = {}
    for name, entry in files_data.items():
        check_relative(name, src, "source.files")
        f = Fields(entry, src, f"source.files.{name}.")
        recorded[name] = ModelFile(name, f.optional_integer("size"), f.sha256("sha256"))
    runtime = top.names("runtime_files")
    files = tuple(recorded.get(name, ModelFile(name)) for name in runtime)
    for key, name in (
        ("image.file", image.file),
        ("text.file", text.file),
        ("text.tokenizer_file", text.tokenizer.file),
    ):
        if name not in runtime:
            raise ModelError(f"{src}: {key} {name!r} is not listed in 'runtime_files'.")
    variants: dict[str, dict[str, str]] = {}
    for precision, entry in Fields(top.get("variants", {}), src, "variants.").data.items():
        if precision not in PRECISIONS[1:]:
            raise ModelError(
                f"{src}: variants names precision {precision!r}, not one of fp16, int8."
            )
        v = Fields(entry, src, f"variants.{precision}.")
        variants[precision] = {"image": v.file_name("image"), "text": v.file_name("text")}
    combined = top.flag("combined_graph")
    if combined != (image.file == text.file):
        raise ModelError(
            f"{src}: image.file and text.file must be the same graph exactly when "
            "combined_graph is true."
        )
    if layout == "immich" and "fp16" not in variants:
        # Our export recipe writes fp16 twins beside each graph (`visual/fp16/model.onnx`).
        variants["fp16"] = {"image": _fp16_twin(image.file), "text": _fp16_twin(text.file)}
    return ModelSpec(
        id=check_model_id(top.text("id"), src),
        version=top.text("version"),
        display_name=top.text("display_name"),
        family=top.text("family"),
        dim=top.integer("dim", minimum=1),
        image=image,
        text=text,
        license=top.text("license"),
        license_notes=top.text("license_notes", ""),
        layout=layout,
        logit_scale=None if top.data.get("logit_scale") is None else top.number("logit_scale"),
        files=files,
        variants=variants,
        hub_repo=origin.optional_text("hub_repo"),
        revision=origin.text("revision", "main"),
        upstream=origin.text("upstream", ""),
        combined=combined,
        data=top.data,
    )


def _fp16_twin(name: str) -> str:
    parent, _, base = name.rpartition("/")
    return f"{parent}/fp16/{base}" if parent else f"fp16/{base}"


def spec_to_json(spec: ModelSpec) -> dict[str, Any]:
    """A hub-layout spec as model.json data, with `files` as recorded in the spec."""
    if spec.layout == "mmsearch":
        raise ValueError("our own models keep their spec.json as the build wrote it")
    data: dict[str, Any] = json.loads(json.dumps(dict(spec.data)))
    origin = data.setdefault("source", {})
    origin["files"] = {f.name: {"size": f.size, "sha256": f.sha256} for f in spec.files}
    data["runtime_files"] = list(spec.runtime_files)
    return data


def read_catalogue_entry(path: Path) -> ModelSpec:
    """One catalogue entry (it ships with the app: a broken one is our bug)."""
    return hub_spec(
        read_json_file(path, "reinstall mmsearch (its catalogue of models is damaged)"), path
    )

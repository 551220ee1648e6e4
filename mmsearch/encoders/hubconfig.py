"""Bare hub folders (no spec of ours) read into a `ModelSpec` from their own config files.

A user may have a model folder exactly as a hub publishes it, with no catalogue entry and no
model.json: `describe_folder(folder)` reads what that layout itself says.

- transformers.js / Optimum ("optimum"): `onnx/vision_model.onnx` and `onnx/text_model.onnx`
  (their input and output names read from the graphs: pixel_values -> image_embeds,
  input_ids [+ attention_mask, token_type_ids] -> text_embeds), `preprocessor_config.json`
  (the image processor: size / crop_size / shortest_edge, do_resize, do_center_crop,
  resample as Pillow's number, rescale_factor, image_mean / image_std), `tokenizer.json` with
  `tokenizer_config.json` (model_max_length, pad_token, tokenizer_class), `config.json`
  (model_type clip / siglip / chinese_clip, projection_dim, text_config). Graphs of other
  precisions beside them (`*_fp16.onnx`, `*_quantized.onnx` or `*_int8.onnx`) are variants.
- Immich ("immich"): `visual/model.onnx`, `textual/model.onnx`, `config.json` (open_clip's
  model config: embed_dim, text_cfg), `visual/preprocess_cfg.json` (size, mean, std,
  interpolation, resize_mode), `textual/tokenizer.json` (+ tokenizer_config.json); fp16
  graphs in `visual/fp16/`, `textual/fp16/`.

The spec is built as the JSON of a catalogue entry and read by `formats.hub_spec`, so an
install writes it as model.json and every later start reads it back the same way.

How texts are tokenized follows the library the layout's files are made for: for
transformers' CLIP the tokenizer.json's own pipeline (kind "hf", no ftfy: transformers 5's
CLIPTokenizer is that file; proven id for id by tests/test_parity_optimum.py), SigLIP's
tokenizer class lower-cases and drops punctuation first (clean "ftfy-html-canonicalize"),
Chinese-CLIP's BERT WordPiece as cn_clip; Immich's as open_clip (CLIP BPE with ftfy, or the
HF tokenizer with open_clip's clean-up named in config.json).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmsearch.encoders.formats import HUB_FORMAT, HUB_SCHEMA, hub_spec
from mmsearch.encoders.spec import TEXT_INPUTS, Fields, ModelError, ModelSpec, read_json_file

OPTIMUM_IMAGE = "onnx/vision_model.onnx"
OPTIMUM_TEXT = "onnx/text_model.onnx"
IMMICH_IMAGE = "visual/model.onnx"
IMMICH_TEXT = "textual/model.onnx"

_RESAMPLE = {2: "bilinear", 3: "bicubic"}
"""Pillow's resampling numbers, as preprocessor_config.json writes them."""
_OPTIMUM_VARIANTS = {"fp16": ("fp16",), "int8": ("quantized", "int8")}
_FAMILIES = {"clip": "clip", "siglip": "siglip", "chinese_clip": "chinese-clip"}
_MAX_SANE_LENGTH = 100_000
"""transformers writes model_max_length 1e30 for "no limit": then the config's is used."""
OPEN_CLIP_CLEAN = {  # open_clip's clean-up functions (get_clean_fn) by our names
    "whitespace": "ftfy-html-whitespace",
    "lower": "ftfy-html-whitespace-lower",
    "canonicalize": "ftfy-html-canonicalize",
}
_COMPANIONS = ("tokenizer_config.json", "special_tokens_map.json")

_OPTIMUM_HINT = (
    "an Optimum / transformers.js export holds onnx/vision_model.onnx, onnx/text_model.onnx, "
    "config.json, preprocessor_config.json, tokenizer.json and tokenizer_config.json: copy "
    "the missing file from the repository the model came from"
)
_IMMICH_HINT = (
    "an Immich export holds config.json, visual/model.onnx, visual/preprocess_cfg.json, "
    "textual/model.onnx and textual/tokenizer.json: copy the missing file from the repository "
    "the model came from"
)


def folder_layout(folder: Path) -> str | None:
    """ "optimum" or "immich" when `folder` holds that layout's graphs, else None."""
    folder = Path(folder)
    if (folder / OPTIMUM_IMAGE).is_file() or (folder / OPTIMUM_TEXT).is_file():
        return "optimum"
    if (folder / IMMICH_IMAGE).is_file() or (folder / IMMICH_TEXT).is_file():
        return "immich"
    return None


def describe_folder(folder: Path, model_id: str | None = None) -> ModelSpec:
    """The spec of a bare Immich or Optimum folder, from its own files. `model_id` names it
    (default: the folder's name, made a valid id). Raises ModelError naming the file at fault
    and what to do about it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"{folder} is not a folder: name the folder that holds the model.")
    layout = folder_layout(folder)
    if layout is None:
        fix = (
            "name the folder that holds onnx/vision_model.onnx and onnx/text_model.onnx "
            "(transformers.js / Optimum) or visual/model.onnx and textual/model.onnx (Immich)"
        )
        raise ModelError(f"{folder} holds no model graphs mmsearch can read: {fix}.", hint=fix)
    model_id = model_id or id_from_name(folder.name)
    data = _optimum(folder, model_id) if layout == "optimum" else _immich(folder, model_id)
    return hub_spec(data, folder)


def id_from_name(name: str) -> str:
    """A folder's name made a model id: other characters to "-", lower case."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in name)
    cleaned = cleaned.strip("-.").lower()
    return cleaned or "imported-model"


def _need(folder: Path, name: str, hint: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise ModelError(f"{path} is missing: {hint}.", hint=hint)
    return path


def _json(folder: Path, name: str, hint: str) -> Fields:
    path = _need(folder, name, hint)
    return Fields(read_json_file(path, hint), str(path))


# -- the graphs ----------------------------------------------------------------------------


def graph_io(path: Path) -> tuple[list[str], dict[str, int | None]]:
    """(input names, {output name: its second dimension, None when not fixed}) of an ONNX
    file, read without its weights' external data."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # onnx raises DecodeError and others for a damaged file
        raise ModelError(
            f"{path} is not a readable ONNX graph ({e}): the file is damaged or half-copied; "
            "copy it again from where the model was published.",
            hint="copy the file again from where the model was published",
        ) from e
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in initializers]
    outputs: dict[str, int | None] = {}
    for out in model.graph.output:
        dims = out.type.tensor_type.shape.dim
        second = dims[1].dim_value if len(dims) >= 2 and dims[1].HasField("dim_value") else None
        outputs[out.name] = second or None
    return inputs, outputs


def _pick_output(path: Path, outputs: dict[str, int | None], wanted: tuple[str, ...]) -> str:
    for name in wanted:
        if name in outputs:
            return name
    raise ModelError(
        f"{path} gives {sorted(outputs)}, none of {', '.join(wanted)}: it is not a graph with "
        "the embedding projection (export the model's get_*_features, as Optimum's "
        "feature-extraction export of CLIP/SigLIP does), or the file belongs to another model."
    )


def _external(folder: Path, name: str) -> list[str]:
    """Weight files an ONNX graph keeps beside it (`model.onnx_data`, `model.onnx.data`)."""
    return [f"{name}{tail}" for tail in ("_data", ".data") if (folder / f"{name}{tail}").is_file()]


def _files(folder: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    return {name: {"size": (folder / name).stat().st_size, "sha256": None} for name in names}


# -- transformers.js / Optimum -------------------------------------------------------------


def _size_pair(cfg: Fields, key: str) -> tuple[str, int]:
    """("shortest", S) or ("square", S) from a size field: an int, {"shortest_edge": S} or
    {"height": S, "width": S}."""
    value = cfg.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return "int", value
    if isinstance(value, dict):
        sub = cfg.sub(key)
        if "shortest_edge" in value and "longest_edge" not in value:
            return "shortest", sub.integer("shortest_edge", minimum=1)
        if "height" in value and "width" in value:
            height, width = sub.integer("height", minimum=1), sub.integer("width", minimum=1)
            if height == width:
                return "square", height
    raise cfg.bad(
        key,
        'a size mmsearch can use: an integer, {"shortest_edge": S} or a square '
        '{"height": S, "width": S}',
    )


def _channels(cfg: Fields, key: str, positive: bool) -> tuple[float, float, float]:
    value = cfg.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = [value] * 3
        cfg = Fields({key: value}, cfg.source, cfg.where)
    return cfg.triple(key, positive=positive)


def optimum_preprocess(cfg: Fields) -> dict[str, Any]:
    """The catalogue's image fields for a transformers image processor's config: the resize
    to S x S ("shortest" then centre crop, or "squash"), the filter, mean and std folded
    with rescale_factor so that the runtime's (x / 255 - mean) / std is the processor's
    (x * rescale_factor - mean) / std. Crop offsets are floored, as transformers does."""
    hint = f"{cfg.source} describes a resize mmsearch can't reproduce"
    if not cfg.flag("do_resize", True):
        raise ModelError(f"{hint}: do_resize is false (the graph needs a fixed size).")
    kind, size = _size_pair(cfg, "size")
    crop = cfg.flag("do_center_crop", kind != "square")
    if kind == "square" or (kind == "int" and not crop):
        resize = "squash"
        if crop and "crop_size" in cfg.data and _size_pair(cfg, "crop_size")[1] != size:
            raise ModelError(f"{hint}: a squash to {size} then a smaller centre crop.")
    else:
        resize = "shortest"
        if not crop:
            raise ModelError(
                f"{hint}: the shorter side to {size} without a centre crop leaves the photo "
                "not square."
            )
        crop_size = _size_pair(cfg, "crop_size")[1] if "crop_size" in cfg.data else size
        if crop_size != size:
            raise ModelError(
                f"{hint}: the shorter side to {size}, then a {crop_size} x {crop_size} crop "
                "(mmsearch crops the whole shorter side)."
            )
    resample = cfg.get("resample", 3)
    if resample not in _RESAMPLE:
        raise cfg.bad("resample", "2 (bilinear) or 3 (bicubic)")
    scale = cfg.number("rescale_factor", 1 / 255) if cfg.flag("do_rescale", True) else 1.0
    if cfg.flag("do_normalize", True):
        mean = _channels(cfg, "image_mean", positive=False)
        std = _channels(cfg, "image_std", positive=True)
    else:
        mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    factor = 255.0 * scale
    if abs(factor - 1.0) > 1e-9:
        mean = (mean[0] / factor, mean[1] / factor, mean[2] / factor)
        std = (std[0] / factor, std[1] / factor, std[2] / factor)
    return {
        "size": size,
        "resize": resize,
        "interpolation": _RESAMPLE[int(resample)],
        "mean": list(mean),
        "std": list(std),
        "sampling": "exact",
        "crop_offset": "floor",
    }


def _context_length(tokenizer_config: Fields | None, config: Fields, default: int) -> int:
    text_config = config.sub("text_config") if "text_config" in config.data else None
    lengths = []
    if tokenizer_config is not None:
        value = tokenizer_config.data.get("model_max_length")
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and 2 <= value <= _MAX_SANE_LENGTH
        ):
            lengths.append(int(value))
    if text_config is not None and "max_position_embeddings" in text_config.data:
        lengths.append(text_config.integer("max_position_embeddings", minimum=2))
    return min(lengths) if lengths else default


def _optimum(folder: Path, model_id: str) -> dict[str, Any]:
    config = _json(folder, "config.json", _OPTIMUM_HINT)
    model_type = config.text("model_type", "")
    family = _FAMILIES.get(model_type)
    if family is None:
        raise ModelError(
            f"{config.source}: model_type {model_type!r} is not one mmsearch runs from an "
            "Optimum folder (clip, siglip, chinese_clip)."
        )
    preprocess = optimum_preprocess(_json(folder, "preprocessor_config.json", _OPTIMUM_HINT))
    _need(folder, "tokenizer.json", _OPTIMUM_HINT)
    tokenizer_config = (
        _json(folder, "tokenizer_config.json", _OPTIMUM_HINT)
        if (folder / "tokenizer_config.json").is_file()
        else None
    )
    image_path = _need(folder, OPTIMUM_IMAGE, _OPTIMUM_HINT)
    text_path = _need(folder, OPTIMUM_TEXT, _OPTIMUM_HINT)
    image_inputs, image_outputs = graph_io(image_path)
    text_inputs, text_outputs = graph_io(text_path)
    if image_inputs != ["pixel_values"]:
        raise ModelError(
            f"{image_path} takes {image_inputs}, not ['pixel_values']: it is not an image "
            "tower (a combined graph needs both inputs; export the towers apart)."
        )
    unknown = [name for name in text_inputs if name not in TEXT_INPUTS]
    if unknown or "input_ids" not in text_inputs:
        raise ModelError(
            f"{text_path} takes {text_inputs}: mmsearch feeds input_ids, attention_mask and "
            "token_type_ids only (a combined graph: export the text tower apart)."
        )
    image_output = _pick_output(image_path, image_outputs, ("image_embeds",))
    text_output = _pick_output(text_path, text_outputs, ("text_embeds",))
    dim = image_outputs[image_output] or text_outputs[text_output]
    if dim is None:
        if "projection_dim" in config.data:
            dim = config.integer("projection_dim", minimum=1)
        else:
            dim = config.sub("text_config").integer("hidden_size", minimum=1)
    if text_outputs[text_output] not in (None, dim):
        raise ModelError(
            f"{text_path} gives {text_outputs[text_output]}-wide vectors where {image_path} "
            f"gives {dim}: the two graphs belong to different models."
        )
    tokenizer_class = tokenizer_config.data.get("tokenizer_class") if tokenizer_config else None
    if model_type == "chinese_clip":
        text: dict[str, Any] = {
            "tokenizer": "bert-wordpiece",
            "context_length": _context_length(tokenizer_config, config, 52),
            "pad_id": 0,
            "clean": "none",
        }
        languages = ["zh", "en"]
    else:
        # SiglipTokenizer lower-cases and drops punctuation before SentencePiece (as SigLIP
        # was trained); a fast tokenizer's file does everything itself.
        canonical = model_type == "siglip" and tokenizer_class == "SiglipTokenizer"
        text = {
            "tokenizer": "hf",
            "context_length": _context_length(tokenizer_config, config, 77),
            "pad_id": None,
            "clean": "ftfy-html-canonicalize" if canonical else "none",
        }
        languages = ["en"]
    companions = [n for n in _COMPANIONS if (folder / n).is_file()]
    graphs = [OPTIMUM_IMAGE, OPTIMUM_TEXT]
    variants: dict[str, dict[str, str]] = {}
    for precision, suffixes in _OPTIMUM_VARIANTS.items():
        for suffix in suffixes:
            pair = {
                "image": f"onnx/vision_model_{suffix}.onnx",
                "text": f"onnx/text_model_{suffix}.onnx",
            }
            if all((folder / name).is_file() for name in pair.values()):
                variants[precision] = pair
                graphs += list(pair.values())
                break
    graph_files = [g for name in graphs for g in (name, *_external(folder, name))]
    runtime = ["config.json", "preprocessor_config.json", "tokenizer.json", *companions]
    runtime += graph_files
    return {
        "schema": HUB_SCHEMA,
        "format": HUB_FORMAT,
        "id": model_id,
        "version": "1",
        "display_name": f"{folder.name} (transformers.js / Optimum folder)",
        "family": family,
        "layout": "optimum",
        "dim": dim,
        "image": {
            "file": OPTIMUM_IMAGE,
            "input": "pixel_values",
            "output": image_output,
            **preprocess,
        },
        "text": {
            "file": OPTIMUM_TEXT,
            "inputs": text_inputs,
            "output": text_output,
            "tokenizer_file": "tokenizer.json",
            "tokenizer_companions": companions,
            "padding": "max_length",
            "strip_sep": False,
            "languages": languages,
            **text,
        },
        "variants": variants,
        "logit_scale": None if model_type == "siglip" else 100.0,
        "license": "unknown",
        "license_notes": "Read from a bare folder: check the license where the files were "
        "published before sharing what you build with them.",
        "source": {"hub_repo": None, "files": _files(folder, runtime)},
        "runtime_files": runtime,
        "described_from": {"layout": "optimum", "model_type": model_type},
    }


# -- Immich --------------------------------------------------------------------------------


def _immich(folder: Path, model_id: str) -> dict[str, Any]:
    config = _json(folder, "config.json", _IMMICH_HINT)
    cfg = _json(folder, "visual/preprocess_cfg.json", _IMMICH_HINT)
    _need(folder, "textual/tokenizer.json", _IMMICH_HINT)
    image_path = _need(folder, IMMICH_IMAGE, _IMMICH_HINT)
    text_path = _need(folder, IMMICH_TEXT, _IMMICH_HINT)
    size_value = cfg.get("size")
    if isinstance(size_value, list) and len(size_value) == 2 and size_value[0] == size_value[1]:
        size_value = size_value[0]
    if not isinstance(size_value, int) or isinstance(size_value, bool) or size_value < 1:
        raise cfg.bad("size", "a size S or a square [S, S]")
    resize = cfg.text("resize_mode", "shortest")
    if resize not in ("shortest", "squash"):
        raise cfg.bad("resize_mode", '"shortest" or "squash"')
    interpolation = cfg.text("interpolation", "bicubic")
    if interpolation not in _RESAMPLE.values():
        raise cfg.bad("interpolation", '"bicubic" or "bilinear"')
    image_inputs, image_outputs = graph_io(image_path)
    text_inputs, text_outputs = graph_io(text_path)
    if len(image_inputs) != 1:
        raise ModelError(f"{image_path} takes {image_inputs}, not one image input.")
    unknown = [name for name in text_inputs if name not in TEXT_INPUTS]
    if unknown or not {"text", "input_ids"} & set(text_inputs):
        raise ModelError(f"{text_path} takes {text_inputs}: not a text tower mmsearch can feed.")
    image_output = _pick_output(image_path, image_outputs, ("embedding", "image_embeds"))
    text_output = _pick_output(text_path, text_outputs, ("embedding", "text_embeds"))
    dim = config.integer("embed_dim", minimum=1) if "embed_dim" in config.data else None
    dim = dim or image_outputs[image_output] or text_outputs[text_output]
    if dim is None:
        raise ModelError(f"{config.source}: field 'embed_dim' is missing.")
    text_cfg = config.sub("text_cfg") if "text_cfg" in config.data else Fields({}, config.source)
    siglip = "init_logit_bias" in config.data
    family = "siglip" if siglip else "clip"
    if "cn_clip" in config.data:
        family = "chinese-clip"
        text: dict[str, Any] = {
            "tokenizer": "bert-wordpiece",
            "context_length": 52,
            "pad_id": 0,
            "clean": "none",
        }
        languages = ["zh", "en"]
    elif text_cfg.data.get("hf_tokenizer_name"):
        kwargs = text_cfg.sub("tokenizer_kwargs") if "tokenizer_kwargs" in text_cfg.data else None
        clean = kwargs.text("clean", "whitespace") if kwargs else "whitespace"
        if clean not in OPEN_CLIP_CLEAN:
            raise ModelError(
                f"{config.source}: text_cfg.tokenizer_kwargs.clean {clean!r} is not one of "
                + ", ".join(OPEN_CLIP_CLEAN)
                + " (update mmsearch?)."
            )
        text = {
            "tokenizer": "hf",
            "context_length": text_cfg.integer("context_length", 77, minimum=2),
            "pad_id": None,
            "clean": OPEN_CLIP_CLEAN[clean],
            "strip_sep": kwargs.flag("strip_sep_token") if kwargs else False,
        }
        languages = ["en"]
    else:
        text = {
            "tokenizer": "clip-bpe",
            "context_length": text_cfg.integer("context_length", 77, minimum=2),
            "pad_id": 0,
            "clean": "ftfy-html-whitespace-lower",
        }
        languages = ["en"]
    companions = [f"textual/{n}" for n in _COMPANIONS if (folder / "textual" / n).is_file()]
    graphs = [IMMICH_IMAGE, IMMICH_TEXT]
    twins = ["visual/fp16/model.onnx", "textual/fp16/model.onnx"]
    if all((folder / name).is_file() for name in twins):
        graphs += twins
    graph_files = [g for name in graphs for g in (name, *_external(folder, name))]
    runtime = ["config.json", "visual/preprocess_cfg.json", "textual/tokenizer.json", *companions]
    runtime += graph_files
    return {
        "schema": HUB_SCHEMA,
        "format": HUB_FORMAT,
        "id": model_id,
        "version": "1",
        "display_name": f"{folder.name} (Immich folder)",
        "family": family,
        "layout": "immich",
        "dim": dim,
        "image": {
            "file": IMMICH_IMAGE,
            "input": image_inputs[0],
            "output": image_output,
            "size": size_value,
            "resize": resize,
            "interpolation": interpolation,
            "mean": list(cfg.triple("mean")),
            "std": list(cfg.triple("std", positive=True)),
            "sampling": "exact",
        },
        "text": {
            "file": IMMICH_TEXT,
            "inputs": text_inputs,
            "output": text_output,
            "tokenizer_file": "textual/tokenizer.json",
            "tokenizer_companions": companions,
            "padding": "max_length",
            "languages": languages,
            **text,
        },
        "logit_scale": None if siglip else 100.0,
        "license": "unknown",
        "license_notes": "Read from a bare folder: check the license where the files were "
        "published before sharing what you build with them.",
        "source": {"hub_repo": None, "files": _files(folder, runtime)},
        "runtime_files": runtime,
        "described_from": {"layout": "immich"},
    }

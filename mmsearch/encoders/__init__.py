"""Encoders: photos and text to unit vectors, through ONNX Runtime (never torch).

A model is a folder `<model-id>/` holding either `spec.json` (our bundled and trained models,
see `ModelSpec`) or `model.json` (CLIP models in the hub layout, see `ClipSpec`) beside the
ONNX files and tokenizer it names; `find_model_dir` locates it on a search path and
`load_any_model` opens either kind as an `AnyModel`.
"""

from mmsearch.encoders.clip import ClipModel, ClipSpec
from mmsearch.encoders.loading import (
    AnyModel,
    AnySpec,
    find_model_dir,
    fusion_parts,
    is_model_dir,
    load_any_model,
    load_spec,
)
from mmsearch.encoders.onnx import FusionHead, ImageEncoder, Model, TextEncoder, load_model
from mmsearch.encoders.spec import (
    FusionSpec,
    ModelError,
    ModelFile,
    ModelSpec,
    SourcePackage,
)

__all__ = [
    "AnyModel",
    "AnySpec",
    "ClipModel",
    "ClipSpec",
    "FusionHead",
    "FusionSpec",
    "ImageEncoder",
    "Model",
    "ModelError",
    "ModelFile",
    "ModelSpec",
    "SourcePackage",
    "TextEncoder",
    "find_model_dir",
    "fusion_parts",
    "is_model_dir",
    "load_any_model",
    "load_model",
    "load_spec",
]

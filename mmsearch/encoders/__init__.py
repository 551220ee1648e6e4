"""Encoders: photos and text to unit vectors, through ONNX Runtime (never torch).

A model is a folder `<model-id>/` holding `spec.json` (see `ModelSpec`) and the ONNX files and
tokenizer it names; `find_model_dir` locates it on a search path and `load_model` opens it.
"""

from mmsearch.encoders.onnx import FusionHead, ImageEncoder, Model, TextEncoder, load_model
from mmsearch.encoders.spec import (
    FusionSpec,
    ModelError,
    ModelFile,
    ModelSpec,
    SourcePackage,
    find_model_dir,
)

__all__ = [
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
    "load_model",
]

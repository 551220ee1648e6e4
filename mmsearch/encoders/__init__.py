"""Encoders: photos and text to unit vectors, through ONNX Runtime (never torch).

One contract for every model family: a `ModelSpec` (`spec.py`: image part with its
`Preprocess`, text part with its `TokenizerSpec`, optional fusion head, files), read from
whichever on-disk layout a folder holds by `formats.py` (ours: `spec.json`; Immich's and
transformers.js/Optimum's: `model.json`), run by one `Session` class (`session.py`), one
`ImageEncoder` and one `TextEncoder` with a pluggable tokenizer (`model.py`,
`preprocess.py`, `tokenize.py`). `load_model(model_dir)` opens any of them.
"""

from mmsearch.encoders.formats import (
    MODEL_FILE,
    SPEC_FILE,
    find_model_dir,
    is_model_dir,
    load_spec,
)
from mmsearch.encoders.model import (
    FusionHead,
    ImageEncoder,
    Model,
    TextEncoder,
    fusion_parts,
    load_model,
    probe_model,
)
from mmsearch.encoders.spec import (
    FusionSpec,
    ImagePart,
    ModelError,
    ModelFile,
    ModelSpec,
    Preprocess,
    SourcePackage,
    TextPart,
    TokenizerSpec,
)

__all__ = [
    "MODEL_FILE",
    "SPEC_FILE",
    "FusionHead",
    "FusionSpec",
    "ImageEncoder",
    "ImagePart",
    "Model",
    "ModelError",
    "ModelFile",
    "ModelSpec",
    "Preprocess",
    "SourcePackage",
    "TextEncoder",
    "TextPart",
    "TokenizerSpec",
    "find_model_dir",
    "fusion_parts",
    "is_model_dir",
    "load_model",
    "load_spec",
    "probe_model",
]

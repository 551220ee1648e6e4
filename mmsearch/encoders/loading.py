"""One way to open any installed model: a bundled/trained folder (`spec.json`, see
`ModelSpec`) or a CLIP folder in the hub layout (`model.json`, see `ClipSpec`).

The rest of the app sees `AnyModel`: both kinds give `spec.id`, `spec.dim`,
`spec.display_name`, `spec.image_size`, `spec.fusion`, `image.preprocess`, `image.encode`,
`image.encode_images`, `image.encode_with_regions` and `text.encode`. Only our matching
model has a fusion head; `fusion_parts` hands out the pieces the fused paths need.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from mmsearch.encoders.clip import MODEL_FILE, ClipModel, ClipSpec, graph_file, load_clip_model
from mmsearch.encoders.half import fp16_twins
from mmsearch.encoders.onnx import FusionHead, Model, TextEncoder, load_model
from mmsearch.encoders.spec import SPEC_FILE, ModelError, ModelSpec

log = logging.getLogger(__name__)

AnyModel = Model | ClipModel
AnySpec = ModelSpec | ClipSpec

_INSTALL_HINT = (
    "run `make install` for the bundled models, or `mmsearch models list` to see the models "
    "you can download or import"
)


def is_model_dir(path: Path) -> bool:
    """Whether `path` holds a model of either kind."""
    return (Path(path) / SPEC_FILE).is_file() or (Path(path) / MODEL_FILE).is_file()


def find_model_dir(model_id: str, search_path: Sequence[Path]) -> Path:
    """The first `<dir>/<model_id>/` holding a model (spec.json or model.json) on
    `search_path`. Raises ModelError naming the folders searched when none has it."""
    for folder in search_path:
        candidate = Path(folder) / model_id
        if is_model_dir(candidate):
            return candidate
    searched = ", ".join(str(Path(d)) for d in search_path) or "(no folders)"
    raise ModelError(f"model {model_id!r} not found in {searched}; {_INSTALL_HINT}.")


def load_spec(model_dir: Path) -> AnySpec:
    """The spec of the model in `model_dir`, of whichever kind it is."""
    model_dir = Path(model_dir)
    if (model_dir / SPEC_FILE).is_file():
        return ModelSpec.load(model_dir)
    return ClipSpec.load(model_dir / MODEL_FILE)


def has_fp16(model_dir: Path, spec: AnySpec) -> bool:
    """Whether the folder holds fp16 twins of both graphs (only CLIP exports do)."""
    if not isinstance(spec, ClipSpec):
        return False
    return all(
        (Path(model_dir) / graph_file(name, "fp16")).is_file()
        for name in (spec.image.file, spec.text.file)
    )


def load_any_model(
    model_dir: Path,
    threads: int | None = None,
    *,
    verify: bool = False,
    providers: Sequence[str] | None = None,
    fp16: bool = False,
    fp16_cache: Path | None = None,
) -> AnyModel:
    """Open the model in `model_dir` (sessions start on first use). `fp16=True` (meant for
    the GPU) runs fp16 graphs: a CLIP folder's own, or for our models twins made once in
    `fp16_cache` (if that fails, fp32 with a warning); otherwise fp32."""
    model_dir = Path(model_dir)
    if (model_dir / SPEC_FILE).is_file():
        graphs = None
        if fp16 and fp16_cache is not None:
            own = ModelSpec.load(model_dir)
            try:
                graphs = fp16_twins(model_dir, own, fp16_cache)
            except Exception as e:  # a converter problem must not cost the user the model
                log.warning("no fp16 graphs for %s (%s): running fp32", own.id, e)
        return load_model(model_dir, threads, verify=verify, providers=providers, graphs=graphs)
    spec = ClipSpec.load(model_dir / MODEL_FILE)
    precision = "fp16" if fp16 and has_fp16(model_dir, spec) else "fp32"
    return load_clip_model(
        model_dir, threads, verify=verify, providers=providers, spec=spec, precision=precision
    )


def fusion_parts(model: AnyModel) -> tuple[FusionHead, TextEncoder] | None:
    """The fusion head and the text encoder that feeds it tokens, when the model has one."""
    if isinstance(model, Model) and model.fusion is not None:
        return model.fusion, model.text
    return None

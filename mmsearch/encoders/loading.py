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

import numpy as np
from PIL import Image

from mmsearch.encoders.clip import MODEL_FILE, ClipModel, ClipSpec, graph_file, load_clip_model
from mmsearch.encoders.half import fp16_twins
from mmsearch.encoders.integrity import verify_model_files
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
    verified_cache: Path | None = None,
) -> AnyModel:
    """Open the model in `model_dir` (sessions start on first use). `fp16=True` (meant for
    the GPU) runs fp16 graphs: a CLIP folder's own, or for our models twins made once in
    `fp16_cache` (if that fails, fp32 with a warning); otherwise fp32.

    Every file is checked against the SHA-256 its spec recorded at install, hashing only
    files whose size, mtime or ctime changed since they were last verified (see
    `mmsearch.encoders.integrity`; `verified_cache` is where that state is kept when the
    model folder is read-only, the data folder's cache). `verify=True` hashes every file.
    A damaged file raises ModelError naming the file, the model and the fix.
    """
    model_dir = Path(model_dir)
    if (model_dir / SPEC_FILE).is_file():
        own = ModelSpec.load(model_dir)
        verify_model_files(model_dir, own, verified_cache, force=verify)
        graphs = None
        if fp16 and fp16_cache is not None:
            try:
                graphs = fp16_twins(model_dir, own, fp16_cache)
            except Exception as e:  # a converter problem must not cost the user the model
                log.warning("no fp16 graphs for %s (%s): running fp32", own.id, e)
        return load_model(model_dir, threads, providers=providers, graphs=graphs)
    spec = ClipSpec.load(model_dir / MODEL_FILE)
    spec.check_files(model_dir)
    verify_model_files(model_dir, spec, verified_cache, force=verify)
    precision = "fp16" if fp16 and has_fp16(model_dir, spec) else "fp32"
    return load_clip_model(model_dir, threads, providers=providers, spec=spec, precision=precision)


PROBE_TEXTS = ("a photo of a cat on a sofa", "a red car parked in a street")
"""The probe texts: two different ordinary captions."""


def probe_images() -> list[Image.Image]:
    """Two fixed, deterministic pictures (a colour gradient and a checkerboard with a disc):
    different enough that any working image graph gives two finite, different vectors."""
    x = np.linspace(0, 255, 320, dtype=np.float32)
    y = np.linspace(0, 255, 240, dtype=np.float32)[:, None]
    gradient = np.stack(
        [np.broadcast_to(x, (240, 320)), np.broadcast_to(y, (240, 320)), (x + y) / 2], axis=-1
    )
    yy, xx = np.mgrid[0:256, 0:256]
    board = (((xx // 32) + (yy // 32)) % 2 * 200 + 30).astype(np.float32)
    disc = (xx - 128) ** 2 + (yy - 128) ** 2 < 60**2
    checker = np.stack([board, board * 0.5, np.where(disc, 255.0, board)], axis=-1)
    return [
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB") for a in (gradient, checker)
    ]


def probe_model(model: AnyModel, where: Path | str) -> None:
    """Run a fixed batch of 2 images and the 2 probe texts through the model; raise
    ModelError naming the model and what is wrong unless each gives (2, dim) finite vectors
    that normalise to unit length. For installs: a graph with the right input names but the
    wrong computation (an Identity, another model's head) is refused before it is used."""
    spec = model.spec
    for part in ("image", "text"):
        try:
            if part == "image":
                out = np.asarray(model.image.encode_images(probe_images()))
            else:
                out = np.asarray(model.text.encode(list(PROBE_TEXTS)))
        except ModelError as e:
            raise ModelError(f"model {spec.id!r} ({where}) fails its probe: {e}") from e
        except Exception as e:  # any failure of a graph on ordinary input is the model's
            raise ModelError(
                f"model {spec.id!r} ({where}): its {part} graph fails on a probe input: {e}"
            ) from e
        if out.shape != (2, spec.dim):
            raise ModelError(
                f"model {spec.id!r} ({where}): its {part} graph gives vectors of shape "
                f"{out.shape} for 2 probe inputs, not (2, {spec.dim}): it is not this model."
            )
        if not np.isfinite(out).all():
            raise ModelError(
                f"model {spec.id!r} ({where}): its {part} graph gives NaN or infinite values "
                "on a probe input: the file is damaged or not this model."
            )
        norms = np.linalg.norm(out.astype(np.float64), axis=1)
        if not np.allclose(norms, 1.0, atol=0.02):  # fp16 graphs normalise in fp16
            raise ModelError(
                f"model {spec.id!r} ({where}): its {part} graph gives vectors that can't be "
                f"normalised (lengths {', '.join(f'{n:.3g}' for n in norms)}): it is not "
                "this model."
            )


def fusion_parts(model: AnyModel) -> tuple[FusionHead, TextEncoder] | None:
    """The fusion head and the text encoder that feeds it tokens, when the model has one."""
    if isinstance(model, Model) and model.fusion is not None:
        return model.fusion, model.text
    return None

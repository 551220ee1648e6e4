"""fp16 twins of our own models' graphs, for the GPU.

Hub exports ship their fp16 graphs (`visual/fp16/model.onnx`, `*_fp16.onnx`). Our bundled
and trained models don't: twins would add ~60 MB to every download and package for a GPU
few users have. So on a GPU they are made once, on first use, with ONNX Runtime's own
converter (float16 weights and arithmetic, float32 inputs and outputs; about a second) and
kept in the data folder's cache, keyed by the model's id and version. Photos and captions
embed within cosine 0.999 of the fp32 graphs (tested on the CPU).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from mmsearch.encoders.spec import ModelSpec
from mmsearch.files import replace_dir


def write_fp16(src: Path, dst: Path) -> None:
    """The graph at `src` with float16 weights and arithmetic, written to `dst`; its inputs
    and outputs stay float32 (callers feed and read float32 whatever the weights are)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    half = convert_float_to_float16(
        onnx.load(str(src)), keep_io_types=True, disable_shape_infer=True
    )
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(half, str(dst))


def fp16_twins(model_dir: Path, spec: ModelSpec, cache: Path) -> Path:
    """The folder of fp16 twins of the model's graphs under `cache`, made if missing
    (atomically: a half-written folder is never used)."""
    target = Path(cache) / f"{spec.id}-{spec.version}"
    names = spec.graphs()
    if all((target / name).is_file() for name in names):
        return target
    Path(cache).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{spec.id}-", dir=cache))
    try:
        for name in names:
            write_fp16(Path(model_dir) / name, work / name)
        replace_dir(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target

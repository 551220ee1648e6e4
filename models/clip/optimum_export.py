"""Our export recipe for Hugging Face CLIP / SigLIP models -> the transformers.js / Optimum layout.

    python -m models.clip.optimum_export --hf DIR --out DIR [--no-fp16] [--int8]

reads a `transformers` model folder (what `save_pretrained` writes: config.json, the weights,
tokenizer.json, tokenizer_config.json, preprocessor_config.json) and writes

    config.json                   the model's config, as saved
    preprocessor_config.json      the image processor's, as its save_pretrained wrote it
    tokenizer.json                the tokenizer, as saved (+ tokenizer_config.json,
    tokenizer_config.json         special_tokens_map.json where there is one)
    onnx/vision_model.onnx        pixel_values (N, 3, S, S) float32 -> image_embeds (N, dim)
    onnx/text_model.onnx          input_ids (N, L) int64 [+ attention_mask for CLIP]
                                  -> text_embeds (N, dim)
    onnx/*_fp16.onnx              the same graphs with float16 weights (float32 in and out)
    onnx/*_quantized.onnx         (--int8) dynamic int8 quantisation of the weights

with the graph names Optimum's exporter gives them (CLIPVisionModelWithProjection /
CLIPTextModelWithProjection: image_embeds, text_embeds; not normalised: the runtime
normalises), so `mmsearch.encoders.hubconfig.describe_folder` reads our exports and the
hub's alike. The graphs are `get_image_features` / `get_text_features` of the model, traced by
torch.onnx.export. Build-time only (torch, transformers).

`random_clip` / `random_siglip` make such a folder with random weights (seeded) and an offline
tokenizer of the model's kind, for the parity tests: CLIP's BPE from open_clip's bundled
vocabulary (`CLIPTokenizer`), and for SigLIP a SentencePiece-style Unigram trained with
`tokenizers` on the training captions.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mmsearch.encoders.half import write_fp16
from mmsearch.files import replace_dir
from models.clip.export import write_manifest

DEFAULT_OPSET = 17
VISION_FILE = "onnx/vision_model.onnx"
TEXT_FILE = "onnx/text_model.onnx"
COPIED = (
    "config.json",
    "preprocessor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)

# ViT-B/32 CLIP's geometry (openai/clip-vit-base-patch32), the text tower's special ids
# those of CLIP's BPE vocabulary (49406 begin, 49407 end = pad). CLIP's initialisation
# (initializer_factor 1) leaves a random image tower nearly blind (cosine 0.993 between a cat
# and a rocket: the residual blocks add little to the class token), too blind for a parity
# test to see a crop one pixel off; the config's own initializer_factor 4 gives 0.94.
CLIP_INIT_FACTOR = 4.0
CLIP_B32: dict[str, Any] = {
    "projection_dim": 512,
    "initializer_factor": CLIP_INIT_FACTOR,
    "text_config": {
        "initializer_factor": CLIP_INIT_FACTOR,
        "vocab_size": 49408,
        "hidden_size": 512,
        "intermediate_size": 2048,
        "num_hidden_layers": 12,
        "num_attention_heads": 8,
        "max_position_embeddings": 77,
        "bos_token_id": 49406,
        "eos_token_id": 49407,
        "pad_token_id": 49407,
    },
    "vision_config": {
        "initializer_factor": CLIP_INIT_FACTOR,
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "image_size": 224,
        "patch_size": 32,
    },
}

# SigLIP B/16 at 224 geometry with 6 layers per tower (half of google/siglip-base-patch16-224,
# to keep the test's export and torch runs short), 64 tokens.
SIGLIP_B16_HALF: dict[str, Any] = {
    "text_config": {
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 6,
        "num_attention_heads": 12,
        "max_position_embeddings": 64,
    },
    "vision_config": {
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 6,
        "num_attention_heads": 12,
        "image_size": 224,
        "patch_size": 16,
    },
}
SIGLIP_VOCAB = 8000
SIGLIP_SPECIALS = ("<pad>", "</s>", "<unk>")
"""SigLIP's (T5's) special pieces, ids 0, 1, 2; it pads with "</s>"."""


# -- offline tokenizers --------------------------------------------------------------------


def clip_tokenizer(context_length: int = 77) -> Any:
    """transformers' CLIPTokenizer on CLIP's BPE (open_clip's bundled vocabulary)."""
    from transformers import CLIPTokenizer

    from models.clip.export import clip_vocabulary

    vocab, merges = clip_vocabulary()
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=context_length)


def train_unigram(texts: Iterable[str], vocab_size: int = SIGLIP_VOCAB) -> Any:
    """A SentencePiece-style Unigram tokenizer (`tokenizers`): lower-cased, whitespace runs
    collapsed, "▁" word marks (Metaspace), `</s>` appended, like SigLIP's published one."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from tokenizers.processors import TemplateProcessing

    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SIGLIP_SPECIALS),
        unk_token="<unk>",
        shrinking_factor=0.75,
        max_piece_length=16,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    eos = tokenizer.token_to_id("</s>")
    tokenizer.post_processor = TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", eos)]
    )
    return tokenizer


def siglip_tokenizer(captions: Path, context_length: int = 64) -> Any:
    """A transformers fast tokenizer around `train_unigram` trained on `captions` (JSONL with
    a "caption" per line: the training captions, never evaluation ones)."""
    from transformers import PreTrainedTokenizerFast

    with open(captions, encoding="utf-8") as f:
        texts = [json.loads(line)["caption"] for line in f if line.strip()]
    return PreTrainedTokenizerFast(
        tokenizer_object=train_unigram(texts),
        eos_token="</s>",
        pad_token="</s>",
        unk_token="<unk>",
        model_max_length=context_length,
        # SiglipTokenizer gives the ids alone: SigLIP's text tower was trained without a mask.
        model_input_names=["input_ids"],
    )


# -- random-weight models ------------------------------------------------------------------


def _seeded(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def random_clip(out: Path, seed: int = 0, config: dict[str, Any] | None = None) -> Path:
    """A transformers CLIP folder (CLIPModel with random weights, CLIPTokenizer, the image
    processor of openai's CLIP) in `out`."""
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel

    cfg = config or CLIP_B32
    _seeded(seed)
    model = CLIPModel(
        CLIPConfig(
            text_config=cfg["text_config"],
            vision_config=cfg["vision_config"],
            projection_dim=cfg["projection_dim"],
            initializer_factor=cfg.get("initializer_factor", 1.0),
        )
    ).eval()
    size = cfg["vision_config"]["image_size"]
    processor = CLIPImageProcessorPil(
        size={"shortest_edge": size}, crop_size={"height": size, "width": size}
    )
    return _save(
        out, model, processor, clip_tokenizer(cfg["text_config"]["max_position_embeddings"])
    )


def random_siglip(
    out: Path, captions: Path, seed: int = 0, config: dict[str, Any] | None = None
) -> Path:
    """A transformers SigLIP folder (SiglipModel with random weights, a Unigram tokenizer
    trained on `captions`, SigLIP's image processor: squash to S x S bicubic, mean/std 0.5)."""
    from transformers import SiglipConfig, SiglipImageProcessorPil, SiglipModel

    cfg = config or SIGLIP_B16_HALF
    context = cfg["text_config"]["max_position_embeddings"]
    tokenizer = siglip_tokenizer(captions, context)
    text_config = {
        **cfg["text_config"],
        "vocab_size": len(tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": tokenizer.eos_token_id,  # SigLIP has no begin token
    }
    _seeded(seed)
    model = SiglipModel(
        SiglipConfig(text_config=text_config, vision_config=cfg["vision_config"])
    ).eval()
    size = cfg["vision_config"]["image_size"]
    processor = SiglipImageProcessorPil(size={"height": size, "width": size})
    return _save(out, model, processor, tokenizer)


def _save(out: Path, model: Any, processor: Any, tokenizer: Any) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


# -- export --------------------------------------------------------------------------------


def load_hf(folder: Path) -> Any:
    """The model of a transformers folder, eager attention (what the ONNX tracer takes)."""
    from transformers import AutoModel

    return AutoModel.from_pretrained(folder, attn_implementation="eager").eval()


def _features(output: Any) -> Any:
    # transformers 5 returns the projected features as the output's pooler_output, 4.x a tensor.
    return getattr(output, "pooler_output", output)


def text_inputs(model: Any) -> tuple[str, ...]:
    """The text graph's inputs as Optimum exports them: CLIP's text tower takes the attention
    mask, SigLIP's (trained on max_length padding, no mask) only the ids."""
    return (
        ("input_ids",) if model.config.model_type == "siglip" else ("input_ids", "attention_mask")
    )


def export_graphs(model: Any, out: Path, opset: int = DEFAULT_OPSET) -> None:
    """onnx/vision_model.onnx and onnx/text_model.onnx of `model` into `out`."""
    import torch

    class Vision(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
            return _features(self.model.get_image_features(pixel_values=pixel_values))

    inputs = text_inputs(model)

    class Text(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            named = dict(zip(inputs, args, strict=True))
            return _features(self.model.get_text_features(**named))

    size = model.config.vision_config.image_size
    length = model.config.text_config.max_position_embeddings
    ids = torch.full((2, length), 1, dtype=torch.int64)
    ids[:, :6] = torch.tensor([5, 10, 11, 12, 13, 2])
    mask = torch.ones_like(ids)
    text_example = (ids, mask)[: len(inputs)]
    axes = {name: {0: "batch", 1: "sequence"} for name in inputs}
    jobs = [
        (
            Vision(),
            (torch.randn(2, 3, size, size),),
            VISION_FILE,
            ("pixel_values",),
            "image_embeds",
            {"pixel_values": {0: "batch"}},
        ),
        (Text(), text_example, TEXT_FILE, inputs, "text_embeds", axes),
    ]
    for module, example, name, input_names, output, dynamic in jobs:
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module.eval(),
                example,
                str(path),
                input_names=list(input_names),
                output_names=[output],
                dynamic_axes={**dynamic, output: {0: "batch"}},
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )


def _variant(name: str, suffix: str) -> str:
    return name[: -len(".onnx")] + f"_{suffix}.onnx"


def export_optimum(
    hf_folder: Path,
    out: Path,
    *,
    fp16: bool = True,
    int8: bool = False,
    opset: int = DEFAULT_OPSET,
) -> dict[str, dict[str, Any]]:
    """Export the transformers folder `hf_folder` into `out` in the Optimum layout,
    atomically (built beside `out`, then renamed). Returns {file: {size, sha256}}."""
    hf_folder, out = Path(hf_folder), Path(out)
    if not (hf_folder / "preprocessor_config.json").is_file():
        raise FileNotFoundError(
            f"{hf_folder / 'preprocessor_config.json'} is missing: save the model's image "
            "processor into the folder (`processor.save_pretrained(folder)`)"
        )
    model = load_hf(hf_folder)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name in COPIED:
            if (hf_folder / name).is_file():
                shutil.copyfile(hf_folder / name, tmp / name)
        export_graphs(model, tmp, opset)
        for name in (VISION_FILE, TEXT_FILE):
            if fp16:
                write_fp16(tmp / name, tmp / _variant(name, "fp16"))
            if int8:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                quantize_dynamic(
                    tmp / name, tmp / _variant(name, "quantized"), weight_type=QuantType.QInt8
                )
        manifest = write_manifest(tmp)
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hf", type=Path, required=True, help="a transformers model folder")
    parser.add_argument("--out", type=Path, required=True, help="folder to write")
    parser.add_argument("--no-fp16", action="store_true", help="skip the fp16 graphs")
    parser.add_argument("--int8", action="store_true", help="also write int8 (*_quantized) graphs")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    args = parser.parse_args(argv)
    try:
        manifest = export_optimum(
            args.hf, args.out, fp16=not args.no_fp16, int8=args.int8, opset=args.opset
        )
    except (FileNotFoundError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {len(manifest)} files to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

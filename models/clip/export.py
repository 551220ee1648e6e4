"""Our export recipe: an open_clip model -> runtime files in the Immich hub layout.

    python -m models.clip.export --spec models/specs/clip-vit-b-32-openai.json --out DIR \
        [--checkpoint FILE | --random] [--no-fp16]

writes `DIR/` with

    config.json                     open_clip's model config (embed_dim, vision_cfg, text_cfg)
    visual/model.onnx               image (N, 3, S, S) float32 -> embedding (N, dim), unit rows
    visual/preprocess_cfg.json      size, mean, std, interpolation, resize_mode (open_clip's)
    visual/fp16/model.onnx          the same graph with float16 weights, float32 in and out
    textual/model.onnx              text (N, context) int32 ids -> embedding (N, dim)
    textual/fp16/model.onnx
    textual/tokenizer.json          CLIP's BPE in Hugging Face `tokenizers` format, built from
                                    open_clip's bundled bpe_simple_vocab_16e6.txt.gz
    textual/tokenizer_config.json, special_tokens_map.json, vocab.json, merges.txt

This is the layout of `immich-app/ViT-B-32__openai` and its siblings, so one runtime
(`mmsearch.encoders.clip`) serves files downloaded from there and files made here. Unlike
Immich's export, the batch axis is dynamic (Immich's graphs take batch 1; the runtime copes
with both). Build-time only: torch and open_clip are imported here, never by the app.

With `--random` (what the parity tests do: no weights can be downloaded on build machines)
the architecture gets open_clip's random initialisation, seeded. With `--checkpoint` the
weights come from a local open_clip checkpoint the user trusts (it is loaded by torch).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmsearch.encoders.clip import ClipSpec, graph_file
from mmsearch.encoders.spec import sha256_file

BEGIN_TOKEN = "<|startoftext|>"
END_TOKEN = "<|endoftext|>"
# open_clip keeps the first 48,894 merges of the file (49,152 - 256 bytes - 2 special tokens),
# which with 2 x 256 byte symbols and the 2 special tokens gives its 49,408-token vocabulary.
_MERGE_COUNT = 49152 - 256 - 2
# CLIP's pre-tokenizer: contractions, runs of letters, single digits, runs of other symbols.
_CLIP_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
DEFAULT_OPSET = 17


def byte_symbols() -> list[str]:
    """The 256 printable characters GPT-2-style byte-level BPE uses for the bytes 0..255, in
    byte order: printable Latin-1 bytes stand for themselves, the others (controls, space,
    soft hyphen...) are moved to code points from 256 up, in order."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    keep = set(printable)
    symbols: list[str] = []
    shifted = 0
    for byte in range(256):
        if byte in keep:
            symbols.append(chr(byte))
        else:
            symbols.append(chr(256 + shifted))
            shifted += 1
    return symbols


def _vocab_order() -> list[str]:
    """The byte symbols in open_clip's vocabulary order: printable ones first, then shifted."""
    symbols = byte_symbols()
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    rest = [b for b in range(256) if b not in set(printable)]
    return [symbols[b] for b in printable + rest]


def clip_vocabulary(bpe_file: Path | None = None) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """CLIP's BPE vocabulary (token -> id) and merges, from open_clip's bundled file."""
    if bpe_file is None:
        import open_clip.tokenizer

        bpe_file = Path(open_clip.tokenizer.default_bpe())
    with gzip.open(bpe_file, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = [tuple(line.split()) for line in lines[1 : _MERGE_COUNT + 1]]
    if len(merges) != _MERGE_COUNT or any(len(m) != 2 for m in merges):
        raise ValueError(f"{bpe_file} is not CLIP's BPE merge list")
    base = _vocab_order()
    tokens = base + [s + "</w>" for s in base] + ["".join(m) for m in merges]
    tokens += [BEGIN_TOKEN, END_TOKEN]
    vocab = {token: i for i, token in enumerate(tokens)}
    if len(vocab) != len(tokens):
        raise ValueError(f"{bpe_file} gives duplicate tokens")
    return vocab, [(a, b) for a, b in merges]


def write_clip_tokenizer(folder: Path, context_length: int = 77) -> list[str]:
    """Write CLIP's tokenizer into `folder` in Hugging Face format: tokenizer.json (what the
    runtime reads) and its companions tokenizer_config.json, special_tokens_map.json,
    vocab.json and merges.txt (what `transformers` and Immich read). Returns the names."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    vocab, merges = clip_vocabulary()
    tokenizer = Tokenizer(
        models.BPE(
            vocab=vocab,
            merges=merges,
            end_of_word_suffix="</w>",
            continuing_subword_prefix="",
            unk_token=END_TOKEN,
            fuse_unk=False,
        )
    )
    # What the file does on its own; the runtime additionally runs ftfy and HTML unescaping
    # (mmsearch.encoders.clip.clean_text), which no tokenizers normalizer can express.
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_CLIP_SPLIT), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.post_processor = TemplateProcessing(
        single=f"{BEGIN_TOKEN} $A {END_TOKEN}",
        pair=f"{BEGIN_TOKEN} $A {END_TOKEN} $B {END_TOKEN}",
        special_tokens=[(BEGIN_TOKEN, vocab[BEGIN_TOKEN]), (END_TOKEN, vocab[END_TOKEN])],
    )
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([BEGIN_TOKEN, END_TOKEN])
    # open_clip pads with id 0 ("!"), which the HF tokenizers of OpenCLIP models also use.
    tokenizer.enable_padding(pad_id=0, pad_token="!", length=context_length)
    tokenizer.enable_truncation(max_length=context_length)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    special = {
        "bos_token": BEGIN_TOKEN,
        "eos_token": END_TOKEN,
        "unk_token": END_TOKEN,
        "pad_token": "!",
    }
    _write_json(folder / "special_tokens_map.json", special)
    _write_json(
        folder / "tokenizer_config.json",
        {
            **special,
            "tokenizer_class": "CLIPTokenizer",
            "model_max_length": context_length,
            "do_lower_case": True,
            "clean_up_tokenization_spaces": False,
        },
    )
    _write_json(folder / "vocab.json", vocab)
    with open(folder / "merges.txt", "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        f.writelines(f"{a} {b}\n" for a, b in merges)
    names = ["tokenizer.json", "special_tokens_map.json", "tokenizer_config.json"]
    return [*names, "vocab.json", "merges.txt"]


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")


def create_model(spec: ClipSpec, checkpoint: Path | None = None, seed: int = 0) -> Any:
    """The spec's open_clip architecture in eval mode with frozen weights: random (seeded)
    without `checkpoint`, else the checkpoint's weights."""
    import open_clip
    import torch

    arch = spec.data.get("architecture", {}).get("open_clip")
    if not arch:
        raise ValueError(f"{spec.id}: no open_clip architecture in the spec")
    torch.manual_seed(seed)
    model = open_clip.create_model(arch, pretrained=str(checkpoint) if checkpoint else None)
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model


def check_against_open_clip(spec: ClipSpec) -> None:
    """Raise ValueError unless the spec's sizes and preprocessing are open_clip's own for its
    architecture and pretrained tag (a typo in a spec would silently cost accuracy)."""
    import open_clip

    arch = spec.data["architecture"]
    config = open_clip.get_model_config(arch["open_clip"])
    if config is None:
        raise ValueError(f"{spec.id}: open_clip has no architecture {arch['open_clip']!r}")
    problems = []
    if config["embed_dim"] != spec.dim:
        problems.append(f"dim {spec.dim} != {config['embed_dim']}")
    if config["vision_cfg"]["image_size"] != spec.image.size:
        problems.append(f"image size {spec.image.size} != {config['vision_cfg']['image_size']}")
    if config["text_cfg"].get("context_length", 77) != spec.text.context_length:
        problems.append("context length differs")
    cfg = open_clip.get_pretrained_cfg(arch["open_clip"], arch["pretrained"])
    if not cfg:
        problems.append(f"open_clip has no pretrained tag {arch['pretrained']!r}")
    else:
        for key, ours in (
            ("mean", spec.image.mean),
            ("std", spec.image.std),
            ("interpolation", spec.image.interpolation),
            ("resize_mode", spec.image.resize),
        ):
            theirs = cfg.get(key)
            if isinstance(theirs, list | tuple):
                theirs = tuple(float(x) for x in theirs)
            if theirs != ours:
                problems.append(f"{key} {ours!r} != open_clip's {theirs!r}")
    if problems:
        raise ValueError(f"{spec.id}: " + "; ".join(problems))


def _export_graphs(model: Any, spec: ClipSpec, out: Path, opset: int) -> None:
    import torch

    class ImageTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.clip = model

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            return self.clip.encode_image(image, normalize=True)  # type: ignore[no-any-return]

    class TextTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.clip = model

        def forward(self, text: torch.Tensor) -> torch.Tensor:
            # int32 in (Immich's input type); the embedding lookup and argmax want int64.
            return self.clip.encode_text(text.long(), normalize=True)  # type: ignore[no-any-return]

    size = spec.image.size
    jobs = [
        (ImageTower(), torch.randn(2, 3, size, size), spec.image),
        (
            TextTower(),
            torch.randint(1, 49000, (2, spec.text.context_length), dtype=torch.int32),
            spec.text,
        ),
    ]
    # nn.MultiheadAttention's inference "fast path" is a fused kernel the ONNX exporter can't
    # translate; the plain path computes the same thing.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        for module, example, side in jobs:
            _export_one(module, example, side, out / side.file, opset)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def _export_one(module: Any, example: Any, side: Any, path: Path, opset: int) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        # The TorchScript-based exporter: seconds for these graphs, where the
        # torch.export-based one takes minutes on 2 cores.
        torch.onnx.export(
            module.eval(),
            (example,),
            str(path),
            input_names=[side.input],
            output_names=[side.output],
            dynamic_axes={side.input: {0: "batch"}, side.output: {0: "batch"}},
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )


def _write_fp16(src: Path, dst: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(src))
    # keep_io_types: callers feed and read float32 whatever the weights are.
    half = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True)
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(half, str(dst))


def export_clip(
    spec: ClipSpec,
    out: Path,
    *,
    model: Any = None,
    checkpoint: Path | None = None,
    seed: int = 0,
    fp16: bool = True,
    opset: int = DEFAULT_OPSET,
) -> dict[str, dict[str, Any]]:
    """Export `model` (else the spec's architecture, from `checkpoint` or random) into `out`
    in the hub layout, atomically (built in a temporary folder beside `out`, then renamed;
    an existing `out` is replaced). Returns {file name: {size, sha256}} of what was written.
    """
    import open_clip

    out = Path(out)
    if model is None:
        model = create_model(spec, checkpoint, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        arch = spec.data.get("architecture", {}).get("open_clip")
        config = open_clip.get_model_config(arch) if arch else None
        _write_json(tmp / "config.json", config or {"embed_dim": spec.dim})
        _write_json(
            tmp / "visual" / "preprocess_cfg.json",
            {
                "size": [spec.image.size, spec.image.size],
                "mode": "RGB",
                "mean": list(spec.image.mean),
                "std": list(spec.image.std),
                "interpolation": spec.image.interpolation,
                "resize_mode": spec.image.resize,
                "fill_color": 0,
            },
        )
        write_clip_tokenizer(tmp / "textual", spec.text.context_length)
        _export_graphs(model, spec, tmp, opset)
        if fp16:
            for name in (spec.image.file, spec.text.file):
                _write_fp16(tmp / name, tmp / graph_file(name, "fp16"))
        manifest = {
            path.relative_to(tmp).as_posix(): {
                "size": path.stat().st_size,
                "sha256": sha256_file(path),
            }
            for path in sorted(tmp.rglob("*"))
            if path.is_file()
        }
        _write_json(tmp / "manifest.json", manifest)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, required=True, help="models/specs/<id>.json")
    parser.add_argument("--out", type=Path, required=True, help="folder to write")
    weights = parser.add_mutually_exclusive_group(required=True)
    weights.add_argument("--checkpoint", type=Path, help="an open_clip checkpoint you trust")
    weights.add_argument("--random", action="store_true", help="random weights (for tests)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-fp16", action="store_true", help="skip the fp16 graphs")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    args = parser.parse_args(argv)
    spec = ClipSpec.load(args.spec)
    check_against_open_clip(spec)
    manifest = export_clip(
        spec,
        args.out,
        checkpoint=None if args.random else args.checkpoint,
        seed=args.seed,
        fp16=not args.no_fp16,
        opset=args.opset,
    )
    for name, entry in manifest.items():
        print(f"{entry['size']:>12,}  {entry['sha256'][:12]}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

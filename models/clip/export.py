"""Our export recipe: an open_clip or cn_clip model -> runtime files in the Immich hub layout.

    python -m models.clip.export --spec clip-vit-b-32-openai --out DIR \
        [--checkpoint FILE | --random] [--no-fp16]

`--spec` is a catalogue id (`mmsearch/services/models/specs/<id>.json`, package data) or the
path of a spec file.

writes `DIR/` with

    config.json                     the model's config (open_clip's embed_dim, vision_cfg,
                                    text_cfg; or cn_clip's vision + text config files merged)
    visual/model.onnx               image (N, 3, S, S) float32 -> embedding (N, dim), unit rows
    visual/preprocess_cfg.json      size, mean, std, interpolation, resize_mode
    visual/fp16/model.onnx          the same graph with float16 weights, float32 in and out
    textual/model.onnx              text (N, context) int32 ids -> embedding (N, dim)
    textual/fp16/model.onnx
    textual/tokenizer.json          the tokenizer in Hugging Face `tokenizers` format:
      hf                            SigLIP / SigLIP 2: a stand-in of the published kind
                                    (T5 Unigram / Gemma BPE) trained on the training
                                    captions, see hf_tokenizers (+ tokenizer_config.json,
                                    special_tokens_map.json)
      clip-bpe                      CLIP's BPE, from open_clip's bundled bpe_simple_vocab_16e6
                                    (+ tokenizer_config.json, special_tokens_map.json,
                                    vocab.json, merges.txt)
      bert-wordpiece                BERT's WordPiece, from cn_clip's bundled vocab.txt
                                    (+ vocab.txt, tokenizer_config.json, special_tokens_map.json)

This is the layout of `immich-app/ViT-B-32__openai` and its siblings, so one runtime
(`mmsearch.encoders`) serves files downloaded from there and files made here. A spec of
layout "optimum" (the transformers.js layout of `Xenova/mobileclip_b` and its siblings) is
written in that layout instead:

    config.json                     the model's config, as above
    preprocessor_config.json        a CLIPImageProcessor config: size, crop, mean, std
    onnx/vision_model.onnx          pixel_values (N, 3, S, S) float32 -> image_embeds (N, dim)
    onnx/text_model.onnx            input_ids (N, context) int64 -> text_embeds (N, dim)
    onnx/*_fp16.onnx                the fp16 twins the spec's variants name
    tokenizer.json                  + tokenizer_config.json and the other companions above

with the embeddings not normalised (as those hubs publish them: the caller normalises). Unlike
Immich's export, the batch axis is dynamic (Immich's graphs take batch 1; the runtime copes
with both). Build-time only: torch, open_clip and cn_clip are imported here, never by the app.

The spec's `architecture` names the builder: `{"open_clip": "ViT-B-32"}` (open_clip's
`create_model`) or `{"cn_clip": "ViT-B-16"}` (Chinese-CLIP: cn_clip's `CLIP` class built from
the vision and text config files bundled in the cn_clip wheel). Models with re-parameterisable
blocks (MobileCLIP's MobileOne/FastViT) are exported re-parameterised (conv + BatchNorm and
the parallel branches fused into one conv, as Apple does for inference): the same function,
a smaller and faster graph.

With `--random` (what the parity tests do: no weights can be downloaded on build machines)
the architecture gets its library's random initialisation, seeded, plus the few changes
`liven_random_weights` makes so that photos get different embeddings. With `--checkpoint` the
weights come from a local open_clip or cn_clip checkpoint the user trusts (loaded by torch).
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import shutil
import sys
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mmsearch.encoders.formats import read_catalogue_entry
from mmsearch.encoders.half import write_fp16
from mmsearch.encoders.hubconfig import OPEN_CLIP_CLEAN
from mmsearch.encoders.spec import ModelError, ModelSpec, sha256_file
from mmsearch.files import replace_dir
from mmsearch.services.models.catalogue import get_spec

BEGIN_TOKEN = "<|startoftext|>"
END_TOKEN = "<|endoftext|>"
# open_clip keeps the first 48,894 merges of the file (49,152 - 256 bytes - 2 special tokens),
# which with 2 x 256 byte symbols and the 2 special tokens gives its 49,408-token vocabulary.
_MERGE_COUNT = 49152 - 256 - 2
# CLIP's pre-tokenizer: contractions, runs of letters, single digits, runs of other symbols.
_CLIP_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
DEFAULT_OPSET = 17

# BERT's special tokens, as cn_clip's vocab.txt spells them.
BERT_SPECIALS = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
# cn_clip's WordPiece turns a word of more characters into one [UNK] (Hugging Face's: 100).
BERT_MAX_WORD_CHARS = 200


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
    # (mmsearch.encoders.tokenize.clean_text), which no tokenizers normalizer can express.
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


def bert_vocab_file() -> Path:
    """cn_clip's bundled vocab.txt (RoBERTa-wwm-ext-chinese's 21,128 BERT tokens)."""
    import cn_clip.clip

    return Path(cn_clip.clip.__file__).parent / "vocab.txt"


def bert_vocabulary(vocab_file: Path) -> dict[str, int]:
    """token -> id as cn_clip reads vocab.txt: line n (from 0) is id n, each line stripped
    of surrounding whitespace (so its U+2028 line reads as ""), a repeated token keeps its
    last id. Lines end at LF only, not at the other line breaks `str.splitlines` knows."""
    vocab: dict[str, int] = {}
    with open(vocab_file, encoding="utf-8", newline="") as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for index, line in enumerate(lines):
        vocab[line.strip()] = index
    missing = [t for t in BERT_SPECIALS.values() if t not in vocab]
    if missing:
        raise ValueError(f"{vocab_file} lacks the BERT tokens {missing}")
    return vocab


def write_bert_tokenizer(
    folder: Path, context_length: int = 52, vocab_file: Path | None = None
) -> list[str]:
    """Write BERT's WordPiece tokenizer (cn_clip's: lower-casing, accents stripped, CJK
    ideographs split, punctuation split) into `folder`: tokenizer.json (what the runtime
    reads), the vocab.txt it was built from, tokenizer_config.json and
    special_tokens_map.json (what `transformers` reads). Returns the names written.

    The file's normalizer and pre-tokenizer are the `tokenizers` library's BERT ones, close to
    cn_clip's for other readers; our runtime replaces both with `bert_words`, which matches
    cn_clip exactly (see mmsearch.encoders.tokenize), and uses only the file's WordPiece."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    vocab_file = Path(vocab_file) if vocab_file else bert_vocab_file()
    vocab = bert_vocabulary(vocab_file)
    cls, sep, pad = BERT_SPECIALS["cls"], BERT_SPECIALS["sep"], BERT_SPECIALS["pad"]
    tokenizer = Tokenizer(
        models.WordPiece(
            vocab=vocab,
            unk_token=BERT_SPECIALS["unk"],
            max_input_chars_per_word=BERT_MAX_WORD_CHARS,
        )
    )
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=True
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = TemplateProcessing(
        single=f"{cls} $A {sep}",
        pair=f"{cls} $A {sep} $B:1 {sep}:1",
        special_tokens=[(cls, vocab[cls]), (sep, vocab[sep])],
    )
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    tokenizer.add_special_tokens(list(BERT_SPECIALS.values()))
    tokenizer.enable_padding(pad_id=vocab[pad], pad_token=pad, length=context_length)
    tokenizer.enable_truncation(max_length=context_length)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    shutil.copyfile(vocab_file, folder / "vocab.txt")
    special = {f"{kind}_token": token for kind, token in BERT_SPECIALS.items()}
    _write_json(folder / "special_tokens_map.json", special)
    _write_json(
        folder / "tokenizer_config.json",
        {
            **special,
            "tokenizer_class": "BertTokenizer",
            "model_max_length": context_length,
            "do_lower_case": True,
            "strip_accents": None,
            "tokenize_chinese_chars": True,
        },
    )
    return ["tokenizer.json", "vocab.txt", "special_tokens_map.json", "tokenizer_config.json"]


def hf_text_model(spec: ModelSpec) -> str | None:
    """The Hugging Face model open_clip builds the spec's text tower from, if any (those we
    can stand in for offline: `models.clip.hf_towers.HF_MODELS`)."""
    from models.clip import hf_towers

    if builder(spec)[0] != "open_clip":
        return None
    import open_clip

    config = open_clip.get_model_config(builder(spec)[1]) or {}
    name = config.get("text_cfg", {}).get("hf_model_name")
    return name if name in hf_towers.HF_MODELS else None


def write_tokenizer(spec: ModelSpec, folder: Path) -> list[str]:
    """The spec's kind of tokenizer, written into `folder` (its `textual/`). Towers built
    from a Hugging Face model (XLM-R, NLLB) get the tokenizer of the offline stand-in they
    were built from (`hf_towers`); other kind "hf" tokenizers a stand-in of the same kind as
    the published one, trained here (`hf_tokenizers`; SigLIP's T5-style Unigram, SigLIP 2's
    Gemma BPE)."""
    hf_name = hf_text_model(spec)
    if hf_name is not None:
        from models.clip import hf_towers

        return hf_towers.copy_tokenizer(hf_towers.hf_folder(hf_name), folder)
    if spec.text.tokenizer.kind == "hf":
        from models.clip import hf_tokenizers

        flavour = hf_tokenizers.flavour_of(spec.data)
        return hf_tokenizers.write_siglip_tokenizer(folder, flavour, spec.text.context_length)
    if spec.text.tokenizer.kind == "bert-wordpiece":
        return write_bert_tokenizer(folder, spec.text.context_length)
    return write_clip_tokenizer(folder, spec.text.context_length)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")


def write_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """`folder/manifest.json`: the size and SHA-256 of every file an export wrote (its
    presence marks a finished export)."""
    manifest = {
        path.relative_to(folder).as_posix(): {
            "size": path.stat().st_size,
            "sha256": sha256_file(path),
        }
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    _write_json(folder / "manifest.json", manifest)
    return manifest


def builder(spec: ModelSpec) -> tuple[str, str]:
    """("open_clip" | "cn_clip", architecture name) from the spec's `architecture`."""
    return builder_of(spec.data)


def builder_of(data: Mapping[str, Any]) -> tuple[str, str]:
    """`builder` for a catalogue entry's JSON data (which this runtime may not parse yet)."""
    arch = data.get("architecture", {})
    for kind in ("open_clip", "cn_clip"):
        if arch.get(kind):
            return kind, str(arch[kind])
    raise ValueError(f"{data.get('id')}: the spec names no open_clip or cn_clip architecture")


def cn_clip_config(arch: str) -> dict[str, Any]:
    """cn_clip's model config for `arch` ("ViT-B-16"...): its vision config file and its text
    config file (the one cn_clip pairs with it) merged, as cn_clip's `create_model` does; plus
    `input_resolution` and `struct` (cn_clip's "vision@text" name)."""
    import cn_clip.clip
    from cn_clip.clip import utils

    info = utils._MODEL_INFO.get(arch)
    if info is None:
        raise ValueError(f"cn_clip has no architecture {arch!r}")
    vision, text = info["struct"].split("@")
    folder = Path(cn_clip.clip.__file__).parent / "model_configs"
    config: dict[str, Any] = json.loads((folder / f"{vision}.json").read_text(encoding="utf-8"))
    config.update(json.loads((folder / f"{text}.json").read_text(encoding="utf-8")))
    if isinstance(config["vision_layers"], str):  # "[3, 4, 6, 3]" for the ResNets
        config["vision_layers"] = json.loads(config["vision_layers"])
    return {**config, "input_resolution": info["input_resolution"], "struct": info["struct"]}


def _create_cn_clip(arch: str, checkpoint: Path | None) -> Any:
    import torch
    from cn_clip.clip.model import CLIP

    config = cn_clip_config(arch)
    params = {k: v for k, v in config.items() if k not in ("input_resolution", "struct")}
    # float32 throughout: cn_clip's own loader halves the weights for GPUs and calls
    # `.float()` again on CPU; we never halve (the fp16 graph is made from the fp32 one).
    model = CLIP(**params).float()
    if checkpoint is not None:
        data = torch.load(str(checkpoint), map_location="cpu", weights_only=False)
        state = data.get("state_dict", data) if isinstance(data, dict) else data
        state = {
            (k[len("module.") :] if k.startswith("module.") else k): v
            for k, v in state.items()
            if "bert.pooler" not in k
        }
        model.load_state_dict({k: v.float() for k, v in state.items()})
    return model


def create_model(spec: ModelSpec, checkpoint: Path | None = None, seed: int = 0) -> Any:
    """The spec's architecture (open_clip's or cn_clip's) in eval mode with frozen weights:
    random (seeded, then `liven_random_weights`) without `checkpoint`, else the checkpoint's
    weights."""
    import torch

    kind, arch = builder(spec)
    torch.manual_seed(seed)
    if kind == "cn_clip":
        model = _create_cn_clip(arch, checkpoint)
    else:
        import open_clip

        extra: dict[str, Any] = {}
        hf_name = hf_text_model(spec)
        if hf_name is not None:
            # The HF text tower from the offline stand-in's config (random weights; its
            # tokenizer is what write_tokenizer exports), not from the hub.
            from models.clip import hf_towers

            text_cfg = (open_clip.get_model_config(arch) or {})["text_cfg"]
            folder = hf_towers.hf_folder(hf_name)
            extra = {"text_cfg": hf_towers.text_cfg_override(text_cfg, folder)}
            extra["pretrained_text"] = False
        # The pretrained tag's own architecture flags: OpenAI's weights were trained with
        # QuickGELU, which open_clip switches on only when it loads them by tag, not for
        # random weights or a checkpoint file.
        tag = open_clip.get_pretrained_cfg(
            arch, str(spec.data["architecture"].get("pretrained", ""))
        )
        model = open_clip.create_model(
            arch,
            pretrained=str(checkpoint) if checkpoint else None,
            force_quick_gelu=bool(tag.get("quick_gelu", False)),
            **extra,
        )
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    if checkpoint is None:
        liven_random_weights(model, spec, seed)
    return model


def liven_random_weights(model: Any, spec: ModelSpec, seed: int = 0) -> bool:
    """Make a randomly initialised image tower tell photos apart; True when it changed any.

    Freshly initialised, MobileCLIP's image tower gives every photo the same embedding
    (cosine 1.0000 between a cat and a rocket): its layer scales start at 1e-5, so the
    residual blocks add nothing, and its BatchNorm statistics at mean 0 / variance 1, so the
    activations fade stage after stage. A parity test on such a model could not see a wrong
    resize or a colour off by one level, and re-parameterising its BatchNorms would be
    tested only for the trivial statistics. So: layer scales get random values in [0, 0.1),
    and every BatchNorm the statistics of one batch of noise photos (as if trained on them).
    Models with neither (ViT-B-32, Chinese-CLIP) are left exactly as initialised. Seeded by
    its own generator: the global random state is untouched."""
    import torch

    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    scales = [
        p
        for name, p in model.named_parameters()
        if name.endswith("gamma") and "layer_scale" in name
    ]
    if not norms and not scales:
        return False
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for param in scales:
            param.copy_(torch.rand(param.shape, generator=generator) * 0.1)
        if norms:
            size = spec.image.size
            noise = torch.rand(4, 3, size, size, generator=generator)
            mean = torch.tensor(spec.image.preprocess.mean).view(1, 3, 1, 1)
            std = torch.tensor(spec.image.preprocess.std).view(1, 3, 1, 1)
            momenta = [m.momentum for m in norms]
            for m in norms:
                m.reset_running_stats()
                m.momentum = None  # a plain average over what it sees: here one batch
                m.train()
            try:
                model.visual((noise - mean) / std)
            finally:
                for m, momentum in zip(norms, momenta, strict=True):
                    m.momentum = momentum
                model.eval()
    return True


def inference_copy(model: Any) -> Any:
    """`model` as it should be exported: a re-parameterised copy when it has blocks that fuse
    for inference (MobileOne / FastViT: parallel conv branches and BatchNorms into one conv),
    else `model` itself."""
    if not any(hasattr(m, "reparameterize") for m in model.modules()):
        return model
    from timm.utils.model import reparameterize_model

    fused = reparameterize_model(copy.deepcopy(model))
    fused.eval()
    return fused


def check_spec(spec: ModelSpec) -> None:
    """`check_against_open_clip` or `check_against_cn_clip`, by the spec's architecture."""
    kind, _ = builder(spec)
    if kind == "cn_clip":
        check_against_cn_clip(spec)
    else:
        check_against_open_clip(spec)


def check_against_cn_clip(spec: ModelSpec) -> None:
    """Raise ValueError unless the spec's sizes, preprocessing and tokenizer are cn_clip's own
    for its architecture (read from cn_clip's configs, its eval transform and `tokenize`)."""
    import inspect

    import cn_clip.clip
    from torchvision import transforms

    _, arch = builder(spec)
    config = cn_clip_config(arch)
    problems = []
    if config["embed_dim"] != spec.dim:
        problems.append(f"dim {spec.dim} != {config['embed_dim']}")
    if config["input_resolution"] != spec.image.size:
        problems.append(f"image size {spec.image.size} != {config['input_resolution']}")
    steps = cn_clip.clip.image_transform(config["input_resolution"]).transforms
    resize = next(t for t in steps if isinstance(t, transforms.Resize))
    norm = next(t for t in steps if isinstance(t, transforms.Normalize))
    size = resize.size if isinstance(resize.size, int) else tuple(resize.size)
    resize_mode = "squash" if isinstance(size, tuple) and len(size) == 2 else "shortest"
    for key, ours, theirs in (
        ("resize_mode", spec.image.preprocess.resize, resize_mode),
        ("interpolation", spec.image.preprocess.interpolation, resize.interpolation.value),
        ("mean", spec.image.preprocess.mean, tuple(float(x) for x in norm.mean)),
        ("std", spec.image.preprocess.std, tuple(float(x) for x in norm.std)),
    ):
        if ours != theirs:
            problems.append(f"{key} {ours!r} != cn_clip's {theirs!r}")
    context = inspect.signature(cn_clip.clip.tokenize).parameters["context_length"].default
    if context != spec.text.context_length:
        problems.append(f"context length {spec.text.context_length} != cn_clip's {context}")
    if spec.text.tokenizer.kind != "bert-wordpiece" or spec.text.tokenizer.pad_id != 0:
        problems.append("cn_clip's tokenizer is bert-wordpiece, padded with 0")
    if config["vocab_size"] != len(bert_vocabulary(bert_vocab_file())):
        problems.append("the text config's vocab_size is not vocab.txt's")
    if problems:
        raise ValueError(f"{spec.id}: " + "; ".join(problems))


def check_against_open_clip(spec: ModelSpec) -> None:
    """Raise ValueError unless the spec's sizes and preprocessing are open_clip's own for its
    architecture and pretrained tag (a typo in a spec would silently cost accuracy)."""
    check_open_clip_entry(spec.data)


def check_open_clip_entry(data: Mapping[str, Any]) -> None:
    """Raise ValueError unless a catalogue entry (its JSON data: entries with tokenizers this
    runtime does not parse yet are checked too) has open_clip's own dim, image size, mean,
    std, interpolation, resize mode, context length and tokenizer settings (kind, clean-up,
    padding, strip_sep, CLIP's pad id 0) for its architecture and pretrained tag."""
    import open_clip

    model_id = data.get("id")
    arch = data.get("architecture", {})
    config = open_clip.get_model_config(arch.get("open_clip", ""))
    if config is None:
        raise ValueError(f"{model_id}: open_clip has no architecture {arch.get('open_clip')!r}")
    image = data.get("image", {})
    text = data.get("text", {})
    text_cfg = config.get("text_cfg", {})
    problems = []
    if config["embed_dim"] != data.get("dim"):
        problems.append(f"dim {data.get('dim')} != {config['embed_dim']}")
    if config["vision_cfg"]["image_size"] != image.get("size"):
        problems.append(f"image size {image.get('size')} != {config['vision_cfg']['image_size']}")
    context = text_cfg.get("context_length", open_clip.tokenizer.DEFAULT_CONTEXT_LENGTH)
    if context != text.get("context_length"):
        problems.append(f"context length {text.get('context_length')} != open_clip's {context}")
    kwargs = text_cfg.get("tokenizer_kwargs", {})
    if text_cfg.get("hf_tokenizer_name"):
        tokenizer, clean = "hf", kwargs.get("clean", "whitespace")
    else:
        tokenizer, clean = "clip-bpe", kwargs.get("clean", "lower")
        if text.get("pad_id") != 0:
            problems.append(f"pad id {text.get('pad_id')!r} != 0 (open_clip's CLIP tokenizer)")
    for key, ours, theirs in (
        ("tokenizer", text.get("tokenizer"), tokenizer),
        ("clean", text.get("clean"), OPEN_CLIP_CLEAN.get(clean, clean)),
        ("strip_sep", text.get("strip_sep", False), bool(kwargs.get("strip_sep_token", False))),
        ("padding", text.get("padding", "max_length"), "max_length"),
    ):
        if ours != theirs:
            problems.append(f"text.{key} {ours!r} != open_clip's {theirs!r}")
    cfg = open_clip.get_pretrained_cfg(arch.get("open_clip", ""), arch.get("pretrained", ""))
    if not cfg:
        problems.append(f"open_clip has no pretrained tag {arch.get('pretrained')!r}")
    else:
        for key, ours in (
            ("mean", image.get("mean")),
            ("std", image.get("std")),
            ("interpolation", image.get("interpolation")),
            ("resize_mode", image.get("resize")),
        ):
            theirs = cfg.get(key)
            if isinstance(theirs, list | tuple):
                theirs = tuple(float(x) for x in theirs)
            if isinstance(ours, list | tuple):
                ours = tuple(float(x) for x in ours)
            if theirs != ours:
                problems.append(f"{key} {ours!r} != open_clip's {theirs!r}")
    if problems:
        raise ValueError(f"{model_id}: " + "; ".join(problems))


def _export_graphs(model: Any, spec: ModelSpec, out: Path, opset: int) -> None:
    import torch
    import torch.nn.functional as F

    kind, _ = builder(spec)
    model = inference_copy(model)
    # The Immich layout's embeddings are unit rows; the Optimum layout's are the raw
    # projections (transformers' image_embeds / text_embeds), normalised by the caller.
    unit = spec.layout != "optimum"

    class ImageTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.clip = model

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            if kind == "cn_clip":
                features = self.clip.encode_image(image)
                return F.normalize(features, dim=-1) if unit else features
            return self.clip.encode_image(image, normalize=unit)  # type: ignore[no-any-return]

    class TextTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.clip = model

        def forward(self, text: torch.Tensor) -> torch.Tensor:
            # int32 in for Immich (its input type), int64 for Optimum; the embedding lookup
            # and argmax want int64.
            if kind == "cn_clip":
                # cn_clip masks attention at the pad id (0) and pools at [CLS].
                features = self.clip.encode_text(text.long())
                return F.normalize(features, dim=-1) if unit else features
            return self.clip.encode_text(text.long(), normalize=unit)  # type: ignore[no-any-return]

    size = spec.image.size
    # Example ids: begin, words, end, padding; any ids below every vocabulary size will do.
    # HF towers pad with their config's pad id (1 for XLM-R and NLLB) and derive the
    # attention mask from it inside the graph: the example has padding so that the trace
    # keeps the masking.
    config = getattr(getattr(model, "text", None), "config", None)
    pad = getattr(config, "pad_token_id", 0)
    vocab = int(getattr(config, "vocab_size", 0) or 0)
    id_type = torch.int32 if unit else torch.int64
    ids = torch.full((2, spec.text.context_length), int(pad or 0), dtype=id_type)
    example = torch.tensor([101, 2000, 2001, 2002, 2003, 102], dtype=id_type)
    ids[:, :6] = example % vocab if vocab else example  # within a small stand-in's vocabulary
    jobs = [
        (
            ImageTower(),
            torch.randn(2, 3, size, size),
            spec.image.file,
            spec.image.input,
            spec.image.output,
        ),
        (TextTower(), ids, spec.text.file, spec.text.inputs[0], spec.text.output),
    ]
    # nn.MultiheadAttention's inference "fast path" is a fused kernel the ONNX exporter can't
    # translate; the plain path computes the same thing.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        for module, example, file, input_name, output_name in jobs:
            _export_one(module, example, input_name, output_name, out / file, opset)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def _export_one(
    module: Any, example: Any, input_name: str, output_name: str, path: Path, opset: int
) -> None:
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
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )


def export_clip(
    spec: ModelSpec,
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
    out = Path(out)
    if model is None:
        model = create_model(spec, checkpoint, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        if spec.layout not in ("immich", "optimum"):
            raise ValueError(f"{spec.id}: the recipe writes the immich or optimum layout")
        _write_json(tmp / "config.json", model_config(spec))
        if spec.layout == "optimum":
            _write_json(tmp / "preprocessor_config.json", preprocessor_config(spec))
        else:
            _write_json(
                tmp / "visual" / "preprocess_cfg.json",
                {
                    "size": [spec.image.size, spec.image.size],
                    "mode": "RGB",
                    "mean": list(spec.image.preprocess.mean),
                    "std": list(spec.image.preprocess.std),
                    "interpolation": spec.image.preprocess.interpolation,
                    "resize_mode": spec.image.preprocess.resize,
                    "fill_color": 0,
                },
            )
        # textual/ in the Immich layout, the folder's root in the Optimum one
        write_tokenizer(spec, tmp / Path(spec.text.tokenizer.file).parent)
        _export_graphs(model, spec, tmp, opset)
        twins = spec.graph_files("fp16")
        if fp16 and twins is not None:  # Immich's are implied, Optimum's named in variants
            for name, twin in zip((spec.image.file, spec.text.file), twins, strict=True):
                write_fp16(tmp / name, tmp / twin)
        manifest = write_manifest(tmp)
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


# transformers' PIL resampling codes (CLIPImageProcessor's `resample`)
_RESAMPLE = {"bilinear": 2, "bicubic": 3}


def preprocessor_config(spec: ModelSpec) -> dict[str, Any]:
    """The Optimum layout's preprocessor_config.json for the spec's preprocessing, as
    transformers' CLIPImageProcessor reads it: the shorter side to S then the centred S x S
    crop ("shortest"), or the whole photo to S x S ("squash"); then x / 255, mean, std."""
    pre = spec.image.preprocess
    size = pre.size
    shortest = pre.resize == "shortest"
    return {
        "feature_extractor_type": "CLIPFeatureExtractor",
        "image_processor_type": "CLIPImageProcessor",
        "do_convert_rgb": True,
        "do_resize": True,
        "size": {"shortest_edge": size} if shortest else {"height": size, "width": size},
        "resample": _RESAMPLE[pre.interpolation],
        "do_center_crop": shortest,
        "crop_size": {"height": size, "width": size},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": list(pre.mean),
        "image_std": list(pre.std),
    }


def model_config(spec: ModelSpec) -> dict[str, Any]:
    """What config.json holds: open_clip's model config, or cn_clip's merged one."""
    kind, arch = builder(spec)
    if kind == "cn_clip":
        return {"cn_clip": arch, **cn_clip_config(arch)}
    import open_clip

    return dict(open_clip.get_model_config(arch) or {"embed_dim": spec.dim})


def load_spec_arg(value: str) -> ModelSpec:
    """`--spec`: the path of a spec file, else the id of a catalogue model."""
    path = Path(value)
    if path.suffix == ".json" or path.is_file():
        return read_catalogue_entry(path)
    return get_spec(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--spec", required=True, help="a catalogue model id, or the path of a spec file"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write")
    weights = parser.add_mutually_exclusive_group(required=True)
    weights.add_argument(
        "--checkpoint", type=Path, help="an open_clip or cn_clip checkpoint you trust"
    )
    weights.add_argument("--random", action="store_true", help="random weights (for tests)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-fp16", action="store_true", help="skip the fp16 graphs")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    args = parser.parse_args(argv)
    try:
        spec = load_spec_arg(args.spec)
    except ModelError as e:
        parser.error(str(e))  # exits 2 with the message, no traceback
    check_spec(spec)
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

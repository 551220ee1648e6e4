"""Stand-ins for the SentencePiece tokenizers of SigLIP and SigLIP 2, built offline.

open_clip's `HFTokenizer` loads `timm/ViT-B-16-SigLIP` (and siblings) from the hub: a
T5-style SentencePiece Unigram (c4-en, 32,000 pieces; the i18n models' mc4, 250,000) or, for
SigLIP 2, Gemma's SentencePiece BPE (256,000 pieces, byte fallback). Neither can be had
here, so for the random-weight exports we train a tokenizer OF THE SAME KIND with the
`tokenizers` library on the training captions, with the same special tokens at the same ids
and the same post-processing, and save it in the Hugging Face layout (tokenizer.json,
tokenizer_config.json, special_tokens_map.json) that `transformers.AutoTokenizer` (hence
open_clip's `HFTokenizer`) and our runtime both read.

What the published tokenizers do (open_clip's `SigLipTokenizer`, which made the timm files,
and big_vision's `tokenize(..., eos="sticky", pad_value=1)`):

- "t5" (SigLIP, SigLIP i18n): `T5TokenizerFast(spm, extra_ids=0)`: ids `<pad>`=0, `</s>`=1,
  `<unk>`=2; each word gets the "▁" prefix (Metaspace); the post-processor appends `</s>`
  (no begin token); truncation keeps room for it, so `</s>` survives a cut; padded with
  `</s>` (pad_token_id set to 1, as big_vision pads with 1).
- "gemma" (SigLIP 2): `GemmaTokenizerFast(spm, add_bos_token=False, add_eos_token=True)`:
  ids `<pad>`=0, `<eos>`=1, `<bos>`=2, `<unk>`=3, `<mask>`=4, the 256 byte pieces `<0x00>`..
  `<0xFF>` next (unknown characters become their UTF-8 bytes); spaces become "▁" with no
  prefix added; `<eos>` appended (no `<bos>`), kept by truncation; padded with `<pad>` = 0.

transformers 5 rebuilds the normaliser and pre-tokenizer of these classes from their own
code (keeping only a SentencePiece `Precompiled` normaliser from the file), so the files
written here hold exactly that pipeline: the raw tokenizer.json (what our runtime reads) and
`AutoTokenizer` agree. The vocabulary sizes are small (the text tower's embedding table is
the architecture's full size; every id we give is below it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TRAIN_CAPTIONS = ROOT.parent / "shared" / "trainset" / "captions.jsonl"
FLAVOURS = ("t5", "gemma")

T5_SPECIALS = ("<pad>", "</s>", "<unk>")
GEMMA_SPECIALS = ("<pad>", "<eos>", "<bos>", "<unk>", "<mask>")
BYTE_PIECES = tuple(f"<0x{b:02X}>" for b in range(256))

# When ../shared/trainset is absent: a small fixed English text, so the recipe still runs.
_FALLBACK_TEXT = (
    "a dog runs on the beach a cat sits on a red sofa two children play in the park "
    "a man in a blue shirt rides a bicycle down the street a woman holds an umbrella in "
    "the rain people walk past a shop at night the sun sets behind the mountains a boy "
    "jumps into the water a girl with a black hat smiles at the camera three dogs chase "
    "a ball on the grass a group of friends sit at a table with food and drinks"
)

_VARIANT_FLAVOUR = {"c4-en": "t5", "mc4": "t5", "gemma": "gemma"}


def flavour_of(data: Mapping[str, Any]) -> str:
    """The stand-in's flavour, "t5" or "gemma", for a catalogue entry whose open_clip
    architecture reads one of timm's SigLIP tokenizers (its text_cfg's hf_tokenizer_name):
    the entry's `text.sentencepiece_variant` if given, else open_clip's own rule for the
    name (SigLIP2 -> gemma, i18n -> mc4, else c4-en). Other hf tokenizers (NLLB's, XLM-R's)
    have no stand-in: ValueError."""
    import open_clip

    arch = str(data.get("architecture", {}).get("open_clip", ""))
    config = open_clip.get_model_config(arch) or {}
    name = str(config.get("text_cfg", {}).get("hf_tokenizer_name", ""))
    if not (name.startswith("timm/") and "siglip" in name.lower()):
        raise ValueError(
            f"{data.get('id')}: no stand-in for its tokenizer ({name or arch!r}; only SigLIP's "
            "and SigLIP 2's are built here): export it with its published tokenizer files"
        )
    variant = data.get("text", {}).get("sentencepiece_variant")
    if variant is None:
        lower = name.lower()
        variant = "gemma" if "siglip2" in lower else "mc4" if "i18n" in lower else "c4-en"
    if variant not in _VARIANT_FLAVOUR:
        raise ValueError(f"{data.get('id')}: unknown sentencepiece variant {variant!r}")
    return _VARIANT_FLAVOUR[variant]


def training_texts(path: Path | None = None) -> list[str]:
    """The training captions (never the evaluation ones), cleaned as the model's tokenizer
    sees them (SigLIP's canonical text), else the fixed fallback text."""
    from mmsearch.encoders.tokenize import clean_text

    path = TRAIN_CAPTIONS if path is None else Path(path)
    texts: list[str] = []
    if path.is_file():
        with open(path, encoding="utf-8") as f:
            for line in f:
                caption = json.loads(line).get("caption")
                if isinstance(caption, str):
                    texts.append(clean_text(caption, "ftfy-html-canonicalize"))
    if not texts:
        texts = [_FALLBACK_TEXT]
    return texts


def _batches(texts: list[str], size: int = 1000) -> Iterator[list[str]]:
    for start in range(0, len(texts), size):
        yield texts[start : start + size]


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")


def build_t5(texts: Iterable[str], vocab_size: int = 8000) -> Any:
    """A T5-style SentencePiece Unigram tokenizer (as transformers' T5Tokenizer builds one)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    texts = list(texts)
    pre = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
        ]
    )
    trainer_tok = Tokenizer(models.Unigram())
    trainer_tok.pre_tokenizer = pre
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=list(T5_SPECIALS),
        unk_token="<unk>",
        show_progress=False,
    )
    trainer_tok.train_from_iterator(_batches(texts), trainer=trainer, length=len(texts))
    trained = json.loads(trainer_tok.to_str())["model"]["vocab"]
    pieces = [(str(p), float(s)) for p, s in trained]
    assert [p for p, _ in pieces[:3]] == list(T5_SPECIALS), pieces[:3]
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=2, byte_fallback=False))
    tokenizer.pre_tokenizer = pre
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=["$A", "</s>"], pair=["$A", "</s>", "$B", "</s>"], special_tokens=[("</s>", 1)]
    )
    tokenizer.add_special_tokens(list(T5_SPECIALS))
    return tokenizer


def build_gemma(texts: Iterable[str], vocab_size: int = 8000) -> Any:
    """A Gemma-style SentencePiece BPE tokenizer with byte fallback (as transformers'
    GemmaTokenizer builds one): spaces become "▁", no prefix, `<eos>` appended."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )

    texts = list(texts)
    specials = [*GEMMA_SPECIALS, *BYTE_PIECES]
    trainer_tok = Tokenizer(models.BPE(unk_token="<unk>"))
    trainer_tok.normalizer = normalizers.Replace(" ", "▁")
    # Training only: words ("▁word") are the units merges are learned in, so no merge spans
    # two words; the tokenizer itself then runs on the whole text, as Gemma's does.
    trainer_tok.pre_tokenizer = pre_tokenizers.Split(Regex("▁"), behavior="merged_with_next")
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, show_progress=False
    )
    trainer_tok.train_from_iterator(_batches(texts), trainer=trainer, length=len(texts))
    model = json.loads(trainer_tok.to_str())["model"]
    vocab = {str(k): int(v) for k, v in model["vocab"].items()}
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    assert all(vocab[t] == i for i, t in enumerate(specials))
    tokenizer = Tokenizer(
        models.BPE(
            vocab=vocab,
            merges=merges,
            unk_token="<unk>",
            fuse_unk=True,
            byte_fallback=True,
            dropout=None,
        )
    )
    tokenizer.normalizer = normalizers.Replace(" ", "▁")
    tokenizer.pre_tokenizer = pre_tokenizers.Split(" ", behavior="merged_with_previous")
    tokenizer.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    )
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A:0 <eos>:0", pair="$A:0 <eos>:0 $B:1 <eos>:1", special_tokens=[("<eos>", 1)]
    )
    tokenizer.add_special_tokens(list(GEMMA_SPECIALS))
    return tokenizer


def write_siglip_tokenizer(
    folder: Path,
    flavour: str,
    context_length: int = 64,
    captions: Path | None = None,
    vocab_size: int = 8000,
) -> list[str]:
    """Train the `flavour` ("t5" | "gemma") stand-in on the training captions and write it
    into `folder` in the Hugging Face layout; returns the names written."""
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown tokenizer flavour {flavour!r} (one of {FLAVOURS})")
    texts = training_texts(captions)
    folder.mkdir(parents=True, exist_ok=True)
    if flavour == "t5":
        tokenizer = build_t5(texts, vocab_size)
        special: dict[str, str] = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "</s>"}
        config: dict[str, Any] = {
            **special,
            "tokenizer_class": "T5Tokenizer",
            "extra_ids": 0,
            "additional_special_tokens": [],
            "legacy": False,
        }
        pad_id = 1
    else:
        tokenizer = build_gemma(texts, vocab_size)
        special = {
            "bos_token": "<bos>",
            "eos_token": "<eos>",
            "unk_token": "<unk>",
            "pad_token": "<pad>",
            "mask_token": "<mask>",
        }
        config = {
            **special,
            "tokenizer_class": "GemmaTokenizer",
            "add_bos_token": False,
            "add_eos_token": True,
            "padding_side": "right",
        }
        pad_id = 0
    tokenizer.enable_truncation(max_length=context_length)
    tokenizer.enable_padding(
        pad_id=pad_id, pad_token=special["pad_token"], length=context_length, direction="right"
    )
    tokenizer.save(str(folder / "tokenizer.json"))
    _write_json(folder / "special_tokens_map.json", special)
    _write_json(
        folder / "tokenizer_config.json",
        {**config, "model_max_length": context_length, "clean_up_tokenization_spaces": False},
    )
    return ["tokenizer.json", "special_tokens_map.json", "tokenizer_config.json"]

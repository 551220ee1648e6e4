"""Offline stand-ins for the Hugging Face files open_clip's multilingual text towers need.

open_clip builds the text towers of `xlm-roberta-base-ViT-B-32` and `nllb-clip-base-siglip`
with `transformers` from a hub name ("xlm-roberta-base", "facebook/nllb-200-distilled-600M"):
`AutoConfig` for the architecture and `AutoTokenizer` for the tokenizer. Neither can be
fetched on build machines, so this module makes local folders OF THE SAME KIND:

- config.json from transformers' own config class (`XLMRobertaConfig`, `M2M100Config`) with
  the real model's sizes (layers, widths, heads, positions, special token ids, activation,
  embedding scale), except `vocab_size`, which is the trained tokenizer's;
- a SentencePiece-style tokenizer trained with the `tokenizers` library on the training
  captions (../shared/trainset/captions.jsonl and captions-zh.jsonl; a fixed word list when
  they are absent), wrapped in transformers' own tokenizer class and saved with
  `save_pretrained`, so `AutoTokenizer.from_pretrained(folder)` loads it:
    XLM-R: a Unigram model, Metaspace pieces, `<s> text </s>`, ids <s> 0, <pad> 1, </s> 2,
           <unk> 3, ..., <mask> last (XLMRobertaTokenizer);
    NLLB:  a BPE model (NLLB's SentencePiece model is BPE, and transformers' NllbTokenizer
           rebuilds its backend as BPE from tokenizer.json's vocab and merges), Metaspace
           pieces, `eng_Latn text </s>` (the language code first, as NllbTokenizer's
           non-legacy `set_src_lang_special_tokens`), the 202 FLORES-200 codes and <mask>
           after the pieces.
  Neither file has a precompiled SentencePiece normaliser (that needs `sentencepiece`, not
  installed): transformers' classes rebuild the normaliser only from one, so the saved
  tokenizer.json holds the exact pipeline transformers runs.

Random weights only: the point is to prove our ONNX + tokenizer path against open_clip on the
real architecture. Build-time only (transformers, tokenizers, torch).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TRAIN_CAPTIONS = (
    ROOT.parent / "shared" / "trainset" / "captions.jsonl",
    ROOT.parent / "shared" / "trainset" / "captions-zh.jsonl",
)
CACHE = ROOT / "build" / "cache" / "hf-towers"
VOCAB_SIZE = 16000
# Captions per training file: Unigram training on all 145k (Chinese captions are one
# "word" each, so its seed pieces are many) takes minutes on 2 cores; this many, seconds.
TRAIN_LIMIT = 20000

# The real configs' sizes (config.json of the hub repos open_clip names).
XLM_ROBERTA_BASE = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "layer_norm_eps": 1e-5,
    "bos_token_id": 0,
    "pad_token_id": 1,
    "eos_token_id": 2,
}
NLLB_200_DISTILLED_600M = {
    "d_model": 1024,
    "encoder_layers": 12,
    "decoder_layers": 12,
    "encoder_attention_heads": 16,
    "decoder_attention_heads": 16,
    "encoder_ffn_dim": 4096,
    "decoder_ffn_dim": 4096,
    "activation_function": "relu",
    "max_position_embeddings": 1024,
    "scale_embedding": True,
    "encoder_layerdrop": 0.0,
    "decoder_layerdrop": 0.0,
    "bos_token_id": 0,
    "pad_token_id": 1,
    "eos_token_id": 2,
    "decoder_start_token_id": 2,
    "tokenizer_class": "NllbTokenizer",
}
HF_MODELS = ("xlm-roberta-base", "facebook/nllb-200-distilled-600M")
NLLB_DEFAULT_LANGUAGE = "eng_Latn"

# Used when ../shared/trainset is absent: enough pieces for a working tokenizer.
_FALLBACK_TEXT = (
    "a the dog cat man woman child children boy girl people group red blue green white "
    "black yellow running sitting standing playing walking riding jumping on in at with "
    "of and near beside under over street beach park water grass snow field road city "
    "house car bike bicycle ball photo picture two three one small large young old "
    "一 只 狗 猫 男人 女人 孩子 在 上 的 和 海边 草地 街道 红色 白色 跑 坐 站"
)


def _captions() -> Iterator[str]:
    found = [p for p in TRAIN_CAPTIONS if p.is_file()]
    if not found:
        words = _FALLBACK_TEXT.split()
        for i in range(200):
            yield " ".join(words[(i + k) % len(words)] for k in range(9))
        return
    for path in found:
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i == TRAIN_LIMIT:
                    break
                yield str(json.loads(line)["caption"])


def _corpus_key() -> str:
    digest = hashlib.sha256()
    for path in TRAIN_CAPTIONS:
        stat = path.stat() if path.is_file() else None
        digest.update(f"{path.name}:{stat.st_size if stat else '-'};".encode())
    return digest.hexdigest()[:8]


def _xlm_roberta_tokenizer(vocab_size: int) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import XLMRobertaTokenizer

    tokenizer = Tokenizer(models.Unigram())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(prepend_scheme="always")]
    )
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size - 1,  # + <mask>
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        unk_token="<unk>",
        max_piece_length=16,
        seed_size=200_000,
        show_progress=False,
    )
    tokenizer.train_from_iterator(_captions(), trainer=trainer)
    pieces = json.loads(tokenizer.to_str())["model"]["vocab"]
    vocab = [(str(piece), float(score)) for piece, score in pieces] + [("<mask>", 0.0)]
    assert [p for p, _ in vocab[:4]] == ["<s>", "<pad>", "</s>", "<unk>"]
    return XLMRobertaTokenizer(vocab=vocab, model_max_length=512)


def _nllb_tokenizer(vocab_size: int) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import NllbTokenizer
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(FAIRSEQ_LANGUAGE_CODES) - 1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        show_progress=False,
    )
    tokenizer.train_from_iterator(_captions(), trainer=trainer)
    model = json.loads(tokenizer.to_str())["model"]
    vocab: dict[str, int] = dict(model["vocab"])
    for token in [*FAIRSEQ_LANGUAGE_CODES, "<mask>"]:
        vocab[token] = len(vocab)
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    assert [vocab[t] for t in ("<s>", "<pad>", "</s>", "<unk>")] == [0, 1, 2, 3]
    return NllbTokenizer(
        vocab=vocab, merges=merges, src_lang=NLLB_DEFAULT_LANGUAGE, model_max_length=1024
    )


def _config(hf_name: str, vocab_size: int) -> Any:
    if hf_name == "xlm-roberta-base":
        from transformers import XLMRobertaConfig

        return XLMRobertaConfig(vocab_size=vocab_size, **XLM_ROBERTA_BASE)
    from transformers import M2M100Config

    return M2M100Config(vocab_size=vocab_size, **NLLB_200_DISTILLED_600M)


def write_hf_folder(hf_name: str, folder: Path, vocab_size: int = VOCAB_SIZE) -> Path:
    """Write an offline stand-in for the hub repo `hf_name` into `folder`: config.json and
    the tokenizer files (tokenizer.json, tokenizer_config.json, special_tokens_map.json)."""
    if hf_name not in HF_MODELS:
        raise ValueError(f"no offline stand-in for the Hugging Face model {hf_name!r}")
    if hf_name == "xlm-roberta-base":
        tokenizer = _xlm_roberta_tokenizer(vocab_size)
    else:
        tokenizer = _nllb_tokenizer(vocab_size)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(folder))
    special = folder / "special_tokens_map.json"
    if not special.is_file():  # transformers 5 no longer writes it; Immich's repos have it
        names = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token")
        data = {n: str(getattr(tokenizer, n)) for n in (*names, "mask_token")}
        special.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    _config(hf_name, len(tokenizer)).save_pretrained(str(folder))
    return folder


def hf_folder(hf_name: str) -> Path:
    """The stand-in for `hf_name`, made once under build/cache/hf-towers/ (keyed by this
    module, the training captions and the transformers/tokenizers versions)."""
    import importlib.metadata

    digest = hashlib.sha256(Path(__file__).read_bytes())
    for dist in ("transformers", "tokenizers"):
        digest.update(f"{dist}={importlib.metadata.version(dist)};".encode())
    key = f"{digest.hexdigest()[:8]}-{_corpus_key()}"
    folder = CACHE / f"{hf_name.replace('/', '--')}-{key}"
    if (folder / "config.json").is_file():
        return folder
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=CACHE))
    try:
        write_hf_folder(hf_name, tmp)
        tmp.rename(folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (folder / "config.json").is_file():
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def copy_tokenizer(hf_dir: Path, folder: Path) -> list[str]:
    """The stand-in's tokenizer files, copied into `folder` (an export's textual/)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        shutil.copyfile(hf_dir / name, folder / name)
    return list(TOKENIZER_FILES)


def text_cfg_override(text_cfg: dict[str, Any], hf_dir: Path) -> dict[str, Any]:
    """open_clip's text_cfg pointed at the local stand-in, random weights."""
    return {
        **text_cfg,
        "hf_model_name": str(hf_dir),
        "hf_tokenizer_name": str(hf_dir),
        "hf_model_pretrained": False,
    }

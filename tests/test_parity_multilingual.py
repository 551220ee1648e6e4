"""Parity of our runtime with open_clip for the multilingual families: OpenCLIP XLM-RoBERTa
base ViT-B/32 and NLLB-CLIP base SigLIP, in English and in Chinese.

open_clip builds their text towers with `transformers` from hub names we can't reach, so
`models/clip/hf_towers.py` makes local stand-ins of the same kind (transformers' own config
classes with the real sizes; a SentencePiece Unigram (XLM-R) / BPE (NLLB) tokenizer trained
on the training captions, English and Chinese, saved by transformers' own tokenizer class).
open_clip builds the reference from those (random weights, seed 0); our recipe exports it;
our runtime (ONNX + `HFTokenizer` on the exported textual/tokenizer.json) must give identical
token ids and cosine >= 0.9999 for every photo and caption (English: the tricky captions and
Flickr8k; Chinese: Flickr8k-CN evaluation captions). `make test` embeds PARITY_CAPTIONS (32)
per language besides the tricky ones, and checks the token ids of 1,000 Chinese captions;
MMSEARCH_PARITY_CAPTIONS=1000 embeds 1,000 of each.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from clip_support import ROOT, SPECS, exported_model, full_parity_only
from test_clip_parity import (
    CHINESE_CAPTIONS,
    MIN_COSINE,
    PARITY_CAPTIONS,
    TRICKY_CAPTIONS,
    OpenClipReference,
    _check_parity,
    _compare_ids,
    _flickr_captions,
    _record,
    captions_of,
    exported_hf_tokenizer,
)

from mmsearch.encoders import ModelSpec, load_model
from mmsearch.encoders.formats import read_catalogue_entry
from mmsearch.encoders.tokenize import HFTokenizer, flores_200_code

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")
pytest.importorskip("transformers")
export = pytest.importorskip("models.clip.export")
hf_towers = pytest.importorskip("models.clip.hf_towers")

ZH_CAPTIONS = ROOT.parent / "shared" / "evalset" / "flickr8k" / "captions-zh.jsonl"
XLMR = "clip-xlm-roberta-base-vit-b-32"
NLLB = "nllb-clip-base-siglip"


def _zh_captions(limit: int) -> list[str]:
    return captions_of(ZH_CAPTIONS, limit)


def _caption_count() -> int:
    return PARITY_CAPTIONS


def _export(spec_id: str) -> tuple[ModelSpec, Path, float]:
    """The recipe's export (random weights, seed 0), cached like clip_support's, keyed also
    by the stand-in module; and the seconds it took (next to none when cached)."""
    start = time.monotonic()
    spec, folder = exported_model(spec_id, [Path(hf_towers.__file__)])
    return spec, folder, time.monotonic() - start


def hf_reference(spec: ModelSpec, model: Any, folder: Path) -> OpenClipReference:
    """open_clip's model and its HFTokenizer, reading the tokenizer files the export holds
    (the stand-in's, as open_clip would read the hub's)."""
    return OpenClipReference(spec, model, exported_hf_tokenizer(spec, folder))


_MODELS: dict[str, tuple[ModelSpec, Path, Any, dict[str, float]]] = {}


def _model(spec_id: str) -> tuple[ModelSpec, Path, Any, dict[str, float]]:
    if spec_id not in _MODELS:
        spec, folder, took = _export(spec_id)
        start = time.monotonic()
        model = export.create_model(spec, seed=0)
        times = {"export_seconds": took, "create_model_seconds": time.monotonic() - start}
        _MODELS[spec_id] = (spec, folder, model, times)
    return _MODELS[spec_id]


def _sizes(folder: Path) -> dict[str, int]:
    manifest = json.loads((folder / "manifest.json").read_text())
    return {name: entry["size"] for name, entry in manifest.items() if name.endswith(".onnx")}


def _check_chinese(spec: ModelSpec, folder: Path, reference: OpenClipReference) -> None:
    """Flickr8k-CN captions (evaluation captions: parity only, never training) through both
    paths: identical ids, cosine >= 0.9999."""
    # Our own Chinese captions went through _check_parity already (with the tricky ones).
    many = _zh_captions(1000)
    if not many:
        pytest.skip(f"{ZH_CAPTIONS} is not there: only our own Chinese captions were checked")
    ours = load_model(folder, spec=spec)
    same = _compare_ids(ours.text.tokenize(many).ids, reference.tokenize(many), many)
    captions = many[: _caption_count()]
    want = reference.texts(captions)
    got = ours.text.encode(captions)
    cos = (got * want).sum(axis=1)
    worst = int(cos.argmin())
    assert cos.min() >= MIN_COSINE, (captions[worst], cos[worst])
    _record(
        spec.id,
        {
            "zh_captions_embedded": len(captions),
            "zh_token_id_agreement": f"{int(same.sum())}/{len(many)}",
            "zh_min_cosine_text": float(cos.min()),
        },
    )


def _check_mask_from_pad_id(spec: ModelSpec, folder: Path, model: Any) -> None:
    """The text graph takes ids only and masks attention where ids == the pad id, as open_clip's
    HFTextEncoder does: a caption padded to 77 with the pad id gives the embedding of the
    unpadded caption; padded with another id, it would not."""
    ours = load_model(folder, spec=spec)
    assert spec.text.inputs == ("text",)
    pad = model.text.config.pad_token_id
    captions = ["a dog running on the beach", "一只猫坐在红色的沙发上"]
    tokens = ours.text.tokenize(captions)
    assert (tokens.ids[tokens.mask == 0] == pad).all() and pad == ours.text.tokenizer.pad_id
    got = ours.text.encode(captions)
    for row, caption in zip(tokens.ids, captions, strict=True):
        length = int((row != pad).sum())
        ids = torch.tensor(row[:length][None])
        with torch.no_grad():
            unpadded = model.encode_text(ids, normalize=True).numpy()[0]
            other = torch.tensor(row[None]).masked_fill(torch.tensor(row[None]) == pad, 3)
            unmasked = model.encode_text(other, normalize=True).numpy()[0]
        assert float(got[captions.index(caption)] @ unpadded) >= MIN_COSINE
        assert float(unpadded @ unmasked) < MIN_COSINE  # the check can see unmasked padding


def _run(spec_id: str) -> None:
    start = time.monotonic()
    spec, folder, model, times = _model(spec_id)
    reference = hf_reference(spec, model, folder)
    _check_mask_from_pad_id(spec, folder, model)
    _check_parity(spec, folder, reference)  # photos; English tricky + Flickr8k captions
    # _check_parity asserted identical ids for every caption it embedded
    flickr = _flickr_captions(_caption_count())
    embedded = len(TRICKY_CAPTIONS) + len(CHINESE_CAPTIONS) + len(flickr)
    _check_chinese(spec, folder, reference)
    _record(
        spec_id,
        {
            **times,
            "onnx_sizes": _sizes(folder),
            "token_id_agreement": f"{embedded}/{embedded}",
            "test_seconds": time.monotonic() - start,
            "captions_per_language": _caption_count(),
        },
    )


@pytest.mark.slow
def test_xlm_roberta_vit_b_32_onnx_matches_open_clip() -> None:
    _run(XLMR)


@pytest.mark.slow
def test_nllb_siglip_onnx_matches_open_clip() -> None:
    full_parity_only("NLLB-SigLIP export and embeddings")
    _run(NLLB)


@pytest.mark.slow
def test_nllb_language_code_as_open_clip() -> None:
    full_parity_only("NLLB-SigLIP language codes (needs its export)")
    # open_clip's default is eng_Latn (NllbTokenizer's); set_language puts another code first.
    spec, folder, model, _ = _model(NLLB)
    reference = hf_reference(spec, model, folder)
    ours = load_model(folder, spec=spec).text
    tokenizer = ours.tokenizer
    assert isinstance(tokenizer, HFTokenizer) and tokenizer.language_token() == "eng_Latn"
    captions = CHINESE_CAPTIONS + _zh_captions(100)
    assert tokenizer.set_language("zh_CN") == "zho_Hans"
    # open_clip's set_language calls NllbTokenizer.set_src_lang_special_tokens, which every
    # call of the tokenizer undoes (it switches to input mode: `src_lang`'s code again), so
    # open_clip always tokenizes with eng_Latn; `src_lang` is how transformers switches.
    reference.tokenizer.set_language("zho_Hans")
    assert reference.tokenize(["x"])[0, 0] == tokenizer.tokenizer.token_to_id("eng_Latn")
    reference.tokenizer.tokenizer.src_lang = "zho_Hans"
    got = ours.tokenize(captions).ids
    _compare_ids(got, reference.tokenize(captions), captions)
    assert (got[:, 0] == tokenizer.tokenizer.token_to_id("zho_Hans")).all()
    few = captions[:8]
    cos = (ours.encode(few) * reference.texts(few)).sum(axis=1)
    assert cos.min() >= MIN_COSINE
    assert tokenizer.set_language("en") == "eng_Latn"
    reference.tokenizer.tokenizer.src_lang = "eng_Latn"
    _compare_ids(ours.tokenize(captions).ids, reference.tokenize(captions), captions)


def test_flores_200_codes() -> None:
    assert flores_200_code("zh") == flores_200_code("zh_CN") == "zho_Hans"
    assert flores_200_code("zh-TW") == flores_200_code("zh_Hant") == "zho_Hant"
    assert flores_200_code("de-DE") == "deu_Latn" and flores_200_code("jpn_Jpan") == "jpn_Jpan"
    assert flores_200_code("xx") == flores_200_code("system") == "eng_Latn"


def test_hf_stand_ins_load_with_auto_classes() -> None:
    # What open_clip's HFTextEncoder and HFTokenizer read: AutoConfig, AutoTokenizer.
    from transformers import AutoConfig, AutoTokenizer

    expected = {
        "xlm-roberta-base": ("xlm-roberta", "XLMRobertaTokenizer", [0], 768),
        "facebook/nllb-200-distilled-600M": ("m2m_100", "NllbTokenizer", None, 1024),
    }
    for name, (model_type, tokenizer_class, prefix, width) in expected.items():
        folder = hf_towers.hf_folder(name)
        config = AutoConfig.from_pretrained(str(folder))
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        assert config.model_type == model_type and type(tokenizer).__name__ == tokenizer_class
        assert config.pad_token_id == tokenizer.pad_token_id == 1
        trained = any(path.is_file() for path in hf_towers.TRAIN_CAPTIONS)
        # without ../shared the stand-in is trained on a short word list: a small vocabulary
        assert config.vocab_size == len(tokenizer)
        assert len(tokenizer) == hf_towers.VOCAB_SIZE or not trained
        assert getattr(config, "hidden_size", getattr(config, "d_model", None)) == width
        ids = tokenizer(["a dog", "一只狗"]).input_ids
        first = prefix or [tokenizer.convert_tokens_to_ids("eng_Latn")]
        assert all(row[:1] == first and row[-1] == 2 for row in ids), ids
        assert any(tokenizer.convert_ids_to_tokens(i) != "<unk>" for i in ids[1][1:-1])


def test_text_encoder_tells_nllb_the_query_language(tmp_path: Path) -> None:
    """The runtime's side of NLLB's language code: `encode(texts, language=...)` (what the
    search passes for each query, by its script) puts that code first, for that call only;
    XLM-R's tokenizer takes none."""
    from mmsearch.encoders.model import TextEncoder
    from mmsearch.encoders.session import Session

    for spec_id, takes in ((NLLB, True), (XLMR, False)):
        spec = read_catalogue_entry(SPECS / f"{spec_id}.json")
        hf_name = export.hf_text_model(spec)
        assert hf_name is not None
        folder = tmp_path / spec_id
        textual = folder / Path(spec.text.tokenizer.file).parent
        hf_towers.copy_tokenizer(hf_towers.hf_folder(hf_name), textual)
        # the graph is never opened: tokenizing needs only the tokenizer
        encoder = TextEncoder(spec, Session(folder / spec.text.file, None, None), folder)
        assert encoder.takes_language == takes
        if not takes:
            assert (
                encoder.tokenize(["一只猫"], "zh").ids == encoder.tokenize(["一只猫"]).ids
            ).all()
            continue
        tokenizer = encoder.tokenizer
        assert isinstance(tokenizer, HFTokenizer)
        code = tokenizer.tokenizer.token_to_id
        assert encoder.tokenize(["一只猫"], "zh").ids[0, 0] == code("zho_Hans")
        assert encoder.tokenize(["一只猫"]).ids[0, 0] == code("eng_Latn")  # only for that call
        assert encoder.tokenize(["a cat"], "en").ids[0, 0] == code("eng_Latn")

"""Parity of our CLIP runtime (ONNX + preprocessing + tokenizer, no torch) with the reference
libraries: open_clip for ViT-B-32 and MobileCLIP-S2, cn_clip for Chinese-CLIP ViT-B-16.

The architectures are built with random weights (no weights can be downloaded here),
exported by our recipe (`models/clip/export.py`), and compared with the reference library
running the same weights in torch: identical token ids for every caption, cosine >= 0.9999
for every photo and caption embedding (>= 0.999 for the fp16 graphs). Exports are cached
under build/cache/clip-parity/ (keyed by the spec, the recipe and the library versions), so
only the first run pays for them.

Embedding 1,000 captions through a 12-layer text tower twice takes minutes on 2 cores, so
`make test` embeds the tricky and Chinese captions (short, long, truncated, mixed scripts)
and the first PARITY_CAPTIONS (32) Flickr8k captions, and checks the token ids of all 1,000;
MMSEARCH_PARITY_CAPTIONS=1000 embeds all of them (the figures in docs/models-clip.md come
from such a run). An embedding differs by the graph, not by which words it reads: the
tricky captions cover the lengths and scripts, the token-id checks cover the words.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pytest
from clip_support import CACHE, ROOT, SPECS, exported_model
from PIL import Image

from mmsearch.encoders import Model, ModelSpec, load_model
from mmsearch.encoders.formats import hub_spec, read_catalogue_entry
from mmsearch.encoders.spec import ModelError
from mmsearch.encoders.tokenize import FramedTokenizer, bert_words

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")
export = pytest.importorskip("models.clip.export")

CAPTIONS = ROOT.parent / "shared" / "evalset" / "flickr8k" / "captions.jsonl"
LARGE_PHOTOS = ROOT.parent / "shared" / "photos-large"
MIN_COSINE = 0.9999
MIN_COSINE_FP16 = 0.999
# Reference embeddings of different photos must be further apart than this, or the random
# model is too blind for the cosine checks to catch a preprocessing mistake.
MAX_COSINE_BETWEEN_PHOTOS = 0.99

TRICKY_CAPTIONS = [
    "A dog, running!!! on the beach?! (really...)",
    "café crème brûlée à la carte; naïve Zoë's résumé",
    "e\u0301cole: a decomposed accent",
    "一只猫坐在红色的沙发上",
    "海边的日落，很美。",
    "🐶 a dog in a 🎉 party hat with the family 👨\u200d👩\u200d👧 ❤️",
    "“Curly quotes” and ‘single’ ones",
    "Tom &amp; Jerry &lt;3 &quot;friends&quot;",
    "  lots\tof\n\n whitespace   ",
    "ＦＵＬＬＷＩＤＴＨ letters and ｆｕｌｌ－ｗｉｄｔｈ punctuation！",
    "ﬁsh ﬂoat on the ﬁeld",
    "I'm here, you're there, they'll go, we've been, it's done, he'd say",
    "Straße in München, ÆØÅ æøå, ΟΔΟΣ Ελληνικά, İstanbul",
    "Привет, мир! مرحبا بالعالم नमस्ते दुनिया",
    "12345 67.89 $100 50% #1 @home",
    "mixed CASE Words",
    "zero\u200bwidth space",
    "",
    "   ",
    "a photo of " * 40,
    "A very long caption that goes on and on about a man in a red shirt riding a bicycle "
    "down a steep hill past a crowd of people who are cheering and waving flags while a "
    "dog chases him and the sun sets behind the mountains in the far distance, slowly.",
]

# Ours, for the Chinese-capable model: everyday scenes, traditional characters, mixed scripts,
# full-width forms, Chinese punctuation, rare ideographs (extensions A and B), kana, hangul,
# and one long enough to be cut at 52 tokens.
CHINESE_CAPTIONS = [
    "一只黑白相间的小狗在草地上奔跑",
    "两个孩子在海边堆沙堡。",
    "穿红色衣服的女人骑着自行车经过一座石桥",
    "一群人在雪山脚下露营，天空很蓝！",
    "厨房的桌子上有一碗热腾腾的牛肉面和两双筷子",
    "老人坐在公园的长椅上看报纸",
    "一隻貓在窗臺上曬太陽",
    "夜晚的城市街道，霓虹灯闪烁，车来车往",
    "小女孩抱着一只白色的兔子，笑得很开心",
    "足球比赛：球员们在雨中争抢皮球",
    "a dog 和一只猫 playing 在沙发上",
    "2024年5月1日，广场上挤满了人",
    "“你好”，他说：‘今天天气不错’……",
    "Ｔ恤上印着ＡＢＣ和１２３",
    "日本語の文章：猫がソファーに座っている",
    "한국어: 고양이가 소파에 앉아 있다",
    "𠀀𪚥 rare ideographs 㐀䶵",
    "一只猫在看窗外的鸟，" * 8,
]

# What tells BERT's basic tokenizer (cn_clip's) apart from look-alikes: final sigma,
# private-use and unassigned characters, control and format characters, line and paragraph
# separators, dotted capital I, titlecase digraphs, sharp s, words of more than 100 and of more
# than 200 characters, lone combining marks, the ideographic space, special-token spellings,
# soft hyphen, ASCII symbols that are not Unicode punctuation, numbers with separators.
BERT_EDGE_CAPTIONS = [
    "ΟΔΟΣ ΟΔΟΣ, Σ ΣΑΣ",
    "\ue000 private use \U000f0000 and unassigned \u0378",
    "x\x0by\x1cz\x85w\u2028v\u2029u\x00t\ufffds",
    "İstanbul ǅ ẞ ß ﬁ Ǆ",
    "a" * 150,
    "b" * 250,
    "\u0301\u0301 abc \u0301",
    "ｆｕｌｌ\u3000ｗｉｄｔｈ",
    "[CLS] [SEP] [PAD] [UNK] [MASK] ##ing",
    "tab\tnew\nline\rend",
    "x\u00ady soft hyphen",
    "‘’“”«»【】《》",
    "$^`+=<>|~ and ¥€£",
    "1.5e10 3,000 50%",
]


def captions_of(path: Path, limit: int) -> list[str]:
    """The first `limit` captions of a captions.jsonl file; none when it is not there."""
    if not path.is_file():
        return []
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line)["caption"])
            if len(out) == limit:
                break
    return out


PARITY_CAPTIONS = int(os.environ.get("MMSEARCH_PARITY_CAPTIONS", "32"))
"""Flickr8k captions (and, for the multilingual towers, Flickr8k-CN ones) embedded by both
paths in `make test`; their token ids are checked for all 1,000 elsewhere."""


def _flickr_captions(limit: int = 1000) -> list[str]:
    return captions_of(CAPTIONS, limit)


def _photos() -> list[tuple[str, Image.Image]]:
    data = importlib.resources.files("skimage") / "data"
    names = ["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png", "motorcycle_left.png"]
    names += ["camera.png"]  # grayscale: the mode conversion path
    photos = []
    for name in names:
        with Image.open(str(data / name)) as im:
            im.load()
            photos.append((name, im.copy()))
    for path in sorted(LARGE_PHOTOS.glob("*.jpg"))[:3] if LARGE_PHOTOS.is_dir() else []:
        with Image.open(path) as im:
            # Decode at reduced size (what the app's decoder does); both sides get this image.
            im.draft("RGB", (512, 512))
            im.load()
            photos.append((path.name, im.copy()))
    return photos


def _record(spec_id: str, figures: dict[str, Any]) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"figures-{spec_id}.json"
    previous = json.loads(path.read_text()) if path.is_file() else {}
    previous.update(figures)
    path.write_text(json.dumps(previous, indent=2, ensure_ascii=False))
    print(f"{spec_id}: {figures}")


def _compare_ids(got: np.ndarray, want: np.ndarray, captions: list[str]) -> np.ndarray:
    """Rows where both agree; fails naming the first captions that don't."""
    assert got.shape == want.shape, (got.shape, want.shape)
    same = np.asarray((got == want).all(axis=1))
    mismatched = [(c, got[i][:12], want[i][:12]) for i, c in enumerate(captions) if not same[i]]
    assert not mismatched, mismatched[:5]
    return same


# -- specs ---------------------------------------------------------------------------------


# Issue 14's catalogue: the models every install can offer (download or import).
CATALOGUE_IDS = {
    "clip-vit-b-32-openai",
    "clip-vit-b-16-openai",
    "clip-vit-l-14-openai",
    "clip-vit-b-32-laion2b",
    "clip-vit-b-32-256-datacomp",
    "siglip-vit-b-16-224",
    "siglip-vit-b-16-256",
    "siglip-vit-b-16-i18n-256",
    "siglip2-vit-b-16-224",
    "siglip2-vit-b-32-256",
    "mobileclip-s0",
    "mobileclip-s2",
    "mobileclip-s2-optimum",
    "mobileclip-b",
    "mobileclip2-s0",
    "mobileclip2-s2",
    "mobileclip2-b",
    "clip-xlm-roberta-base-vit-b-32",
    "nllb-clip-base-siglip",
    "chinese-clip-vit-b-16",
    "chinese-clip-vit-b-16-optimum",
}
CATALOGUE_ENTRIES = {path.stem: path for path in sorted(SPECS.glob("*.json"))}


def _entry(model_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CATALOGUE_ENTRIES[model_id].read_text(encoding="utf-8"))
    return data


def test_catalog_lists_the_issue_14_models_with_sourced_facts() -> None:
    assert set(CATALOGUE_ENTRIES) >= CATALOGUE_IDS
    entries = {model_id: _entry(model_id) for model_id in CATALOGUE_ENTRIES}
    languages = {lang for data in entries.values() for lang in data["text"]["languages"]}
    assert {"en", "zh", "multilingual"} <= languages
    for model_id, data in entries.items():
        assert data["id"] == model_id  # file name == id
        assert data["layout"] in ("immich", "optimum")
        assert data["text"]["inputs"] and data["text"]["padding"] in ("max_length", "longest")
        size = data["download_size"]
        assert size is None or (isinstance(size, int) and size > 0)
        assert data["download_size_source"]
        if data.get("download_size_exact") is False:
            # rounded hub-page sizes are for the offer; a download checks source.files exactly
            assert size == sum(data["download_size_files"].values())
            assert all(f["size"] is None for f in data["source"]["files"].values()), model_id
        assert "speed" in data and data["speed"] is None  # measured by `mmsearch bench`
        if data["source"]["hub_repo"]:
            assert data["source"]["hub_repo_source"]
        for figure in data["quality"]:
            assert {"metric", "dataset", "value", "source", "url"} <= set(figure), model_id
            assert 0 < figure["value"] <= 100 and figure["url"].startswith("https://")
    assert entries["clip-vit-b-32-openai"]["quality"][0]["value"] == 58.78  # Flickr30k t->i


def test_catalog_check_catches_a_spec_that_differs_from_open_clip() -> None:
    data = _entry("siglip-vit-b-16-224")
    wrong = {**data, "image": {**data["image"], "resize": "shortest", "size": 256}}
    with pytest.raises(ValueError, match=r"resize_mode.*squash") as caught:
        export.check_open_clip_entry(wrong)
    assert "image size 256 != 224" in str(caught.value)
    wrong = {**data, "text": {**data["text"], "clean": "whitespace", "context_length": 77}}
    with pytest.raises(ValueError, match="context length 77 != open_clip's 64"):
        export.check_open_clip_entry(wrong)


@pytest.mark.parametrize("model_id", sorted(CATALOGUE_ENTRIES))
def test_catalog_specs_parse_and_match_their_libraries(model_id: str) -> None:
    data = _entry(model_id)
    arch = data["architecture"]
    if "open_clip" in arch:
        export.check_open_clip_entry(data)  # raw JSON: also entries the runtime can't parse yet
    elif "cn_clip" in arch and importlib.util.find_spec("cn_clip") is None:
        pytest.skip(f"cn_clip is not installed: {model_id} not checked against it")
    elif "cn_clip" not in arch:
        pytest.skip(
            f"{model_id}: its reference ({arch}) is not built here: MobileCLIP-S0's text tower is "
            "not in open_clip 3.3 and Apple's ml-mobileclip package is not installed"
        )
    spec = hub_spec(data, model_id)
    assert spec.id == model_id and spec.layout == data["layout"]
    if "cn_clip" in arch:
        export.check_spec(spec)


def test_export_takes_a_catalogue_id_or_a_spec_file(tmp_path: Path) -> None:
    """`--spec clip-vit-b-32-openai` reads the catalogue (package data); a path reads that file;
    an unknown id lists the known ones."""
    by_id = export.load_spec_arg("clip-vit-b-32-openai")
    assert by_id == read_catalogue_entry(SPECS / "clip-vit-b-32-openai.json")
    copy = tmp_path / "mine.json"
    copy.write_bytes((SPECS / "mobileclip-s2.json").read_bytes())
    assert export.load_spec_arg(str(copy)).id == "mobileclip-s2"
    with pytest.raises(ModelError, match=r"known CLIP models are .*clip-vit-b-32-openai"):
        export.load_spec_arg("no-such-model")
    with pytest.raises(ModelError, match="missing"):
        export.load_spec_arg(str(tmp_path / "absent.json"))


# -- tokenizers ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def clip_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clip-tokenizer")
    export.write_clip_tokenizer(folder / "textual")
    return folder


def test_token_ids_identical_to_open_clip(clip_tokenizer_dir: Path) -> None:
    spec = read_catalogue_entry(SPECS / "clip-vit-b-32-openai.json")
    ours = FramedTokenizer(clip_tokenizer_dir / spec.text.tokenizer.file, spec.text.tokenizer)
    reference = open_clip.get_tokenizer("ViT-B-32")
    flickr = _flickr_captions()
    captions = TRICKY_CAPTIONS + CHINESE_CAPTIONS + flickr
    got = ours(captions).ids
    same = _compare_ids(got, reference(captions).numpy(), captions)
    # overlong text is cut at 77 with the end token kept last, like open_clip
    long_row = got[captions.index("a photo of " * 40)]
    assert long_row[-1] == ours.end_id and long_row[0] == ours.begin_id
    _record(
        "clip-bpe-tokenizer",
        {
            "tricky_captions": len(TRICKY_CAPTIONS) + len(CHINESE_CAPTIONS),
            "flickr_captions": len(flickr),
            "token_id_agreement": f"{int(same.sum())}/{len(captions)}",
        },
    )
    if not flickr:
        pytest.skip(f"only the tricky captions were checked: {CAPTIONS} is not there")


def test_bert_words_as_bert_basic_tokenizer() -> None:
    # Runs without cn_clip: the rules of `bert_words`, by example.
    assert bert_words("A Dog, running!") == ["a", "dog", ",", "running", "!"]
    assert bert_words("café crème Zoë") == ["cafe", "creme", "zoe"]
    assert bert_words("一只猫ab坐") == ["一", "只", "猫", "ab", "坐"]
    assert bert_words("ΟΔΟΣ, Σ") == ["οδος", ",", "σ"]  # Python's final sigma
    assert bert_words("a\x0bb\u200bc\x00d\ufffde f\tg") == ["abcde", "f", "g"]
    assert bert_words("\ue000x") == ["\ue000x"]  # private use is kept (then [UNK])
    assert bert_words("$5^2`") == ["$", "5", "^", "2", "`"]
    assert bert_words("“你好”…") == ["“", "你", "好", "”", "…"]
    assert bert_words("") == [] and bert_words(" \u3000 \u0301 ") == []


@pytest.fixture(scope="session")
def bert_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("cn_clip")
    folder = tmp_path_factory.mktemp("bert-tokenizer")
    export.write_bert_tokenizer(folder / "textual", 52)
    return folder


def test_token_ids_identical_to_cn_clip(bert_tokenizer_dir: Path) -> None:
    import cn_clip.clip

    spec = read_catalogue_entry(SPECS / "chinese-clip-vit-b-16.json")
    ours = FramedTokenizer(bert_tokenizer_dir / spec.text.tokenizer.file, spec.text.tokenizer)
    flickr = _flickr_captions()
    ours_only = TRICKY_CAPTIONS + CHINESE_CAPTIONS + BERT_EDGE_CAPTIONS
    captions = ours_only + flickr
    got = ours(captions).ids
    want = cn_clip.clip.tokenize(captions, context_length=spec.text.context_length).numpy()
    same = _compare_ids(got, want, captions)
    # overlong text: the first 50 tokens between [CLS] and [SEP], like cn_clip
    long_row = got[captions.index("一只猫在看窗外的鸟，" * 8)]
    assert long_row[0] == ours.begin_id and long_row[-1] == ours.end_id
    assert (ours.begin_id, ours.end_id) == (101, 102)
    _record(
        "bert-wordpiece-tokenizer",
        {
            "tricky_captions": len(ours_only),
            "flickr_captions": len(flickr),
            "token_id_agreement": f"{int(same.sum())}/{len(captions)}",
        },
    )
    if not flickr:
        pytest.skip(f"only the tricky captions were checked: {CAPTIONS} is not there")


# -- embeddings ----------------------------------------------------------------------------


class Reference(Protocol):
    """The reference library running the model in torch: ids and unit embeddings."""

    def tokenize(self, captions: list[str]) -> np.ndarray: ...

    def images(self, photos: list[Image.Image]) -> np.ndarray: ...

    def texts(self, captions: list[str]) -> np.ndarray: ...


class OpenClipReference:
    """open_clip running the model in torch: its eval transform, and its tokenizer for the
    architecture unless another is given (`exported_hf_tokenizer`)."""

    def __init__(self, spec: ModelSpec, model: Any, tokenizer: Any = None) -> None:
        self.model = model
        self.tokenizer = tokenizer or open_clip.get_tokenizer(
            spec.data["architecture"]["open_clip"]
        )
        self.preprocess = open_clip.image_transform(
            spec.image.size,
            is_train=False,
            mean=spec.image.preprocess.mean,
            std=spec.image.preprocess.std,
            interpolation=spec.image.preprocess.interpolation,
            resize_mode=spec.image.preprocess.resize,
        )

    def tokenize(self, captions: list[str]) -> np.ndarray:
        return np.asarray(self.tokenizer(captions).numpy())

    def images(self, photos: list[Image.Image]) -> np.ndarray:
        with torch.no_grad():
            batch = torch.stack([self.preprocess(im) for im in photos])
            return np.asarray(self.model.encode_image(batch, normalize=True).numpy())

    def texts(self, captions: list[str]) -> np.ndarray:
        with torch.no_grad():
            out = [
                self.model.encode_text(self.tokenizer(captions[i : i + 64]), normalize=True)
                for i in range(0, len(captions), 64)
            ]
            return np.asarray(torch.cat(out).numpy())


def exported_hf_tokenizer(spec: ModelSpec, folder: Path) -> Any:
    """open_clip's HFTokenizer (with the architecture's tokenizer_kwargs) reading the
    tokenizer files an export holds: the stand-ins made here, where open_clip would read
    the hub's."""
    text_cfg = open_clip.get_model_config(spec.data["architecture"]["open_clip"])["text_cfg"]
    return open_clip.tokenizer.HFTokenizer(
        str(folder / "textual"),
        context_length=spec.text.context_length,
        **text_cfg.get("tokenizer_kwargs", {}),
    )


class CnClipReference:
    def __init__(self, spec: ModelSpec, model: Any) -> None:
        import cn_clip.clip

        self.cn_clip = cn_clip.clip
        self.model = model
        self.context_length = spec.text.context_length
        self.preprocess = cn_clip.clip.image_transform(spec.image.size)

    def tokenize(self, captions: list[str]) -> np.ndarray:
        return np.asarray(self.cn_clip.tokenize(captions, self.context_length).numpy())

    def images(self, photos: list[Image.Image]) -> np.ndarray:
        with torch.no_grad():
            batch = torch.stack([self.preprocess(im) for im in photos])
            features = self.model.encode_image(batch)
            return np.asarray(torch.nn.functional.normalize(features, dim=-1).numpy())

    def texts(self, captions: list[str]) -> np.ndarray:
        with torch.no_grad():
            ids = self.cn_clip.tokenize(captions, self.context_length)
            features = self.model.encode_text(ids)
            return np.asarray(torch.nn.functional.normalize(features, dim=-1).numpy())


def _check_parity(spec: ModelSpec, folder: Path, reference: Reference) -> None:
    ours: Model = load_model(folder, spec=spec)
    named = _photos()
    photos = [im for _, im in named]

    want = reference.images(photos)
    between = want @ want.T
    max_between = float(between[~np.eye(len(photos), dtype=bool)].max())
    assert max_between < MAX_COSINE_BETWEEN_PHOTOS, f"the random model is blind: {max_between}"
    got = ours.image.encode_images(photos)
    assert got.dtype == np.float32 and got.shape == (len(photos), spec.dim)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    image_cos = (got * want).sum(axis=1)
    assert image_cos.min() >= MIN_COSINE, dict(zip([n for n, _ in named], image_cos, strict=True))

    tricky = TRICKY_CAPTIONS + CHINESE_CAPTIONS
    captions = tricky + _flickr_captions(PARITY_CAPTIONS)
    _compare_ids(ours.text.tokenize(captions).ids, reference.tokenize(captions), captions)
    want_t = reference.texts(captions)
    got_t = ours.text.encode(captions)
    text_cos = (got_t * want_t).sum(axis=1)
    worst = int(text_cos.argmin())
    assert text_cos.min() >= MIN_COSINE, (captions[worst], text_cos[worst])

    half = load_model(folder, spec=spec, precision="fp16")
    assert half.precision == "fp16"
    half_image = (half.image.encode_images(photos) * want).sum(axis=1)
    half_text = (half.text.encode(tricky) * want_t[: len(tricky)]).sum(axis=1)
    assert min(half_image.min(), half_text.min()) >= MIN_COSINE_FP16
    _record(
        spec.id,
        {
            "photos": len(photos),
            "max_cosine_between_photos": max_between,
            "captions_embedded": len(captions),
            "min_cosine_image": float(image_cos.min()),
            "min_cosine_text": float(text_cos.min()),
            "fp16_min_cosine_image": float(half_image.min()),
            "fp16_min_cosine_text_tricky": float(half_text.min()),
        },
    )


@pytest.fixture(scope="session")
def vit_b_32() -> tuple[ModelSpec, Path, Any]:
    spec, folder = exported_model("clip-vit-b-32-openai")
    return spec, folder, export.create_model(spec, seed=0)


@pytest.fixture(scope="session")
def mobileclip_s2() -> tuple[ModelSpec, Path, Any]:
    pytest.importorskip("timm")
    spec, folder = exported_model("mobileclip-s2")
    return spec, folder, export.create_model(spec, seed=0)


@pytest.fixture(scope="session")
def chinese_clip() -> tuple[ModelSpec, Path, Any]:
    pytest.importorskip("cn_clip")
    spec, folder = exported_model("chinese-clip-vit-b-16")
    return spec, folder, export.create_model(spec, seed=0)


@pytest.mark.slow
def test_vit_b_32_onnx_matches_open_clip(vit_b_32: tuple[ModelSpec, Path, Any]) -> None:
    spec, folder, model = vit_b_32
    _check_parity(spec, folder, OpenClipReference(spec, model))


@pytest.mark.slow
def test_mobileclip_s2_onnx_matches_open_clip(mobileclip_s2: tuple[ModelSpec, Path, Any]) -> None:
    # The reference is open_clip's eval-mode model as built (MobileOne branches unfused); the
    # export is re-parameterised, so this also proves the fusion exact.
    spec, folder, model = mobileclip_s2
    _check_parity(spec, folder, OpenClipReference(spec, model))


@pytest.mark.slow
def test_chinese_clip_onnx_matches_cn_clip(chinese_clip: tuple[ModelSpec, Path, Any]) -> None:
    spec, folder, model = chinese_clip
    _check_parity(spec, folder, CnClipReference(spec, model))


def test_export_layout(vit_b_32: tuple[ModelSpec, Path, Any]) -> None:
    spec, folder, _ = vit_b_32
    for name in [*spec.runtime_files, "textual/vocab.json", "textual/merges.txt"]:
        assert (folder / name).is_file(), name
    for name in ("visual/fp16/model.onnx", "textual/fp16/model.onnx"):
        assert (folder / name).is_file(), name
    cfg = json.loads((folder / "visual" / "preprocess_cfg.json").read_text())
    assert cfg["size"] == [224, 224] and cfg["resize_mode"] == "shortest"
    assert json.loads((folder / "config.json").read_text())["embed_dim"] == 512
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["visual/model.onnx"]["size"] == (folder / "visual/model.onnx").stat().st_size


@pytest.mark.slow
def test_mobileclip_s2_export_is_reparameterised(
    mobileclip_s2: tuple[ModelSpec, Path, Any],
) -> None:
    import onnx

    spec, folder, model = mobileclip_s2
    # The reference is unfused: 235 convolutions, each MobileOne block's parallel branches;
    # the graph has one convolution per fused block (189).
    unfused = sum(isinstance(m, torch.nn.Conv2d) for m in model.visual.modules())
    graph = onnx.load(str(folder / spec.image.file), load_external_data=False).graph
    convs = sum(node.op_type == "Conv" for node in graph.node)
    assert convs < unfused, f"MobileOne blocks exported unfused: {convs} of {unfused} convs"
    for name in [*spec.runtime_files, "visual/fp16/model.onnx", "textual/fp16/model.onnx"]:
        assert (folder / name).is_file(), name
    cfg = json.loads((folder / "visual" / "preprocess_cfg.json").read_text())
    assert cfg["size"] == [256, 256] and cfg["interpolation"] == "bilinear"
    assert cfg["mean"] == [0.0, 0.0, 0.0] and cfg["std"] == [1.0, 1.0, 1.0]


@pytest.mark.slow
def test_chinese_clip_export_layout(chinese_clip: tuple[ModelSpec, Path, Any]) -> None:
    import cn_clip.clip

    spec, folder, _ = chinese_clip
    for name in [*spec.runtime_files, "visual/fp16/model.onnx", "textual/fp16/model.onnx"]:
        assert (folder / name).is_file(), name
    vocab = Path(cn_clip.clip.__file__).parent / "vocab.txt"
    assert (folder / "textual" / "vocab.txt").read_bytes() == vocab.read_bytes()
    config = json.loads((folder / "config.json").read_text())
    assert config["cn_clip"] == "ViT-B-16" and config["embed_dim"] == 512
    assert config["vocab_size"] == 21128
    cfg = json.loads((folder / "visual" / "preprocess_cfg.json").read_text())
    assert cfg["size"] == [224, 224] and cfg["resize_mode"] == "squash"
    tokenizer_config = json.loads((folder / "textual" / "tokenizer_config.json").read_text())
    assert tokenizer_config["model_max_length"] == 52

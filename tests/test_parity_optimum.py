"""Bare hub folders (`mmsearch.encoders.hubconfig.describe_folder`) and parity of our runtime
with transformers for the CLIP and SigLIP models Optimum / transformers.js publish.

transformers' `CLIPModel` (ViT-B/32 geometry) and `SiglipModel` (B/16 geometry, 6 layers a
tower) are built from their config classes with random weights (seeded), with a tokenizer of
the same kind made offline (CLIP's BPE from open_clip's vocabulary; for SigLIP a Unigram
trained on the training captions), saved with save_pretrained and exported to the Optimum
layout by our recipe (`models/clip/optimum_export.py`). `describe_folder` reads the export
with nothing but its own files, and our ONNX path is held to transformers' processor + model
(`get_image_features` / `get_text_features`): identical token ids, cosine >= 0.9999 on real
photos and captions. The exports are cached under build/cache/optimum-parity/.
`make test` embeds 32 Flickr8k captions (plus the tricky ones); MMSEARCH_PARITY_CAPTIONS=1000
embeds 1,000.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from clip_support import OPTIMUM_CACHE, ROOT, cached_export, exported_model, full_parity_only
from PIL import Image

from mmsearch.encoders import ModelError, load_model
from mmsearch.encoders.formats import hub_spec, spec_to_json
from mmsearch.encoders.hubconfig import describe_folder, optimum_preprocess
from mmsearch.encoders.spec import Fields, TokenizerSpec
from mmsearch.encoders.tokenize import make_tokenizer

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
oe = pytest.importorskip("models.clip.optimum_export")
from test_clip_parity import (  # noqa: E402 - after the skips: it needs open_clip
    CHINESE_CAPTIONS,
    TRICKY_CAPTIONS,
    _check_parity,
    _compare_ids,
    _flickr_captions,
    _photos,
    _record,
)

CACHE = OPTIMUM_CACHE
TRAIN_CAPTIONS = ROOT.parent / "shared" / "trainset" / "captions.jsonl"


# -- the reader, without exports -----------------------------------------------------------


def _bare_optimum(folder: Path, model_type: str = "clip") -> Path:
    (folder / "onnx").mkdir(parents=True)
    (folder / "onnx" / "vision_model.onnx").write_bytes(b"")
    (folder / "onnx" / "text_model.onnx").write_bytes(b"")
    (folder / "config.json").write_text(json.dumps({"model_type": model_type}))
    return folder


def test_describe_refuses_a_folder_without_preprocessor_config(tmp_path: Path) -> None:
    folder = _bare_optimum(tmp_path / "clip-vit-base-patch32")
    with pytest.raises(ModelError) as caught:
        describe_folder(folder)
    message = str(caught.value)
    assert str(folder / "preprocessor_config.json") in message and "is missing" in message
    assert "copy the missing file from the repository the model came from" in message
    assert caught.value.hint and "preprocessor_config.json" in caught.value.hint


def test_describe_names_what_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="is not a folder"):
        describe_folder(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"holds no model graphs.*onnx/vision_model\.onnx"):
        describe_folder(tmp_path / "empty")
    folder = _bare_optimum(tmp_path / "bert", model_type="bert")
    with pytest.raises(ModelError, match=r"config\.json: model_type 'bert' is not one"):
        describe_folder(folder)


def _processor(data: dict[str, Any]) -> dict[str, Any]:
    return optimum_preprocess(Fields(data, "preprocessor_config.json"))


def test_preprocessor_configs_as_transformers_reads_them() -> None:
    clip = _processor(
        {
            "size": {"shortest_edge": 224},
            "crop_size": {"height": 224, "width": 224},
            "do_center_crop": True,
            "resample": 3,
            "image_mean": [0.48145466, 0.4578275, 0.40821073],
            "image_std": [0.26862954, 0.26130258, 0.27577711],
            "rescale_factor": 1 / 255,
        }
    )
    assert (clip["size"], clip["resize"], clip["interpolation"]) == (224, "shortest", "bicubic")
    assert clip["crop_offset"] == "floor" and clip["mean"][0] == 0.48145466
    siglip = _processor(
        {"size": {"height": 256, "width": 256}, "resample": 2, "image_mean": 0.5, "image_std": 0.5}
    )
    assert (siglip["size"], siglip["resize"], siglip["interpolation"]) == (
        256,
        "squash",
        "bilinear",
    )
    assert siglip["mean"] == [0.5] * 3 and siglip["std"] == [0.5] * 3
    # transformers.js' MobileCLIP: an old feature-extractor config, no normalisation
    mobile = _processor(
        {"size": 256, "crop_size": 256, "do_center_crop": True, "do_normalize": False}
    )
    assert (mobile["resize"], mobile["mean"], mobile["std"]) == ("shortest", [0.0] * 3, [1.0] * 3)
    # rescale 1 (pixels 0..255 into the processor): mean and std folded into our x / 255
    raw = _processor(
        {
            "size": {"height": 8, "width": 8},
            "do_rescale": False,
            "image_mean": 127.5,
            "image_std": 127.5,
        }
    )
    assert raw["mean"] == pytest.approx([0.5] * 3) and raw["std"] == pytest.approx([0.5] * 3)
    with pytest.raises(ModelError, match=r"shorter side to 256, then a 224 x 224 crop"):
        _processor({"size": {"shortest_edge": 256}, "crop_size": {"height": 224, "width": 224}})
    with pytest.raises(ModelError, match=r"'resample' must be 2 \(bilinear\) or 3 \(bicubic\)"):
        _processor({"size": {"height": 8, "width": 8}, "resample": 1})


# -- offline tokenizers: which of our kinds is transformers' CLIPTokenizer ------------------


def test_clip_tokenizer_kind_chosen_by_parity(tmp_path: Path) -> None:
    """transformers' CLIPTokenizer is the published tokenizer.json's own pipeline (no ftfy):
    kind "hf" (padded with its pad token) gives its ids exactly; "clip-bpe" (open_clip's ftfy
    clean-up, padded with 0) does not."""
    tokenizer = oe.clip_tokenizer()
    tokenizer.save_pretrained(tmp_path)
    reference = transformers.AutoTokenizer.from_pretrained(tmp_path)
    captions = TRICKY_CAPTIONS + CHINESE_CAPTIONS + _flickr_captions()
    want = np.asarray(
        reference(captions, padding="max_length", max_length=77, truncation=True)["input_ids"]
    )
    hf = TokenizerSpec(kind="hf", file="tokenizer.json", context_length=77, pad_id=None)
    same = _compare_ids(make_tokenizer(tmp_path, hf)(captions).ids, want, captions)
    bpe = TokenizerSpec(
        kind="clip-bpe",
        file="tokenizer.json",
        context_length=77,
        pad_id=0,
        clean="ftfy-html-whitespace-lower",
    )
    # Padding apart (0 against the pad token), do the pieces agree?
    unpadded = reference(captions, max_length=77, truncation=True)["input_ids"]
    ours = make_tokenizer(tmp_path, bpe)
    differ = [c for c, ids in zip(captions, unpadded, strict=True) if ours.ids(c) != list(ids)]
    assert "“Curly quotes” and ‘single’ ones" in differ  # ftfy straightens the quotes
    _record(
        "optimum-clip-tokenizer",
        {
            "captions": len(captions),
            "hf_kind_agreement": f"{int(same.sum())}/{len(captions)}",
            "clip_bpe_kind_agreement_ignoring_pad": (
                f"{len(captions) - len(differ)}/{len(captions)}"
            ),
        },
    )


# -- exports (cached) ----------------------------------------------------------------------


def _key(*extra: bytes) -> str:
    digest = hashlib.sha256(Path(oe.__file__).read_bytes())
    for data in extra:
        digest.update(data)
    for dist in ("torch", "transformers", "tokenizers", "open_clip_torch"):
        digest.update(f"{dist}={importlib.metadata.version(dist)};".encode())
    return digest.hexdigest()[:12]


def _exported(name: str, build: Any, *extra: bytes) -> tuple[Path, Path]:
    """(transformers folder, Optimum export) of a random model, made once per key."""

    def make(folder: Path) -> None:
        build(folder / "hf")
        oe.export_optimum(folder / "hf", folder / "optimum")

    folder = cached_export(CACHE / f"{name}-{_key(*extra)}", make)
    return folder / "hf", folder / "optimum"


@pytest.fixture(scope="module")
def clip_export() -> tuple[Path, Path]:
    return _exported("clip-b32", lambda hf: oe.random_clip(hf, seed=0))


@pytest.fixture(scope="module")
def siglip_export() -> tuple[Path, Path]:
    full_parity_only("SigLIP in the Optimum layout (transformers' SiglipModel)")
    if not TRAIN_CAPTIONS.is_file():
        pytest.skip(f"{TRAIN_CAPTIONS} is not there: no captions to train SigLIP's tokenizer on")
    return _exported(
        "siglip-b16-6l",
        lambda hf: oe.random_siglip(hf, TRAIN_CAPTIONS, seed=0),
        TRAIN_CAPTIONS.read_bytes(),
    )


class TransformersReference:
    """transformers running the model: its processor (the Pillow image processor, what the
    saved preprocessor_config.json names) and get_image_features / get_text_features."""

    def __init__(self, hf: Path) -> None:
        self.model = oe.load_hf(hf)
        kind = self.model.config.model_type
        pil = {"clip": "CLIPImageProcessorPil", "siglip": "SiglipImageProcessorPil"}[kind]
        processor = {"clip": "CLIPProcessor", "siglip": "SiglipProcessor"}[kind]
        self.processor = getattr(transformers, processor)(
            image_processor=getattr(transformers, pil).from_pretrained(hf),
            tokenizer=transformers.AutoTokenizer.from_pretrained(hf),
        )
        self.length = self.model.config.text_config.max_position_embeddings

    def _text(self, captions: list[str], tensors: str) -> Any:
        return self.processor(
            text=captions,
            padding="max_length",
            max_length=self.length,
            truncation=True,
            return_tensors=tensors,
        )

    def tokenize(self, captions: list[str]) -> np.ndarray:
        return np.asarray(self._text(captions, "np")["input_ids"])

    def images(self, photos: list[Image.Image]) -> np.ndarray:
        with torch.no_grad():
            inputs = self.processor(images=photos, return_tensors="pt")
            features = oe._features(self.model.get_image_features(**inputs))
            return np.asarray(torch.nn.functional.normalize(features, dim=-1).numpy())

    def texts(self, captions: list[str]) -> np.ndarray:
        with torch.no_grad():
            features = oe._features(self.model.get_text_features(**self._text(captions, "pt")))
            return np.asarray(torch.nn.functional.normalize(features, dim=-1).numpy())


def _default_processor_figure(hf: Path, folder: Path, spec: Any, name: str) -> None:
    """How far transformers' default (torchvision) image processor is from our Pillow-exact
    path: recorded, and held to 0.999 (its bicubic is not Pillow's)."""
    model = load_model(folder, spec=spec)
    photos = [im for _, im in _photos()]
    processor = transformers.AutoImageProcessor.from_pretrained(hf)
    reference = TransformersReference(hf)
    with torch.no_grad():
        pixels = processor(images=photos, return_tensors="pt")["pixel_values"]
        want = oe._features(reference.model.get_image_features(pixel_values=pixels))
        want = torch.nn.functional.normalize(want, dim=-1).numpy()
    ours = model.image.encode_images(photos)
    cos = (ours * want).sum(axis=1)
    # and what torchvision's crop rounding (open_clip's) would cost against the Pillow one
    rounded = replace(
        spec,
        image=replace(spec.image, preprocess=replace(spec.image.preprocess, crop_offset="round")),
    )
    pil = reference.images(photos)
    off = (load_model(folder, spec=rounded).image.encode_images(photos) * pil).sum(axis=1)
    _record(
        name,
        {
            "default_torchvision_processor_min_cosine_image": float(cos.min()),
            "crop_offset_round_min_cosine_image": float(off.min()),
        },
    )
    assert cos.min() >= 0.999, cos


@pytest.mark.slow
def test_clip_optimum_folder_matches_transformers(clip_export: tuple[Path, Path]) -> None:
    hf, folder = clip_export
    spec = describe_folder(folder, "hf-clip-b32-optimum")
    assert spec.layout == "optimum" and spec.family == "clip" and spec.dim == 512
    assert spec.text.inputs == ("input_ids", "attention_mask")
    assert (spec.image.output, spec.text.output) == ("image_embeds", "text_embeds")
    assert spec.text.tokenizer.kind == "hf" and spec.text.context_length == 77
    assert spec.image.preprocess.crop_offset == "floor"
    assert spec.variants["fp16"]["image"] == "onnx/vision_model_fp16.onnx"
    # graphs of other precisions beside the fp32 ones are variants (int8: *_quantized / *_int8)
    beside = Path(tempfile.mkdtemp(dir=folder.parent))
    try:
        for name in [*spec.runtime_files]:
            (beside / name).parent.mkdir(parents=True, exist_ok=True)
            (beside / name).symlink_to(folder / name)
        for tower in ("vision", "text"):
            (beside / f"onnx/{tower}_model_int8.onnx").symlink_to(
                folder / f"onnx/{tower}_model.onnx"
            )
        int8 = describe_folder(beside).variants["int8"]
        assert int8 == {"image": "onnx/vision_model_int8.onnx", "text": "onnx/text_model_int8.onnx"}
    finally:
        shutil.rmtree(beside)
    # model.json round trip: what an install writes is what every start reads
    assert hub_spec(json.loads(json.dumps(spec_to_json(spec))), "model.json") == spec
    _check_parity(spec, folder, TransformersReference(hf))
    _default_processor_figure(hf, folder, spec, spec.id)


@pytest.mark.slow
def test_siglip_optimum_folder_matches_transformers(siglip_export: tuple[Path, Path]) -> None:
    hf, folder = siglip_export
    spec = describe_folder(folder, "hf-siglip-b16-optimum")
    assert spec.layout == "optimum" and spec.family == "siglip" and spec.dim == 768
    assert spec.text.inputs == ("input_ids",) and spec.logit_scale is None
    assert spec.image.preprocess.resize == "squash" and spec.text.context_length == 64
    assert spec.text.tokenizer.padding == "max_length"
    _check_parity(spec, folder, TransformersReference(hf))
    _default_processor_figure(hf, folder, spec, spec.id)


@pytest.mark.slow
def test_immich_folder_described_as_its_catalogue_entry() -> None:
    catalogue, folder = exported_model("clip-vit-b-32-openai")
    spec = describe_folder(folder)
    assert spec.layout == "immich" and spec.dim == catalogue.dim
    assert spec.image.preprocess == catalogue.image.preprocess
    assert spec.text.inputs == catalogue.text.inputs and spec.text.output == catalogue.text.output
    for key in ("kind", "context_length", "pad_id", "clean", "padding"):
        assert getattr(spec.text.tokenizer, key) == getattr(catalogue.text.tokenizer, key), key
    assert spec.variants["fp16"] == catalogue.variants["fp16"]
    ours, theirs = load_model(folder, spec=spec), load_model(folder, spec=catalogue)
    photos = [im for _, im in _photos()[:3]]
    np.testing.assert_array_equal(
        ours.image.encode_images(photos), theirs.image.encode_images(photos)
    )
    captions = TRICKY_CAPTIONS[:6]
    np.testing.assert_array_equal(ours.text.encode(captions), theirs.text.encode(captions))


# -- `mmsearch models import FOLDER` of a bare folder -------------------------------------


@pytest.mark.slow
def test_import_installs_a_bare_optimum_folder(
    clip_export: tuple[Path, Path], tmp_path: Path
) -> None:
    from mmsearch.encoders.formats import MODEL_FILE, load_spec
    from mmsearch.services.models.install import ModelImportError, import_model

    _, folder = clip_export
    named = tmp_path / "clip-vit-base-patch32"  # as a user's copy of the hub repo is named
    named.symlink_to(folder, target_is_directory=True)
    target = import_model(named, tmp_path / "data")
    assert target.name == "clip-vit-base-patch32"
    installed = load_spec(target)
    described = describe_folder(folder, "clip-vit-base-patch32")
    assert installed.layout == "optimum" and installed.image == described.image
    assert installed.text == described.text and installed.variants == described.variants
    assert all(f.sha256 for f in installed.files)  # hashed as installed
    data = json.loads((target / MODEL_FILE).read_text())
    assert data["installed"]["from"] == "import" and data["installed"]["path"] == str(named)
    photos = [im for _, im in _photos()[:2]]
    np.testing.assert_allclose(
        load_model(target).image.encode_images(photos),
        load_model(folder, spec=described).image.encode_images(photos),
        atol=1e-6,
    )
    # a bare folder missing a file is refused with the file named, nothing installed
    broken = tmp_path / "broken-export"
    (broken / "onnx").mkdir(parents=True)
    for name in ("config.json", "tokenizer.json", "onnx/vision_model.onnx"):
        (broken / name).symlink_to(folder / name)
    (broken / "onnx" / "text_model.onnx").symlink_to(folder / "onnx" / "text_model.onnx")
    with pytest.raises(ModelImportError, match=r"preprocessor_config\.json is missing"):
        import_model(broken, tmp_path / "data")
    assert not (tmp_path / "data" / "models" / "broken-export").exists()

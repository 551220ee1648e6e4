"""The runtime encoders (`mmsearch.encoders`): specs, model folders, preprocessing, ONNX runs.

These use the built bundled model (the `bundled_model_dir` fixture) but never torch.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mmsearch.encoders import Model, ModelError, find_model_dir, load_model, load_spec
from mmsearch.encoders.formats import SPEC_FILE, own_spec
from mmsearch.paths import BUNDLED_MODEL_ID, CONSE_MODEL_ID, repo_root


@pytest.fixture(scope="module")
def model(bundled_model_dir: Path) -> Model:
    return load_model(bundled_model_dir, threads=2)


@pytest.fixture(scope="module")
def conse(conse_model_dir: Path) -> Model:
    """The ConSE model: its spec uses the centre-crop rule."""
    return load_model(conse_model_dir, threads=2)


def linked_copy(model_dir: Path, dest: Path) -> Path:
    """A model folder at `dest` whose big files are symlinks to `model_dir`'s, spec copied."""
    dest.mkdir(parents=True)
    for item in model_dir.iterdir():
        if item.name == SPEC_FILE:
            (dest / SPEC_FILE).write_bytes(item.read_bytes())
        else:
            (dest / item.name).symlink_to(item.resolve())
    return dest


def scene(width: int, height: int, seed: int = 0, mode: str = "RGB") -> Image.Image:
    """A synthetic picture: a gradient sky, a ground band and a few filled shapes."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height)[:, None, None]
    sky = np.concatenate([40 + 80 * y, 90 + 100 * y, 200 - 60 * y], axis=2) * np.ones((1, width, 1))
    image = Image.fromarray(sky.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, int(height * 0.7), width, height), fill=(70, 120, 40))
    for _ in range(4):
        x0, y0 = int(rng.integers(0, width - 20)), int(rng.integers(0, height - 20))
        size = int(rng.integers(10, max(11, min(width, height) // 3)))
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        draw.ellipse((x0, y0, x0 + size, y0 + size), fill=color)
    return image.convert(mode)


# -- model folders and specs --------------------------------------------------------------


def test_find_model_dir_takes_the_first_folder_that_has_the_model(tmp_path: Path) -> None:
    first, second, empty = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for folder in (first, second):
        (folder / "m").mkdir(parents=True)
        (folder / "m" / SPEC_FILE).write_text("{}")
    assert find_model_dir("m", [empty, second, first]) == second / "m"
    assert find_model_dir("m", [first, second]) == first / "m"


def test_find_model_dir_names_the_folders_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        find_model_dir("nope", [tmp_path / "x", tmp_path / "y"])
    message = str(err.value)
    assert str(tmp_path / "x") in message and str(tmp_path / "y") in message
    assert "make install" in message and "mmsearch models list" in message


def test_conse_spec_loads_and_round_trips(conse_model_dir: Path) -> None:
    spec = load_spec(conse_model_dir)
    assert spec.id == CONSE_MODEL_ID and spec.family == "conse" and spec.dim == 384
    assert spec.layout == "mmsearch"
    assert spec.image.preprocess.resize == "shortest" and spec.image.preprocess.sampling == "box"
    assert spec.text.context_length == 256 and spec.text.tokenizer.padding == "longest"
    assert spec.text.inputs == ("input_ids", "attention_mask")
    assert set(spec.runtime_files) == {spec.image.file, spec.text.file, spec.text.tokenizer.file}
    assert "Apache-2.0" in spec.license and spec.sources
    assert own_spec(json.loads(json.dumps(dict(spec.data)))) == spec


def edit_spec(folder: Path, **changes: object) -> None:
    data = json.loads((folder / SPEC_FILE).read_text())
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    (folder / SPEC_FILE).write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"dim": None}, "'dim' is missing"),
        ({"dim": "384"}, "'dim' must be an integer"),
        ({"mean": [0.5, 0.5]}, "'mean' must be a list of 3"),
        ({"std": [0.5, 0.0, 0.5]}, "'std' must be a list of 3 positive"),
        ({"resize": "letterbox"}, "'resize' must be one of"),
        ({"text_inputs": ["ids"]}, "'text_inputs' must be"),
        ({"schema": 99}, "newer than this mmsearch reads"),
        ({"image_file": "other.onnx"}, "'other.onnx' is not listed"),
    ],
)
def test_bad_spec_fields_are_named(
    bundled_model_dir: Path, tmp_path: Path, changes: dict[str, object], expected: str
) -> None:
    folder = linked_copy(bundled_model_dir, tmp_path / "m")
    edit_spec(folder, **changes)
    with pytest.raises(ModelError, match=expected) as err:
        load_spec(folder)
    assert str(folder / SPEC_FILE) in str(err.value)


def test_missing_or_broken_spec_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="make install") as err:
        load_spec(tmp_path)
    assert str(tmp_path / SPEC_FILE) in str(err.value)
    (tmp_path / SPEC_FILE).write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_spec(tmp_path)


def test_missing_or_truncated_model_file_is_named(bundled_model_dir: Path, tmp_path: Path) -> None:
    folder = linked_copy(bundled_model_dir, tmp_path / "m")
    (folder / "text.onnx").unlink()
    with pytest.raises(ModelError, match=re.escape("text.onnx is missing")):
        load_model(folder)
    (folder / "text.onnx").write_bytes(b"truncated")
    with pytest.raises(ModelError, match=re.escape("text.onnx has 9 bytes")):
        load_model(folder)


def test_a_changed_file_is_hashed_and_refused(bundled_model_dir: Path, tmp_path: Path) -> None:
    folder = linked_copy(bundled_model_dir, tmp_path / "m")
    load_model(folder)
    tokenizer = folder / "tokenizer.json"
    data = bytearray(tokenizer.read_bytes())
    tokenizer.unlink()
    data[-2] = ord(" ") if data[-2] != ord(" ") else ord("\n")  # same size, other bytes
    tokenizer.write_bytes(bytes(data))
    # its size is right but its ctime changed: a normal start hashes it again
    for verify in (False, True):
        with pytest.raises(ModelError, match=re.escape("tokenizer.json of model")) as err:
            load_model(folder, verify=verify)
        assert "is damaged" in str(err.value)
    load_model(bundled_model_dir, verify=True)


def test_a_damaged_graph_fails_on_first_use_with_its_name(
    bundled_model_dir: Path, tmp_path: Path
) -> None:
    folder = linked_copy(bundled_model_dir, tmp_path / "m")
    model = load_model(folder)  # verified; sessions are lazy: the graphs are not opened yet
    image = folder / "image.onnx"
    size = image.stat().st_size
    image.unlink()
    image.write_bytes(b"\0" * size)  # damaged after the load
    assert model.text.encode(["still works"]).shape == (1, 384)
    with pytest.raises(ModelError, match=re.escape("image.onnx")):
        model.image.encode_images([scene(300, 200)])


# -- preprocessing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "mode"),
    [
        ((640, 480), "RGB"),
        ((300, 900), "L"),
        ((500, 500), "RGBA"),
        ((257, 241), "P"),
        ((90, 60), "RGB"),
    ],
)
def test_preprocess_gives_normalized_square_pixels(
    model: Model, size: tuple[int, int], mode: str
) -> None:
    s = model.spec.image.size
    pixels = model.image.preprocess(scene(*size, mode=mode))
    assert pixels.shape == (3, s, s) and pixels.dtype == np.float32
    assert pixels.flags.c_contiguous
    lo = (0 - np.array(model.spec.image.preprocess.mean)) / np.array(
        model.spec.image.preprocess.std
    )
    hi = (1 - np.array(model.spec.image.preprocess.mean)) / np.array(
        model.spec.image.preprocess.std
    )
    # bicubic may overshoot a little at edges, never far
    assert (pixels.min(axis=(1, 2)) >= lo - 0.2).all() and (
        pixels.max(axis=(1, 2)) <= hi + 0.2
    ).all()


def test_preprocess_keeps_the_centre_square_only(conse: Model) -> None:
    model = conse
    s = model.spec.image.size
    wide = Image.new("RGB", (4 * s, 2 * s), (255, 0, 0))
    wide.paste((0, 0, 255), (s, 0, 3 * s, 2 * s))  # blue centre square, red side bands
    pixels = model.image.preprocess(wide)
    mean, std = (
        np.array(model.spec.image.preprocess.mean),
        np.array(model.spec.image.preprocess.std),
    )
    rgb = pixels.transpose(1, 2, 0) * std + mean
    # the bicubic filter reaches a pixel or two past the square's edge, as resize-then-crop does
    assert np.allclose(rgb[:, 2:-2], [0, 0, 1], atol=0.01)
    assert np.allclose(rgb, [0, 0, 1], atol=0.1)
    tall = model.image.preprocess(wide.transpose(Image.Transpose.ROTATE_90))
    assert np.allclose((tall.transpose(1, 2, 0) * std + mean)[2:-2], [0, 0, 1], atol=0.01)


@pytest.mark.parametrize("scale", [2, 7])
def test_preprocess_matches_a_plain_resize_of_the_crop(conse: Model, scale: int) -> None:
    model = conse
    s = model.spec.image.size
    photo = scene(scale * s + 40, scale * s, seed=3)
    crop = photo.crop((20, 0, scale * s + 20, scale * s)).resize((s, s), Image.Resampling.BICUBIC)
    want = (
        np.asarray(crop, np.float32) / 255 - model.spec.image.preprocess.mean
    ) / model.spec.image.preprocess.std
    got = model.image.preprocess(photo).transpose(1, 2, 0)
    # Equal but for the border (our filter sees past the crop, as resize-then-crop would) and,
    # at large scales, the reducing gap's cheap first shrink.
    assert np.abs(got - want).mean() < 1e-3


# -- encoding -----------------------------------------------------------------------------


def test_image_embeddings_are_unit_rows_and_batch_independent(model: Model) -> None:
    images = [scene(320, 240, seed=i) for i in range(3)]
    together = model.image.encode_images(images)
    assert together.shape == (3, model.spec.dim) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1, atol=1e-5)
    alone = np.concatenate([model.image.encode_images([im]) for im in images])
    assert np.abs(together - alone).max() < 1e-5
    assert model.image.encode_images([]).shape == (0, model.spec.dim)
    with pytest.raises(ValueError, match="expected pixels of shape"):
        model.image.encode(np.zeros((1, 3, 10, 10), np.float32))


def test_text_embeddings_are_unit_rows_and_padding_free(model: Model) -> None:
    short = "a dog runs on the beach"
    long = "a group of people stand in front of an old stone church on a sunny day " * 3
    together = model.text.encode([short, long, ""])
    assert together.shape == (3, 384) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1, atol=1e-5)
    # the short text was padded to the long one's length in the batch: no effect allowed
    assert np.abs(model.text.encode([short])[0] - together[0]).max() < 1e-5
    assert model.text.encode([]).shape == (0, 384)
    with pytest.raises(TypeError):
        model.text.encode("not a list")


def test_overlong_text_is_truncated_to_the_context_length(model: Model) -> None:
    tokens = model.text.tokenize(["word " * 1000, "hi"])
    assert tokens.ids.shape == (2, model.spec.text.context_length)
    assert tokens.mask[1].sum() == 3  # [CLS] hi [SEP]
    assert model.text.encode(["word " * 1000]).shape == (1, 384)


def test_many_texts_are_encoded_in_batches(model: Model) -> None:
    texts = [f"photo number {i}" for i in range(150)]
    out = model.text.encode(texts)
    assert out.shape == (150, 384)
    assert np.abs(out[137] - model.text.encode([texts[137]])[0]).max() < 1e-5


def test_text_space_is_semantic(model: Model) -> None:
    dog, puppy, tower = model.text.encode(["a dog", "a puppy", "a skyscraper"])
    assert dog @ puppy > dog @ tower + 0.2


def test_runtime_never_imports_torch(bundled_model_dir: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from PIL import Image\n"
        "from mmsearch.encoders import load_model\n"
        f"m = load_model(Path({str(bundled_model_dir)!r}))\n"
        "m.text.encode(['a cat']); m.image.encode_images([Image.new('RGB', (300, 250))])\n"
        "heavy = {'torch', 'transformers', 'torchvision', 'onnx'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    env = dict(os.environ, PYTHONPATH=str(repo_root()))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


# -- fusion heads and the squash rule -------------------------------------------------------


def test_specs_without_fusion_still_load(conse_model_dir: Path) -> None:
    spec = load_spec(conse_model_dir)
    assert spec.fusion is None and "fusion" not in spec.data
    assert load_model(conse_model_dir).fusion is None


def test_bundled_spec_has_a_fusion_head(bundled_model_dir: Path) -> None:
    spec = load_spec(bundled_model_dir)
    assert spec.id == BUNDLED_MODEL_ID and spec.family == "matching"
    assert spec.fusion is not None and spec.fusion.file in {f.name for f in spec.files}
    assert spec.fusion.regions >= 1 and spec.fusion.region_dim >= 1 and spec.fusion.weight > 0
    assert own_spec(json.loads(json.dumps(dict(spec.data)))) == spec


@pytest.mark.parametrize(
    ("fusion", "expected"),
    [
        ({"file": "nope.onnx", "regions": 9, "region_dim": 8, "weight": 0.1}, "is not listed"),
        ({"file": "text.onnx", "regions": 9, "region_dim": 8, "weight": "x"}, "must be a number"),
        ({"file": "text.onnx", "regions": 0, "region_dim": 8, "weight": 1}, "'fusion.regions'"),
        ({"file": "text.onnx", "region_dim": 8, "weight": 1}, "'fusion.regions' is missing"),
    ],
)
def test_bad_fusion_fields_are_named(
    conse_model_dir: Path, tmp_path: Path, fusion: dict[str, object], expected: str
) -> None:
    folder = linked_copy(conse_model_dir, tmp_path / "m")
    edit_spec(folder, fusion=fusion)
    with pytest.raises(ModelError, match=expected):
        load_spec(folder)


def test_squash_resamples_the_whole_photo(bundled_model_dir: Path) -> None:
    model = load_model(bundled_model_dir)
    assert model.spec.image.preprocess.resize == "squash"
    s = model.spec.image.size
    photo = scene(3 * s, 2 * s, seed=5)
    want = photo.resize((s, s), Image.Resampling.BICUBIC)
    want_pixels = (
        np.asarray(want, np.float32) / 255 - model.spec.image.preprocess.mean
    ) / model.spec.image.preprocess.std
    got = model.image.preprocess(photo).transpose(1, 2, 0)
    assert np.abs(got - want_pixels).mean() < 2e-3  # the reducing gap's cheap first shrink


def _float32_weights(path: Path) -> int:
    """How many float32 values the graph's large initializers hold."""
    import onnx

    graph = onnx.load(str(path)).graph
    return sum(
        int(np.prod(init.dims))
        for init in graph.initializer
        if init.data_type == onnx.TensorProto.FLOAT and int(np.prod(init.dims)) >= 4096
    )


def test_fp16_twins_of_our_model_embed_like_the_fp32_graphs(
    model: Model, bundled_model_dir: Path, tmp_path: Path
) -> None:
    """What a GPU runs (made once, cached by id and version), checked on the CPU."""
    from mmsearch.encoders.half import fp16_twins
    from tests.conftest import SAMPLE_PHOTOS, skimage_photo

    cache = tmp_path / "fp16"
    half = load_model(bundled_model_dir, precision="fp16", fp16_cache=cache)
    assert half.precision == "fp16" and half.fusion is not None and model.fusion is not None
    twins = fp16_twins(bundled_model_dir, model.spec, cache)  # already made: returned as is
    assert twins.parent == cache and twins.name.endswith(model.spec.version)
    for name in model.spec.graphs():  # float16 weights (text.onnx already stores them so)
        assert _float32_weights(twins / name) == 0, name
    assert _float32_weights(bundled_model_dir / "image.onnx") > 1_000_000  # the fp32 source
    photos = []
    for source in SAMPLE_PHOTOS.values():
        with Image.open(skimage_photo(source)) as im:
            photos.append(im.convert("RGB"))
    pixels = np.stack([model.image.preprocess(p) for p in photos])
    full, full_regions = model.image.encode_with_regions(pixels)
    got, regions = half.image.encode_with_regions(pixels)
    assert (full * got).sum(axis=1).min() > 0.999
    assert full_regions is not None and regions is not None
    texts = ["a cat on a sofa", "two kids on a beach at sunset", "a rocket", "café crème"]
    assert (model.text.encode(texts) * half.text.encode(texts)).sum(axis=1).min() > 0.999
    _, tokens, mask = model.text.encode_with_tokens(texts[:1])
    want = model.fusion.text_against_photos(tokens[0], mask[0], full_regions)
    logits = half.fusion.text_against_photos(tokens[0], mask[0], regions)
    np.testing.assert_allclose(logits, want, atol=0.05 * float(np.abs(want).max()) + 0.05)

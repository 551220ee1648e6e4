"""The ConSE model's ONNX graphs against the torch modules they were exported from.

Torch, transformers and the weight packages are build dependencies (`.[build]`), present
wherever `make test` runs. Real photos come from ../shared/photos-large when it is there;
synthetic pictures are always checked, so this file never skips entirely.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES
from PIL import Image, ImageDraw, ImageOps

from mmsearch.encoders import Model, load_model
from models.bundled import conse as build
from models.common import text_model_dir

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "photos-large"
TOLERANCE = 1e-4  # max abs difference, ONNX Runtime vs torch, on unit vectors and on logits

needs_photos = pytest.mark.skipif(
    not (PHOTOS / "Dragonfly_by_Bolly.jpg").is_file(),
    reason=f"real photos not present at {PHOTOS} (../shared is not part of the repository)",
)


@pytest.fixture(scope="module")
def model(conse_model_dir: Path) -> Model:
    return load_model(conse_model_dir, threads=2)


@pytest.fixture(scope="module")
def reference() -> build.Reference:
    """The torch modules, rebuilt from the installed packages by the recipe itself."""
    torch.set_num_threads(2)
    return build.load_reference()


@pytest.fixture(scope="module")
def image_graph_with_logits(conse_model_dir: Path, model: Model) -> ort.InferenceSession:
    """The shipped image graph with its ImageNet logits (the classifier's output, the first
    (N, 1000) tensor it computes) exposed as a second output."""
    graph = onnx.load(str(conse_model_dir / model.spec.image.file))
    produced = {name: i for i, node in enumerate(graph.graph.node) for name in node.output}
    inferred = onnx.shape_inference.infer_shapes(graph).graph.value_info
    logits = min(
        (
            v
            for v in inferred
            if v.name in produced
            and [d.dim_value for d in v.type.tensor_type.shape.dim][-1:] == [1000]
        ),
        key=lambda v: produced[v.name],
    )
    graph.graph.output.append(logits)
    return ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])


def run_with_logits(
    session: ort.InferenceSession, pixels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    embedding, logits = session.run(None, {"pixels": pixels})
    return embedding, logits


def synthetic_pictures() -> list[Image.Image]:
    """Pictures with structure (shapes, gradients, texture), of several sizes and modes."""
    rng = np.random.default_rng(7)
    pictures = []
    for i, (w, h) in enumerate([(320, 240), (240, 400), (512, 512), (260, 250)]):
        y, x = np.mgrid[0:h, 0:w] / max(w, h)
        base = np.stack([x * 255, y * 255, (1 - x) * 128 + 60 * np.sin(20 * y)], axis=2)
        image = Image.fromarray(base.clip(0, 255).astype(np.uint8), "RGB")
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
            color = tuple(int(c) for c in rng.integers(0, 255, 3))
            draw.rectangle((x0, y0, x0 + int(rng.integers(10, 80)), y0 + 30), fill=color)
        if i == 3:
            image = image.convert("L")  # grey photos exist too
        pictures.append(image)
    noise = rng.integers(0, 255, (300, 300, 3), dtype=np.uint8)
    pictures.append(Image.fromarray(noise, "RGB"))
    return pictures


def real_photo(
    name: str, min_side: int, box: tuple[float, float, float, float] | None = None
) -> Image.Image:
    """A photo decoded at reduced size as the app does (JPEG draft), upright; `box` crops it
    by fractions of its size."""
    with Image.open(PHOTOS / name) as im:
        im.draft("RGB", (min_side, min_side))
        image = ImageOps.exif_transpose(im).convert("RGB")
    if box:
        w, h = image.size
        image = image.crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))
    return image


DRAGONFLY_BOX = (0.35, 0.25, 0.85, 0.6)  # around the insect, which is small in the frame


def check_image_parity(
    model: Model,
    reference: build.Reference,
    session: ort.InferenceSession,
    images: list[Image.Image],
) -> None:
    pixels = np.stack([model.image.preprocess(im) for im in images])
    got = model.image.encode(pixels)
    embedding, logits = run_with_logits(session, pixels)
    with torch.inference_mode():
        tensor = torch.from_numpy(pixels)
        # the package's own forward: catches a wrong backbone, not only a wrong wrapper
        want_logits = reference.image.backbone(tensor).numpy()
        want = reference.image(tensor).numpy()
    assert np.abs(logits - want_logits).max() < TOLERANCE * max(1.0, np.abs(want_logits).max())
    assert (logits.argmax(1) == want_logits.argmax(1)).all()
    assert np.abs(got - want).max() < TOLERANCE
    assert np.abs(embedding - got).max() < TOLERANCE


def test_image_graph_matches_torch_on_synthetic_pictures(
    model: Model, reference: build.Reference, image_graph_with_logits: ort.InferenceSession
) -> None:
    check_image_parity(model, reference, image_graph_with_logits, synthetic_pictures())


@needs_photos
def test_image_graph_matches_torch_on_real_photos(
    model: Model, reference: build.Reference, image_graph_with_logits: ort.InferenceSession
) -> None:
    size = model.spec.image.size
    photos = [real_photo(p.name, size) for p in sorted(PHOTOS.glob("*.jpg"))]
    photos.append(real_photo("Dragonfly_by_Bolly.jpg", 2 * size, DRAGONFLY_BOX))
    assert len(photos) >= 10
    check_image_parity(model, reference, image_graph_with_logits, photos)


@needs_photos
@pytest.mark.parametrize(
    ("name", "box", "label"),
    [
        ("Dragonfly_by_Bolly.jpg", DRAGONFLY_BOX, "dragonfly"),
        ("Picture_1A_by_freespace.jpg", None, "paintbrush"),
        ("life_by_Aitzol_Berasategi.jpg", None, "valley"),
        ("friends_by_Aitzol_Berasategi.jpg", None, "Cocker Spaniel"),
        ("greentock_by_Peter_Nerlich.jpg", None, "wall clock"),
    ],
)
def test_top_imagenet_class_of_a_real_photo_is_right(
    model: Model,
    image_graph_with_logits: ort.InferenceSession,
    name: str,
    box: tuple[float, float, float, float] | None,
    label: str,
) -> None:
    photo = real_photo(name, 2 * model.spec.image.size, box)
    _, logits = run_with_logits(image_graph_with_logits, model.image.preprocess(photo)[None])
    assert IMAGENET_CLASSNAMES[int(logits[0].argmax())] == label


@needs_photos
def test_real_photos_find_their_description(model: Model) -> None:
    texts = [
        "a dragonfly on a twig",
        "a dog",
        "a clock on a wall",
        "snowy mountains",
        "a paintbrush",
        "a bowl of soup",
    ]
    photos = {
        "Dragonfly_by_Bolly.jpg": "a dragonfly on a twig",  # the whole frame, insect and all
        "friends_by_Aitzol_Berasategi.jpg": "a dog",
        "greentock_by_Peter_Nerlich.jpg": "a clock on a wall",
        "picosdeeuropa_by_Aitzol_Berasategi.jpg": "snowy mountains",
        "Picture_1A_by_freespace.jpg": "a paintbrush",
    }
    size = model.spec.image.size
    images = model.image.encode_images([real_photo(name, size) for name in photos])
    best = (images @ model.text.encode(texts).T).argmax(axis=1)
    assert [texts[i] for i in best] == list(photos.values())


CAPTIONS = [
    "A dog runs through the grass .",
    "Crème brûlée au café, déjà vu à Zürich — naïve façade!",
    "Two kids 🏄‍♂️ surfing at sunset 🌅 #beach",
    "ÀÉÎÕÜ ñ ß ø 東京タワー の 夜景",
    "   leading and trailing spaces   ",
    "",
    "an overlong caption " * 120,
]


def test_tokenizer_matches_transformers(model: Model) -> None:
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(text_model_dir()))
    want = hf(CAPTIONS, padding=True, truncation=True, max_length=model.spec.text.context_length)
    got = model.text.tokenize(CAPTIONS)
    assert got.ids.tolist() == want["input_ids"]
    assert got.mask.tolist() == want["attention_mask"]
    assert got.ids.shape[1] == model.spec.text.context_length  # the overlong one is cut


def test_text_graph_matches_torch(model: Model, reference: build.Reference) -> None:
    got = model.text.encode(CAPTIONS)
    with torch.inference_mode():
        want = reference.text(*build.tokenize(reference.tokenizer, CAPTIONS)).numpy()
    assert np.abs(got - want).max() < TOLERANCE


def test_text_graph_matches_sentence_transformers(model: Model) -> None:
    st = pytest.importorskip("sentence_transformers")
    encoder = st.SentenceTransformer(str(text_model_dir()), device="cpu")
    want = encoder.encode(CAPTIONS, normalize_embeddings=True, convert_to_numpy=True)
    assert np.abs(model.text.encode(CAPTIONS) - want).max() < TOLERANCE


def test_spec_records_the_recipe(model: Model, reference: build.Reference) -> None:
    assert model.spec.version == build.RECIPE_VERSION
    assert dict(model.spec.recipe) == build.recipe()
    assert model.spec.image.size == reference.image_size
    assert (
        model.spec.image.preprocess.mean == build.MEAN
        and model.spec.image.preprocess.std == build.STD
    )


def test_build_is_idempotent(conse_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert build.is_up_to_date(conse_model_dir), "stale build: run `make install`"
    before = (conse_model_dir / "spec.json").stat().st_mtime_ns
    build.build(conse_model_dir.parent)
    assert "up to date" in capsys.readouterr().out
    assert (conse_model_dir / "spec.json").stat().st_mtime_ns == before

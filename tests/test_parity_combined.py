"""A graph holding both towers, as transformers.js publishes Chinese-CLIP
(`Xenova/chinese-clip-vit-base-patch16`: one `onnx/model.onnx` that needs `pixel_values` and
`input_ids` together), runs through the one runtime: each encoder feeds the other tower a
one-row dummy. Proven by parity: our recipe's Chinese-CLIP export (random weights) merged
into one graph with the Optimum names, run with the catalogue's `chinese-clip-vit-b-16-optimum`
spec, against cn_clip in torch (cosine >= 0.9999, ids identical)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from clip_support import exported_model

from mmsearch.encoders import load_model
from mmsearch.encoders.half import write_fp16
from mmsearch.encoders.model import probe_images
from mmsearch.services.models import get_spec

onnx = pytest.importorskip("onnx")
pytest.importorskip("cn_clip")
parity = pytest.importorskip("test_clip_parity")

OPTIMUM_ID = "chinese-clip-vit-b-16-optimum"


def _renamed(model: Any, names: dict[str, str]) -> Any:
    """`model` with its graph inputs/outputs renamed (every use of the old name too)."""
    graph = model.graph
    for value in [*graph.input, *graph.output]:
        if value.name in names:
            value.name = names[value.name]
    for node in graph.node:
        node.input[:] = [names.get(n, n) for n in node.input]
        node.output[:] = [names.get(n, n) for n in node.output]
    return model


def combine(image_graph: Path, text_graph: Path, out: Path) -> None:
    """One ONNX graph holding both towers, with the input/output names Optimum gives
    Chinese-CLIP (`pixel_values`, `input_ids` -> `image_embeds`, `text_embeds`)."""
    from onnx import compose

    image = compose.add_prefix(onnx.load(str(image_graph)), "vision_")
    text = compose.add_prefix(onnx.load(str(text_graph)), "text_")
    image = _renamed(image, {"vision_image": "pixel_values", "vision_embedding": "image_embeds"})
    text = _renamed(text, {"text_text": "input_ids", "text_embedding": "text_embeds"})
    opset = max(image.opset_import[0].version, text.opset_import[0].version)
    for m in (image, text):
        m.opset_import[0].version = opset
    both = compose.merge_models(image, text, io_map=[])
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(both, str(out))


@pytest.fixture(scope="module")
def combined(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Any]:
    from models.clip import export

    immich_spec, exported = exported_model("chinese-clip-vit-b-16")
    spec = get_spec(OPTIMUM_ID)
    assert spec.combined and spec.layout == "optimum"
    folder = tmp_path_factory.mktemp("combined")
    combine(
        exported / immich_spec.image.file,
        exported / immich_spec.text.file,
        folder / spec.image.file,
    )
    # The fp16 variant the hub publishes beside it, converted as ours are.
    fp16 = spec.graph_files("fp16")
    assert fp16 is not None
    write_fp16(folder / spec.image.file, folder / fp16[0])
    shutil.copy(exported / immich_spec.text.tokenizer.file, folder / spec.text.tokenizer.file)
    for name in spec.runtime_files:
        if not (folder / name).exists():
            (folder / name).write_text("{}\n")  # configs the runtime does not read
    return spec, folder, export.create_model(immich_spec, seed=0)


def test_one_graph_both_towers_needs_both_inputs(combined: tuple[Any, Path, Any]) -> None:
    import onnxruntime as ort

    spec, folder, _ = combined
    session = ort.InferenceSession(str(folder / spec.image.file))
    assert {i.name for i in session.get_inputs()} == {"pixel_values", "input_ids"}
    model = load_model(folder, spec=spec)
    assert model.text.encode(["一只猫", "a dog"]).shape == (2, spec.dim)
    assert model.image.encode_images(probe_images()).shape[1] == spec.dim


@pytest.mark.slow
def test_combined_graph_matches_cn_clip(combined: tuple[Any, Path, Any]) -> None:
    spec, folder, model = combined
    parity._check_parity(spec, folder, parity.CnClipReference(spec, model))

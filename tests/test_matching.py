"""The matching model's training, export and use, on a tiny generated set.

A few training steps on 24 synthetic captioned pictures through `mmsearch train` (the loss
must fall, checkpoints must resume), `mmsearch export` (ONNX graphs within 1e-4 of torch),
then the exported model indexes, searches (with fusion re-ranking) and ranks captions
through the CLI. Torch is a build dependency (`.[build]`), present wherever `make test` runs.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from mmsearch.cli import main
from mmsearch.encoders import load_model
from models.common import tokenize
from models.matching import data as D
from models.matching.export import Graphs, build_graphs, load_trained
from models.matching.model import MatchingConfig, MatchingModel, reverse_padded
from models.matching.train import Trainer

COLORS = {
    "red": (220, 30, 30),
    "green": (30, 180, 40),
    "blue": (30, 60, 220),
    "yellow": (240, 220, 20),
}
SHAPES = ("circle", "square", "triangle")
TINY = [
    "backbone=efficientnet-lite0",
    "random_crops=1",
    "val_photos=6",
    "batch_size=8",
    "image_hidden=64",
    "gru_hidden=32",
    "fusion_dim=32",
    "fusion_layers=1",
    "fusion_heads=2",
    "fusion_batch=8",
    "fusion_negatives=3",
    "max_epochs=3",
    "fusion_epochs=1",
    "patience=5",
    "lr=0.003",
    "dropout=0.0",
    "rerank_top=4",
]


def picture(color: str, shape: str, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (160, 120), tuple(int(c) for c in rng.integers(150, 255, 3)))
    draw = ImageDraw.Draw(image)
    x, y, r = int(rng.integers(40, 120)), int(rng.integers(35, 85)), int(rng.integers(20, 32))
    box = (x - r, y - r, x + r, y + r)
    if shape == "circle":
        draw.ellipse(box, fill=COLORS[color])
    elif shape == "square":
        draw.rectangle(box, fill=COLORS[color])
    else:
        draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=COLORS[color])
    return image


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 pictures of coloured shapes with two captions each, as JSONL."""
    root = tmp_path_factory.mktemp("tiny")
    (root / "images").mkdir()
    lines = []
    for i in range(24):
        color, shape = list(COLORS)[i % 4], SHAPES[(i // 4) % 3]
        name = f"images/{i:02d}_{color}_{shape}.jpg"
        picture(color, shape, i).save(root / name, quality=90)
        for caption in (f"a {color} {shape}", f"a picture of a {shape} in {color}"):
            lines.append(json.dumps({"image": name, "caption": caption}))
    (root / "captions.jsonl").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def trained(tiny_set: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny training run through `mmsearch train`; returns its run folder."""
    out = tmp_path_factory.mktemp("run")
    args = ["train", "--captions", str(tiny_set / "captions.jsonl"), "--out", str(out)]
    args += ["--cache", str(out / "cache"), "--max-steps", "4", "--threads", "2"]
    for item in TINY:
        args += ["--set", item]
    assert main(args) == 0
    return out


@pytest.fixture(scope="module")
def exported(trained: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model exported through `mmsearch export`; returns the models folder."""
    models = tmp_path_factory.mktemp("models")
    weights = trained / "weights.safetensors"
    assert main(["export", "--weights", str(weights), "--out", str(models), "--id", "tiny"]) == 0
    return models


def test_training_lowers_the_loss_and_writes_its_results(trained: Path) -> None:
    history = json.loads((trained / "history.json").read_text())
    dual = [r for r in history["history"] if r["phase"] == "dual"]
    fusion = [r for r in history["history"] if r["phase"] == "fusion"]
    assert len(dual) == 3 and len(fusion) == 1
    assert dual[-1]["loss"] < dual[0]["loss"]
    assert {"t2i_R@1", "t2i_R@5", "t2i_R@10", "i2t_R@1"} <= set(dual[0])
    assert {"fused_R@1", "dual_R@1"} <= set(fusion[0])
    assert history["record"]["seed"] == 0
    assert history["record"]["command"].startswith("mmsearch train --captions ")
    assert (trained / "curves.png").stat().st_size > 1000
    assert (trained / "weights.safetensors").is_file()


def test_training_resumes_from_its_checkpoint(
    trained: Path, tiny_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from safetensors.numpy import load_file

    before = load_file(str(trained / "weights.safetensors"))
    args = ["train", "--captions", str(tiny_set / "captions.jsonl"), "--out", str(trained)]
    args += ["--cache", str(trained / "cache"), "--max-steps", "4"]
    for item in TINY:
        args += ["--set", item]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "resuming" in out and "[dual" not in out  # nothing left to train
    after = load_file(str(trained / "weights.safetensors"))  # the record's time may change
    assert after.keys() == before.keys()
    assert all(np.array_equal(after[k], before[k]) for k in before)
    with pytest.raises(SystemExit, match="another config"):
        main([*args[:-2], "--set", "lr=0.1"])


def test_the_dual_phase_loss_falls_within_a_few_steps(
    trained: Path, tiny_set: Path, tmp_path: Path
) -> None:
    config = MatchingConfig.from_dict(
        {k: json.loads(v) if v[0].isdigit() else v for k, v in (i.split("=") for i in TINY)}
    )
    from models.matching.train import prepare

    # the training run's cache: its features are there already
    features = prepare(config, tiny_set / "captions.jsonl", None, trained / "cache", print)
    trainer = Trainer(config, features, tmp_path / "run")
    rng = np.random.default_rng(0)
    photos = features.train_photos[:8]
    losses = [trainer._dual_step(photos, rng) for _ in range(12)]
    assert losses[-1] < 0.8 * losses[0]


def test_reverse_padded_reverses_within_each_length() -> None:
    x = torch.arange(10.0).view(2, 5, 1)
    lengths = torch.tensor([5, 3])
    got = reverse_padded(x, lengths).squeeze(-1)
    assert got.tolist() == [[4, 3, 2, 1, 0], [7, 6, 5, 8, 9]]
    assert torch.equal(reverse_padded(reverse_padded(x, lengths), lengths), x)


def test_text_head_ignores_padding() -> None:
    torch.manual_seed(0)
    head = MatchingModel(MatchingConfig(gru_hidden=16, fusion_dim=16)).text.eval()
    states = torch.randn(1, 6, 384)
    mask = torch.ones(1, 6, dtype=torch.int64)
    padded = torch.cat([states, torch.randn(1, 4, 384)], dim=1)
    padded_mask = torch.cat([mask, torch.zeros(1, 4, dtype=torch.int64)], dim=1)
    with torch.no_grad():
        assert torch.allclose(head.embed(states, mask), head.embed(padded, padded_mask), atol=1e-6)


def test_coco_captions_are_read(tiny_set: Path, tmp_path: Path) -> None:
    coco = {
        "images": [
            {"id": 7, "file_name": "00_red_circle.jpg"},
            {"id": 3, "file_name": "01_green_circle.jpg"},
        ],
        "annotations": [
            {"image_id": 7, "id": 1, "caption": "a red circle"},
            {"image_id": 3, "id": 2, "caption": "a green circle "},
            {"image_id": 7, "id": 3, "caption": "red round thing"},
        ],
    }
    path = tmp_path / "captions_val2014.json"
    path.write_text(json.dumps(coco))
    data = D.load_captions(path, tiny_set / "images")
    assert [p.name for p in data.photos] == ["01_green_circle.jpg", "00_red_circle.jpg"]
    assert data.captions == ["a green circle", "a red circle", "red round thing"]
    assert data.caption_photo.tolist() == [0, 1, 1]
    with pytest.raises(D.DataError, match="missing"):
        D.load_captions(path, tmp_path)


@pytest.fixture(scope="module")
def graphs(trained: Path) -> Graphs:
    return build_graphs(load_trained(trained / "weights.safetensors"))


def test_onnx_graphs_agree_with_torch(exported: Path, graphs: Graphs, tiny_set: Path) -> None:
    model = load_model(exported / "tiny")
    assert model.fusion is not None and model.spec.fusion is not None
    assert model.spec.image.preprocess.resize == "squash"
    images = [Image.open(p).convert("RGB") for p in sorted((tiny_set / "images").iterdir())[:5]]
    pixels = np.stack([model.image.preprocess(im) for im in images])
    got, got_regions = model.image.encode_with_regions(pixels)
    texts = ["a red circle", "a blue square on a white background", "triangle"]
    text, tokens, mask = model.text.encode_with_tokens(texts)
    with torch.no_grad():
        want, want_regions = graphs.image(torch.from_numpy(pixels))
        want_text, want_tokens = graphs.text(*tokenize(graphs.tokenizer, texts))
        pairs = graphs.fusion(want_regions[:3], want_tokens, torch.from_numpy(mask))
    assert np.abs(got - want.numpy()).max() < 1e-4
    assert got_regions is not None and got_regions.dtype == np.float16
    assert np.abs(got_regions - want_regions.numpy()).max() < 2e-3  # float16 storage
    assert np.abs(text - want_text.numpy()).max() < 1e-4
    # text.onnx stores its weights as float16 (float32 arithmetic): the fusion tokens, of
    # magnitude up to ~5, move by up to ~2e-3 of that; the unit embeddings by < 1e-4.
    scale = max(1.0, float(want_tokens.abs().max()))
    assert np.abs(tokens - want_tokens.numpy()).max() < 5e-3 * scale
    scores = model.fusion.score(want_regions[:3].numpy(), want_tokens.numpy(), mask)
    assert np.abs(scores - pairs.numpy()).max() < 1e-4
    assert np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)


def test_the_exported_model_indexes_searches_and_ranks(
    exported: Path,
    tiny_set: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MMSEARCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MMSEARCH_MODELS", str(exported))

    def run(*args: str) -> object:
        capsys.readouterr()
        assert main(["--model", "tiny", *args, "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    report = run("index", str(tiny_set / "images"))
    assert isinstance(report, dict) and report["added"] == 24
    with sqlite3.connect(tmp_path / "home" / "catalog.sqlite") as db:
        rows = db.execute("SELECT count(*), min(length(data)) FROM regions").fetchone()
    assert rows == (24, 2 * 9 * 32)  # 3 x 3 regions of 32 float16 each, for every photo

    reranked = run("search", "a red circle", "--top", "5", "--rerank", "10")
    plain = run("search", "a red circle", "--top", "24", "--no-rerank")
    assert isinstance(reranked, list) and isinstance(plain, list)
    assert len(reranked) == 5 and len(plain) == 24
    scores = [h["score"] for h in reranked]
    assert scores == sorted(scores, reverse=True)
    # re-ranking only re-orders the best 10 of the plain ranking
    assert {h["path"] for h in reranked} <= {h["path"] for h in plain[:10]}

    photo = str(tiny_set / "images" / "00_red_circle.jpg")
    ranked = run("rank", photo, "a red circle", "a blue square", "a yellow triangle")
    cosine = run("rank", photo, "a red circle", "a blue square", "a yellow triangle", "--no-fusion")
    assert isinstance(ranked, list) and isinstance(cosine, list)
    assert {r["caption"] for r in ranked} == {r["caption"] for r in cosine}
    assert [r["score"] for r in ranked] != [r["score"] for r in cosine]  # the fusion spoke


def test_evaluation_reranks_and_ranks_captions_with_the_fusion_head(
    exported: Path, tiny_set: Path
) -> None:
    from mmsearch.services.evaluation import evaluate

    model = load_model(exported / "tiny")
    plain = evaluate(model, tiny_set / "captions.jsonl")
    assert "t2i_dual" not in plain and "rerank" not in plain
    result = evaluate(model, tiny_set / "captions.jsonl", rerank=5, ranking=True)
    assert result["rerank"] == 5 and result["images"] == 24 and result["captions"] == 48
    assert result["t2i_dual"] == plain["t2i"] and result["i2t_dual"] == plain["i2t"]
    t2i, dual = result["t2i"], result["t2i_dual"]
    assert isinstance(t2i, dict) and isinstance(dual, dict)
    # re-ranking the top 5 can't change whether the photo is in the top 5 or 10
    assert t2i["R@5"] == dual["R@5"] and t2i["R@10"] == dual["R@10"]
    ranking = result["caption_ranking"]
    assert isinstance(ranking, dict) and set(ranking) == {"dual", "fused"}
    for scores in ranking.values():
        assert 0 <= scores["R@1"] <= scores["MRR"] <= 1


def test_an_ensemble_joins_its_members(
    trained: Path, graphs: Graphs, tiny_set: Path, tmp_path: Path
) -> None:
    """Two models, on two trunks, exported as one (`export --weights A --weights B`): its
    vectors are the members' joined (concatenated over sqrt(2), so a cosine is the mean of
    the members'), the smaller trunk reading the larger's input resized inside the graph;
    the photo vectors get a version of their own."""
    from models.common import save_weights_half

    first = trained / "weights.safetensors"
    one = load_trained(first)
    config = MatchingConfig.from_dict(
        {**one.config.to_dict(), "backbone": "efficientnet-lite2", "seed": 1}
    )
    torch.manual_seed(1)
    second = tmp_path / "lite2.safetensors"
    meta = {"config": json.dumps(config.to_dict())}
    save_weights_half(second, MatchingModel(config).state_dict(), meta)
    models = tmp_path / "models"
    args = ["export", "--weights", str(first), "--weights", str(second), "--out", str(models)]
    assert main([*args, "--id", "pair"]) == 0
    pair = load_model(models / "pair")
    assert pair.spec.dim == 2 * one.config.dim and pair.spec.image.size == 260
    assert pair.spec.version.startswith("1-ensemble-")
    assert pair.spec.languages == ("en",)  # the first member's Chinese rows are not its own

    images = [Image.open(p).convert("RGB") for p in sorted((tiny_set / "images").iterdir())[:4]]
    pixels = np.stack([pair.image.preprocess(im) for im in images])
    texts = ["a red circle", "a blue square on a white background", "triangle"]
    got, text = pair.image.encode(pixels), pair.text.encode(texts)
    lite0, lite2 = graphs, build_graphs(load_trained(second))
    x = torch.from_numpy(pixels)
    small = torch.nn.functional.interpolate(
        x, size=(224, 224), mode="bilinear", antialias=True, align_corners=False
    )
    ids, mask = tokenize(lite0.tokenizer, texts)
    with torch.no_grad():
        image0, image2 = lite0.image(small)[0].numpy(), lite2.image(x)[0].numpy()
        text0, text2 = lite0.text(ids, mask)[0].numpy(), lite2.text(ids, mask)[0].numpy()
    # image.onnx stores an ensemble's weights as float16 (float32 arithmetic)
    joined = np.concatenate([image0, image2], 1) / np.sqrt(2)
    assert (got * joined).sum(axis=1).min() > 0.9999
    assert np.abs(text - np.concatenate([text0, text2], 1) / np.sqrt(2)).max() < 1e-4
    mean = (image0 @ text0.T + image2 @ text2.T) / 2
    assert np.abs(got @ text.T - mean).max() < 2e-3

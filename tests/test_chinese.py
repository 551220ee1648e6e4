"""The default model reads Chinese (issue 15): its Chinese text tower, how queries reach it
(by script), and every place a text is encoded: CLI search, combined queries, caption
ranking, `mmsearch eval`, the window with its Chinese UI; the language notice stays for a
model that can't read a query (the ConSE model is English-only)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from conftest import SHARED, CliRunner
from PIL import Image

from mmsearch.cli import main
from mmsearch.encoders.model import load_model
from mmsearch.paths import CONSE_MODEL_ID

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from mmsearch.ui.settings import Preferences

EVAL = SHARED / "evalset" / "flickr8k"


@pytest.fixture(scope="module")
def model(bundled_model_dir: Path) -> Any:
    return load_model(bundled_model_dir)


def test_the_default_model_reads_chinese_and_keeps_its_photo_vectors(
    model: Any, bundled_model_dir: Path
) -> None:
    spec = model.spec
    assert spec.languages == ("en", "zh")
    recipe = json.loads((bundled_model_dir / "spec.json").read_text())["recipe"]
    # The version (what stored photo vectors are kept under) is the trained heads' alone:
    # the Chinese characters change the text side only.
    assert spec.version.endswith(recipe["weights_sha256"][:12])
    assert recipe["cjk"]["weights"].endswith(".cjk.safetensors")


def test_english_meets_the_same_tokens_as_before(bundled_model_dir: Path) -> None:
    """MiniLM's own vocabulary keeps its ids; the CJK characters come after it, each one a
    token (no segmenter), so an English text's ids are those the English-only model used."""
    from tokenizers import Tokenizer

    from models.common import load_tokenizer

    ours = Tokenizer.from_file(str(bundled_model_dir / "tokenizer.json"))
    base = load_tokenizer()
    texts = ["Two kids on a beach at sunset .", "a red car", "naïve café, 42 dogs!"]
    assert [e.ids for e in ours.encode_batch(texts)] == [e.ids for e in base.encode_batch(texts)]
    size = base.get_vocab_size()
    assert ours.get_vocab_size() > size + 2000
    ids = ours.encode("海滩上的狗").ids[1:-1]  # [CLS] ... [SEP]
    assert len(ids) == 5 and 100 not in ids  # five characters, none unknown
    mixed = ours.encode("dog 在雪地里").tokens
    assert mixed[1] == "dog" and mixed[2:6] == ["在", "雪", "地", "里"]


def test_chinese_queries_find_the_right_sample_photos(model: Any, photo_folder: Path) -> None:
    names = sorted(p.name for p in photo_folder.iterdir())
    photos = model.image.encode_images([Image.open(photo_folder / n) for n in names])
    # Concepts the Chinese captions teach (cats, motorcycles), alone and mixed with English.
    # (Rare ones are weak: "一杯咖啡", a cup of coffee, ranks the cat first.)
    for query, want in (
        ("一只猫", "cat"),
        ("摩托车", "motorcycle"),
        ("一个人骑摩托车", "motorcycle"),
        ("一辆红色的 motorcycle", "motorcycle"),
        ("a red 摩托车", "motorcycle"),
    ):
        scores = photos @ model.text.encode([query])[0]
        best = names[int(np.argmax(scores))]
        assert best.startswith(want), (query, dict(zip(names, scores.round(3), strict=True)))


def test_cli_search_combined_query_and_caption_ranking_in_chinese(
    cli: CliRunner, photo_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli("index", str(photo_folder))
    hits = cli("search", "一只猫")
    assert Path(hits[0]["path"]).name in ("cat.png", "cat2.jpg")
    assert "notice" not in capsys.readouterr().err  # the default model reads Chinese
    mixed = cli("search", "一只猫 + motorcycle")
    assert {Path(h["path"]).name for h in mixed[:3]} & {"cat.png", "cat2.jpg", "motorcycle.png"}
    ranked = cli("rank", str(photo_folder / "motorcycle.png"), "一只猫", "一杯咖啡", "一辆摩托车")
    assert ranked[0]["caption"] == "一辆摩托车", ranked


def test_eval_on_chinese_captions(cli: CliRunner, photo_folder: Path, tmp_path: Path) -> None:
    captions = tmp_path / "captions-zh.jsonl"
    rows = [
        ("cat.png", "一只猫"),
        ("motorcycle.png", "一辆摩托车"),
        ("coffee.png", "a cup of coffee"),
    ]
    captions.write_text(
        "".join(
            json.dumps({"image": str(photo_folder / n), "caption": c}, ensure_ascii=False) + "\n"
            for n, c in rows
        ),
        encoding="utf-8",
    )
    result = cli("eval", "--captions", str(captions))
    # Each caption finds its own photo first among the three, whatever its language.
    assert result["captions"] == 3 and result["t2i"]["R@1"] == 1.0, result


def test_the_notice_stays_for_an_english_only_model(
    home: Path, conse_model_dir: Path, photo_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--model", CONSE_MODEL_ID, "index", str(photo_folder), "--json"]) == 0
    capsys.readouterr()
    assert main(["--model", CONSE_MODEL_ID, "search", "海滩上的狗", "--json"]) == 0
    notice = json.loads(capsys.readouterr().err.strip().splitlines()[-1])["notice"]
    assert notice["languages"] == ["zh"]


def _dog_beach_photos() -> tuple[list[Path], list[Path]]:
    """From the evaluation photos: those at least 3 of whose 5 captions say dog and beach,
    and as many photos whose captions say neither."""
    said: dict[str, list[str]] = {}
    for line in (EVAL / "captions.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        said.setdefault(row["image"], []).append(row["caption"].lower())
    beach = re.compile(r"\b(beach|sand|shore|ocean|sea)\b")
    dog = re.compile(r"\bdogs?\b")
    both = [
        i for i, c in said.items() if sum(bool(dog.search(x) and beach.search(x)) for x in c) >= 3
    ]
    neither = [i for i, c in said.items() if not any(dog.search(x) or beach.search(x) for x in c)]
    return [EVAL / i for i in both[:4]], [EVAL / i for i in neither[:16]]


@pytest.mark.skipif(not (EVAL / "captions.jsonl").is_file(), reason=f"{EVAL} is not there")
def test_the_chinese_window_s_example_query_finds_dogs_on_beaches(
    qtbot: QtBot,
    tmp_path: Path,
    prefs: Preferences,
    bundled_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PySide6.QtWidgets import QApplication

    from mmsearch.services.library import Library
    from mmsearch.ui.app import install_translators
    from mmsearch.ui.main_window import MainWindow

    wanted, others = _dog_beach_photos()
    assert len(wanted) == 4 and len(others) == 16
    folder = tmp_path / "photos"
    folder.mkdir()
    for path in wanted + others:
        shutil.copy(path, folder / path.name)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    translators = install_translators(app, "zh_CN")
    assert translators, "the compiled Chinese translation is missing: run `make install`"
    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
    window = MainWindow(Library(tmp_path / "data"), prefs)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.indexer.finished, timeout=120_000):
        window.add_folder(folder)
    window.refresh_library()
    hint = window.empty_text.text()
    example = re.findall(r"“([^”]+)”", hint)[0]
    assert example == "海滩上的狗", hint
    with qtbot.waitSignal(window.search_finished, timeout=30_000):
        window.search_field.setText(example)
        window.run_search()
    assert not window.notice_bar.isVisible()
    count = min(4, window.results.rowCount())
    names = [window.results.hit(i).path.name for i in range(count)]
    right = {p.name for p in wanted}
    assert names[0] in right and len(right & set(names)) >= 3, names
    window.close()
    for t in translators:
        app.removeTranslator(t)


def test_tuned_layers_are_the_only_minilm_weights_that_learn_and_they_round_trip(
    tmp_path: Path,
) -> None:
    """The ablation's `tune_layers`: MiniLM's top layers learn beside the CJK rows (English
    rows stay frozen by the gradient mask), and a saved file carries them back into a fresh
    MiniLM with its rows (float16 storage)."""
    import torch

    from models.common import load_bert, load_tokenizer
    from models.matching.chinese import CjkConfig, ExtendedText, extend, learnt, save
    from models.matching.model import MatchingConfig, TextHead

    tokenizer = load_tokenizer(characters=["狗", "滩"])
    vocab = tokenizer.get_vocab()
    bert = load_bert()
    english_rows = bert.embeddings.word_embeddings.weight.detach().clone()
    bert.resize_token_embeddings(tokenizer.get_vocab_size(), mean_resizing=False)
    cjk = torch.zeros(tokenizer.get_vocab_size(), dtype=torch.bool)
    cjk[[vocab["狗"], vocab["滩"]]] = True
    model = ExtendedText(bert, TextHead(MatchingConfig(dropout=0.0)), cjk, tune_layers=1)
    last = len(bert.encoder.layer) - 1
    assert model.tuned and all(n.startswith(f"encoder.layer.{last}.") for n in model.tuned)
    learning = {n for n, p in bert.named_parameters() if p.requires_grad}
    assert learning == set(learnt(model))

    ids, mask = torch.tensor([[101, vocab["狗"], vocab["dog"], 102]]), torch.ones(1, 4).long()
    model(ids, mask).sum().backward()  # type: ignore[no-untyped-call]
    grad = model.table().grad
    assert grad is not None and grad[vocab["dog"]].abs().sum() == 0  # English rows frozen
    assert grad[vocab["狗"]].abs().sum() > 0
    with torch.no_grad():
        for p in model.tuned.values():
            p.add_(0.5)
        model.table()[cjk] = 0.25
    path = tmp_path / "w.cjk.safetensors"
    save(model, tokenizer, CjkConfig(tune_layers=1), {}, path)

    fresh = load_bert()
    extend(fresh, path)
    theirs = dict(fresh.named_parameters())
    for name, p in dict(bert.named_parameters()).items():
        if name in model.tuned:
            assert torch.allclose(theirs[name], p, atol=2e-3), name
    table = fresh.embeddings.word_embeddings.weight
    assert torch.equal(table[vocab["狗"]], torch.full((table.shape[1],), 0.25))
    assert torch.equal(table[: len(english_rows)], english_rows)

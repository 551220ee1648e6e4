"""`mmsearch bench --model A --model B`: both models index the same 12 MP JPEGs with the real
pipeline in one run, taking turns, and the table gives photos/s, query ms and ratios."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from mmsearch.bench import format_compare
from mmsearch.cli import main
from mmsearch.paths import BUNDLED_MODEL_ID
from mmsearch.services.models.install import import_model
from tests.conftest import SAMPLE_PHOTOS, CliRunner, skimage_photo
from tests.test_faults_models import CLIP_ID, fake_clip


@pytest.fixture
def two_models(home: Path, tmp_path: Path) -> list[str]:
    """The bundled model and a tiny CLIP model (real ONNX graphs) installed by import."""
    import_model(fake_clip(tmp_path / "tiny"), home, CLIP_ID)
    return [BUNDLED_MODEL_ID, CLIP_ID]


@pytest.fixture
def real_photos(tmp_path: Path) -> Path:
    folder = tmp_path / "sources"
    folder.mkdir()
    for name, source in list(SAMPLE_PHOTOS.items())[:2]:
        with Image.open(skimage_photo(source)) as im:
            im.convert("RGB").save(folder / f"{Path(name).stem}.jpg", quality=90)
    return folder


def test_bench_compares_models_in_one_run(
    cli: CliRunner, two_models: list[str], real_photos: Path
) -> None:
    args = ["bench", "--photos", str(real_photos), "--count", "4", "--rounds", "2"]
    for model_id in two_models:
        args += ["--model", model_id]
    result = cli(*args, "--queries", "4")
    assert result["photos"] == 4 and result["rounds"] == 2
    assert "real photos" in result["photo_source"]
    rows = result["models"]
    assert [r["model"] for r in rows] == two_models
    for row in rows:
        assert row["photos"] == 4 and row["failed"] == 0  # every photo, once per model
        assert len(row["photos_per_s_rounds"]) == 2
        assert row["photos_per_s"] > 0 and row["queries"] == 4
        assert 0 < row["query_ms_p50"] <= row["query_ms_p95"]
        assert row["cpu_ms_per_photo"] > 0 and row["photos_per_s_from_cpu"] > 0
        assert set(row["stages_ms_per_photo"]) == {"decode_ms", "preprocess_ms", "graph_ms"}
    assert rows[0]["photos_per_s_ratio"] == 1.0 and rows[0]["query_ms_ratio"] == 1.0
    assert rows[1]["photos_per_s_ratio"] == pytest.approx(
        rows[1]["photos_per_s"] / rows[0]["photos_per_s"], rel=0.02
    )
    table = format_compare(result)
    assert all(m in table for m in two_models) and "photos/s" in table and "query ms" in table


def test_bench_without_real_photos_says_they_are_synthetic(
    home: Path, two_models: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "none"
    empty.mkdir()
    args = ["bench", "--model", BUNDLED_MODEL_ID, "--photos", str(empty), "--count", "2"]
    assert main([*args, "--rounds", "1", "--queries", "2"]) == 0
    out = capsys.readouterr().out
    assert "synthetic photos" in out and BUNDLED_MODEL_ID in out and "photos/s" in out


def test_bench_names_a_model_that_is_not_installed(cli: CliRunner) -> None:
    error = cli("bench", "--model", "mobileclip-b", "--count", "1", expect=2)["error"]
    assert "mobileclip-b" in error and "not found" in error

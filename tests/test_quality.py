"""Retrieval quality of the bundled default model on the Flickr8k evaluation sample, in
English and in Chinese (its human-written Chinese captions, Flickr8k-CN)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmsearch.encoders import Model, load_model
from mmsearch.services import evaluation
from mmsearch.services.evaluation import evaluate
from tests.conftest import SHARED

CAPTIONS = SHARED / "evalset" / "flickr8k" / "captions.jsonl"
CAPTIONS_ZH = SHARED / "evalset" / "flickr8k" / "captions-zh.jsonl"


@pytest.fixture(scope="module")
def model(bundled_model_dir: Path) -> Iterator[Model]:
    """The bundled model, its photo embeddings made once for both languages' evaluations
    (the same 1,000 photos: the real embedding function, its result kept for the second)."""
    made: dict[tuple[str, str], tuple[list[Path], np.ndarray, np.ndarray | None]] = {}
    real = evaluation.embed_photos_with_regions

    def once(model: Model, paths: list[Path], *args: Any, **kwargs: Any) -> Any:
        key = (model.spec.id, model.spec.version)
        if key not in made or set(made[key][0]) != set(paths):
            made[key] = (list(paths), *real(model, paths, *args, **kwargs))
        # the same photos, listed in each caption file's order
        done, vectors, regions = made[key]
        where = {path: i for i, path in enumerate(done)}
        order = np.asarray([where[path] for path in paths])
        return vectors[order], None if regions is None else regions[order]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluation, "embed_photos_with_regions", once)
        yield load_model(bundled_model_dir)


@pytest.mark.slow
@pytest.mark.skipif(
    not CAPTIONS.is_file(),
    reason=f"{CAPTIONS} not present: the evaluation set is shared data, not in the repository",
)
def test_bundled_model_reaches_the_quality_bar(model: Model) -> None:
    """The trained model's bar in English, as `mmsearch eval` measures it (the search path:
    no fusion re-ranking by default): text -> image R@1/5/10 >= 20/45/60 %."""
    result = evaluate(model, CAPTIONS)
    print(result)
    assert result["images"] == 1000 and result["captions"] == 5000
    t2i = result["t2i"]
    assert isinstance(t2i, dict)
    assert t2i["R@1"] >= 0.20 and t2i["R@5"] >= 0.45 and t2i["R@10"] >= 0.60


@pytest.mark.slow
@pytest.mark.skipif(
    not CAPTIONS_ZH.is_file(),
    reason=f"{CAPTIONS_ZH} not present: the evaluation set is shared data, not in the repository",
)
def test_bundled_model_reads_chinese_queries(model: Model) -> None:
    """Human-written Chinese captions of the same photos: text -> image R@1/5/10 >= 9/26/38 %
    (the shipped characters score 10.1 / 28.1 / 40.2, from 0.1 / 1.1 / 2.4 before them; issue
    15 asks 15 / 38 / 50, not reached yet: docs/models.md, "Chinese queries")."""
    result = evaluate(model, CAPTIONS_ZH)
    print(result)
    assert result["images"] == 1000 and result["captions"] == 5000
    t2i = result["t2i"]
    assert isinstance(t2i, dict)
    assert t2i["R@1"] >= 0.09 and t2i["R@5"] >= 0.26 and t2i["R@10"] >= 0.38

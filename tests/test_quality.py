"""Retrieval quality of the bundled default model on the Flickr8k evaluation sample, in
English and in Chinese (its human-written Chinese captions, Flickr8k-CN)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmsearch.encoders import load_model
from mmsearch.services.evaluation import evaluate
from tests.conftest import SHARED

CAPTIONS = SHARED / "evalset" / "flickr8k" / "captions.jsonl"
CAPTIONS_ZH = SHARED / "evalset" / "flickr8k" / "captions-zh.jsonl"


@pytest.mark.slow
@pytest.mark.skipif(
    not CAPTIONS.is_file(),
    reason=f"{CAPTIONS} not present: the evaluation set is shared data, not in the repository",
)
def test_bundled_model_reaches_the_quality_bar(bundled_model_dir: Path) -> None:
    """The trained model's bar in English, as `mmsearch eval` measures it (the search path:
    no fusion re-ranking by default): text -> image R@1/5/10 >= 20/45/60 %."""
    result = evaluate(load_model(bundled_model_dir), CAPTIONS)
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
def test_bundled_model_reads_chinese_queries(bundled_model_dir: Path) -> None:
    """Human-written Chinese captions of the same photos: text -> image R@1/5/10 >= 9/26/38 %
    (the shipped characters score 10.1 / 28.1 / 40.2, from 0.1 / 1.1 / 2.4 before them; issue
    15 asks 15 / 38 / 50, not reached yet: docs/models.md, "Chinese queries")."""
    result = evaluate(load_model(bundled_model_dir), CAPTIONS_ZH)
    print(result)
    assert result["images"] == 1000 and result["captions"] == 5000
    t2i = result["t2i"]
    assert isinstance(t2i, dict)
    assert t2i["R@1"] >= 0.09 and t2i["R@5"] >= 0.26 and t2i["R@10"] >= 0.38

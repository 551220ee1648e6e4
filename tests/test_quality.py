"""Retrieval quality of the bundled default model on the Flickr8k evaluation sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmsearch.encoders import load_model
from mmsearch.services.evaluation import evaluate
from mmsearch.services.search import RERANK_TOP
from tests.conftest import SHARED

CAPTIONS = SHARED / "evalset" / "flickr8k" / "captions.jsonl"


@pytest.mark.slow
@pytest.mark.skipif(
    not CAPTIONS.is_file(),
    reason=f"{CAPTIONS} not present: the evaluation set is shared data, not in the repository",
)
def test_bundled_model_reaches_the_quality_bar(bundled_model_dir: Path) -> None:
    """The acceptance bar of the trained model: text -> image R@1/5/10 >= 20/45/60 %, as
    `mmsearch eval` measures it (fusion re-ranking of the top 50, as search does), and the
    fusion head must not lose to the dual encoder it re-ranks."""
    result = evaluate(load_model(bundled_model_dir), CAPTIONS, rerank=RERANK_TOP)
    print(result)
    assert result["images"] == 1000 and result["captions"] == 5000
    t2i, dual = result["t2i"], result["t2i_dual"]
    assert isinstance(t2i, dict) and isinstance(dual, dict)
    assert t2i["R@1"] >= 0.20 and t2i["R@5"] >= 0.45 and t2i["R@10"] >= 0.60
    assert t2i["R@1"] >= dual["R@1"] - 0.005

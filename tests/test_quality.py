"""Retrieval quality of the bundled model on the Flickr8k evaluation sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmsearch.encoders import load_model
from mmsearch.services.evaluation import evaluate
from tests.conftest import SHARED

CAPTIONS = SHARED / "evalset" / "flickr8k" / "captions.jsonl"


@pytest.mark.slow
@pytest.mark.skipif(not CAPTIONS.is_file(), reason=f"{CAPTIONS} not present (shared data)")
def test_bundled_model_beats_the_conse_floor(bundled_model_dir: Path) -> None:
    result = evaluate(load_model(bundled_model_dir), CAPTIONS)
    print(result)
    assert result["images"] == 1000 and result["captions"] == 5000
    t2i = result["t2i"]
    assert isinstance(t2i, dict)
    assert t2i["R@10"] >= 0.21

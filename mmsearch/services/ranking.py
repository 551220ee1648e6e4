"""Caption ranking: how well each of several captions describes one photo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmsearch.services.library import Library
from mmsearch.services.search import SearchEngine


@dataclass(frozen=True)
class RankedCaption:
    caption: str
    score: float


def rank_captions(library: Library, photo: Path, captions: list[str]) -> list[RankedCaption]:
    """The captions ordered by match score with the photo, best first."""
    captions = [c.strip() for c in captions if c.strip()]
    if not captions:
        return []
    vector = SearchEngine(library).photo_vector(photo)
    scores = library.model.text.encode(captions) @ vector
    order = np.argsort(-scores, kind="stable")
    return [RankedCaption(captions[i], float(scores[i])) for i in order]

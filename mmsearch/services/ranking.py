"""Caption ranking: how well each of several captions describes one photo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmsearch.encoders import fusion_parts
from mmsearch.services.library import Library
from mmsearch.services.search import SearchEngine

_CHUNK = 64  # captions a text-graph run: their tokens are padded to the chunk's longest


@dataclass(frozen=True)
class RankedCaption:
    caption: str
    score: float


def rank_captions(
    library: Library, photo: Path, captions: list[str], *, fusion: bool = True
) -> list[RankedCaption]:
    """The captions ordered by match score with the photo, best first.

    With a model that has a fusion head (and `fusion`), the score is cosine + weight x the
    fusion logit, else the cosine of the two embeddings.
    """
    captions = [c.strip() for c in captions if c.strip()]
    if not captions:
        return []
    model = library.model
    vector, regions = SearchEngine(library).photo_features(photo)
    fused = fusion_parts(model) if fusion else None
    if fused is not None and regions is not None:
        head, text = fused
        parts = []
        for start in range(0, len(captions), _CHUNK):
            vectors, tokens, mask = text.encode_with_tokens(captions[start : start + _CHUNK])
            logits = head.photo_against_texts(regions, tokens, mask)
            parts.append(head.combine(vectors @ vector, logits))
        scores = np.concatenate(parts)
    else:
        scores = model.text.encode(captions) @ vector
    order = np.argsort(-scores, kind="stable")
    return [RankedCaption(captions[i], float(scores[i])) for i in order]

"""Exact (brute force) matching: small libraries, filtered searches and recall checks."""

from __future__ import annotations

import numpy as np


def exact_top_k(
    ids: np.ndarray, matrix: np.ndarray, query: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The `k` rows of `matrix` (labelled by `ids`, as `Catalog.vectors` returns them) most
    similar (inner product) to `query`, best first.

    Returns (ids, scores). Rows are assumed unit length, so the score is the cosine.
    """
    if len(ids) == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    scores = matrix @ np.asarray(query, dtype=np.float32)
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return ids[top], scores[top]

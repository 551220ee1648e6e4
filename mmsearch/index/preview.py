"""A preview of a large index: a random sample of its vectors in one small file beside it.

Opening a million-photo index takes seconds (reading and checking 2.4 GB, then hnswlib
allocating a million nodes: 7 s on 2 cores). The window answers from the preview meanwhile
(its file is read in tens of milliseconds, and every query scores the whole sample exactly)
and says so, then searches again in the index once it is open (`Library.open_index`).

Derived data, like the index: written once the index is open when it is missing or stale
(SAMPLE_STALE of the library written since it was drawn), from the catalog's vectors. A
damaged or foreign file is ignored (and drawn again). Libraries small enough that the index
opens at once (no more than SAMPLE_SIZE photos) have none.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmsearch.files import write_bytes_atomic
from mmsearch.index.exact import exact_top_k
from mmsearch.index.hnsw import index_file_stem

log = logging.getLogger(__name__)

#: Vectors in a preview: 30 MB at 512-d float16, read and scored in a few milliseconds.
SAMPLE_SIZE = 30_000
#: The share of the library written since a preview was drawn that makes it drawn again.
SAMPLE_STALE = 0.1
_FORMAT = 1
_STORED = np.dtype("<f2")  # as the catalog stores vectors: cosine >= 0.9999 to float32


def preview_path(directory: Path, model_id: str) -> Path:
    return directory / f"{index_file_stem(model_id)}.preview.npz"


@dataclass(frozen=True)
class Preview:
    """Up to SAMPLE_SIZE of a model's vectors, drawn at random, and the library's size then."""

    ids: np.ndarray
    matrix: np.ndarray
    """(len(ids), dim) float32 unit rows."""
    total: int
    """Vectors of the model in the library when the sample was drawn."""
    seq: int
    """The catalog's write number then (`Catalog.embedding_seq`)."""

    #: A filter is checked on the nearest photos by the search (see `SearchEngine._filtered`)
    exact = False

    @property
    def description(self) -> str:
        return f"a preview of {len(self.ids):,} of {self.total:,} photos while the index opens"

    def query(
        self, vector: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Up to `k` (photo ids, cosine scores) of the sample, best first, exactly."""
        ids, matrix = self.ids, self.matrix
        if allowed_ids is not None:
            keep = np.isin(ids, allowed_ids)
            ids, matrix = ids[keep], matrix[keep]
        return exact_top_k(ids, matrix, vector, k)

    def stale(self, total: int, seq: int) -> bool:
        """Whether a library of `total` vectors at write number `seq` should draw it again."""
        return seq < self.seq or seq - self.seq > SAMPLE_STALE * max(total, 1)

    # -- files ----------------------------------------------------------------------------

    @classmethod
    def load(cls, directory: Path, model_id: str, dim: int) -> Preview | None:
        """The saved preview of `model_id`, or None when there is none or it is not usable."""
        path = preview_path(directory, model_id)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = data["meta"]
                ids = np.asarray(data["ids"], dtype=np.int64)
                stored = data["vectors"]
                name = str(data["model_id"])
            fmt, total, seq = (int(v) for v in meta)
            if fmt != _FORMAT or name != model_id or stored.shape != (len(ids), dim):
                return None
            if stored.dtype != _STORED or not len(ids):
                return None
            matrix = stored.astype(np.float32)
            norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
            if not np.isfinite(norms).all() or not norms.all():
                return None
            matrix /= norms[:, None]  # unit again after float16's rounding
        except Exception as e:  # a damaged file is only a preview not shown
            log.info("preview %s not usable (%s: %s)", path, type(e).__name__, e)
            return None
        return cls(ids, matrix, total, seq)

    @staticmethod
    def write(
        directory: Path, model_id: str, ids: np.ndarray, matrix: np.ndarray, total: int, seq: int
    ) -> None:
        """Save a sample (raises `WriteError` as `write_bytes_atomic` does)."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            meta=np.asarray([_FORMAT, total, seq], dtype=np.int64),
            ids=np.asarray(ids, dtype=np.int64),
            vectors=np.asarray(matrix, dtype=_STORED),
            model_id=np.asarray(model_id),
        )
        write_bytes_atomic(
            preview_path(directory, model_id), buffer.getvalue(), "the index preview"
        )


def needs_preview(count: int) -> bool:
    """Whether an index of `count` vectors gets a preview (a smaller one opens at once)."""
    return count > SAMPLE_SIZE


def draw_sample(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """SAMPLE_SIZE of `labels` at random, sorted (all of them when there are no more)."""
    labels = np.sort(np.asarray(labels, dtype=np.int64))
    if len(labels) <= SAMPLE_SIZE:
        return labels
    picked = np.random.default_rng(seed).choice(len(labels), SAMPLE_SIZE, replace=False)
    return labels[np.sort(picked)]

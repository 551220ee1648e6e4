"""Derived vector data: an HNSW index per model, exact matching, and the search backends
(HNSW on the CPU, exact on the GPU) over them."""

from mmsearch.index.exact import exact_top_k
from mmsearch.index.hnsw import IndexHeader, IndexListener, VectorIndex, label_checksum

__all__ = ["IndexHeader", "IndexListener", "VectorIndex", "exact_top_k", "label_checksum"]

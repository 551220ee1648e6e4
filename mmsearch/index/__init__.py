"""Derived vector data: an HNSW index per model, and exact matching."""

from mmsearch.index.exact import exact_top_k
from mmsearch.index.hnsw import IndexHeader, VectorIndex, label_checksum

__all__ = ["IndexHeader", "VectorIndex", "exact_top_k", "label_checksum"]

"""The catalog: folders, photos, embeddings and failures in SQLite (the source of truth)."""

from mmsearch.catalog.db import Catalog, CatalogError
from mmsearch.catalog.models import Embedding, Failure, Folder, Photo, Regions

__all__ = ["Catalog", "CatalogError", "Embedding", "Failure", "Folder", "Photo", "Regions"]

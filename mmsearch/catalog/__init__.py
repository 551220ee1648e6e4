"""The catalog: folders, photos, embeddings and failures in SQLite (the source of truth)."""

from mmsearch.catalog.backup import (
    BackupFailed,
    RestoreResult,
    backup_catalog,
    list_backups,
    restore_backup,
)
from mmsearch.catalog.db import Catalog
from mmsearch.catalog.errors import (
    BackupInfo,
    CatalogDamaged,
    CatalogError,
    CatalogMissing,
    CatalogReadOnly,
    CatalogWriteFailed,
    NoBackup,
)
from mmsearch.catalog.fresh import new_catalog
from mmsearch.catalog.models import Embedding, Failure, Folder, Photo, Regions

__all__ = [
    "BackupFailed",
    "BackupInfo",
    "Catalog",
    "CatalogDamaged",
    "CatalogError",
    "CatalogMissing",
    "CatalogReadOnly",
    "CatalogWriteFailed",
    "Embedding",
    "Failure",
    "Folder",
    "NoBackup",
    "Photo",
    "Regions",
    "RestoreResult",
    "backup_catalog",
    "list_backups",
    "new_catalog",
    "restore_backup",
]

"""A library: one data folder with its catalog, the active model and its vector index."""

from __future__ import annotations

import os
import threading
from functools import cached_property
from pathlib import Path

from mmsearch.catalog import Catalog
from mmsearch.encoders import Model, ModelError, ModelSpec, find_model_dir, load_model
from mmsearch.index import VectorIndex
from mmsearch.paths import BUNDLED_MODEL_ID, data_dir, model_search_path


class Library:
    """Everything one data folder holds, opened lazily: the model and index only when used."""

    def __init__(self, data: str | os.PathLike[str] | None = None, model_id: str | None = None):
        self.data_dir = data_dir(data)
        self.catalog = Catalog.open(self.data_dir)
        self.model_id = model_id or os.environ.get("MMSEARCH_MODEL") or BUNDLED_MODEL_ID
        self._index_lock = threading.Lock()
        self._index: VectorIndex | None = None
        self.index_rebuilt = False

    @cached_property
    def model_dir(self) -> Path:
        return find_model_dir(self.model_id, model_search_path(self.data_dir))

    @cached_property
    def model(self) -> Model:
        return load_model(self.model_dir)

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    def index(self) -> VectorIndex:
        """The vector index of the active model, rebuilt from the catalog if it disagrees."""
        with self._index_lock:
            if self._index is None:
                self._index, self.index_rebuilt = VectorIndex.open(
                    self.index_dir,
                    self.model_id,
                    self.model.spec.dim,
                    self.catalog.embedding_ids(self.model_id),
                    lambda: self.catalog.vectors(self.model_id),
                )
            return self._index

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def installed_models(data: Path) -> list[ModelSpec]:
    """Every model found on the search path (first one of each id wins), by display name."""
    found: dict[str, ModelSpec] = {}
    for folder in model_search_path(data):
        if not folder.is_dir():
            continue
        for candidate in sorted(folder.iterdir()):
            if (candidate / "spec.json").is_file() and candidate.name not in found:
                try:
                    found[candidate.name] = ModelSpec.load(candidate)
                except ModelError:
                    continue  # a broken model folder is not offered
    return sorted(found.values(), key=lambda spec: spec.display_name)


def compute_device() -> str:
    """Where the encoders run: a short text for the status bar."""
    import onnxruntime

    providers = onnxruntime.get_available_providers()
    return "GPU (CUDA)" if "CUDAExecutionProvider" in providers else "CPU"

"""The model manager, in one place: the catalogue of models mmsearch can install
(`catalogue`), downloading them from the hub (`download`), installing them from a download or
a file (`install`), and listing, switching and removing them (`manager`).

The CLI and the window both switch models through `install_and_use`. `download` (which
imports huggingface_hub) is imported only when a model is downloaded.
"""

from mmsearch.services.models.catalogue import available_specs, catalogue_files, get_spec
from mmsearch.services.models.install import ModelImportError, import_model, install_model
from mmsearch.services.models.manager import (
    KINDS,
    ModelEntry,
    SwitchResult,
    active_model,
    broken_models,
    install_and_use,
    install_from_hub,
    installed,
    list_models,
    removable,
    remove_model,
    use_model,
)

__all__ = [
    "KINDS",
    "ModelEntry",
    "ModelImportError",
    "SwitchResult",
    "active_model",
    "available_specs",
    "broken_models",
    "catalogue_files",
    "get_spec",
    "import_model",
    "install_and_use",
    "install_from_hub",
    "install_model",
    "installed",
    "list_models",
    "removable",
    "remove_model",
    "use_model",
]

"""The catalogue: the CLIP models mmsearch knows how to download or import.

One JSON spec per model (format `clip-onnx`, see docs/models-clip.md) ships inside the
package as `mmsearch/services/models/specs/<id>.json` and is read through
`importlib.resources`, so the same code finds it in a checkout, an editable install, a wheel
and the PyInstaller bundle (which carries the folder as data).
"""

from __future__ import annotations

from contextlib import ExitStack
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from mmsearch.encoders.formats import read_catalogue_entry
from mmsearch.encoders.spec import ModelError, ModelSpec

SPECS_PACKAGE = __package__ or "mmsearch.services.models"
SPECS_FOLDER = "specs"


def catalogue_files() -> list[Traversable]:
    """The spec files of the catalogue, as the package's resources, by name."""
    folder = resources.files(SPECS_PACKAGE) / SPECS_FOLDER
    if not folder.is_dir():
        raise ModelError(
            f"the catalogue of models ({SPECS_PACKAGE}/{SPECS_FOLDER}) is missing from this "
            "installation: reinstall mmsearch."
        )
    files = [f for f in folder.iterdir() if f.is_file() and f.name.endswith(".json")]
    return sorted(files, key=lambda f: f.name)


def available_specs(directory: Path | None = None) -> list[ModelSpec]:
    """Every CLIP spec of the catalogue (or of `directory`'s *.json), by display name. A
    broken file raises ModelError: the catalogue ships with the app, so a bad entry is our
    bug, not the user's."""
    if directory is not None:
        specs = [read_catalogue_entry(path) for path in sorted(Path(directory).glob("*.json"))]
    else:
        with ExitStack() as stack:
            # A real file for each resource (the resource itself where it is one already),
            # so that an error names the file.
            specs = [
                read_catalogue_entry(stack.enter_context(resources.as_file(entry)))
                for entry in catalogue_files()
            ]
    return sorted(specs, key=lambda s: s.display_name)


def get_spec(model_id: str, directory: Path | None = None) -> ModelSpec:
    """The catalogue spec of `model_id`; ModelError lists the known ids when there is none."""
    specs = available_specs(directory)
    for spec in specs:
        if spec.id == model_id:
            return spec
    known = ", ".join(s.id for s in specs) or "(none)"
    raise ModelError(f"unknown model {model_id!r}: known CLIP models are {known}.")


def spec_file(model_id: str) -> Traversable:
    """The catalogue's spec file of `model_id` (for the export recipe, which hashes it)."""
    for entry in catalogue_files():
        if entry.name == f"{model_id}.json":
            return entry
    get_spec(model_id)  # raises the message that lists the known ids
    raise ModelError(f"model {model_id!r} is in the catalogue under another file name.")


def download_size(spec: ModelSpec) -> int | None:
    """Bytes a download of a catalogue model brings: its files' recorded sizes when every
    one is known (exact), else the size the entry records from the hub's listing
    (`download_size`, rounded), else None."""
    sizes = [f.size for f in spec.files]
    if sizes and all(s is not None for s in sizes):
        return sum(s for s in sizes if s is not None)
    size = spec.data.get("download_size")
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size
    return None

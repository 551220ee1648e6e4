"""Installing CLIP models into the data folder: from a download or from a folder/zip offline.

An installed model is `<data dir>/models/<id>/`: the runtime files in the hub layout plus
`model.json` (the catalog spec, with the size and SHA-256 of every file as installed and
where it came from). Installs are atomic: the folder is assembled beside its final place and
renamed into it only after every check passed, so a crash or a failed check never leaves a
half model where the app looks for models.

Imported archives are untrusted: only the spec's runtime files are extracted, by name; a
member with an absolute path, `..`, a drive letter, a link, or a size over the limits is
refused before anything is written. ONNX and tokenizer files are data, never code: nothing
is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

import onnxruntime as ort

from mmsearch.encoders.formats import MODEL_FILE, spec_to_json
from mmsearch.encoders.hubconfig import describe_folder, folder_layout, id_from_name
from mmsearch.encoders.integrity import record_verified
from mmsearch.encoders.model import load_model, probe_model
from mmsearch.encoders.spec import ModelError, ModelFile, ModelSpec, sha256_file
from mmsearch.encoders.tokenize import make_tokenizer
from mmsearch.files import replace_dir
from mmsearch.services.models.catalogue import available_specs

MAX_FILE_BYTES = 4 << 30
"""The largest single file we accept (the biggest CLIP graphs we offer are well under 1 GB)."""
MAX_TOTAL_BYTES = 8 << 30
MAX_MEMBERS = 10_000
MAX_RATIO = 200
"""Largest uncompressed/compressed ratio of a zip member: ONNX weights compress ~1.1x;
a ratio in the thousands is a zip bomb."""

_COPY_CHUNK = 1 << 20


class ModelImportError(ModelError):
    """The folder or archive can't be installed; the message says what is wrong with it."""


def models_dir(data_dir: Path) -> Path:
    """Where installed models live: `<data dir>/models`."""
    return Path(data_dir) / "models"


# -- install -------------------------------------------------------------------------------


def check_runtime_files(
    spec: ModelSpec, folder: Path, source: str | None = None
) -> list[ModelFile]:
    """Check the runtime files in `folder` against `spec` and return their entries (size and
    SHA-256 as found). Raises ModelImportError naming the first file at fault: missing, size
    or SHA-256 different from the spec's, a tokenizer that doesn't load, a graph whose input
    is not the spec's (files of another model)."""
    found = []
    for name in spec.runtime_files:
        path = folder / name
        if not path.is_file() or path.is_symlink():
            raise ModelImportError(f"{name} is missing (model {spec.id!r} needs it).")
        size = path.stat().st_size
        digest = sha256_file(path)
        want = spec.file(name)
        if want.size is not None and size != want.size:
            raise ModelImportError(
                f"{name} has {size} bytes, but model {spec.id!r} has {want.size}: it is "
                "incomplete or belongs to another model."
            )
        if want.sha256 is not None and digest != want.sha256:
            raise ModelImportError(
                f"{name} does not match the SHA-256 of model {spec.id!r}: it is damaged or "
                "belongs to another model."
            )
        found.append(ModelFile(name, size, digest))
    try:
        make_tokenizer(folder, spec.text.tokenizer)
    except ModelError as e:
        raise ModelImportError(str(e)) from e
    for name, input_names in (
        (spec.image.file, (spec.image.input,)),
        (spec.text.file, spec.text.inputs),
    ):
        _check_graph(folder / name, name, input_names, spec)
    _probe(spec, folder, source or str(folder))
    return found


def _probe(spec: ModelSpec, folder: Path, source: str) -> None:
    """Refuse graphs that load and take the right inputs but don't compute this model's
    vectors (an Identity, a graph of another size): a fixed probe batch must give (2, dim)
    finite vectors of unit length after normalising (`mmsearch.encoders.probe_model`).
    The message names the files as the user knows them (`source`), not the staging folder."""
    try:
        probe_model(load_model(folder, spec=spec), f"files from {source}")
    except ModelError as e:
        message = str(e).replace(f"{folder}{os.sep}", "")
        raise ModelImportError(
            f"{message} Not installed.",
            hint="get the model's files again from where they were published (or let "
            f"`mmsearch models download {spec.id}` fetch them)",
        ) from e


def _check_graph(path: Path, name: str, input_names: Sequence[str], spec: ModelSpec) -> None:
    options = ort.SessionOptions()
    # Loading is the check; optimising the graph would only cost time.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # ORT raises its own exception types
        raise ModelImportError(f"{name} is not a usable ONNX graph: {e}") from e
    inputs = [i.name for i in session.get_inputs()]
    fits = (
        set(input_names) <= set(inputs) if spec.combined else sorted(inputs) == sorted(input_names)
    )
    if not fits:
        raise ModelImportError(
            f"{name} takes {inputs}, but model {spec.id!r} takes {list(input_names)}: the "
            "files belong to another model."
        )


def install_model(
    spec: ModelSpec,
    source: Path,
    data_dir: Path,
    *,
    move: bool = False,
    origin: Mapping[str, Any] | None = None,
) -> Path:
    """Install the runtime files of `spec` found in `source` (hub layout) as
    `<data dir>/models/<id>/`, replacing an existing install only once the new one is
    complete and checked. `move=True` moves the files (a staging folder on the same disk)
    instead of copying them. `origin` is recorded in model.json (e.g. repo and commit).
    Returns the installed folder."""
    target_parent = models_dir(data_dir)
    target_parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".install-{spec.id}-", dir=target_parent))
    try:
        for name in spec.runtime_files:
            src, dst = Path(source) / name, staging / name
            try:
                dst.parent.mkdir(parents=True, exist_ok=True)
                if move:
                    os.replace(src, dst)
                else:
                    shutil.copyfile(src, dst)
            except FileNotFoundError:
                raise ModelImportError(f"{src} is missing (model {spec.id!r} needs it).") from None
            except OSError as e:
                raise ModelImportError(
                    f"can't copy {src} into {staging}: {e.strerror or e}. Check that the file "
                    "is readable and the disk has room, then try again."
                ) from e
        where = dict(origin or {})
        label = where.get("path") or where.get("repo") or str(source)
        files = check_runtime_files(spec, staging, str(label))
        installed = spec_to_json(replace(spec, files=tuple(files)))
        installed.update(installed=dict(origin or {}), version=installed_version(spec, files))
        with open(staging / MODEL_FILE, "w", encoding="utf-8") as f:
            json.dump(installed, f, indent=2, ensure_ascii=False)
            f.write("\n")
        # The files were just hashed: the first start after the install needn't again.
        record_verified(staging, {f.name: f.sha256 for f in files if f.sha256})
        replace_dir(staging, target_parent / spec.id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target_parent / spec.id


def installed_version(spec: ModelSpec, files: Sequence[ModelFile]) -> str:
    """The catalog version plus a digest of the installed files' SHA-256s: another hub
    revision (new weights under the same id) is another version, so the vectors of the old
    files are dropped instead of being searched with the new ones (see `Library`)."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.name):
        digest.update(f"{f.name}\0{f.sha256}\n".encode())
    return f"{spec.version}-{digest.hexdigest()[:12]}"


# -- offline import ------------------------------------------------------------------------


def import_model(
    path: Path,
    data_dir: Path,
    model_id: str | None = None,
    *,
    catalog: Path | None = None,
) -> Path:
    """Install a model from a folder or a zip of its runtime files (hub layout, at the top
    or inside one folder, e.g. `ViT-B-32__openai/visual/model.onnx`).

    The model is `model_id` if given, else the one whose hub repository name matches the
    folder's or zip's name (`ViT-B-32__openai`), else the `id` of a model.json inside it.
    The catalog's spec is what the files are checked against, never one from the archive.
    A folder no catalogue entry matches that holds a bare transformers.js / Optimum or Immich
    export is installed with the spec its own config files give
    (`mmsearch.encoders.hubconfig.describe_folder`), under `model_id` or the folder's name.
    Returns the installed folder; raises ModelImportError saying what is wrong.
    """
    path = Path(path)
    if not path.exists():
        raise ModelImportError(f"{path} does not exist.")
    specs = available_specs(catalog)
    if path.is_dir():
        try:
            names = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]
        except OSError as e:
            raise ModelImportError(
                f"can't read the folder {path}: {e.strerror or e} ({e.filename or path})."
            ) from e
        try:
            spec = _pick_spec(specs, model_id, path.name, names, lambda n: (path / n).read_bytes())
            root = _find_root(spec, names)
        except ModelImportError as unknown:
            spec, root = _describe_bare(path, model_id, unknown)
        return install_model(
            spec,
            path / root if root else path,
            data_dir,
            origin={"from": "import", "path": str(path)},
        )
    if not zipfile.is_zipfile(path):
        fix = "download or copy it again, or unpack it and import the folder"
        raise ModelImportError(
            f"{path} is neither a folder nor a zip archive (or the zip is truncated: its end "
            f"is missing): {fix}.",
            hint=fix,
        )
    try:
        return _import_zip(path, data_dir, model_id, specs)
    except _ZIP_ERRORS as e:
        fix = "download or copy it again, or unpack it with another tool and import the folder"
        raise ModelImportError(
            f"{path} is a damaged zip archive ({type(e).__name__}: {e}): {fix}.", hint=fix
        ) from e


# What zipfile, zlib and the OS raise for a lying, truncated or garbled archive (an
# encrypted member gives RuntimeError, an unknown compression NotImplementedError).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    struct.error,
)


def _import_zip(
    path: Path, data_dir: Path, model_id: str | None, specs: Sequence[ModelSpec]
) -> Path:
    try:
        opened = zipfile.ZipFile(path)
    except OSError as e:
        raise ModelImportError(f"can't read {path}: {e.strerror or e}.") from e
    with opened as archive:
        members = _safe_members(archive)
        names = list(members)

        def read(name: str) -> bytes:
            info = members[name]
            if info.file_size > 1 << 20:
                raise ModelImportError(f"{name} is too large for a model.json.")
            return archive.read(info)

        spec = _pick_spec(specs, model_id, path.stem, names, read)
        root = _find_root(spec, names)
        target_parent = models_dir(data_dir)
        target_parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".import-{spec.id}-", dir=target_parent))
        try:
            for name in spec.runtime_files:
                member = f"{root}/{name}" if root else name
                if member not in members:
                    raise ModelImportError(f"{path} has no {member} (model {spec.id!r} needs it).")
                _extract(archive, members[member], staging / name)
            return install_model(
                spec, staging, data_dir, move=True, origin={"from": "import", "path": str(path)}
            )
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _safe_members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The archive's file members by normalised name, after refusing the whole archive if
    any member could escape the folder or blow up the disk."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ModelImportError(f"the archive has {len(infos)} members: too many for a model.")
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        raw = info.filename
        name = raw.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if (
            name.startswith("/")
            or (len(name) > 1 and name[1] == ":")
            or ".." in parts
            or "\x00" in name
        ):
            raise ModelImportError(f"the archive member {raw!r} points outside the model folder.")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ModelImportError(f"the archive member {raw!r} is a link: refused.")
        if info.is_dir():
            continue
        if info.file_size > MAX_FILE_BYTES:
            raise ModelImportError(
                f"the archive member {raw!r} unpacks to {info.file_size:,} bytes: over the "
                f"{MAX_FILE_BYTES:,}-byte limit."
            )
        if info.compress_size and info.file_size > MAX_RATIO * info.compress_size > 0:
            raise ModelImportError(
                f"the archive member {raw!r} unpacks to {info.file_size // info.compress_size}x "
                "its packed size: refused as a zip bomb."
            )
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise ModelImportError(
                f"the archive unpacks to more than {MAX_TOTAL_BYTES:,} bytes: refused."
            )
        members["/".join(parts)] = info
    return members


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dst: Path) -> None:
    """Copy one member out, counting bytes: a header that lies about the size is caught
    while writing, not after the disk is full."""
    written = 0
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        out = open(dst, "wb")  # noqa: SIM115 - closed below, write errors told apart
    except OSError as e:
        raise ModelImportError(f"can't write {dst}: {e.strerror or e}.") from e
    with archive.open(info) as src, out:
        while chunk := src.read(_COPY_CHUNK):
            written += len(chunk)
            if written > info.file_size:
                raise ModelImportError(
                    f"the archive member {info.filename!r} unpacks to more than it declares."
                )
            try:
                out.write(chunk)
            except OSError as e:
                raise ModelImportError(
                    f"can't write {dst}: {e.strerror or e}. Make room and try again."
                ) from e
    if written != info.file_size:
        raise ModelImportError(
            f"the archive member {info.filename!r} unpacks to {written:,} bytes, not the "
            f"{info.file_size:,} it declares: the archive is damaged; copy it again."
        )


def _pick_spec(
    specs: Sequence[ModelSpec],
    model_id: str | None,
    name: str,
    members: Sequence[str],
    read: Any,
) -> ModelSpec:
    if model_id:
        return _by_id(specs, model_id)
    for spec in specs:
        if spec.hub_repo and spec.hub_repo.split("/")[-1] == name:
            return spec
        if spec.id == name:
            return spec
    manifests = [m for m in members if m.rsplit("/", 1)[-1] == MODEL_FILE]
    if len(manifests) == 1:
        try:
            found_id = json.loads(read(manifests[0])).get("id")
        except (ValueError, AttributeError, OSError):
            found_id = None  # unreadable, not UTF-8 or not JSON: the caller is asked to name it
        if isinstance(found_id, str):
            return _by_id(specs, found_id)
    raise ModelImportError(
        f"can't tell which model {name!r} holds: name it (known: "
        + ", ".join(s.id for s in specs)
        + ")."
    )


def _by_id(specs: Sequence[ModelSpec], model_id: str) -> ModelSpec:
    for spec in specs:
        if spec.id == model_id:
            return spec
    raise ModelImportError(
        f"unknown model {model_id!r}: known CLIP models are " + ", ".join(s.id for s in specs)
    )


def _describe_bare(
    path: Path, model_id: str | None, unknown: ModelImportError
) -> tuple[ModelSpec, str]:
    """A folder no catalogue entry matches that holds a bare Optimum or Immich export (at
    its top or in one folder below): its spec from its own files (`describe_folder`), and
    that folder. Else `unknown`, the catalogue's answer, is raised."""
    roots = [""] if folder_layout(path) else []
    if not roots:
        try:
            roots = [p.name for p in path.iterdir() if p.is_dir() and folder_layout(p)]
        except OSError:
            roots = []
    if len(roots) != 1:
        raise unknown
    root = roots[0]
    try:
        return describe_folder(path / root, model_id or id_from_name(path.name)), root
    except ModelError as e:
        raise ModelImportError(f"{e} Not installed.", hint=e.hint) from e


def _find_root(spec: ModelSpec, names: Sequence[str]) -> str:
    """The folder inside the import that holds the hub layout: '' or one top folder."""
    image = spec.image.file
    if image in names:
        return ""
    roots = {n[: -len(image) - 1] for n in names if n.endswith("/" + image)}
    if len(roots) == 1:
        root = roots.pop()
        if "/" not in root:
            return root
    raise ModelImportError(
        f"no {image} at the top of the import or in one folder below it: is it model "
        f"{spec.id!r} in the hub layout?"
    )

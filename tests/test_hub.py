"""Download (against a local imitation of the model hub) and offline import of CLIP models.

The server answers the hub's `/{repo}/resolve/{revision}/{path}` URLs the way
huggingface_hub expects (X-Repo-Commit, ETag = the file's SHA-256 as for LFS files,
Content-Length, range requests, X-Error-Code: EntryNotFound), serving the files our export
recipe made; faults (a connection dropped mid-file, corrupted bytes) are injected per path.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import os
import re
import socket
import stat
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmsearch.encoders import ModelSpec
from mmsearch.encoders.formats import hub_spec, load_spec, spec_to_json
from mmsearch.encoders.model import load_model
from mmsearch.services import models as manager
from mmsearch.services.models.download import (
    ChecksumError,
    DiskFullError,
    DownloadCancelled,
    MissingFileError,
    NoNetworkError,
    Progress,
    download_model,
)
from mmsearch.services.models.install import ModelImportError, import_model

pytest.importorskip("open_clip")
from clip_support import exported_model

REPO = "immich-app/ViT-B-32__openai"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class HubState:
    root: Path
    drop_after: dict[str, int] = field(default_factory=dict)
    corrupt: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)


def _handler(state: HubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _resolve(self) -> Path | None:
            # /{org}/{name}/resolve/{revision}/{path...}
            parts = self.path.split("?")[0].lstrip("/").split("/")
            if len(parts) < 5 or parts[2] != "resolve" or "/".join(parts[:2]) != REPO:
                return None
            if parts[3] not in ("main", COMMIT):
                return None
            path = state.root / "/".join(parts[4:])
            return path if path.is_file() else None

        def _headers(self, path: Path | None, length: int, status: int = 200) -> None:
            self.send_response(status)
            self.send_header("X-Repo-Commit", COMMIT)
            if path is None:
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("X-Error-Message", "Entry not found")
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                self.send_header("ETag", f'"{digest}"')
                self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(length))
            self.end_headers()

        def do_HEAD(self) -> None:
            path = self._resolve()
            state.requests.append(("HEAD", self.path, None))
            if path is None:
                self._headers(None, 0, 404)
            else:
                self._headers(path, path.stat().st_size)

        def do_GET(self) -> None:
            path = self._resolve()
            ranged = self.headers.get("Range")
            state.requests.append(("GET", self.path, ranged))
            if path is None:
                self._headers(None, 0, 404)
                return
            data = path.read_bytes()
            name = path.relative_to(state.root).as_posix()
            if name in state.corrupt:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            start = 0
            if ranged and ranged.startswith("bytes="):
                start = int(ranged[6:].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
            else:
                self._headers(path, len(data))
            body = data[start:]
            cut = state.drop_after.pop(name, None) if not ranged else None
            if cut is not None:
                # An interrupted transfer: part of the body, then the connection drops.
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture(scope="module")
def exported() -> tuple[ModelSpec, Path]:
    return exported_model("clip-vit-b-32-openai")


@contextlib.contextmanager
def serving(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[HubState, str]]:
    """The hub imitation serving `folder` on 127.0.0.1 (no proxy), and its endpoint."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    state = HubState(folder)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hub(
    exported: tuple[ModelSpec, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[HubState, str]]:
    with serving(exported[1], monkeypatch) as served:
        yield served


def _spec_with(spec: ModelSpec, **changes: Any) -> ModelSpec:
    data = spec_to_json(spec)
    for key, value in changes.items():
        if key == "files":
            data["source"]["files"].update(value)
        else:
            data[key] = value
    return hub_spec(data)


@pytest.mark.slow
def test_download_installs_checks_and_resumes(
    hub: tuple[HubState, str], exported: tuple[ModelSpec, Path], tmp_path: Path
) -> None:
    state, endpoint = hub
    spec, folder = exported
    manifest = json.loads((folder / "manifest.json").read_text())
    # the spec knows the checksums of two files; the others are checked against the ETag
    spec = _spec_with(spec, files={n: manifest[n] for n in ("config.json", "textual/model.onnx")})
    # huggingface_hub hands bytes on in 10 MiB chunks: cut after two and a half of them
    state.drop_after["visual/model.onnx"] = 25_000_000
    seen: list[Progress] = []
    target = download_model(spec, tmp_path, progress=seen.append, endpoint=endpoint)

    assert target == tmp_path / "models" / spec.id
    ranged = [r for r in state.requests if r[0] == "GET" and r[2]]
    gets = [r for r in state.requests if r[0] == "GET"]
    assert ranged and ranged[0][1].endswith("visual/model.onnx"), gets
    assert ranged[0][2] == f"bytes={2 * 10 * 1024 * 1024}-"  # resumed, not restarted
    for name in spec.runtime_files:
        assert (target / name).read_bytes() == (folder / name).read_bytes(), name
    installed = load_spec(target)
    assert installed.data["installed"] == {"from": "hub", "repo": REPO, "revision": COMMIT}
    # the version names the files: other weights under this id would be another version
    assert re.fullmatch(rf"{re.escape(spec.version)}-[0-9a-f]{{12}}", installed.version)
    assert installed.file("visual/model.onnx").sha256 == manifest["visual/model.onnx"]["sha256"]
    assert not (tmp_path / "models" / ".partial" / spec.id).exists()
    assert seen[-1].done == seen[-1].total == sum(manifest[n]["size"] for n in spec.runtime_files)
    assert all(a.done <= b.done for a, b in itertools.pairwise(seen))
    assert spec.id in manager.installed(tmp_path)
    model = load_model(target, verify=True)
    vectors = model.text.encode(["a cat on a sofa"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    manager.remove_model(tmp_path, spec.id)
    assert not target.exists() and spec.id not in manager.installed(tmp_path)


def test_wrong_checksum_is_refused(
    hub: tuple[HubState, str], exported: tuple[ModelSpec, Path], tmp_path: Path
) -> None:
    _, endpoint = hub
    spec = _spec_with(exported[0], files={"config.json": {"size": None, "sha256": "0" * 64}})
    with pytest.raises(ChecksumError, match=re.escape("config.json")):
        download_model(spec, tmp_path, endpoint=endpoint)
    assert not (tmp_path / "models" / spec.id).exists()
    assert not (tmp_path / "models" / ".partial" / spec.id / "config.json").exists()


def test_corrupted_transfer_is_refused_by_the_etag(
    hub: tuple[HubState, str], exported: tuple[ModelSpec, Path], tmp_path: Path
) -> None:
    state, endpoint = hub
    state.corrupt.add("config.json")
    with pytest.raises(ChecksumError, match=re.escape("config.json")):
        download_model(exported[0], tmp_path, endpoint=endpoint)


def test_wrong_size_in_spec_is_refused_before_downloading(
    hub: tuple[HubState, str], exported: tuple[ModelSpec, Path], tmp_path: Path
) -> None:
    state, endpoint = hub
    spec = _spec_with(exported[0], files={"visual/model.onnx": {"size": 5, "sha256": None}})
    with pytest.raises(ChecksumError, match=re.escape("visual/model.onnx")):
        download_model(spec, tmp_path, endpoint=endpoint)
    assert not any(r[0] == "GET" for r in state.requests)


def test_missing_file_is_named(
    hub: tuple[HubState, str], exported: tuple[ModelSpec, Path], tmp_path: Path
) -> None:
    _, endpoint = hub
    data = spec_to_json(exported[0])
    data["runtime_files"] = [*data["runtime_files"], "textual/missing.json"]
    with pytest.raises(MissingFileError, match=re.escape("textual/missing.json")):
        download_model(hub_spec(data), tmp_path, endpoint=endpoint)


def test_no_server_says_no_network(exported: tuple[ModelSpec, Path], tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NoNetworkError, match="no network"):
        download_model(exported[0], tmp_path, endpoint=f"http://127.0.0.1:{port}")


def test_disk_full_is_said_before_downloading(
    hub: tuple[HubState, str],
    exported: tuple[ModelSpec, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, endpoint = hub

    class Usage:
        free = 10 << 20

    monkeypatch.setattr("mmsearch.services.models.download.shutil.disk_usage", lambda path: Usage())
    with pytest.raises(DiskFullError, match="MB free"):
        download_model(exported[0], tmp_path, endpoint=endpoint)
    assert not any(r[0] == "GET" for r in state.requests)


def test_cancel_stops_the_download(
    hub: tuple[HubState, str], exported: tuple[ModelSpec, Path], tmp_path: Path
) -> None:
    _, endpoint = hub
    cancel = threading.Event()
    with pytest.raises(DownloadCancelled):
        download_model(
            exported[0], tmp_path, endpoint=endpoint, progress=lambda p: cancel.set(), cancel=cancel
        )
    assert not (tmp_path / "models" / exported[0].id).exists()


def test_model_without_hub_repo_says_import(tmp_path: Path) -> None:
    from mmsearch.services.models import get_spec

    with pytest.raises(MissingFileError, match="import"):
        download_model(get_spec("mobileclip-s2"), tmp_path)


# -- offline import ------------------------------------------------------------------------


def _zip(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return path


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../evil.onnx", "outside"),
        ("ViT-B-32__openai/../../evil.onnx", "outside"),
        ("/etc/evil.onnx", "outside"),
        ("C:/evil.onnx", "outside"),
        ("..\\evil.onnx", "outside"),
    ],
)
def test_import_refuses_path_traversal(tmp_path: Path, member: str, reason: str) -> None:
    archive = _zip(tmp_path / "ViT-B-32__openai.zip", [(member, b"x")])
    with pytest.raises(ModelImportError, match=reason):
        import_model(archive, tmp_path / "data")
    assert not (tmp_path / "evil.onnx").exists()
    assert not (tmp_path / "data" / "models" / "clip-vit-b-32-openai").exists()


def test_import_refuses_links(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("ViT-B-32__openai/visual/model.onnx")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = _zip(tmp_path / "ViT-B-32__openai.zip", [(info, b"/etc/passwd")])
    with pytest.raises(ModelImportError, match="link"):
        import_model(archive, tmp_path / "data")


def test_import_refuses_zip_bomb(tmp_path: Path) -> None:
    archive = _zip(
        tmp_path / "ViT-B-32__openai.zip",
        [("ViT-B-32__openai/visual/model.onnx", bytes(64 << 20))],
    )
    assert archive.stat().st_size < 1 << 20
    with pytest.raises(ModelImportError, match="zip bomb"):
        import_model(archive, tmp_path / "data")
    assert not list((tmp_path / "data" / "models").glob("**/model.onnx"))


def test_import_refuses_files_of_another_model(
    exported: tuple[ModelSpec, Path], tmp_path: Path
) -> None:
    spec, folder = exported
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in spec.runtime_files:
            # the text graph where the image graph belongs
            source = spec.text.file if name == spec.image.file else name
            archive.write(folder / source, f"ViT-B-32__openai/{name}")
    (tmp_path / "ViT-B-32__openai.zip").write_bytes(buffer.getvalue())
    with pytest.raises(ModelImportError, match=r"visual/model.onnx takes \['text'\]"):
        import_model(tmp_path / "ViT-B-32__openai.zip", tmp_path / "data")
    leftovers = [p for p in (tmp_path / "data" / "models").iterdir()]
    assert leftovers == []


@pytest.mark.slow
def test_import_zip_installs(exported: tuple[ModelSpec, Path], tmp_path: Path) -> None:
    spec, folder = exported
    archive = tmp_path / "ViT-B-32__openai.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        for name in [*spec.runtime_files, "textual/vocab.json"]:
            z.write(folder / name, f"ViT-B-32__openai/{name}")
    target = import_model(archive, tmp_path / "data")
    assert target == tmp_path / "data" / "models" / spec.id
    installed = load_spec(target)
    assert installed.data["installed"]["from"] == "import"
    assert not (target / "textual" / "vocab.json").exists()  # only runtime files
    assert sorted(os.listdir(tmp_path / "data" / "models")) == [spec.id]
    installed.verify_files(target)
    # The version follows the files: the same files from a folder give the same version,
    # changed files (another hub revision) another one.
    same = import_model(folder, tmp_path / "same", spec.id)
    assert load_spec(same).version == installed.version
    changed = tmp_path / "changed"
    for name in spec.runtime_files:
        (changed / name).parent.mkdir(parents=True, exist_ok=True)
        (changed / name).write_bytes((folder / name).read_bytes())
    (changed / "config.json").write_text((folder / "config.json").read_text() + "\n")
    other = import_model(changed, tmp_path / "other", spec.id)
    assert load_spec(other).version != installed.version


@pytest.mark.slow
def test_window_downloads_and_switches_to_a_clip_model(
    hub: tuple[HubState, str],
    qtbot: Any,
    tmp_path: Path,
    photo_folder: Path,
    bundled_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Settings -> a downloadable model: the window downloads it (byte progress), embeds the
    photos with it in the background, then searches with it."""
    from PySide6.QtCore import QSettings

    from mmsearch.services.library import Library, read_active_model
    from mmsearch.services.models import list_models
    from mmsearch.ui.main_window import MainWindow
    from mmsearch.ui.settings import Preferences, SettingsDialog

    _, endpoint = hub
    monkeypatch.setenv("HF_ENDPOINT", endpoint)  # a mirror, as a user would set it
    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
    prefs = Preferences(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(Library(tmp_path / "data"), prefs)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.indexer.finished, timeout=120_000):
        window.add_folder(photo_folder)
    dialog = SettingsDialog(
        prefs,
        list_models(window.library.data_dir, window.library),
        window.library.model_id,
        window.library.data_dir,
        False,
        window,
    )
    qtbot.addWidget(dialog)
    dialog.model.setCurrentIndex(dialog.model.findData("clip-vit-b-32-openai"))
    chosen = dialog.chosen_model()
    assert chosen is not None and chosen.status == "available" and chosen.downloadable
    downloaded: list[tuple[int, int]] = []
    window.switcher.download_progress.connect(lambda done, total: downloaded.append((done, total)))
    with qtbot.waitSignal(window.switcher.finished, timeout=300_000):
        window.switch_model(chosen.id)
    assert downloaded and downloaded[-1][0] == downloaded[-1][1] > 300_000_000
    assert window.library.model_id == "clip-vit-b-32-openai"
    assert read_active_model(tmp_path / "data") == "clip-vit-b-32-openai"
    assert window.library.catalog.counts("clip-vit-b-32-openai")["embedded"] == 6
    assert len(window.engine.search("a cat", 3)) == 3
    window.close()


@pytest.mark.slow
def test_cli_models_use_downloads_then_switches(
    hub: tuple[HubState, str],
    cli: Any,
    home: Path,
    photo_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`mmsearch models use ID` of a catalogue model not installed yet: `install_and_use`
    downloads it (cancel keeps what was fetched, the old model stays active), then embeds
    every photo with it and switches, as the window does."""
    from mmsearch.paths import BUNDLED_MODEL_ID
    from mmsearch.services.library import Library, read_active_model

    state, endpoint = hub
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    cli("index", str(photo_folder))
    cancel = threading.Event()
    with pytest.raises(DownloadCancelled):
        manager.install_and_use(
            home, "clip-vit-b-32-openai", download_progress=lambda p: cancel.set(), cancel=cancel
        )
    assert (read_active_model(home) or BUNDLED_MODEL_ID) == BUNDLED_MODEL_ID
    assert "clip-vit-b-32-openai" not in manager.installed(home)
    assert (home / "models" / ".partial" / "clip-vit-b-32-openai").is_dir()  # kept to resume
    switched = cli("models", "use", "clip-vit-b-32-openai")
    assert switched["model"] == "clip-vit-b-32-openai" and switched["switched"]
    assert not switched["failed"] and read_active_model(home) == "clip-vit-b-32-openai"
    with Library(home) as lib:
        assert lib.model_id == "clip-vit-b-32-openai"
        assert lib.catalog.counts("clip-vit-b-32-openai")["embedded"] == 6
    installed = load_spec(home / "models" / "clip-vit-b-32-openai")
    assert installed.data["installed"]["from"] == "hub"
    assert any(r[0] == "GET" for r in state.requests)
    # installed now: a second `use` switches without asking the hub again
    cli("models", "use", BUNDLED_MODEL_ID)
    asked = len(state.requests)
    assert cli("models", "use", "clip-vit-b-32-openai")["switched"]
    assert len(state.requests) == asked

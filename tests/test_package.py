"""The packaged app as a user gets it: the one-folder build started from a clean
environment, and the .deb installed, reinstalled and removed in a temporary root.

`make package-test` builds the package if needed and runs these (a missing build is then a
failure); `make test` runs them only when `make package` has left a build in dist/.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmsearch import __version__
from mmsearch.paths import repo_root

REPO = repo_root()
DIST = REPO / "dist"
APP = DIST / "mmsearch"
SELFTEST_PHOTOS = REPO / "packaging" / "selftest"
REQUIRED = os.environ.get("MMSEARCH_PACKAGE_TEST") == "require"
SIZE_LIMIT = 400 * 1024 * 1024
TIMEOUT = 600
# The catalogue as the checkout has it: every spec must travel in the bundle.
EXPECTED_SPECS = sorted(
    p.name for p in (REPO / "mmsearch" / "services" / "models" / "specs").glob("*.json")
)


def _missing(what: Path) -> None:
    message = f"no packaged build: {what} is missing (run `make package`)"
    if REQUIRED:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def app() -> Path:
    """The one-folder build."""
    if not (APP / "mmsearch").is_file():
        _missing(APP / "mmsearch")
    return APP


@pytest.fixture(scope="module")
def deb() -> Path:
    """The .deb of this version."""
    found = sorted(DIST.glob(f"mmsearch_{__version__}_*.deb"))
    if not found:
        _missing(DIST / f"mmsearch_{__version__}_<arch>.deb")
    if shutil.which("dpkg") is None:
        pytest.skip("dpkg is not installed: not a Debian system")
    return found[-1]


def clean_env(home: Path, path: str = "/usr/bin:/bin") -> dict[str, str]:
    """What a person's session has: no virtual environment, no PYTHONPATH, no mmsearch
    variables, a fresh HOME (so the platform data dir is inside it), no screen."""
    env = {
        "PATH": path,
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
    }
    home.mkdir(parents=True, exist_ok=True)
    return env


def run(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    """Run `cmd`, print its output (shown with -s or on failure) and return it."""
    result = subprocess.run(
        cmd,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    output = result.stdout + result.stderr
    print(f"$ {' '.join(cmd)}\n{output}")
    assert result.returncode == 0, f"{cmd[0]} exited {result.returncode}:\n{output}"
    return output


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_bundle_holds_no_torch(app: Path) -> None:
    names = files_under(app)
    parts = {part for name in names for part in Path(name).parts}
    assert not parts & {"torch", "torchvision", "torchaudio", "transformers"}, parts
    assert not [n for n in names if Path(n).name.startswith(("libtorch", "libc10"))]
    # `models/` of the checkout is the training code: none of it travels; the catalogue of
    # specs does, as mmsearch's package data
    assert not [n for n in names if n.startswith("_internal/models/") and Path(n).suffix]
    specs = "_internal/mmsearch/services/models/specs/"
    assert EXPECTED_SPECS and {f"{specs}{s}" for s in EXPECTED_SPECS} <= names
    assert any(Path(n).name.startswith("onnxruntime_pybind11_state") for n in names)
    # Inside the executable's archive too (module names, not files).
    pytest.importorskip("PyInstaller", reason="the package extra (pip install -e .[package])")
    from PyInstaller.archive.readers import pkg_archive_contents

    modules = set(pkg_archive_contents(str(app / "mmsearch"), recursive=True))
    forbidden = ("torch", "torchvision", "transformers", "models", "onnx", "skimage")
    assert not [m for m in modules if m.split(".")[0] in forbidden]
    assert "mmsearch.selftest" in modules and "onnxruntime" in modules


def test_bundle_size_and_contents(app: Path) -> None:
    total = sum(p.stat().st_size for p in app.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"one-folder build: {total / 2**20:.1f} MB")
    assert total < SIZE_LIMIT, f"{total / 2**20:.0f} MB, over 400 MB"
    broken = [str(p) for p in app.rglob("*") if p.is_symlink() and not p.exists()]
    assert not broken, f"dangling links: {broken}"
    internal = app / "_internal"
    assert list((internal / "build" / "models").glob("*/spec.json")), "no model bundled"
    assert list((internal / "mmsearch" / "ui" / "i18n").glob("*.qm")), "no translations"
    assert (internal / "resources" / "icons" / "mmsearch.svg").is_file()
    assert (internal / "PySide6" / "Qt" / "plugins" / "platforms" / "libqxcb.so").is_file()


def test_one_folder_self_test_from_a_clean_environment(app: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = run([str(app / "mmsearch"), "--self-test"], clean_env(home), cwd=tmp_path)
    assert "self-test passed" in out
    assert "same answers as the unpackaged app" in out  # the build-time reference was used
    # The self-test works in a temporary folder: no data or settings left behind.
    assert not [n for n in files_under(home) if "mmsearch" in n], files_under(home)
    assert not [n for n in files_under(app) if n.endswith((".sqlite", ".sqlite-wal", ".hnsw"))]


def test_window_starts_through_the_gui_name(app: Path, tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home")
    env["MMSEARCH_READY_PROBE"] = "1"
    out = run([str(app / "mmsearch-gui")], env)
    assert "mmsearch-gui: ready" in out
    data = tmp_path / "home" / ".local" / "share" / "mmsearch"
    assert (data / "catalog.sqlite").is_file(), "the catalog is not in the platform data dir"


class Root:
    """A temporary root with its own dpkg database: install, reinstall and remove the .deb
    there exactly as on a real system, without touching this machine's packages."""

    def __init__(self, root: Path) -> None:
        self.root = root
        admin = root / "var" / "lib" / "dpkg"
        for sub in ("info", "updates", "triggers"):
            (admin / sub).mkdir(parents=True, exist_ok=True)
        (admin / "status").touch()
        (admin / "available").touch()

    def dpkg(self, *args: str) -> str:
        cmd = [
            "dpkg",
            f"--root={self.root}",
            "--log=/dev/null",
            "--force-not-root",
            "--force-depends",  # the temporary root has no libc, Qt's X libraries...
            "--force-script-chrootless",
            *args,
        ]
        return run(cmd, dict(os.environ))

    def path(self, inside: str) -> Path:
        """A path inside the root, following absolute links the way the system would."""
        path = self.root / inside.lstrip("/")
        while path.is_symlink():
            target = os.readlink(path)
            path = (
                self.root / target.lstrip("/") if target.startswith("/") else path.parent / target
            )
        return path


@pytest.fixture
def root(tmp_path: Path, deb: Path) -> Iterator[Root]:
    yield Root(tmp_path / "root")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_deb_install_self_test_reinstall_remove(root: Root, deb: Path, tmp_path: Path) -> None:
    root.dpkg("--install", str(deb))
    opt = root.root / "opt" / "mmsearch"
    assert (opt / "mmsearch").is_file() and (opt / "_internal").is_dir()
    assert os.readlink(root.root / "usr/bin/mmsearch") == "/opt/mmsearch/mmsearch"
    assert root.path("/usr/bin/mmsearch-gui").resolve() == (opt / "mmsearch").resolve()
    entry = (root.root / "usr/share/applications/mmsearch.desktop").read_text()
    assert "Exec=/opt/mmsearch/mmsearch-gui" in entry and "Icon=mmsearch" in entry
    assert (root.root / "usr/share/icons/hicolor/scalable/apps/mmsearch.svg").is_file()
    owned = set(root.dpkg("--listfiles", "mmsearch").split()) - {"/."}
    assert all(p.startswith(("/opt", "/usr")) for p in owned if p.startswith("/")), owned

    # The self-test of the installed copy, started as a person would: `mmsearch` on PATH.
    # /usr/bin/mmsearch points at /opt/mmsearch/mmsearch, which outside a chroot means this
    # machine's /opt: a PATH folder with the same link resolved inside the root stands in.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "mmsearch").symlink_to(root.path("/usr/bin/mmsearch"))
    home = tmp_path / "home"
    env = clean_env(home, path=f"{bindir}:/usr/bin:/bin")
    installed_before = files_under(opt)
    out = run(["mmsearch", "--self-test", "--no-gui"], env)
    assert "self-test passed" in out

    # A user's catalog, in the platform data dir, never in /opt.
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("cat.jpg", "coffee.jpg", "rocket.jpg"):
        shutil.copyfile(SELFTEST_PHOTOS / name, photos / name)
    run(["mmsearch", "index", str(photos)], env)
    catalog = home / ".local" / "share" / "mmsearch" / "catalog.sqlite"
    assert catalog.is_file()
    assert files_under(opt) == installed_before, "the app wrote into its installation"

    # A second install over the first keeps the catalog, and it still answers.
    root.dpkg("--install", str(deb))
    assert catalog.is_file()
    status = run(["mmsearch", "status", "--json"], env)
    assert '"embedded": 3' in status.replace("\n", " ") or '"embedded":3' in status
    hits = run(["mmsearch", "search", "a cup of coffee", "--json"], env)
    assert "coffee.jpg" in hits

    # Removing the package removes its files and nothing of the user's.
    before = _sha256(catalog)
    root.dpkg("--remove", "mmsearch")
    assert not opt.exists()
    assert not (root.root / "usr/bin/mmsearch").exists()
    assert not (root.root / "usr/bin/mmsearch").is_symlink()
    assert not (root.root / "usr/share/applications/mmsearch.desktop").exists()
    assert catalog.is_file() and _sha256(catalog) == before


def test_tarball_holds_the_folder_desktop_entry_and_icon(app: Path) -> None:
    found = sorted(DIST.glob(f"mmsearch-{__version__}-linux-*.tar.gz"))
    if not found:
        _missing(DIST / f"mmsearch-{__version__}-linux-<machine>.tar.gz")
    top = f"mmsearch-{__version__}"
    with tarfile.open(found[-1]) as tar:
        names = set(tar.getnames())
        entry = tar.extractfile(f"{top}/mmsearch.desktop")
        assert entry is not None
        desktop = entry.read().decode()
    for name in ("mmsearch/mmsearch", "mmsearch/mmsearch-gui", "mmsearch.svg"):
        assert f"{top}/{name}" in names
    assert f"{top}/install-desktop-entry.sh" in names
    assert "Icon=mmsearch" in desktop and "Exec=" in desktop

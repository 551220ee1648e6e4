"""Build the installable mmsearch: what `make package` runs (see docs/packaging.md).

    python packaging/build.py all        # Linux: prepare, app, check, size, tar.gz, .deb
    python packaging/build.py app        # any platform: prepare, the one-folder app, check
    python packaging/build.py STEP...    # prepare | app | check | size | tarball | deb

- prepare: the self-test's reference values (selftest/reference.json), recorded with the
  unpackaged app from the models in build/models, and the icon as PNG, ICO (Windows) and
  ICNS (macOS), all in build/packaging/.
- app: PyInstaller with packaging/mmsearch.spec into dist/mmsearch/ (and dist/mmsearch.app
  on macOS).
- check: the bundle holds no torch, torchvision, transformers or training code: neither as
  files nor as modules inside the executables' archives.
- size: the one-folder build's size and its largest parts; fails over 400 MB.
- tarball: dist/mmsearch-VERSION-linux-ARCH.tar.gz, the folder plus a .desktop entry, the
  icon and a script that adds both to the user's menu.
- deb: dist/mmsearch_VERSION_ARCH.deb, built with dpkg-deb: /opt/mmsearch, /usr/bin links,
  a menu entry and the icon. No maintainer scripts: removing it removes only its files.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmsearch import __version__  # noqa: E402

DIST = ROOT / "dist"
APP = DIST / "mmsearch"
GENERATED = ROOT / "build" / "packaging"
PYI_WORK = ROOT / "build" / "pyinstaller"
LINUX = ROOT / "packaging" / "linux"
ICON_SVG = ROOT / "resources" / "icons" / "mmsearch.svg"
SIZE_LIMIT_MB = 400
#: Never in the bundle, as a folder or a module (the model-building and training stack).
FORBIDDEN_MODULES = ("torch", "torchvision", "torchaudio", "transformers", "models")
FORBIDDEN_FILES = ("libtorch", "libc10", "libtorch_cpu", "libtorch_python")


def log(message: str) -> None:
    print(f"[package] {message}", flush=True)


def prepare() -> None:
    """Reference values for the self-test, and the icon in each platform's format."""
    from mmsearch.selftest import bundled_models, record

    models = bundled_models()
    if not models:
        raise SystemExit("no model in build/models: run `make install` first")
    GENERATED.mkdir(parents=True, exist_ok=True)
    record(GENERATED / "selftest" / "reference.json", models)
    render_icons()


def render_icons() -> None:
    """mmsearch.svg as a 512 px PNG, a multi-size .ico and an .icns (Qt renders the SVG,
    Pillow writes the containers: no platform tool needed)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(["render-icons"])
    image = QImage(1024, 1024, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(ICON_SVG)).render(painter)
    painter.end()
    png = GENERATED / "mmsearch-1024.png"
    if not image.save(str(png)):
        raise SystemExit(f"could not render {ICON_SVG}")
    with Image.open(png) as big:
        big.resize((512, 512), Image.Resampling.LANCZOS).save(GENERATED / "mmsearch.png")
        big.save(GENERATED / "mmsearch.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 256)])
        big.save(GENERATED / "mmsearch.icns")
    del _app
    log(f"icons in {GENERATED}")


def qt_binding() -> None:
    """Refuse to bundle a PySide6 that miscounts None (6.12.0 on Python 3.11: the window
    aborts after about 100 searches): probed on the binding itself, not by version."""
    from mmsearch.ui.qtcheck import check_qt_binding

    try:
        log(check_qt_binding())
    except AssertionError as e:
        raise SystemExit(f"not building: {e}") from None


def app() -> None:
    """The one-folder build, from a clean PyInstaller work folder."""
    qt_binding()
    prepare()
    shutil.rmtree(APP, ignore_errors=True)
    start = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            str(DIST),
            "--workpath",
            str(PYI_WORK),
            str(ROOT / "packaging" / "mmsearch.spec"),
        ],
        check=True,
        cwd=ROOT,
    )
    log(f"PyInstaller built {APP} in {time.monotonic() - start:.0f} s")
    if sys.platform.startswith("linux"):
        strip_debug(APP)
    if os.name == "posix":
        dedupe(APP)
    check()


def _elf(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"\x7fELF"


def strip_debug(folder: Path) -> None:
    """Drop debug symbols from the libraries built with them (libpython, the standard
    library's extensions, hnswlib, SQLAlchemy's and tokenizers' extensions): 40 MB.

    PyInstaller's own `strip` option strips every library, and that breaks the ones that
    auditwheel repaired with patchelf (numpy's OpenBLAS: "ELF load command address/offset
    not page-aligned"), so those are left alone: anything in a `*.libs` folder or with an
    `$ORIGIN` run path, which is how patchelf'd wheels link their libraries.
    """
    if shutil.which("strip") is None or shutil.which("readelf") is None:
        log("strip or readelf missing (binutils): debug symbols kept")
        return
    before = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    for path in folder.rglob("*.so*"):
        if path.is_symlink() or not path.is_file() or not _elf(path):
            continue
        if any(part.endswith(".libs") for part in path.relative_to(folder).parts):
            continue
        dynamic = subprocess.run(
            ["readelf", "-d", str(path)], capture_output=True, text=True, check=False
        ).stdout
        if "$ORIGIN" in dynamic:
            continue
        subprocess.run(["strip", "--strip-debug", str(path)], check=True)
    after = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    log(f"debug symbols stripped: {(before - after) / 2**20:.0f} MB saved")


def dedupe(folder: Path, min_size: int = 1 << 20) -> None:
    """Store identical large files once (a relative link to the first): models built from
    the same text encoder may carry byte-identical ONNX files."""
    import hashlib

    first: dict[tuple[int, str], Path] = {}
    saved = 0
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.stat().st_size < min_size:
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        key = (path.stat().st_size, digest)
        if key in first:
            saved += path.stat().st_size
            path.unlink()
            path.symlink_to(os.path.relpath(first[key], path.parent))
        else:
            first[key] = path
    if saved:
        log(f"identical files stored once: {saved / 2**20:.0f} MB saved")


def archive_modules(executable: Path) -> set[str]:
    """Every module name inside an executable's embedded archive, its PYZ included."""
    from PyInstaller.archive.readers import pkg_archive_contents

    return set(pkg_archive_contents(str(executable), recursive=True))


def forbidden_in(names: Iterable[str]) -> list[str]:
    """The module names (dotted) that belong to a forbidden package."""
    return sorted(
        n for n in names if any(n == m or n.startswith(m + ".") for m in FORBIDDEN_MODULES)
    )


def _code_in(models: Path) -> bool:
    """Whether the bundle has a `models/` with files: the checkout's training and export
    code lives there (the catalogue of specs travels as mmsearch's package data)."""
    return any(f.is_file() for f in models.rglob("*"))


def check(folder: Path = APP) -> None:
    """No torch and no training code, as files or as modules; the executables are there."""
    exe = ".exe" if sys.platform == "win32" else ""
    for name in ("mmsearch", "mmsearch-gui"):
        if not (folder / f"{name}{exe}").is_file():
            raise SystemExit(f"{folder / name}{exe} is missing")
    bad_files = [
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.name in FORBIDDEN_MODULES[:-1]
        or p.name.startswith(FORBIDDEN_FILES)
        or (p.is_dir() and p.name == "models" and p.parent.name == "_internal" and _code_in(p))
    ]
    modules = archive_modules(folder / f"mmsearch{exe}")
    bad_modules = forbidden_in(modules)
    if bad_files or bad_modules:
        raise SystemExit(f"torch or training code in the bundle: {bad_files + bad_modules}")
    if "onnxruntime" not in modules:
        raise SystemExit("onnxruntime is not in the bundle")
    log(f"no torch, torchvision, transformers or models/ in {folder} ({len(modules)} modules)")


def size_report(folder: Path = APP, out: Callable[[str], None] = print) -> int:
    """Print the size of `folder` and its largest parts; return the total in bytes."""
    sizes: dict[str, int] = {}
    files: list[tuple[int, str]] = []
    total = 0
    for p in folder.rglob("*"):
        if p.is_symlink() or not p.is_file():
            continue
        size = p.stat().st_size
        total += size
        rel = p.relative_to(folder).parts
        # Group by the part a person would name: a package or a model, not a file.
        inner = rel[1:] if rel[0] == "_internal" else rel
        depth = 3 if inner[:2] in (("PySide6", "Qt"), ("build", "models")) else 1
        key = "/".join(inner[:depth]) if len(inner) > depth else "/".join(inner[:-1]) or "."
        sizes[key] = sizes.get(key, 0) + size
        files.append((size, "/".join(rel)))
    mb = 1024 * 1024
    out(f"one-folder build {folder}: {total / mb:.1f} MB unpacked (limit {SIZE_LIMIT_MB} MB)")
    out("largest parts:")
    for key, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:12]:
        out(f"  {size / mb:7.1f} MB  {key}")
    out("largest files:")
    for size, name in sorted(files, reverse=True)[:8]:
        out(f"  {size / mb:7.1f} MB  {name}")
    return total


def size() -> None:
    total = size_report()
    if total > SIZE_LIMIT_MB * 1024 * 1024:
        raise SystemExit(f"the build is {total / 2**20:.0f} MB, over {SIZE_LIMIT_MB} MB")


def arch() -> str:
    """Debian's name for this machine's architecture (amd64, arm64...)."""
    try:
        return subprocess.run(
            ["dpkg", "--print-architecture"], check=True, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


def desktop_entry(exec_path: str) -> str:
    template = (LINUX / "mmsearch.desktop").read_text(encoding="utf-8")
    return template.replace("@EXEC@", exec_path)


def tarball() -> Path:
    """The folder, a .desktop entry, the icon and install-desktop-entry.sh, as a .tar.gz."""
    machine = os.uname().machine
    top = f"mmsearch-{__version__}"
    out = DIST / f"mmsearch-{__version__}-linux-{machine}.tar.gz"
    stage = GENERATED / "tar"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    # Exec is rewritten to the unpacked folder's real path by install-desktop-entry.sh.
    (stage / "mmsearch.desktop").write_text(desktop_entry("mmsearch-gui"), encoding="utf-8")
    start = time.monotonic()
    with tarfile.open(out, "w:gz", compresslevel=6) as tar:
        tar.add(APP, arcname=f"{top}/mmsearch")
        tar.add(stage / "mmsearch.desktop", arcname=f"{top}/mmsearch.desktop")
        tar.add(ICON_SVG, arcname=f"{top}/mmsearch.svg")
        tar.add(LINUX / "install-desktop-entry.sh", arcname=f"{top}/install-desktop-entry.sh")
        tar.add(LINUX / "README.txt", arcname=f"{top}/README.txt")
    log(f"{out.name}: {out.stat().st_size / 2**20:.0f} MB in {time.monotonic() - start:.0f} s")
    return out


def _normalise_modes(root: Path) -> None:
    """Files 0644, executables and folders 0755, whatever the build machine's umask."""
    for p in [root, *root.rglob("*")]:
        if p.is_symlink():
            continue
        if p.is_dir() or os.access(p, os.X_OK):
            p.chmod(0o755)
        else:
            p.chmod(0o644)


def deb() -> Path:
    """The .deb, staged in build/packaging/deb and built by dpkg-deb."""
    if shutil.which("dpkg-deb") is None:
        raise SystemExit("dpkg-deb is not installed (Debian's `dpkg` package)")
    architecture = arch()
    stage = GENERATED / "deb"
    shutil.rmtree(stage, ignore_errors=True)
    opt = stage / "opt" / "mmsearch"
    shutil.copytree(APP, opt, symlinks=True)
    bindir = stage / "usr" / "bin"
    bindir.mkdir(parents=True)
    # Links, not copies: the executables find _internal/ beside their real path.
    for name in ("mmsearch", "mmsearch-gui"):
        (bindir / name).symlink_to(f"/opt/mmsearch/{name}")
    apps = stage / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    (apps / "mmsearch.desktop").write_text(
        desktop_entry("/opt/mmsearch/mmsearch-gui"), encoding="utf-8"
    )
    icons = stage / "usr" / "share" / "icons" / "hicolor"
    (icons / "scalable" / "apps").mkdir(parents=True)
    shutil.copyfile(ICON_SVG, icons / "scalable" / "apps" / "mmsearch.svg")
    (icons / "512x512" / "apps").mkdir(parents=True)
    shutil.copyfile(GENERATED / "mmsearch.png", icons / "512x512" / "apps" / "mmsearch.png")
    doc = stage / "usr" / "share" / "doc" / "mmsearch"
    doc.mkdir(parents=True)
    shutil.copyfile(LINUX / "copyright", doc / "copyright")
    installed_kb = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file()) // 1024
    control = (LINUX / "control").read_text(encoding="utf-8")
    control = control.replace("@VERSION@", __version__).replace("@ARCH@", architecture)
    control = control.replace("@SIZE@", str(installed_kb))
    (stage / "DEBIAN").mkdir()
    (stage / "DEBIAN" / "control").write_text(control, encoding="utf-8")
    _normalise_modes(stage)
    out = DIST / f"mmsearch_{__version__}_{architecture}.deb"
    start = time.monotonic()
    # gzip, not dpkg-deb's default xz: xz saves about a quarter of the download but takes
    # minutes on a 2-core CI machine for 380 MB of mostly incompressible libraries and
    # weights, where gzip takes seconds; every dpkg and apt reads both.
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "-z6", "--build", str(stage), str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    shutil.rmtree(stage)
    log(f"{out.name}: {out.stat().st_size / 2**20:.0f} MB in {time.monotonic() - start:.0f} s")
    return out


STEPS: dict[str, Callable[[], object]] = {
    "prepare": prepare,
    "app": app,
    "check": check,
    "size": size,
    "tarball": tarball,
    "deb": deb,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("steps", nargs="+", choices=[*STEPS, "all"])
    args = parser.parse_args(argv)
    steps = ["app", "size", "tarball", "deb"] if "all" in args.steps else args.steps
    start = time.monotonic()
    for step in steps:
        STEPS[step]()
    log(f"done: {', '.join(steps)} in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

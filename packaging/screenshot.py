"""A screenshot of the packaged app running on a real X server (Xvfb), for the docs.

    python packaging/screenshot.py [--out docs/screenshots/packaged-app.png]

Needs Xvfb, ImageMagick's `import`, xdotool (to type the query as a person would) and
Qt's xcb libraries (Debian: xvfb imagemagick xdotool libxcb-cursor0 libxkbcommon-x11-0
...). A fresh HOME; the packaged `mmsearch` indexes the self-test's photos (plus a few more
of scikit-image's samples when .venv has it, for a fuller grid), then `mmsearch-gui` starts
and a query is typed into it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dist" / "mmsearch"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from startup import start_xvfb  # noqa: E402

EXTRA_SAMPLES = ("motorcycle_left.png", "horse.png", "coins.png", "camera.png", "color.png")


def photos(folder: Path) -> None:
    """The self-test's photos and, where available, a few more sample pictures."""
    folder.mkdir(parents=True)
    for p in (ROOT / "packaging" / "selftest").glob("*.jpg"):
        shutil.copyfile(p, folder / p.name)
    spec = find_spec("skimage")
    if spec is not None and spec.origin is not None:
        data = Path(spec.origin).parent / "data"
        for name in EXTRA_SAMPLES:
            if (data / name).is_file():
                shutil.copyfile(data / name, folder / name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs/screenshots/packaged-app.png")
    parser.add_argument("--query", default="a cup of coffee")
    args = parser.parse_args(argv)
    for tool in ("import", "xdotool"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")
    xvfb = start_xvfb()
    if xvfb is None:
        raise SystemExit("Xvfb is not installed")
    server, display = xvfb
    try:
        with tempfile.TemporaryDirectory(prefix="mmsearch-shot-") as tmp:
            env = {
                "PATH": "/usr/bin:/bin",
                "HOME": str(Path(tmp) / "home"),
                "LANG": "C.UTF-8",
                "DISPLAY": display,
                "QT_QPA_PLATFORM": "xcb",
            }
            if os.environ.get("MMSEARCH_MODEL"):  # a model other than the default, by choice
                env["MMSEARCH_MODEL"] = os.environ["MMSEARCH_MODEL"]
            folder = Path(tmp) / "Pictures"
            photos(folder)
            subprocess.run([str(APP / "mmsearch"), "index", str(folder)], env=env, check=True)
            gui = subprocess.Popen([str(APP / "mmsearch-gui")], env=env)
            try:
                window = ""
                for _ in range(200):
                    found = subprocess.run(
                        ["xdotool", "search", "--name", "^mmsearch$"],
                        env=env,
                        capture_output=True,
                        text=True,
                        check=False,
                    ).stdout.split()
                    if found:
                        window = found[0]
                        break
                    time.sleep(0.1)
                if not window:
                    raise SystemExit("the window did not appear")
                time.sleep(2)  # the first paint, the status bar's model and photo counts
                xdo = ["xdotool", "windowfocus", "--sync", window]
                subprocess.run(xdo, env=env, check=False)
                subprocess.run(
                    ["xdotool", "type", "--delay", "40", args.query], env=env, check=True
                )
                time.sleep(4)  # the search (debounced) and the thumbnails
                args.out.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run(
                    ["import", "-display", display, "-window", "root", str(args.out)],
                    env={**os.environ, "DISPLAY": display},
                    check=True,
                )
            finally:
                gui.terminate()
                gui.wait(timeout=30)
    finally:
        server.terminate()
        server.wait()
    print(f"screenshot: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Start-up time of the packaged window against the same app run from .venv.

    python packaging/startup.py [--runs 5] [--offscreen]

Each run starts the executable with MMSEARCH_READY_PROBE=1 (mmsearch/ui/app.py), which
prints a line and quits once the window is on screen with its search field ready for
typing; the time from launch to that line is the start-up. Both apps start on the same
kind of data folder (created by one untimed warm-up run each, so the timed runs are a
returning user's start, with the operating system's file cache warm for both), their runs
interleaved so that load from other processes hits both alike. The display is a private
Xvfb server when one is installed (what a desktop does: the xcb plugin, fonts, GL), else
Qt's offscreen platform. Prints the medians and the ratio packaged / .venv.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = ROOT / "dist" / "mmsearch" / "mmsearch-gui"
VENV = ROOT / ".venv" / "bin" / "mmsearch-gui"


def start_xvfb() -> tuple[subprocess.Popen[bytes], str] | None:
    """A private X server on a free display, or None when Xvfb is not installed."""
    if shutil.which("Xvfb") is None:
        return None
    for number in range(91, 120):
        if Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
            continue
        server = subprocess.Popen(
            ["Xvfb", f":{number}", "-screen", "0", "1280x860x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                return server, f":{number}"
            time.sleep(0.05)
        server.terminate()
    return None


def time_start(executable: Path, env: dict[str, str]) -> float:
    """Seconds from launch to the window's ready line; SystemExit if it never comes."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(executable)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("mmsearch-gui: ready"):
            elapsed = time.perf_counter() - start
            break
    else:
        proc.wait()
        raise SystemExit(f"{executable} exited {proc.returncode} without a ready window")
    proc.wait(timeout=60)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="timed starts of each (default 5)")
    parser.add_argument("--offscreen", action="store_true", help="Qt's offscreen platform")
    args = parser.parse_args(argv)
    for exe in (PACKAGED, VENV):
        if not exe.exists():
            raise SystemExit(f"{exe} is missing: run `make package` (and `make install`)")
    xvfb = None if args.offscreen else start_xvfb()
    try:
        with tempfile.TemporaryDirectory(prefix="mmsearch-startup-") as tmp:
            base = {
                "PATH": "/usr/bin:/bin",
                "LANG": "C.UTF-8",
                "MMSEARCH_READY_PROBE": "1",
                "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
            }
            if xvfb is not None:
                base["DISPLAY"] = xvfb[1]
                base["QT_QPA_PLATFORM"] = "xcb"
            else:
                base["QT_QPA_PLATFORM"] = "offscreen"
            envs = {}
            for label in ("packaged", "venv"):
                home = Path(tmp) / label
                home.mkdir()
                envs[label] = {**base, "HOME": str(home)}
            apps = {"packaged": PACKAGED, "venv": VENV}
            for label, exe in apps.items():
                try:  # warm-up: creates the catalog, fills caches
                    time_start(exe, envs[label])
                except SystemExit:
                    if xvfb is None:
                        raise
                    # Xvfb without Qt's xcb libraries (libxcb-cursor0...): go offscreen.
                    print("the xcb platform does not start here: using offscreen")
                    xvfb[0].terminate()
                    xvfb[0].wait()
                    xvfb = None
                    for env in envs.values():
                        env.pop("DISPLAY", None)
                        env["QT_QPA_PLATFORM"] = "offscreen"
                    time_start(exe, envs[label])
            times: dict[str, list[float]] = {"packaged": [], "venv": []}
            for _ in range(args.runs):
                for label, exe in apps.items():
                    times[label].append(time_start(exe, envs[label]))
    finally:
        if xvfb is not None:
            xvfb[0].terminate()
            xvfb[0].wait()
    display = f"Xvfb {xvfb[1]} (xcb)" if xvfb is not None else "offscreen"
    packaged = statistics.median(times["packaged"])
    venv = statistics.median(times["venv"])
    print(f"start-up to a window ready for typing, {args.runs} runs each, display {display}:")
    for label in ("packaged", "venv"):
        runs = ", ".join(f"{t:.2f}" for t in times[label])
        print(f"  {label:8s} median {statistics.median(times[label]):.2f} s  ({runs})")
    print(f"ratio packaged / .venv: {packaged / venv:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

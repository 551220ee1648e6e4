"""The frozen app's entry point: one script behind both executables of the bundle.

PyInstaller builds `mmsearch` (console: the command line) and `mmsearch-gui` (windowed:
the window) from this script, sharing one `_internal/` folder of libraries. Which one runs
is chosen by the executable's name, so a single analysis serves both and the libraries are
stored once. `--self-test` as the first argument, on either executable, runs the
packaged self-test (`mmsearch.selftest`) instead.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    """Run the self-test, the window or the command line, by argument and executable name."""
    args = sys.argv[1:]
    if args[:1] == ["--self-test"]:
        from mmsearch.selftest import main as selftest

        return selftest(args[1:])
    # The name it was started as: on Linux `mmsearch-gui` is a link to `mmsearch`.
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0].lower()
    if name.endswith("-gui"):
        from mmsearch.ui.app import main as gui

        return gui(args)
    from mmsearch.cli import main as cli

    return cli(args)


if __name__ == "__main__":
    raise SystemExit(main())

"""How long indexing takes over N files that all fail (empty .jpg files; 50,000 by default):
the first run records every failure, the second finds them unchanged.

Run: `PYTHONPATH=. .venv/bin/python benchmarks/failures.py [N]` (MMSEARCH_MODELS as usual).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def index(env: dict[str, str], *args: str) -> tuple[float, int, dict[str, object]]:
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "mmsearch", "index", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started, run.returncode, json.loads(run.stdout)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    work = Path(tempfile.mkdtemp(prefix="mmsearch-failures-"))
    try:
        folder = work / "bad"
        folder.mkdir()
        for i in range(count):
            (folder / f"bad{i:05d}.jpg").write_bytes(b"")
        env = dict(os.environ, MMSEARCH_HOME=str(work / "home"))
        first, code, report = index(env, str(folder))
        second, _, again = index(env)
        failed = report["failed"]
        assert isinstance(failed, list)
        print(
            f"{count} failing files: first run {first:.1f} s (exit {code}, {len(failed)} "
            f"failed), second run {second:.1f} s ({again['still_failing']} still failing)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

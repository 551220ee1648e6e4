"""A drive unplugged mid-run, N times: photos before / after / after it is back.

Each trial indexes 300 photos through a bind mount, `umount -l`s it once the first batches
are committed, checks the run ended with a message, then mounts it again and indexes again.
Needs root (mount --bind). Run: `PYTHONPATH=. .venv/bin/python benchmarks/faults_drive.py`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mmsearch.paths import BUNDLED_MODEL_ID  # noqa: E402
from tests.conftest import _built_model  # noqa: E402
from tests.test_faults_indexing import can_bind_mount, drive_trial  # noqa: E402
from tests.test_robustness import make_photos  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--photos", type=int, default=300)
    args = parser.parse_args()
    model = _built_model(BUNDLED_MODEL_ID)
    bad = 0
    with tempfile.TemporaryDirectory(prefix="mmsearch-drive-") as tmp:
        work = Path(tmp)
        if not can_bind_mount(work):
            print("needs root and bind mounts (mount --bind, umount -l)")
            return 2
        source = work / "photos"
        make_photos(source, args.photos)
        print("trial  before  after  back  failures  dupes  message  tracebacks  rc  rc-back")
        for trial in range(1, args.trials + 1):
            seen = drive_trial(source, work / f"t{trial}", model)
            photos, paths, _embedded, failures = seen["after"]
            back = seen["back"]
            message = "folder went away during the run" in seen["first"]["stdout"]
            tracebacks = sum(
                "Traceback" in text for text in (seen["first"]["stderr"], seen["again_stderr"])
            )
            dupes = (photos - paths) + (back[0] - back[1])
            ok = (
                message
                and photos >= seen["before"]
                and failures == 0
                and back == (args.photos, args.photos, args.photos, 0)
                and not tracebacks
                and not dupes
                and seen["first"]["rc"] == 0
                and seen["again"]["rc"] == 0
            )
            bad += not ok
            print(
                f"{trial:5d}  {seen['before']:6d}  {photos:5d}  {back[0]:4d}  "
                f"{failures + back[3]:8d}  {dupes:5d}  {'yes' if message else 'NO':7s}  "
                f"{tracebacks:10d}  {seen['first']['rc']:2d}  {seen['again']['rc']:7d}"
            )
    print(f"{args.trials - bad}/{args.trials} trials lost nothing")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())

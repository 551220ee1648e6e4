"""The files the window needs beside its code: the icon and the translations.

Apart from `app.py` so that the self-test (`mmsearch.selftest`, which `app.main` runs for
`--self-test`) can check them without importing `app` back.
"""

from __future__ import annotations

from pathlib import Path

from mmsearch.paths import repo_root

TRANSLATIONS = Path(__file__).resolve().parent / "i18n"


def icon_path() -> Path:
    return repo_root() / "resources" / "icons" / "mmsearch.svg"

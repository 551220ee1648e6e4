"""`mmsearch-gui`: start the window."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QLibraryInfo, QLocale, QTimer, QTranslator
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from mmsearch import __version__
from mmsearch.catalog import (
    CatalogDamaged,
    CatalogError,
    CatalogMissing,
    new_catalog,
    restore_backup,
)
from mmsearch.paths import data_dir as resolve_data_dir
from mmsearch.services.library import Library
from mmsearch.ui.main_window import MainWindow
from mmsearch.ui.resources import TRANSLATIONS, icon_path
from mmsearch.ui.settings import Preferences

READY_PROBE_ENV = "MMSEARCH_READY_PROBE"
"""Set (to anything) to print a line and quit as soon as the window is ready for typing:
how packaging/startup.py times the start-up of the packaged and the unpackaged app."""


def install_translators(app: QApplication, language: str) -> list[QTranslator]:
    """Our own translation and Qt's, for `language` ("system", "en", "zh_CN")."""
    locale = QLocale.system() if language == "system" else QLocale(language)
    QLocale.setDefault(locale)
    translators: list[QTranslator] = []
    ours = QTranslator(app)
    if ours.load(locale, "mmsearch", "_", str(TRANSLATIONS)):
        translators.append(ours)
    qt = QTranslator(app)
    if qt.load(locale, "qtbase", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        translators.append(qt)
    for translator in translators:
        app.installTranslator(translator)
    return translators


def keep_gui_responsive() -> None:
    """Background threads run Python too: hand the GIL over every millisecond (not every
    5 ms), so the GUI thread never waits long behind them."""
    sys.setswitchinterval(0.001)


def settle_memory() -> None:
    """Move everything alive after start-up (Qt wrappers, the model, SQLAlchemy's tables)
    out of the garbage collector's sight: a full collection then scans only what indexing
    allocates, instead of pausing the window for 100 ms or more."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def report_when_ready(app: QApplication, window: MainWindow) -> None:
    """Print `mmsearch-gui: ready` and quit once the window is on screen (exposed) with its
    search field shown and enabled: the moment a person can start typing."""

    def poll() -> None:
        handle = window.windowHandle()
        field = window.search_field
        if handle is not None and handle.isExposed() and field.isVisible() and field.isEnabled():
            stream = sys.stdout or sys.stderr  # a windowed build on Windows has no stdout
            if stream is not None:
                focus = "search field" if field.hasFocus() else "elsewhere"
                print(f"mmsearch-gui: ready (focus: {focus})", file=stream, flush=True)
            app.quit()
        else:
            QTimer.singleShot(2, poll)

    QTimer.singleShot(0, poll)


def chosen_data_dir(data_dir: str | None, prefs: Preferences) -> str | None:
    """The data folder to open: --data-dir, else $MMSEARCH_HOME, else the one chosen in
    Settings, else None (the platform's). The environment beats the stored setting: a
    setting saved once must not make MMSEARCH_HOME silently stop working."""
    return data_dir or os.environ.get("MMSEARCH_HOME") or prefs.data_dir or None


def create_window(
    data_dir: str | None = None, model: str | None = None, prefs: Preferences | None = None
) -> MainWindow:
    """The main window on a library (the caller owns the QApplication)."""
    prefs = prefs or Preferences()
    catalog = os.environ.get("MMSEARCH_CATALOG") or prefs.catalog or None  # (env first)
    library = Library(chosen_data_dir(data_dir, prefs), model, prefs.device, catalog)
    return MainWindow(library, prefs)


def offer_repair(error: CatalogError, data: Path, parent: QWidget | None = None) -> bool:
    """The catalog can't be opened: say why, and for a damaged or lost one offer to restore
    the newest backup, or to start with an empty catalog (the old one is moved aside, never
    deleted). True when something was repaired and opening again may work."""
    box = QMessageBox(QMessageBox.Icon.Critical, "mmsearch", str(error), parent=parent)
    restore = empty = None
    if isinstance(error, (CatalogDamaged, CatalogMissing)):
        good = [b for b in error.backups if b.readable]
        if good:
            restore = box.addButton(
                QApplication.translate("CatalogRepair", "Restore the backup of {when}").format(
                    when=good[0].describe()
                ),
                QMessageBox.ButtonRole.AcceptRole,
            )
        empty = box.addButton(
            QApplication.translate("CatalogRepair", "Start with an empty catalog"),
            QMessageBox.ButtonRole.ResetRole,
        )
    box.addButton(QMessageBox.StandardButton.Close)
    box.exec()
    clicked = box.clickedButton()
    try:
        if restore is not None and clicked is restore:
            restore_backup(data)
            return True
        if empty is not None and clicked is empty:
            new_catalog(data)
            return True
    except CatalogError as e:
        QMessageBox.critical(parent, "mmsearch", str(e))
    return False


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["--self-test"]:  # as in the packaged build (packaging/launcher.py)
        from mmsearch.selftest import main as selftest

        return selftest(args_list[1:])
    parser = argparse.ArgumentParser(prog="mmsearch-gui", description="mmsearch's window")
    parser.add_argument(
        "--data-dir",
        help="data folder (default: $MMSEARCH_HOME, then Settings, then the platform's)",
    )
    parser.add_argument(
        "--model", help="model id (default: the data folder's active model, else the bundled one)"
    )
    parser.add_argument(
        "--add",
        action="append",
        default=[],
        metavar="FOLDER",
        help="add this folder and index it in the background",
    )
    parser.add_argument("--version", action="version", version=f"mmsearch {__version__}")
    args = parser.parse_args(args_list)
    keep_gui_responsive()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("mmsearch")
    app.setOrganizationName("mmsearch")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(icon_path())))
    app.setStyle("Fusion")  # follows the system's light or dark colour scheme
    prefs = Preferences()
    install_translators(app, prefs.language)
    while True:
        try:
            window = create_window(args.data_dir, args.model, prefs)
            break
        except CatalogError as e:
            data = resolve_data_dir(chosen_data_dir(args.data_dir, prefs))
            if not offer_repair(e, data):
                return 2
    window.show()
    if os.environ.get(READY_PROBE_ENV):
        report_when_ready(app, window)
    settle_memory()
    for folder in args.add:
        window.add_folder(Path(folder).expanduser().resolve())
    if not args.add and window.library.folders():
        # Catch up with what changed while the app was closed (new, edited, moved and deleted
        # photos; a model whose weights changed): incremental, cheap when nothing did.
        window.request_indexing()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())

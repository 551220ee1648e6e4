"""The window's Settings for a shared library: the server (its password in the keyring,
never in the settings file) and this computer's folders for the library's roots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyrings.alt.file import PlaintextKeyring
from pytestqt.qtbot import QtBot

from mmsearch.catalog.passwords import SERVICE, account, saved_password, with_saved_password
from mmsearch.catalog.server import ServerCatalog, probe, server_url
from mmsearch.services.library import Library
from mmsearch.services.models import list_models
from mmsearch.ui.app import create_window
from mmsearch.ui.main_window import MainWindow
from mmsearch.ui.settings import Preferences, SettingsDialog
from tests.test_robustness import make_photos


@pytest.fixture
def file_keyring(tmp_path: Path) -> Iterator[PlaintextKeyring]:
    """A real keyring backend (keyrings.alt's file one) in a temporary folder, standing in
    for the system's, which a headless test machine has not got."""
    before = keyring.get_keyring()
    ring = PlaintextKeyring()
    ring.file_path = str(tmp_path / "keyring" / "passwords.cfg")  # type: ignore[misc]
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(before)


def _dialog(qtbot: QtBot, window: MainWindow, prefs: Preferences) -> SettingsDialog:
    lib = window.library
    dialog = SettingsDialog(
        prefs,
        list_models(lib.data_dir, lib),
        lib.model_id,
        lib.data_dir,
        False,
        window,
        lib.roots(),
    )
    qtbot.addWidget(dialog)
    return dialog


def test_the_server_is_saved_and_its_password_goes_to_the_keyring(
    qtbot: QtBot,
    window: MainWindow,
    prefs: Preferences,
    pg_url: str,
    file_keyring: PlaintextKeyring,
    tmp_path: Path,
) -> None:
    dialog = _dialog(qtbot, window, prefs)
    assert not dialog.server.isEnabled()  # the library is local by default
    dialog.location.setCurrentIndex(dialog.location.findData("server"))
    assert dialog.server.isEnabled() and dialog.password.isEnabled()
    dialog.server.setText(pg_url)
    dialog.password.setText("s3cret-pw")
    assert dialog.apply() is None
    prefs.sync()
    assert prefs.catalog == pg_url
    settings_file = Path(prefs.qsettings.fileName()).read_text()
    assert "s3cret-pw" not in settings_file and "lib" in settings_file
    assert file_keyring.get_password(SERVICE, account(server_url(pg_url))) == "s3cret-pw"
    # whoever connects with the bare URL gets the saved password
    assert with_saved_password(pg_url).password == "s3cret-pw"
    catalog = ServerCatalog.connect(pg_url, tmp_path / "data")
    try:
        assert catalog.engine.url.password == "s3cret-pw"
        assert catalog.schema_version() is not None
    finally:
        catalog.close()
    # a URL typed with its password: the password still goes to the keyring only
    dialog.server.setText(pg_url.replace("postgres:@", "postgres:typed-pw@"))
    dialog.password.clear()
    assert dialog.apply() is None
    assert "typed-pw" not in (prefs.catalog or "")
    assert saved_password(server_url(pg_url)) == "typed-pw"
    # the next start opens the shared library
    shared = create_window(str(tmp_path / "data"), prefs=prefs)
    qtbot.addWidget(shared)
    try:
        assert shared.library.shared and "postgresql://" in str(shared.library.catalog)
    finally:
        shared.close()
        shared.library.close()


def test_without_a_keyring_the_password_is_kept_nowhere_and_the_user_is_told(
    qtbot: QtBot, window: MainWindow, prefs: Preferences
) -> None:
    # (the suite has no keyring: the fail backend, as on a bare Linux server)
    dialog = _dialog(qtbot, window, prefs)
    dialog.location.setCurrentIndex(dialog.location.findData("server"))
    dialog.server.setText("postgresql://anna@nas.local/photos")
    dialog.password.setText("s3cret-pw")
    problem = dialog.apply()
    assert problem is not None and "~/.pgpass" in problem and "not saved anywhere" in problem
    assert prefs.catalog == "postgresql://anna@nas.local/photos"
    assert "s3cret-pw" not in Path(prefs.qsettings.fileName()).read_text()
    dialog.server.setText("nas.local/photos")
    problem = dialog.apply()
    assert problem is not None and "postgresql://user@host/database" in problem
    dialog.location.setCurrentIndex(dialog.location.findData("local"))
    assert dialog.apply() is None and prefs.catalog == ""


def test_settings_map_a_root_to_where_the_share_is_now(
    qtbot: QtBot, window: MainWindow, prefs: Preferences, tmp_path: Path, monkeypatch: Any
) -> None:
    lib: Library = window.library
    share = tmp_path / "share"
    make_photos(share / "trip", 3)
    with lib.writing("test"):
        lib.map_root("family", share)
        lib.add_folder(share / "trip")
    moved = tmp_path / "mounted-elsewhere"
    share.rename(moved)
    dialog = _dialog(qtbot, window, prefs)
    field = dialog._root_fields["family"]
    assert field.text() == str(share)
    field.setText(str(moved))
    assert dialog.root_changes() == {"family": moved}
    with qtbot.waitSignal(window.indexer.finished, timeout=120_000):
        window.map_roots(dialog.root_changes())
    assert lib.catalog.roots.mounts == {"family": moved}
    assert [f.path for f in lib.folders()] == [moved / "trip"]
    assert lib.photo(moved / "trip" / "p000.jpg") is not None
    # emptied: unmapped on this computer, the library keeps the root's photos
    dialog = _dialog(qtbot, window, prefs)
    dialog._root_fields["family"].clear()
    with qtbot.waitSignal(window.indexer.finished, timeout=120_000):
        window.map_roots(dialog.root_changes())
    assert lib.catalog.roots.mounts == {}
    assert lib.counts()["photos"] == 3


def test_testing_the_connection_says_what_the_server_holds_or_why_not(
    qtbot: QtBot, window: MainWindow, prefs: Preferences, pg_url: str, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, window, prefs)
    dialog.location.setCurrentIndex(dialog.location.findData("server"))
    dialog.server.setText(pg_url)
    with qtbot.waitSignal(dialog.probed, timeout=30_000) as answer:
        dialog.test_connection()
    assert "answers: PostgreSQL" in answer.args[0] and "pgvector" in answer.args[0]
    assert "no library yet" in answer.args[0]  # and the test made none
    assert "no library yet" in probe(pg_url)
    ServerCatalog.connect(pg_url, tmp_path / "data").close()
    assert "a library of 0 photos" in probe(pg_url)
    qtbot.waitUntil(lambda: dialog.test_server.isEnabled())
    # nothing listens there: the reason, and that nothing was changed
    dialog.server.setText("postgresql://anna@127.0.0.1:9/photos")
    with qtbot.waitSignal(dialog.probed, timeout=30_000) as answer:
        dialog.test_connection()
    assert "anna@127.0.0.1:9/photos can't be reached" in answer.args[0]
    assert dialog.server_state.text() == answer.args[0]

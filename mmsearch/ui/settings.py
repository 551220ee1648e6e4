"""Preferences (persisted with QSettings) and the Settings dialog."""

from __future__ import annotations

import threading
from contextlib import suppress
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from mmsearch.services.library import RootInfo
from mmsearch.services.models import ModelEntry
from mmsearch.services.search import RERANK_TOP

LANGUAGES = {"system": "System", "en": "English", "zh_CN": "简体中文"}
DEVICES = ("auto", "cpu", "gpu")


class Preferences:
    """Typed access to the user's settings."""

    def __init__(self, settings: QSettings | None = None) -> None:
        self.qsettings = settings or QSettings("mmsearch", "mmsearch")

    def _get(self, key: str, default: str) -> str:
        value = self.qsettings.value(key, default)
        return str(value) if value is not None else default

    @property
    def device(self) -> str:
        return self._get("device", "auto")

    @device.setter
    def device(self, value: str) -> None:
        self.qsettings.setValue("device", value)

    @property
    def thumbnail_cache_mb(self) -> int:
        try:
            return max(50, int(self._get("thumbnail_cache_mb", "500")))
        except ValueError:
            return 500

    @thumbnail_cache_mb.setter
    def thumbnail_cache_mb(self, value: int) -> None:
        self.qsettings.setValue("thumbnail_cache_mb", int(value))

    @property
    def data_dir(self) -> str:
        return self._get("data_dir", "")

    @data_dir.setter
    def data_dir(self, value: str) -> None:
        """An empty value removes the setting: the default (MMSEARCH_HOME or the platform's
        folder) applies again."""
        if value:
            self.qsettings.setValue("data_dir", value)
        else:
            self.qsettings.remove("data_dir")

    @property
    def catalog(self) -> str:
        """The shared library's server, postgresql://user@host/db (never with a password:
        that is in the system keyring); "" for the library in the data folder."""
        return self._get("catalog", "")

    @catalog.setter
    def catalog(self, value: str) -> None:
        if value:
            self.qsettings.setValue("catalog", value)
        else:
            self.qsettings.remove("catalog")

    @property
    def language(self) -> str:
        value = self._get("language", "system")
        return value if value in LANGUAGES else "system"

    @language.setter
    def language(self, value: str) -> None:
        self.qsettings.setValue("language", value)

    @property
    def result_limit(self) -> int:
        try:
            return max(10, int(self._get("result_limit", "1000")))
        except ValueError:
            return 1000

    @property
    def rerank(self) -> int:
        """How many of a text query's best photos the fusion head re-ranks (0: off)."""
        try:
            return max(0, int(self._get("rerank", str(RERANK_TOP))))
        except ValueError:
            return RERANK_TOP

    @rerank.setter
    def rerank(self, value: int) -> None:
        self.qsettings.setValue("rerank", int(value))

    @property
    def read_text(self) -> bool:
        """Read the text in photos after indexing (for `text:` and word matches)."""
        return self._get("read_text", "true").lower() not in ("false", "0", "no")

    @read_text.setter
    def read_text(self, value: bool) -> None:
        self.qsettings.setValue("read_text", "true" if value else "false")

    @property
    def check_updates(self) -> bool:
        """Whether mmsearch may act on its own at start: today, offer a better model once
        (from the catalogue it ships with; nothing is fetched until the user picks one).
        Off by default: no request leaves the machine unless the user asks."""
        return self._get("check_updates", "false").lower() in ("true", "1", "yes")

    @check_updates.setter
    def check_updates(self, value: bool) -> None:
        self.qsettings.setValue("check_updates", "true" if value else "false")

    @property
    def model_offer(self) -> str:
        """The answer to the model offer: "" (not answered: offered again), "not-now", or
        "chosen:<model id>" (its switch finished)."""
        return self._get("model_offer", "")

    @model_offer.setter
    def model_offer(self, value: str) -> None:
        if value:
            self.qsettings.setValue("model_offer", value)
        else:
            self.qsettings.remove("model_offer")

    def machine_speed(self, key: str) -> float | None:
        """The bundled model's photos/s measured on this machine for `key` (the bundled
        model's id and version), None when not measured yet."""
        if self._get("machine_speed_key", "") != key:
            return None
        try:
            value = float(self._get("machine_speed", "0"))
        except ValueError:
            return None
        return value if value > 0 else None

    def set_machine_speed(self, key: str, photos_per_s: float) -> None:
        self.qsettings.setValue("machine_speed_key", key)
        self.qsettings.setValue("machine_speed", f"{photos_per_s:.3f}")

    def sync(self) -> None:
        self.qsettings.sync()


class SettingsDialog(QDialog):
    """Model, re-ranking, device, thumbnail cache, data folder and language.

    The model list holds installed models and the catalog's downloadable ones; choosing
    another one is not applied here: the window switches in the background (`chosen_model`).
    "Which model fits…" asks the window for the model offer (`offer_requested`).
    """

    offer_requested = Signal()
    probed = Signal(str)  # what "Test the connection" found (from its thread)

    def __init__(
        self,
        prefs: Preferences,
        models: list[ModelEntry],
        current_model: str,
        current_data_dir: Path,
        gpu_available: bool,
        parent: QWidget | None = None,
        roots: list[RootInfo] | None = None,
    ) -> None:
        super().__init__(parent)
        self.prefs = prefs
        self.setWindowTitle(self.tr("Settings"))
        self.entries = {e.id: e for e in models}
        self.model = QComboBox()
        for entry in models:
            if entry.status == "available" and not entry.downloadable:
                continue  # only `mmsearch models import` can install it
            label = f"{entry.display_name} ({entry.id})"
            if entry.status == "available":
                size = f"{entry.size / 1e6:.0f} MB" if entry.size else ""
                label += " — " + self.tr("download {size}").format(size=size).strip()
            self.model.addItem(label, entry.id)
            languages = ", ".join(entry.languages)
            tip = self.tr("Languages: {languages}. License: {license}.").format(
                languages=languages, license=entry.license
            )
            self.model.setItemData(self.model.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        index = self.model.findData(current_model)
        if index >= 0:
            self.model.setCurrentIndex(index)
        model_note = QLabel(
            self.tr(
                "Another model first looks at every photo again in the background; the "
                "current one answers searches until it is done."
            )
        )
        model_note.setWordWrap(True)
        self.offer_button = QPushButton(self.tr("Which model fits this computer…"))
        self.offer_button.clicked.connect(self.offer_requested)
        self.check_updates = QCheckBox(self.tr("Suggest a better model at start"))
        self.check_updates.setChecked(prefs.check_updates)
        self.check_updates.setToolTip(
            self.tr(
                "Off: mmsearch never contacts the internet by itself. On: at start it offers "
                "a model that fits this computer, from the list it ships with; nothing is "
                "downloaded until you pick one."
            )
        )
        self.rerank = QSpinBox()
        self.rerank.setRange(0, 500)
        self.rerank.setSingleStep(10)
        self.rerank.setSpecialValueText(self.tr("Off"))
        self.rerank.setValue(prefs.rerank)
        self.rerank.setToolTip(
            self.tr(
                "Models with a fusion head look again at this many of the best photos of a "
                "text search and re-order them. Other models ignore it."
            )
        )
        self.read_text = QCheckBox(self.tr("Read the text in photos after indexing"))
        self.read_text.setChecked(prefs.read_text)
        self.read_text.setToolTip(
            self.tr(
                "Signs, receipts, whiteboards: their words become searchable (type them, or "
                "text:word). It runs after indexing, in the background."
            )
        )
        self.device = QComboBox()
        self.device.addItem(self.tr("Automatic"), "auto")
        self.device.addItem(self.tr("CPU"), "cpu")
        self.device.addItem(self.tr("GPU (CUDA)"), "gpu")
        if not gpu_available:
            self.device.model().item(2).setEnabled(False)  # type: ignore[attr-defined]
        self.device.setCurrentIndex(max(0, self.device.findData(prefs.device)))
        self.cache = QSpinBox()
        self.cache.setRange(50, 100_000)
        self.cache.setSuffix(" MB")
        self.cache.setValue(prefs.thumbnail_cache_mb)
        self._shown_data_dir = str(current_data_dir)  # what the window uses now
        self.data_dir = QLineEdit(self._shown_data_dir)
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        data_row = QHBoxLayout()
        data_row.addWidget(self.data_dir, 1)
        data_row.addWidget(browse)
        self._library_rows(prefs, roots or [])
        self.language = QComboBox()
        for code, name in LANGUAGES.items():
            self.language.addItem(self.tr("System") if code == "system" else name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(prefs.language)))
        note = QLabel(
            self.tr(
                "A new device, data folder, library server or language takes effect at the "
                "next start."
            )
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(self.tr("Model"), self.model)
        form.addRow(model_note)
        form.addRow("", self.offer_button)
        form.addRow("", self.check_updates)
        form.addRow(self.tr("Re-rank best results"), self.rerank)
        form.addRow("", self.read_text)
        form.addRow(self.tr("Device"), self.device)
        form.addRow(self.tr("Thumbnail cache"), self.cache)
        form.addRow(self.tr("Data folder"), data_row)
        form.addRow(self.tr("Library"), self.location)
        server_row = QHBoxLayout()
        server_row.addWidget(self.server, 1)
        server_row.addWidget(self.test_server)
        form.addRow(self.tr("Server"), server_row)
        form.addRow(self.tr("Password"), self.password)
        form.addRow("", self.server_state)
        for name, row in self._root_rows.items():
            form.addRow(self.tr("Root “{name}”").format(name=name), row)
        form.addRow(self.tr("Language"), self.language)
        form.addRow(note)
        form.addRow(buttons)

    def _library_rows(self, prefs: Preferences, roots: list[RootInfo]) -> None:
        """Where the library is (this computer, or a PostgreSQL server that several share)
        and this computer's folder for each of its named roots."""
        self.location = QComboBox()
        self.location.addItem(self.tr("In the data folder, on this computer"), "local")
        self.location.addItem(self.tr("On a PostgreSQL server, shared"), "server")
        self.location.setCurrentIndex(1 if prefs.catalog else 0)
        self.server = QLineEdit(prefs.catalog)
        self.server.setPlaceholderText("postgresql://user@nas.local/photos")
        self.server.setToolTip(
            self.tr(
                "A database on a PostgreSQL server with the pgvector extension. Every "
                "computer that uses it searches the same library; each keeps its own "
                "thumbnails and models. `mmsearch library migrate` copies a library there."
            )
        )
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(self.tr("kept in the system keyring"))
        self.password.setToolTip(
            self.tr(
                "Saved in this computer's keyring (Keychain, Credential Locker, Secret "
                "Service), never in a file. Left empty: the saved one, or ~/.pgpass."
            )
        )
        self.test_server = QPushButton(self.tr("Test the connection"))
        self.test_server.clicked.connect(self.test_connection)
        self.server_state = QLabel()
        self.server_state.setWordWrap(True)
        self.server_state.hide()  # (shown with an answer)
        self.server_state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.probed.connect(self._show_probe)
        self.location.currentIndexChanged.connect(self._location_changed)
        self._location_changed()
        self._roots = {r.name: r for r in roots}
        self._root_rows: dict[str, QWidget] = {}
        self._root_fields: dict[str, QLineEdit] = {}
        for root in roots:
            field = QLineEdit("" if root.folder is None else str(root.folder))
            field.setPlaceholderText(self.tr("not mapped on this computer"))
            field.setToolTip(
                self.tr(
                    "Where this computer sees the share the library calls “{name}”: its "
                    "photos are found there."
                ).format(name=root.name)
            )
            browse = QPushButton(self.tr("Browse…"))
            browse.clicked.connect(lambda _=False, f=field: self._browse_root(f))
            row = QWidget()
            layout = QHBoxLayout(row)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.addWidget(field, 1)
            layout.addWidget(browse)
            self._root_rows[root.name] = row
            self._root_fields[root.name] = field

    def _location_changed(self) -> None:
        shared = self.location.currentData() == "server"
        for widget in (self.server, self.password, self.test_server):
            widget.setEnabled(shared)

    def test_connection(self) -> None:
        """Ask the server, off the GUI thread, whether it can hold the library (nothing is
        changed there); the answer shows under the password."""
        from mmsearch.catalog.server import probe
        from mmsearch.catalog.urls import is_server_url

        location, password = self.server.text().strip(), self.password.text()
        if not is_server_url(location):
            self._show_probe(self.tr("Write the server as postgresql://user@host/database."))
            return
        self.test_server.setEnabled(False)
        self.server_state.setText(self.tr("Asking the server…"))
        self.server_state.show()

        def ask() -> None:
            try:
                answer = probe(location, password or None)
            except Exception as e:  # every failure is the answer to show
                answer = str(e)
            with suppress(RuntimeError):  # (the dialog was closed meanwhile)
                self.probed.emit(answer)

        threading.Thread(target=ask, name="server probe", daemon=True).start()

    def _show_probe(self, answer: str) -> None:
        self.server_state.setText(answer)
        self.server_state.show()
        self.test_server.setEnabled(self.location.currentData() == "server")

    def _browse_root(self, field: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("The share's folder"), field.text())
        if folder:
            field.setText(folder)

    def root_changes(self) -> dict[str, Path | None]:
        """{root: its new folder on this computer, None: unmapped} of the roots changed."""
        changes: dict[str, Path | None] = {}
        for name, field in self._root_fields.items():
            value = field.text().strip()
            folder = Path(value).expanduser() if value else None
            if folder != self._roots[name].folder:
                changes[name] = folder
        return changes

    def _apply_server(self) -> str | None:
        """Store the server (without its password) and keep the password in the keyring;
        returns what the user must know (the keyring is missing), None when all is kept."""
        from mmsearch.catalog.passwords import KeyringUnavailable, save_password, without_password
        from mmsearch.catalog.urls import is_server_url

        if self.location.currentData() != "server":
            self.prefs.catalog = ""
            return None
        text = self.server.text().strip()
        if not is_server_url(text):
            return self.tr(
                "{text} is not a server's address: write it as postgresql://user@host/database "
                "(the library stays where it was)"
            ).format(text=text)
        location, in_url = without_password(text)
        self.prefs.catalog = location
        password = self.password.text() or in_url
        if not password:
            return None
        try:
            save_password(location, password)
        except KeyringUnavailable as e:
            return str(e)
        return None

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Data folder"), self.data_dir.text()
        )
        if folder:
            self.data_dir.setText(folder)

    def chosen_model(self) -> ModelEntry | None:
        """The model picked in the list (the window switches to it if it isn't active)."""
        return self.entries.get(str(self.model.currentData() or ""))

    def apply(self) -> str | None:
        """Write the chosen values to the preferences (the model and the roots are the
        window's job); returns a problem to show (a password that could not be kept)."""
        self.prefs.rerank = self.rerank.value()
        self.prefs.read_text = self.read_text.isChecked()
        self.prefs.check_updates = self.check_updates.isChecked()
        self.prefs.device = str(self.device.currentData())
        self.prefs.thumbnail_cache_mb = self.cache.value()
        data_dir = self.data_dir.text().strip()
        if data_dir != self._shown_data_dir:
            # Only a folder the user chose is stored: storing the one shown would pin it
            # and make MMSEARCH_HOME (or a later default) stop working.
            self.prefs.data_dir = data_dir
        self.prefs.language = str(self.language.currentData())
        problem = self._apply_server()
        self.prefs.sync()
        return problem

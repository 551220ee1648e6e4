"""The model offer: 2-3 models that fit this computer and this library, each with its
download size, languages, published quality (with its source) and the estimated time to
index the library here. Built from the catalogue's figures only: nothing goes over the
network until the user picks a model (the window then switches as Settings does)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mmsearch.services.models import recommend
from mmsearch.services.models.recommend import Candidate


class OfferCard(QFrame):
    """One candidate: what it is, what it costs, and a button to use it."""

    def __init__(self, candidate: Candidate, texts: OfferTexts, parent: QWidget | None = None):
        super().__init__(parent)
        self.candidate = candidate
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(f"<b>{candidate.display_name}</b> ({candidate.id})")
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.time_label = QLabel()
        self.time_label.setWordWrap(True)
        self.reasons = QLabel(texts.reasons(candidate))
        self.reasons.setWordWrap(True)
        self.use_button = QPushButton(texts.use_label(candidate))
        self.use_button.setEnabled(candidate.downloadable)
        if not candidate.downloadable:
            self.use_button.setToolTip(texts.import_only())
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.details)
        layout.addWidget(self.time_label)
        layout.addWidget(self.reasons)
        layout.addWidget(self.use_button, 0, Qt.AlignmentFlag.AlignRight)


class OfferTexts(QObject):
    """The offer's translated sentences (a QObject of its own, so that lupdate and the
    running app agree on their context)."""

    def size(self, c: Candidate) -> str:
        if c.download_size is None:
            return self.tr("Download: size not recorded")
        return self.tr("Download: {size} MB").format(size=f"{c.download_size / 1e6:,.0f}")

    def languages(self, codes: Sequence[str]) -> str:
        return ", ".join(self.language_name(code) for code in codes)

    def language_name(self, code: str) -> str:
        names = {
            "en": self.tr("English"),
            "zh": self.tr("Chinese"),
            "ja": self.tr("Japanese"),
            "ko": self.tr("Korean"),
            "ru": self.tr("Russian"),
            "multilingual": self.tr("many languages"),
            "latin": self.tr("a Latin-script language"),
        }
        return names.get(code, code)

    def quality(self, c: Candidate) -> str:
        q = c.quality
        if q is None:
            return self.tr("Quality: no published figure in the catalogue")
        on = f" ({q.dataset})" if q.dataset else ""
        return self.tr("Quality: {metric}{dataset} {value} — source: {source}").format(
            metric=q.metric, dataset=on, value=f"{q.value:g}", source=q.source
        )

    def duration(self, seconds: float) -> str:
        parts = recommend.duration_parts(seconds)
        if parts is None:
            return self.tr("under a minute")
        hours, minutes = parts
        if not hours:
            return self.tr("about {minutes} min").format(minutes=minutes)
        if not minutes:
            return self.tr("about {hours} h").format(hours=hours)
        return self.tr("about {hours} h {minutes} min").format(hours=hours, minutes=minutes)

    def time(self, c: Candidate, photos: int, measured: bool) -> str:
        if not measured:
            return self.tr("Time to index: measuring this computer's speed…")
        if c.seconds is None:
            return self.tr("Time to index: not known for this model")
        said = self.tr("{duration} for your {n} photos on this computer").format(
            duration=self.duration(c.seconds), n=f"{photos:,}"
        )
        if c.speed_basis == "architecture":
            said += self.tr(" (estimated from its architecture)")
        return said[:1].upper() + said[1:]

    def reasons(self, c: Candidate) -> str:
        texts = {
            "best-quality": self.tr("best published quality that indexes your photos in time"),
            "fastest": self.tr("fastest on this computer"),
            "balanced": self.tr("balanced: good quality at a good speed"),
            "good-quality": self.tr("good published quality"),
            "fits": self.tr("another model that fits"),
            "languages": self.tr("reads the language of your search"),
        }
        return self.tr("Why: {reasons}").format(
            reasons="; ".join(texts.get(key, key) for key in c.reasons)
        )

    def use_label(self, c: Candidate) -> str:
        return self.tr("Download and use") if c.downloadable else self.tr("Import only")

    def import_only(self) -> str:
        return self.tr(
            "Not on the model hub in a layout mmsearch reads: export it and add it with "
            "`mmsearch models import FOLDER`."
        )


class ModelOfferDialog(QDialog):
    """Non-modal: shows the candidates; `chosen(model id)` or `declined()` answers it.

    `languages` narrows the offer to models that read them (the language notice's button).
    Until `set_machine_speed` is called the times say they are being measured.
    """

    chosen = Signal(str)
    declined = Signal()

    def __init__(
        self,
        entries: Sequence[Any],
        photos: int,
        active_id: str,
        machine: float | None = None,
        languages: Sequence[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.entries = list(entries)
        self.photos = photos
        self.active_id = active_id
        self.languages = tuple(languages)
        self.machine = machine
        self.texts = OfferTexts(self)
        self.setWindowTitle(self.tr("A model for this computer"))
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.cards_box = QVBoxLayout()
        self.cards: list[OfferCard] = []
        self.empty = QLabel()
        self.empty.setWordWrap(True)
        note = QLabel(
            self.tr(
                "The figures come from the list of models mmsearch ships with; nothing is "
                "downloaded until you pick a model. The current model keeps answering "
                "searches while the new one looks at every photo in the background."
            )
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.not_now = buttons.addButton(self.tr("Not now"), QDialogButtonBox.ButtonRole.RejectRole)
        self.not_now.clicked.connect(self._decline)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(self.cards_box)
        layout.addWidget(self.empty)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.rebuild()

    def set_machine_speed(self, photos_per_s: float | None) -> None:
        """This computer's bundled-model speed (None: couldn't be measured)."""
        self.machine = photos_per_s
        self._measured = True
        self.rebuild()

    _measured = False

    def rebuild(self) -> None:
        for card in self.cards:
            self.cards_box.removeWidget(card)
            card.deleteLater()
        self.cards = []
        found = recommend.candidates(
            self.entries, self.machine, self.photos, self.languages, exclude=[self.active_id]
        )
        if self.languages:
            self.intro.setText(
                self.tr("Models that read {languages}:").format(
                    languages=self.texts.languages(self.languages)
                )
            )
        else:
            self.intro.setText(
                self.tr(
                    "mmsearch can search with a larger model that understands photos better. "
                    "These fit this computer and your {n} photos:"
                ).format(n=f"{self.photos:,}")
            )
        measured = self._measured or self.machine is not None
        for candidate in found:
            card = OfferCard(candidate, self.texts, self)
            card.details.setText(
                "\n".join(
                    (
                        self.texts.size(candidate),
                        self.tr("Languages: {languages}").format(
                            languages=self.texts.languages(candidate.languages)
                        ),
                        self.texts.quality(candidate),
                    )
                )
            )
            card.time_label.setText(self.texts.time(candidate, self.photos, measured))
            card.use_button.clicked.connect(lambda _=False, i=candidate.id: self._choose(i))
            self.cards_box.addWidget(card)
            self.cards.append(card)
        self.empty.setVisible(not found)
        self.empty.setText(self.tr("The catalogue has no other model that fits."))

    def card(self, model_id: str) -> OfferCard | None:
        return next((c for c in self.cards if c.candidate.id == model_id), None)

    def _choose(self, model_id: str) -> None:
        self.chosen.emit(model_id)
        self.accept()

    def _decline(self) -> None:
        self.declined.emit()
        self.reject()

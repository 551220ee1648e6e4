"""A probe for the PySide6 bug that aborted the window: with PySide6-Essentials 6.12.0 on
Python 3.11, every `QModelIndex.data(role)` that returns None drops None's reference count
by one, until Python aborts with "Fatal Python error: none_dealloc". The window no longer
calls it (delegates read the models directly), but a bundle must not ship a Qt binding
with the bug: packaging/build.py and `--self-test` run this probe on the real binding."""

from __future__ import annotations

import ctypes
import sys

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

ModelIndex = QModelIndex | QPersistentModelIndex


class _NoneModel(QAbstractListModel):
    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 1

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return None


def none_refcount_drift(calls: int = 1000) -> int:
    """How much None's reference count moved over `calls` calls of `QModelIndex.data()` on
    a role whose value is None and of a void method (`setObjectName`): about 0 on a sound
    binding, -2 x calls on the broken one (0 too on Pythons where None is immortal, 3.12
    and later, which the bug can't hurt)."""
    model = _NoneModel()
    index = model.index(0)
    cushion = [None] * 2 * calls  # None never reaches 0 while probing
    before = sys.getrefcount(None)
    for _ in range(calls):
        index.data(Qt.ItemDataRole.UserRole)
        model.setObjectName("probe")  # 6.12.0 miscounts a void method's None too
    drift = sys.getrefcount(None) - before
    if drift < 0:  # pay back what a broken binding took: probing must not bring the abort
        for _ in range(min(-drift, 2 * calls)):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    del cushion
    return drift


def check_qt_binding(calls: int = 1000) -> str:
    """A short detail if the binding is sound; AssertionError naming the fix if not."""
    drift = none_refcount_drift(calls)
    assert abs(drift) < calls // 10, (
        f"PySide6 {PYSIDE_VERSION} miscounts None: {calls} calls of QModelIndex.data() and "
        f"of a void method moved its reference count by {drift} (the window would abort "
        "with 'none_dealloc'). "
        "Install PySide6-Essentials>=6.6,<6.12 (pyproject.toml's pin)."
    )
    return f"PySide6 {PYSIDE_VERSION}: None's reference count steady over {calls} calls"

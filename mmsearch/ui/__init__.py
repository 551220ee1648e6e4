"""The desktop window (PySide6). Only front-end code: every decision is a service's."""

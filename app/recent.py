""""Open recent": a list of paths kept in QSettings, read back as a list even when it holds one
path (QSettings' INI files return a one-item list as a plain string in the next process)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore


def as_list(value) -> list[str]:
    """A QSettings value meant to be a list of strings, as one: None → [], "a" → ["a"]."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v]


class RecentFiles:
    """Most recently opened paths, newest first, at most ``limit``."""

    def __init__(self, settings: Callable[[], QtCore.QSettings], key: str = "recent", limit: int = 10) -> None:
        self.settings, self.key, self.limit = settings, key, limit

    def paths(self) -> list[str]:
        """The stored paths."""
        return as_list(self.settings().value(self.key, []))

    def add(self, path: str) -> list[str]:
        """Put ``path`` first (once) and store the list."""
        path = str(path)
        paths = [path] + [p for p in self.paths() if p != path]
        st = self.settings()
        st.setValue(self.key, paths[: self.limit])
        st.sync()
        return paths[: self.limit]

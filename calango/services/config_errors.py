"""The error every configuration-import problem raises, and how field paths are written."""

from __future__ import annotations

Path = tuple[str | int, ...]


class ConfigImportError(Exception):
    """The file cannot be imported; the message says where and why. Nothing was changed."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        return self.message


def path_text(path: Path) -> str:
    """``providers.groq.models`` / ``personas[1].name``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text

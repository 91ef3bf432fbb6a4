"""Reading big JSON files as a stream (ijson): counting bytes for progress, and turning
parser errors into clear messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

import ijson
from flask_babel import gettext as _

from calango.services.imports import ImportFileError

Progress = Callable[[int], None]


class CountingReader:
    """A binary file that reports how many bytes were read so far to ``progress``."""

    def __init__(self, raw: IO[bytes], progress: Progress | None = None) -> None:
        self._raw = raw
        self._progress = progress
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self.read_bytes += len(chunk)
        if self._progress is not None and chunk:
            self._progress(len(chunk))
        return chunk


def parse_events(stream: Any) -> Any:
    """``ijson.parse`` with floats (not Decimals), so values can go into JSON columns."""
    return ijson.parse(stream, use_float=True)


def json_error(exc: Exception) -> ImportFileError:
    """A parser error as a translated message (truncated, damaged or not UTF-8)."""
    text = str(exc).strip()
    if text.startswith(("b'", 'b"')):  # yajl's message comes as the repr of bytes
        text = text[2:]
    detail = text.replace("\\n", "\n").splitlines()[0][:200] if text else ""
    if "premature EOF" in detail:
        return ImportFileError(_("The file ends too early: it was truncated (cut off)."))
    if isinstance(exc, UnicodeDecodeError) or "utf8" in detail.lower().replace("-", ""):
        return ImportFileError(_("The file is not UTF-8 text."))
    return ImportFileError(_("The file is not valid JSON (%(error)s).", error=detail))


JSON_ERRORS: tuple[type[Exception], ...] = (ijson.JSONError, UnicodeDecodeError)

"""Reading big JSON files as a stream (ijson): counting bytes for progress, and turning
parser errors into clear messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


MAX_DEPTH = 64
NAMED_DEPTH = 6
DEEP = "\x00deep"  # the prefix of events nested deeper than any place the importers look at


def parse_events(stream: Any, max_depth: int = MAX_DEPTH) -> Iterator[tuple[str, str, Any]]:
    """``ijson.parse``'s ``(prefix, event, value)`` events, with floats (not Decimals, so values
    can go into JSON columns) and a nesting limit.

    ijson's own prefixes grow with the depth, which makes a hostile file of a few hundred kB
    of ``[[[[...`` cost minutes and gigabytes; here a file nested deeper than ``max_depth`` is
    refused, and events deeper than the importers look get the prefix :data:`DEEP`.
    """
    path: list[str] = []
    for event, value in ijson.basic_parse(stream, use_float=True):
        if event == "map_key":
            prefix = ".".join(path[:-1]) if len(path) <= NAMED_DEPTH else DEEP
            path[-1] = value
            yield prefix, event, value
            continue
        if event in ("end_map", "end_array"):
            path.pop()
        prefix = ".".join(path) if len(path) <= NAMED_DEPTH else DEEP
        if event in ("start_map", "start_array"):
            if len(path) >= max_depth:
                raise ImportFileError(
                    _("The file is nested more than %(depth)d levels deep.", depth=max_depth)
                )
            path.append("item" if event == "start_array" else "")
        yield prefix, event, value


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

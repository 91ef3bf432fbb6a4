"""Reading Calango's own export file as a stream of records, one chat message at a time.

Yields ``(kind, path, value)``: ``settings`` (a dict), ``provider``, ``persona``, ``chat``
(its fields, read up to its ``messages``), ``message``, ``chat_end`` and ``arena_round``.
Memory stays at one message, whatever the size of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ijson
from flask_babel import gettext as _

from calango.services.exports.records import FORMAT, VERSION
from calango.services.imports import ImportFileError
from calango.services.imports.json_stream import JSON_ERRORS, json_error, parse_events

Record = tuple[str, str, Any]
ITEMS = {
    "providers.item": "provider",
    "personas.item": "persona",
    "arena_rounds.item": "arena_round",
}


def _not_ours() -> ImportFileError:
    return ImportFileError(
        _(
            'This is not a Calango export: it should start with "format": "%(format)s".',
            format=FORMAT,
        )
    )


def read_export(stream: Any) -> Iterator[Record]:
    """The records of a Calango export; raises :class:`ImportFileError` on anything else."""
    try:
        yield from _records(parse_events(stream))
    except JSON_ERRORS as exc:
        raise json_error(exc) from None


def _records(events: Any) -> Iterator[Record]:
    builder: ijson.ObjectBuilder | None = None
    kind = target = ""
    chats = messages = 0
    counts = {"provider": 0, "persona": 0, "arena_round": 0}
    first_key = True
    for prefix, event, value in events:
        if builder is not None:
            if kind == "chat" and prefix == "chats.item.messages" and event == "start_array":
                chat = builder.value
                chat.pop("messages", None)
                yield "chat", f"chats[{chats}]", chat
                builder, kind = None, "in_chat"
                continue
            builder.event(event, value)
            if prefix == target and event in ("end_map", "end_array"):
                done, builder = builder.value, None
                if kind == "message":
                    yield "message", f"chats[{chats}].messages[{messages}]", done
                    messages += 1
                    kind = "in_chat"
                elif kind == "chat":  # a chat without messages
                    yield "chat", f"chats[{chats}]", done
                    yield "chat_end", f"chats[{chats}]", None
                    chats += 1
                    kind = ""
                else:
                    path = kind if kind == "settings" else f"{kind}s[{counts[kind]}]"
                    if kind in counts:
                        counts[kind] += 1
                    yield kind, path, done
                    kind = ""
            continue
        if prefix == "" and event not in ("start_map", "map_key", "end_map"):
            raise _not_ours()
        if prefix == "" and event == "map_key" and first_key:
            if value != "format":
                raise _not_ours()
            first_key = False
        elif prefix == "format":
            if value != FORMAT:
                raise _not_ours()
        elif prefix == "version":
            if not isinstance(value, int) or value > VERSION:
                raise ImportFileError(
                    _(
                        "This export was made by a newer Calango (format version %(version)s); "
                        "update Calango to import it.",
                        version=value,
                    )
                )
        elif event == "start_map" and (prefix in ITEMS or prefix == "settings"):
            kind, target = ITEMS.get(prefix, "settings"), prefix
            builder = ijson.ObjectBuilder()
            builder.event(event, value)
        elif event == "start_map" and prefix == "chats.item":
            kind, target = "chat", prefix
            builder = ijson.ObjectBuilder()
            builder.event(event, value)
        elif event == "start_map" and prefix == "chats.item.messages.item":
            kind, target = "message", prefix
            builder = ijson.ObjectBuilder()
            builder.event(event, value)
        elif event == "end_map" and prefix == "chats.item":
            yield "chat_end", f"chats[{chats}]", None
            chats += 1
            messages = 0
    if first_key:
        raise _not_ours()

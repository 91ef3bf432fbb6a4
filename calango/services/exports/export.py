"""Exports: one chat as Markdown or JSON, and everything as one JSON file written as a stream.

The full export is produced piece by piece (chats in keyset batches, messages in batches of
rows), so its memory does not grow with the database. Its layout::

    {"format": "calango-export", "version": 1, "exported_at": "...",
     "settings": {...}, "providers": [...], "personas": [...],
     "chats": [{"id": ..., "title": ..., ..., "messages": [{...}, ...]}, ...],
     "arena_rounds": [{"title": ..., "contenders": [...], "votes": [...]}, ...]}

Each chat's ``messages`` comes last in the chat, so an importer can stream them too. The
chats include A Rinha's contenders' conversations (``"kind": "arena"``), which the rounds,
written after them, refer to by id.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask_babel import format_datetime
from flask_babel import gettext as _

from calango.models.types import utcnow
from calango.services.exports.arena_records import round_records
from calango.services.exports.records import (
    FORMAT,
    VERSION,
    branch_message_records,
    chat_ids,
    chat_record,
    message_records,
    persona_records,
    provider_records,
    setting_records,
)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _header() -> str:
    return (
        f'{{"format": {_dump(FORMAT)}, "version": {VERSION}, '
        f'"exported_at": {_dump(utcnow().isoformat())},\n'
    )


def _chat(chat: dict[str, Any]) -> Iterator[str]:
    # The chat's fields, then its messages last (an importer streams them).
    yield _dump(chat)[:-1] + ', "messages": ['
    first = True
    for message in message_records(uuid.UUID(chat["id"])):
        yield ("" if first else ",") + "\n" + _dump(message)
        first = False
    yield "]}"


def chat_json(chat_id: uuid.UUID) -> Iterator[str]:
    """One chat as JSON text (in pieces): a full export holding only this chat, so it can be
    imported back the same way."""
    chat = chat_record(chat_id)
    if chat is None:
        return
    yield _header() + '"chats": [\n'
    yield from _chat(chat)
    yield "\n]}\n"


def export_all(owner_id: int | None = None, providers: bool = True) -> Iterator[str]:
    """Everything of ``owner_id`` (``None``: of everyone, a backup) as one JSON document, in
    pieces: settings, providers (without their keys; left out unless ``providers``: they are
    the instance's), personas, then each chat with its messages, then A Rinha's rounds."""
    yield _header()
    yield f'"settings": {_dump(setting_records(owner_id))},\n'
    yield f'"providers": {_dump(provider_records() if providers else [])},\n'
    yield f'"personas": {_dump(persona_records(owner_id))},\n'
    yield '"chats": ['
    first = True
    for chat_id in chat_ids(owner_id):
        chat = chat_record(chat_id)
        if chat is None:  # deleted meanwhile
            continue
        yield "" if first else ",\n"
        yield from _chat(chat)
        first = False
    yield '\n],\n"arena_rounds": ['
    first = True
    for arena_round in round_records(owner_id):
        yield ("" if first else ",") + "\n" + _dump(arena_round)
        first = False
    yield "\n]}\n"


def _who(message: dict[str, Any]) -> str:
    if message["role"] == "user":
        return _("You")
    if message["role"] == "system":
        return _("System")
    model = message["model"] or _("Assistant")
    return f"{model} ({message['provider']})" if message["provider"] else model


def chat_markdown(chat_id: uuid.UUID) -> Iterator[str]:
    """One chat as Markdown (the branch it shows): a heading per message with who and
    when, then its text."""
    chat = chat_record(chat_id)
    if chat is None:
        return
    yield f"# {chat['title'] or _('Untitled chat')}\n"
    for message in branch_message_records(chat_id, chat["leaf_id"]):
        when = format_datetime(datetime.fromisoformat(message["timestamp"]), "short")
        yield f"\n## {_who(message)} · {when}\n\n"
        if message["content"]:
            yield message["content"].rstrip() + "\n"
        if message.get("attachments"):
            names = ", ".join(f"`{a['name']}`" for a in message["attachments"])
            yield "\n" + _("Attached: %(names)s", names=names) + "\n"
        if message["status"] == "error":
            error = _("Error: %(error)s", error=message["error"] or "")
            yield "\n" + "\n".join(f"> {line}".rstrip() for line in error.splitlines()) + "\n"
        elif message["status"] in ("stopped", "interrupted"):
            yield "\n> " + _("(the answer was cut short)") + "\n"

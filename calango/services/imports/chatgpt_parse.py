"""Reading ChatGPT's data export: ``conversations.json`` (or the .zip holding it), one
conversation at a time, each turned into the messages of its current branch.

A conversation's ``mapping`` is a tree of nodes (each with ``parent`` and ``message``);
what the user last saw is the path from ``current_node`` up to the root. System prompts,
tool calls and tool results, hidden messages and non-text content are left out.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import ijson
from flask_babel import gettext as _

from calango.services.imports import ImportFileError
from calango.services.imports.json_stream import JSON_ERRORS, json_error, parse_events

MEMBER = "conversations.json"
MAX_DEPTH = 100_000
MAX_MEMBER_BYTES = 20 * 1024**3
TEXT_TYPES = ("text", "multimodal_text")


@dataclass
class Turn:
    node_id: str
    role: str
    text: str
    timestamp: datetime | None
    model: str | None


@dataclass
class Conversation:
    key: str
    title: str
    created_at: datetime | None
    updated_at: datetime | None
    turns: list[Turn] = field(default_factory=list)
    warning: str | None = None


def open_export(path: Path) -> tuple[IO[bytes], int]:
    """The conversations.json stream inside ``path`` (a .json or a .zip) and its size."""
    with path.open("rb") as probe:
        is_zip = probe.read(4) == b"PK\x03\x04"
    if not is_zip:
        return path.open("rb"), path.stat().st_size
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ImportFileError(_("The zip file is damaged and cannot be opened.")) from None
    member = next((i for i in archive.infolist() if i.filename.rsplit("/", 1)[-1] == MEMBER), None)
    if member is None:
        archive.close()
        raise ImportFileError(
            _("The zip file has no conversations.json: it is not ChatGPT's data export.")
        )
    if member.file_size > MAX_MEMBER_BYTES:
        archive.close()
        raise ImportFileError(_("conversations.json in the zip file is too large."))
    return archive.open(member), member.file_size


def _time(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _text(message: dict[str, Any]) -> str | None:
    content = message.get("content")
    if not isinstance(content, dict) or content.get("content_type") not in TEXT_TYPES:
        return None
    parts = content.get("parts")
    if not isinstance(parts, list):
        return None
    pieces = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, dict):  # an image or a file: say so rather than drop silently
            pieces.append(_("[attachment not imported]"))
    text = "\n\n".join(p for p in pieces if p.strip())
    return text or None


def _turn(node_id: str, node: Any, default_model: str | None) -> Turn | None:
    message = node.get("message") if isinstance(node, dict) else None
    if not isinstance(message, dict):
        return None
    author = message.get("author")
    role = author.get("role") if isinstance(author, dict) else None
    metadata = message.get("metadata") if isinstance(message.get("metadata"), dict) else {}
    if role not in ("user", "assistant") or metadata.get("is_visually_hidden_from_conversation"):
        return None
    if message.get("recipient", "all") != "all":  # a call to a tool, not an answer
        return None
    text = _text(message)
    if text is None:
        return None
    model = metadata.get("model_slug") or default_model
    return Turn(
        node_id=node_id[:100],
        role=role,
        text=text,
        timestamp=_time(message.get("create_time")),
        model=str(model)[:200] if isinstance(model, str) and role == "assistant" else None,
    )


def _branch(mapping: dict[str, Any], current: Any) -> tuple[list[str], str | None]:
    warning = None
    if not isinstance(current, str) or current not in mapping:
        # No pointer to the branch shown: take the last node that has no children.
        leaves = [k for k, n in mapping.items() if isinstance(n, dict) and not n.get("children")]
        current = leaves[-1] if leaves else None
        warning = _("its current branch is not marked; the last one was imported.")
    path: list[str] = []
    seen: set[str] = set()
    while isinstance(current, str) and current in mapping and current not in seen:
        if len(path) >= MAX_DEPTH:
            break
        seen.add(current)
        path.append(current)
        node = mapping[current]
        current = node.get("parent") if isinstance(node, dict) else None
    path.reverse()
    return path, warning


def conversation(item: Any, index: int) -> Conversation | str:
    """One conversation, or the reason it cannot be imported."""
    if not isinstance(item, dict) or not isinstance(item.get("mapping"), dict):
        return _("conversation #%(num)d: not a ChatGPT conversation.", num=index + 1)
    conv_id = item.get("conversation_id") or item.get("id")
    if not isinstance(conv_id, str) or not conv_id.strip() or len(conv_id) > 200:
        return _("conversation #%(num)d: it has no id.", num=index + 1)
    default_model = item.get("default_model_slug")
    path, warning = _branch(item["mapping"], item.get("current_node"))
    turns = [
        t
        for t in (
            _turn(n, item["mapping"][n], default_model if isinstance(default_model, str) else None)
            for n in path
        )
        if t is not None
    ]
    title = item.get("title")
    return Conversation(
        key=conv_id.strip(),
        title=title.strip()[:200] if isinstance(title, str) else "",
        created_at=_time(item.get("create_time")),
        updated_at=_time(item.get("update_time")),
        turns=turns,
        warning=warning,
    )


def conversations(stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
    """``(index, raw conversation)`` for each item of the top-level list, streamed."""
    try:
        events = parse_events(stream)
        _prefix, event, _value = next(events, ("", "", None))
        if event != "start_array":
            raise ImportFileError(
                _("This is not ChatGPT's conversations.json: it should be a list of conversations.")
            )
        yield from enumerate(ijson.items(_replay(events), "item", use_float=True))
    except JSON_ERRORS as exc:
        raise json_error(exc) from None
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None


def _replay(events: Iterator[tuple[str, str, Any]]) -> Iterator[tuple[str, str, Any]]:
    # ijson.items accepts an event stream; the first event (start_array) was already read.
    yield "", "start_array", None
    yield from events

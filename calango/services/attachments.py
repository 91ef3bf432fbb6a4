"""A message's files once checked (``services.file_intake``): stored once, sent to models,
counted, shown and forgotten.

- **In the context** a text file (or a PDF's text) joins the message's text as a delimited
  block, ``<file name="notes.md">…</file>``; an image travels beside the text as an
  ``llm.ImagePart`` that each adapter sends in its own form. A model that cannot see images
  (``llm.can_see_images``) is refused a new picture before any statement or provider call; an
  older picture in its chat becomes a one-line note instead.
- **Tokens**: ``attachments_tokens`` is the one count of what files add to a message's input
  (the size limit of ``file_intake`` counts their text alone); cost estimates use it.
- **Statements**: a send without files reads and writes none of these tables. The branch
  read brings each message's ``file_count``, so the links are read only for a branch with
  files; a send with files adds three statements (two upserts and a read of the ids).
- **Deleting**: links go with their message (foreign key cascade); ``forget_unlinked``
  deletes the stored files no link refers to any more, in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import g
from flask_babel import gettext as _
from sqlalchemy import case, delete, exists, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from calango.extensions import db
from calango.llm import ImagePart, estimate_tokens, image_tokens
from calango.models import ChatMessage, FileKind, MessageFile, StoredFile
from calango.models.types import utcnow
from calango.services.file_intake import PreparedFile


@dataclass(frozen=True)
class FileChip:
    """What a message shows of one of its files."""

    message_id: int
    position: int
    name: str
    kind: str
    mime: str
    size: int
    width: int | None
    height: int | None

    @property
    def is_image(self) -> bool:
        """Whether the chip shows a thumbnail."""
        return self.kind == FileKind.IMAGE


# --- the context ---------------------------------------------------------------------------


def text_block(name: str, text: str) -> str:
    """A text file as the model reads it: delimited, named (quotes in the name made single)."""
    return f'<file name="{name.replace(chr(34), chr(39))}">\n{text}\n</file>'


def _image_note(name: str) -> str:
    return "[" + _("Image “%(name)s” not shown: this model cannot see images.", name=name) + "]"


def context_message(
    role: str, content: str, files: Sequence[PreparedFile], vision: bool
) -> dict[str, Any]:
    """A context message with its files: text blocks after the text, images beside it (a
    note instead when the model cannot see them)."""
    parts = [content] if content.strip() else []
    images: list[ImagePart] = []
    for f in files:
        if f.kind == FileKind.TEXT:
            parts.append(text_block(f.name, f.text or ""))
        elif vision:
            images.append(ImagePart(f.mime, f.data, f.width or 0, f.height or 0))
        else:
            parts.append(_image_note(f.name))
    message: dict[str, Any] = {"role": role, "content": "\n\n".join(parts)}
    if images:
        message["images"] = images
    return message


def attachments_tokens(files: Iterable[PreparedFile]) -> int:
    """The input tokens ``files`` add to their message, estimated: each text file's block
    (``llm.estimate_tokens``) and each image (``llm.image_tokens``). The one count that cost
    estimates and limits of a turn's files use."""
    total = 0
    for f in files:
        if f.kind == FileKind.IMAGE:
            total += image_tokens(f.width or 0, f.height or 0)
        else:
            total += estimate_tokens(text_block(f.name, f.text or "")) + 1  # the joining line
    return total


def has_images(files: Iterable[PreparedFile]) -> bool:
    """Whether any of ``files`` is a picture (a text-only model is then refused the send)."""
    return any(f.kind == FileKind.IMAGE for f in files)


def load_for_context(message_ids: Iterable[int]) -> dict[int, list[PreparedFile]]:
    """The files of these messages, in order, with what a model is sent (a text file's text,
    an image's bytes), in one statement."""
    ids = sorted(set(message_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(
            MessageFile.message_id,
            MessageFile.name,
            StoredFile.sha256,
            StoredFile.kind,
            StoredFile.mime,
            StoredFile.text,
            case((StoredFile.kind == FileKind.IMAGE, StoredFile.data), else_=None),
            StoredFile.width,
            StoredFile.height,
        )
        .join(StoredFile, StoredFile.id == MessageFile.file_id)
        .where(MessageFile.message_id.in_(ids))
        .order_by(MessageFile.message_id, MessageFile.position)
    ).all()
    found: dict[int, list[PreparedFile]] = {}
    for message_id, name, sha, kind, mime, text, data, width, height in rows:
        found.setdefault(message_id, []).append(
            PreparedFile(name, sha, kind, mime, data or b"", text, width, height)
        )
    return found


# --- storing and forgetting ----------------------------------------------------------------


def store(message_id: int, files: Sequence[PreparedFile]) -> None:
    """Store ``files`` (a content already stored is kept as it is) and link them to the
    message, in its transaction."""
    if not files:
        return
    now = utcnow()
    unique = {f.sha256: f for f in files}
    rows = [
        {"sha256": f.sha256, "kind": f.kind, "mime": f.mime, "size": f.size, "width": f.width,
         "height": f.height, "text": f.text, "data": f.data, "created_at": now}
        for f in unique.values()
    ]  # fmt: skip
    dialect = db.session.get_bind().dialect.name
    upsert = (pg_insert if dialect == "postgresql" else sqlite_insert)(StoredFile)
    db.session.execute(upsert.on_conflict_do_nothing(index_elements=["sha256"]), rows)
    ids = dict(
        db.session.execute(
            select(StoredFile.sha256, StoredFile.id).where(StoredFile.sha256.in_(list(unique)))
        ).all()
    )
    db.session.execute(
        insert(MessageFile),
        [
            {"message_id": message_id, "file_id": ids[f.sha256], "name": f.name, "position": i}
            for i, f in enumerate(files)
        ],
    )
    # The bubble rendered next shows the chips without reading them back.
    primed = g.setdefault("_file_chips", {})
    primed[message_id] = [
        FileChip(message_id, i, f.name, f.kind, f.mime, f.size, f.width, f.height)
        for i, f in enumerate(files)
    ]


def file_ids_of_chat(chat_id: uuid.UUID) -> list[int]:
    """The stored files a chat's messages link to (read before deleting the chat)."""
    return list(
        db.session.scalars(
            select(MessageFile.file_id)
            .join(ChatMessage, ChatMessage.id == MessageFile.message_id)
            .where(ChatMessage.session_id == chat_id)
            .distinct()
        )
    )


def file_ids_of_messages(message_ids: Sequence[int]) -> list[int]:
    """The stored files these messages link to (read before deleting them)."""
    if not message_ids:
        return []
    return list(
        db.session.scalars(
            select(MessageFile.file_id).where(MessageFile.message_id.in_(message_ids)).distinct()
        )
    )


def forget_unlinked(file_ids: Sequence[int] | None = None) -> None:
    """Delete the stored files (of ``file_ids``; None: any) that no message links to."""
    if file_ids is not None and not file_ids:
        return
    linked = exists(select(MessageFile.id).where(MessageFile.file_id == StoredFile.id))
    query = delete(StoredFile).where(~linked)
    if file_ids is not None:
        query = query.where(StoredFile.id.in_(list(file_ids)))
    db.session.execute(query, execution_options={"synchronize_session": False})


# --- showing -------------------------------------------------------------------------------


def chips_of_chat(chat_id: uuid.UUID) -> dict[int, list[FileChip]]:
    """Every file of a chat's messages, by message, in order (one statement, no bytes)."""
    rows = db.session.execute(
        select(
            MessageFile.message_id,
            MessageFile.position,
            MessageFile.name,
            StoredFile.kind,
            StoredFile.mime,
            StoredFile.size,
            StoredFile.width,
            StoredFile.height,
        )
        .join(StoredFile, StoredFile.id == MessageFile.file_id)
        .join(ChatMessage, ChatMessage.id == MessageFile.message_id)
        .where(ChatMessage.session_id == chat_id)
        .order_by(MessageFile.message_id, MessageFile.position)
    ).all()
    found: dict[int, list[FileChip]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(FileChip(*row))
    return found


class FileChipLookup:
    """``message_files.of(m)`` for bubbles: nothing read for a message without files; else
    the chat's chips, read once per request (or primed by the send that stored them)."""

    def __init__(self) -> None:
        self._by_chat: dict[uuid.UUID, dict[int, list[FileChip]]] = {}

    def of(self, message: ChatMessage) -> list[FileChip]:
        """The chips of ``message`` in order."""
        if not message.file_count:
            return []
        primed = g.get("_file_chips") or {}
        if message.id in primed:
            return primed[message.id]
        if message.session_id not in self._by_chat:
            self._by_chat[message.session_id] = chips_of_chat(message.session_id)
        return self._by_chat[message.session_id].get(message.id, [])

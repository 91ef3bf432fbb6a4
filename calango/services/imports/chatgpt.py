"""Importing ChatGPT's data export (conversations.json or the .zip holding it).

The file is read as a stream, one conversation at a time, so memory stays bounded whatever
its size; everything is written in one transaction. A conversation already imported (same
conversation id) is left alone, so importing the same export twice adds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError

from calango.extensions import db
from calango.models import ChatMessage, ChatSession
from calango.models.types import utcnow
from calango.services import call_rollup
from calango.services.branches import link_as_single_branch
from calango.services.chat import title_from
from calango.services.imports import ImportFileError, ImportSummary
from calango.services.imports.chatgpt_parse import (
    Conversation,
    conversation,
    conversations,
    open_export,
)
from calango.services.imports.json_stream import CountingReader
from calango.services.imports.owner import import_owner, importing_for

PREFIX = "chatgpt:"
PROVIDER = "ChatGPT"
BATCH = 1000


def _write(conv: Conversation, summary: ImportSummary) -> None:
    key = f"{PREFIX}{conv.key}"
    owner = import_owner()
    mine = select(ChatSession.id).where(ChatSession.owner_id == owner)
    if db.session.scalar(mine.where(ChatSession.import_key == key)):
        summary.present["chats"] += 1
        return
    start = conv.created_at or (conv.turns[0].timestamp if conv.turns else None) or utcnow()
    moment = start
    rows: list[dict[str, Any]] = []
    values = {
        "owner_id": owner,
        "title": conv.title
        or (title_from(conv.turns[0].text) if conv.turns else "")
        or _("Imported chat"),
        "created_at": start,
        "import_key": key,
    }
    for turn in conv.turns:
        # Keep the branch's order even when a message has no time or an earlier one.
        moment = max(moment, turn.timestamp or moment)
        rows.append(
            {
                "role": turn.role,
                "content": turn.text,
                "status": "complete",
                "timestamp": moment,
                "provider": PROVIDER if turn.role == "assistant" else None,
                "model": turn.model,
                "stop_requested": False,
                "import_key": f"{key}:{turn.node_id}",
            }
        )
    values["updated_at"] = max(conv.updated_at or moment, moment)
    chat_id = values["id"] = uuid.uuid4()
    db.session.execute(insert(ChatSession.__table__), [values])
    for start_at in range(0, len(rows), BATCH):
        batch = [{**row, "session_id": chat_id} for row in rows[start_at : start_at + BATCH]]
        db.session.execute(insert(ChatMessage.__table__), batch)
        call_rollup.count_rows(batch)  # A Cuca's sums
    link_as_single_branch([chat_id])  # the conversation's current branch, in order
    summary.imported["chats"] += 1
    summary.imported["messages"] += len(rows)


def import_chatgpt(
    path: Path, progress: Callable[[int], None] | None = None, owner_id: int | None = None
) -> ImportSummary:
    """Import ChatGPT's export at ``path`` (.json or .zip) for ``owner_id`` (default: the
    current user) in one transaction.

    Raises :class:`ImportFileError` when the file is not one; nothing is written then.
    ``progress`` is called with the number of bytes read (of conversations.json).
    """
    with importing_for(owner_id):
        return _import_chatgpt(path, progress)


def _import_chatgpt(path: Path, progress: Callable[[int], None] | None) -> ImportSummary:
    summary = ImportSummary()
    stream, _size = open_export(path)
    reader = CountingReader(stream, progress)
    recognised = 0
    try:
        for index, item in conversations(reader):  # type: ignore[arg-type]
            conv = conversation(item, index)
            if isinstance(conv, str):
                summary.skipped.append(conv)
                continue
            recognised += 1
            if not conv.turns:
                summary.skipped.append(
                    _("%(title)s: no text message to import.", title=conv.title or conv.key)
                )
                continue
            if conv.warning:
                summary.warnings.append(f"{conv.title or conv.key}: {conv.warning}")
            _write(conv, summary)
        if recognised == 0 and summary.skipped:
            raise ImportFileError(
                _("This is not ChatGPT's conversations.json: none of its items is a conversation.")
            )
        db.session.commit()
    except ImportFileError:
        db.session.rollback()
        if reader.read_bytes == 0:
            raise ImportFileError(_("The file is empty.")) from None
        raise
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("ChatGPT import failed")
        raise ImportFileError(_("The import could not be saved. Nothing was imported.")) from None
    except BaseException:
        db.session.rollback()
        raise
    finally:
        stream.close()
    return summary

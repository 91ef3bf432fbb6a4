"""Rows as JSON-ready dicts, the same for a one-chat export and the full export.

Reading goes through Core rows (no ORM objects), so a long export holds only one batch.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from calango.accounts import local_user_id
from calango.extensions import db
from calango.models import ChatMessage, ChatSession, Persona, Provider, Setting, UserSetting
from calango.services import attachments, branches
from calango.services.preferences import USER_KEYS

FORMAT = "calango-export"
VERSION = 1
BATCH = 500

# ``leaf_id`` and each message's ``parent_id`` keep the conversation's tree (its versions);
# they name message ids of the same file. An export without them is one branch in order.
CHAT_FIELDS = (
    "id",
    "title",
    "persona",
    "created_at",
    "updated_at",
    "import_key",
    "params",
    "profile_enabled",
    "kind",
    "leaf_id",
)
MESSAGE_FIELDS = (
    "id",
    "parent_id",
    "role",
    "content",
    "status",
    "timestamp",
    "provider",
    "model",
    "persona",
    "token_usage",
    "prompt_tokens",
    "completion_tokens",
    "tokens_estimated",
    "cost",
    "ttft_ms",
    "total_ms",
    "error",
    "error_class",
    "import_key",
    "params",
    "profile_sent",
)
PROVIDER_FIELDS = (
    "name",
    "kind",
    "base_url",
    "models",
    "price_overrides",
    "enabled",
    "local_runtime",
    "created_at",
    "updated_at",
)
PERSONA_FIELDS = (
    "name",
    "prompt",
    "created_at",
    "updated_at",
    "description",
    "avatar_emoji",
    "avatar_image",  # base64 of the PNG the app made
    "traits",
    "starters",
    "default_provider",
    "default_model",
    "params",
)


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _record(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    mapping = row._mapping
    return {name: _value(mapping[name]) for name in fields}


def _columns(model: Any, fields: tuple[str, ...]) -> list[Any]:
    table = model.__table__
    return [table.c[name] for name in fields]


def chat_record(chat_id: uuid.UUID) -> dict[str, Any] | None:
    """One chat's fields (without messages), or ``None`` when it does not exist."""
    row = db.session.execute(
        select(*_columns(ChatSession, CHAT_FIELDS)).where(ChatSession.id == chat_id)
    ).first()
    return _record(row, CHAT_FIELDS) if row else None


def _with_attachments(chat_id: uuid.UUID, rows: Any) -> Iterator[dict[str, Any]]:
    """Records of ``rows``; a message with files names them in ``attachments`` (name, type,
    size: the files themselves stay out of exports). The chat's files are read once, on the
    first message that has some."""
    chips: dict[int, list[Any]] | None = None
    for row in rows:
        record = _record(row, MESSAGE_FIELDS)
        if row._mapping["file_count"]:
            if chips is None:
                chips = attachments.chips_of_chat(chat_id)
            record["attachments"] = [
                {"name": c.name, "mime": c.mime, "size": c.size}
                for c in chips.get(record["id"], [])
            ]
        yield record


def message_records(chat_id: uuid.UUID) -> Iterator[dict[str, Any]]:
    """A chat's messages in order, streamed in batches."""
    query = (
        select(*_columns(ChatMessage, MESSAGE_FIELDS), ChatMessage.file_count)
        .where(ChatMessage.session_id == chat_id)
        .order_by(ChatMessage.timestamp, ChatMessage.id)
        .execution_options(yield_per=BATCH)
    )
    yield from _with_attachments(chat_id, db.session.execute(query))


def branch_message_records(chat_id: uuid.UUID, leaf_hint: int | None) -> Iterator[dict[str, Any]]:
    """The messages of the branch the chat shows, root first (calango.services.branches)."""
    walk = branches.walk_up(chat_id, branches.leaf_expression(chat_id, leaf_hint))
    query = (
        select(*_columns(ChatMessage, MESSAGE_FIELDS), ChatMessage.file_count)
        .join(walk, ChatMessage.__table__.c.id == walk.c.id)
        .order_by(walk.c.depth.desc())
    )
    yield from _with_attachments(chat_id, db.session.execute(query).all())


def chat_ids(owner_id: int | None = None) -> Iterator[uuid.UUID]:
    """Every chat's id (of ``owner_id``; ``None``: everyone's), oldest first, fetched in
    keyset batches."""
    last: tuple[Any, Any] | None = None
    table = ChatSession.__table__
    while True:
        # A Rinha's contenders' conversations too (``kind``): the rounds refer to them.
        query = select(table.c.id, table.c.created_at).order_by(table.c.created_at, table.c.id)
        if owner_id is not None:
            query = query.where(table.c.owner_id == owner_id)
        if last is not None:
            query = query.where(
                (table.c.created_at > last[0])
                | ((table.c.created_at == last[0]) & (table.c.id > last[1]))
            )
        rows = db.session.execute(query.limit(BATCH)).all()
        if not rows:
            return
        for row in rows:
            yield row.id
        last = (rows[-1].created_at, rows[-1].id)


def provider_records() -> list[dict[str, Any]]:
    """Providers without their keys."""
    rows = db.session.execute(select(*_columns(Provider, PROVIDER_FIELDS)).order_by(Provider.name))
    return [_record(row, PROVIDER_FIELDS) for row in rows]


def persona_records(owner_id: int | None = None) -> list[dict[str, Any]]:
    """The personas of ``owner_id`` (``None``: everyone's), shared ones of others left out."""
    query = select(*_columns(Persona, PERSONA_FIELDS)).order_by(Persona.name)
    if owner_id is not None:
        query = query.where(Persona.owner_id == owner_id)
    return [_record(row, PERSONA_FIELDS) for row in db.session.execute(query)]


def setting_records(owner_id: int | None = None) -> dict[str, Any]:
    """The preferences of ``owner_id`` (default: the local user); with ``None`` the
    instance's settings too."""
    user_id = owner_id if owner_id is not None else local_user_id()
    own = select(UserSetting.key, UserSetting.value).where(
        UserSetting.user_id == user_id, UserSetting.key.in_(USER_KEYS)
    )
    found = {row.key: row.value for row in db.session.execute(own)}
    if owner_id is not None:
        return found
    instance = select(Setting.key, Setting.value).where(Setting.key.not_in(USER_KEYS))
    return {**{row.key: row.value for row in db.session.execute(instance)}, **found}

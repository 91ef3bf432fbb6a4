"""Rows of the signed-in user for routes: another user's chat, message, round or persona is a
404, never a 403 (its existence is not disclosed); a shared persona a non-admin may see but not
change is a 403. The owner condition is part of the query that
loads the row: no extra statement."""

from __future__ import annotations

import functools
import uuid
from typing import Any, NoReturn

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import Integer, Select, and_, bindparam, case, select
from sqlalchemy.orm import selectinload, undefer

from calango.access import is_admin
from calango.accounts import current_user_id
from calango.extensions import db
from calango.models import ArenaRound, ChatMessage, ChatSession, MessageFile, Persona, StoredFile
from calango.services import personas
from calango.services.preferences import prime_settings, primed_columns, primed_keys

__all__ = [
    "editable_persona_or_404",
    "followed_message_or_404",
    "owned_chat_or_404",
    "owned_file_or_404",
    "owned_message_or_404",
    "owned_round_or_404",
    "visible_persona_or_404",
]

_ID_MAX = 2**31 - 1  # ids beyond a 32-bit integer exist nowhere (PostgreSQL would refuse them)


def owned_chat(chat_id: uuid.UUID, owner_id: int | None = None) -> ChatSession | None:
    """The chat if ``owner_id`` (default: the current user) owns it, in one statement."""
    owner = owner_id if owner_id is not None else current_user_id()
    return db.session.scalar(
        select(ChatSession).where(ChatSession.id == chat_id, ChatSession.owner_id == owner)
    )


def owned_chat_or_404(chat_id: uuid.UUID) -> ChatSession:
    """The current user's chat (any kind), else 404."""
    chat = owned_chat(chat_id)
    if chat is None:
        abort(404, description=_("This chat does not exist or was deleted."))
    return chat


def owned_message_or_404(message_id: int, chat_id: uuid.UUID | None = None) -> ChatMessage:
    """A message of one of the current user's chats (of ``chat_id`` when given), else 404."""
    message = None
    if 0 < message_id <= _ID_MAX:
        query = (
            select(ChatMessage)
            .join(ChatSession, ChatSession.id == ChatMessage.session_id)
            .where(ChatMessage.id == message_id, ChatSession.owner_id == current_user_id())
        )
        if chat_id is not None:
            query = query.where(ChatMessage.session_id == chat_id)
        message = db.session.scalar(query)
    if message is None:
        _no_such_message()
    return message


def _no_such_message() -> NoReturn:
    abort(404, description=_("This message does not exist or was deleted."))


@functools.cache
def _followed_message_query() -> Select[Any]:
    """The statement of :func:`followed_message_or_404`, built once (bound ``message_id``,
    ``chat_id``, ``me``): the message of one of ``me``'s chats, the avatar of its persona
    (``me``'s own before a shared namesake, as ``avatars_by_name``) and ``me``'s primed
    settings."""
    me = bindparam("me", type_=Integer())
    persona = and_(Persona.name == ChatMessage.persona, personas.visible_to(me))
    return (
        select(ChatMessage, *personas.AVATAR_COLUMNS, *primed_columns(me))
        .join(ChatSession, ChatSession.id == ChatMessage.session_id)
        .outerjoin(Persona, persona)
        .where(
            ChatMessage.id == bindparam("message_id", type_=Integer()),
            ChatMessage.session_id == bindparam("chat_id", type_=ChatSession.__table__.c.id.type),
            ChatSession.owner_id == me,
        )
        .order_by(case((Persona.owner_id == me, 0), else_=1), Persona.id.desc())
        .limit(1)
    )


def followed_message_or_404(message_id: int, chat_id: uuid.UUID) -> ChatMessage:
    """:func:`owned_message_or_404` for a stream, which then reads nothing else: the ``done``
    event's bubble shows the persona's avatar and follows the viewer's language and theme,
    read here in the same statement."""
    row = None
    if 0 < message_id <= _ID_MAX:
        params = {"message_id": message_id, "chat_id": chat_id, "me": current_user_id()}
        row = db.session.execute(_followed_message_query(), params).first()
    if row is None:
        _no_such_message()
    message, persona_id, emoji, has_image, updated, *settings = row
    prime_settings(dict(zip(primed_keys(), settings, strict=True)))
    if message.persona:
        found = persona_id is not None
        avatar = personas.avatar_from(persona_id, emoji, has_image, updated) if found else None
        personas.prime_avatars({message.persona: avatar})
    return message


def owned_file_or_404(
    chat_id: uuid.UUID, message_id: int, position: int
) -> tuple[MessageFile, StoredFile]:
    """A file of a message of one of the current user's chats, with its bytes, else 404."""
    row = None
    if 0 < message_id <= _ID_MAX and 0 <= position < 2**15:
        row = db.session.execute(
            select(MessageFile, StoredFile)
            .join(StoredFile, StoredFile.id == MessageFile.file_id)
            .join(ChatMessage, ChatMessage.id == MessageFile.message_id)
            .join(ChatSession, ChatSession.id == ChatMessage.session_id)
            .where(
                MessageFile.message_id == message_id,
                MessageFile.position == position,
                ChatMessage.session_id == chat_id,
                ChatSession.owner_id == current_user_id(),
            )
            .options(undefer(StoredFile.data))
        ).first()
    if row is None:
        abort(404, description=_("This file does not exist or was deleted."))
    return row[0], row[1]


def owned_round(round_id: int, owner_id: int | None = None) -> ArenaRound | None:
    """A round of ``owner_id`` (default: the current user) with contenders and votes."""
    if not 0 < round_id <= _ID_MAX:
        return None
    owner = owner_id if owner_id is not None else current_user_id()
    return db.session.scalar(
        select(ArenaRound)
        .where(ArenaRound.id == round_id, ArenaRound.owner_id == owner)
        .options(selectinload(ArenaRound.contenders), selectinload(ArenaRound.votes))
    )


def owned_round_or_404(round_id: int) -> ArenaRound:
    """The current user's round, else 404."""
    found = owned_round(round_id)
    if found is None:
        abort(404, description=_("This round does not exist or was deleted."))
    return found


def visible_persona_or_404(persona_id: int) -> Persona:
    """The persona if the current user may see it (their own or a shared one), else 404."""
    persona = personas.find_visible(persona_id, current_user_id())
    if persona is None:
        abort(404)
    return persona


def editable_persona_or_404(persona_id: int) -> Persona:
    """The persona if the current user may change it; 404 for one they cannot see, 403 for a
    shared one when they are not an admin."""
    persona = visible_persona_or_404(persona_id)
    if not personas.may_edit(persona, current_user_id(), is_admin()):
        abort(403)
    return persona

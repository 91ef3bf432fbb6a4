"""Every database read and bulk write of A Rinha, in one place (ownership filters go here).

Functions return model objects or plain rows; the use cases in ``calango.services.arena``
own the transactions.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.orm import selectinload

from calango.accounts import current_user_id
from calango.extensions import db
from calango.models import (
    ArenaContender,
    ArenaRound,
    ArenaVote,
    ChatMessage,
    ChatSession,
    MessageStatus,
    SessionKind,
)
from calango.models.types import utcnow
from calango.services import call_rollup

ROUNDS_PAGE_SIZE = 50


def get_round(round_id: int) -> ArenaRound | None:
    """A round of the current user with its contenders and votes loaded."""
    return db.session.scalar(
        select(ArenaRound)
        .where(ArenaRound.id == round_id, ArenaRound.owner_id == current_user_id())
        .options(selectinload(ArenaRound.contenders), selectinload(ArenaRound.votes))
    )


def recent_rounds(limit: int = ROUNDS_PAGE_SIZE, before: int | None = None) -> list[ArenaRound]:
    """Rounds newest first (a page of them; ``before`` a round id to continue after)."""
    mine = ArenaRound.owner_id == current_user_id()
    query = select(ArenaRound).where(mine).options(selectinload(ArenaRound.contenders))
    if before is not None:
        after = db.session.scalar(
            select(ArenaRound.created_at).where(ArenaRound.id == before, mine)
        )
        if after is not None:
            query = query.where(
                tuple_(ArenaRound.created_at, ArenaRound.id) < tuple_(after, before)
            )
    return list(
        db.session.scalars(
            query.order_by(ArenaRound.created_at.desc(), ArenaRound.id.desc()).limit(limit)
        )
    )


def touch_round(round_id: int, now: datetime) -> None:
    """Bump the round's ``updated_at``: the UPDATE takes the round for this transaction."""
    db.session.execute(update(ArenaRound).where(ArenaRound.id == round_id).values(updated_at=now))


def round_count() -> int:
    """How many rounds the current user has (shown before clearing the arena)."""
    query = select(func.count()).where(ArenaRound.owner_id == current_user_id())
    return db.session.scalar(query) or 0


def session_messages(session_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[ChatMessage]]:
    """The messages of each session, in order (one query for all of them)."""
    ids = list(session_ids)
    found: dict[uuid.UUID, list[ChatMessage]] = defaultdict(list)
    if not ids:
        return found
    rows = db.session.scalars(
        select(ChatMessage)
        .where(ChatMessage.session_id.in_(ids), ChatMessage.role.in_(("user", "assistant")))
        .order_by(ChatMessage.session_id, ChatMessage.timestamp, ChatMessage.id)
    )
    for message in rows:
        found[message.session_id].append(message)
    return found


def round_of_session(session_id: uuid.UUID) -> int | None:
    """The id of the current user's round a contender's session belongs to."""
    return db.session.scalar(
        select(ArenaContender.round_id)
        .join(ArenaRound, ArenaRound.id == ArenaContender.round_id)
        .where(ArenaContender.session_id == session_id, ArenaRound.owner_id == current_user_id())
    )


def message_in_round(round_id: int, message_id: int) -> ChatMessage | None:
    """One of the round's messages (None when it belongs elsewhere)."""
    return db.session.scalar(
        select(ChatMessage)
        .join(ArenaContender, ArenaContender.session_id == ChatMessage.session_id)
        .where(ArenaContender.round_id == round_id, ChatMessage.id == message_id)
    )


def streaming_message_ids(round_id: int | None, alive_since: datetime | None = None) -> list[int]:
    """The round's (or every round's) answers still being written (with a heartbeat since
    ``alive_since``); every round means every round of the current user."""
    query = (
        select(ChatMessage.id)
        .join(ArenaContender, ArenaContender.session_id == ChatMessage.session_id)
        .where(ChatMessage.status == MessageStatus.STREAMING)
    )
    if round_id is not None:
        query = query.where(ArenaContender.round_id == round_id)
    else:
        query = query.join(ArenaRound, ArenaRound.id == ArenaContender.round_id).where(
            ArenaRound.owner_id == current_user_id()
        )
    if alive_since is not None:
        query = query.where(ChatMessage.heartbeat_at >= alive_since)
    return list(db.session.scalars(query))


def arena_session_ids(round_ids: Sequence[int] | None = None) -> list[uuid.UUID]:
    """The arena sessions (not the ones continued as chats) of some rounds, or of all the
    current user's."""
    query = (
        select(ChatSession.id)
        .join(ArenaContender, ArenaContender.session_id == ChatSession.id)
        .where(ChatSession.kind == SessionKind.ARENA)
    )
    if round_ids is not None:
        query = query.where(ArenaContender.round_id.in_(round_ids))
    else:
        query = query.where(ChatSession.owner_id == current_user_id())
    return list(db.session.scalars(query))


def delete_sessions(session_ids: Sequence[uuid.UUID]) -> None:
    """Delete sessions and their messages (in the caller's transaction); their answers
    leave A Cuca's sums."""
    if not session_ids:
        return
    call_rollup.forget_chats(session_ids)
    db.session.execute(delete(ChatMessage).where(ChatMessage.session_id.in_(session_ids)))
    db.session.execute(delete(ChatSession).where(ChatSession.id.in_(session_ids)))


def delete_all_rounds() -> None:
    """Delete every round of the current user with its contenders and votes (in the
    caller's transaction)."""
    mine = select(ArenaRound.id).where(ArenaRound.owner_id == current_user_id())
    db.session.execute(delete(ArenaVote).where(ArenaVote.round_id.in_(mine)))
    db.session.execute(delete(ArenaContender).where(ArenaContender.round_id.in_(mine)))
    db.session.execute(delete(ArenaRound).where(ArenaRound.owner_id == current_user_id()))


def vote_on(round_id: int, turn: int) -> ArenaVote | None:
    """The vote on one turn, if any."""
    return db.session.scalar(
        select(ArenaVote).where(ArenaVote.round_id == round_id, ArenaVote.turn == turn)
    )


def votes_for_leaderboard(days: int | None) -> list[ArenaVote]:
    """Votes (newest period only when ``days``), with their rounds and contenders loaded."""
    query = (
        select(ArenaVote)
        .join(ArenaRound, ArenaRound.id == ArenaVote.round_id)
        .where(ArenaRound.owner_id == current_user_id())
        .options(selectinload(ArenaVote.round).selectinload(ArenaRound.contenders))
    )
    if days is not None:
        query = query.where(ArenaVote.created_at >= utcnow() - timedelta(days=days))
    return list(db.session.scalars(query.order_by(ArenaVote.id)))


def answer_metrics(days: int | None, persona: str | None) -> list[tuple[str, str, object, object]]:
    """(provider, model, cost, ttft_ms) of every finished arena answer in the period (stopped
    and failed ones too: they cost, and many had a first token)."""
    query = (
        select(ArenaContender.provider, ArenaContender.model, ChatMessage.cost, ChatMessage.ttft_ms)
        .join(ChatMessage, ChatMessage.session_id == ArenaContender.session_id)
        .join(ArenaRound, ArenaRound.id == ArenaContender.round_id)
        .where(
            ChatMessage.role == "assistant",
            ChatMessage.status != MessageStatus.STREAMING,
            ArenaRound.owner_id == current_user_id(),
        )
    )
    if days is not None:
        query = query.where(ArenaRound.created_at >= utcnow() - timedelta(days=days))
    if persona:
        query = query.where(ArenaContender.persona == persona)
    return [tuple(row) for row in db.session.execute(query)]


def contender_personas() -> list[str]:
    """The personas contenders have had (the leaderboard's filter)."""
    return list(
        db.session.scalars(
            select(ArenaContender.persona)
            .join(ArenaRound, ArenaRound.id == ArenaContender.round_id)
            .where(ArenaContender.persona.is_not(None), ArenaRound.owner_id == current_user_id())
            .distinct()
            .order_by(ArenaContender.persona)
        )
    )

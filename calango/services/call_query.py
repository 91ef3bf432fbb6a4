"""Every recorded provider call as one query: chat answers (on their message) and the calls
kept in ``provider_calls``. The dashboard, its log and its CSV all read through here.

Filters are applied inside each branch of the ``UNION ALL`` so that each table's indexes are
used; a branch that cannot match (a persona filter for *Test connection*) is left out.
Answers in A Rinha are messages too (of a session of kind ``arena``): their kind is ``arena``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    String,
    Uuid,
    case,
    cast,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from calango.models import (
    CallKind,
    ChatMessage,
    ChatSession,
    MessageStatus,
    ProviderCall,
    SessionKind,
)

# The kinds recorded on messages (the others are rows of provider_calls).
ANSWER_KINDS = (CallKind.CHAT, CallKind.ARENA)

# The columns of one recorded call, in the order both branches select them.
COLUMNS = (
    "kind",
    "id",
    "session_id",
    "ts",
    "provider",
    "model",
    "persona",
    "status",
    "error_class",
    "prompt_tokens",
    "completion_tokens",
    "tokens_estimated",
    "cost",
    "ttft_ms",
    "total_ms",
    "owner_id",
)


def in_arena(session_id: Any) -> ColumnElement[bool]:
    """Whether the session ``session_id`` (a column) is one of A Rinha's conversations.

    Not correlated: the (few) arena sessions are read once per query, not looked up for
    every message."""
    return session_id.in_(select(ChatSession.id).where(ChatSession.kind == SessionKind.ARENA))


def answer_kind(session_id: Any) -> ColumnElement[str]:
    """The call kind of the answers of the session ``session_id`` (a column), as SQL."""
    return case(
        (in_arena(session_id), literal(CallKind.ARENA, String(20))),
        else_=literal(CallKind.CHAT, String(20)),
    )


def kind_of_session(session_kind: str | None) -> str:
    """The call kind of an answer in a session of kind ``session_kind`` (in Python, for
    answers not written yet; ``answer_kind`` says the same in SQL)."""
    return CallKind.ARENA if session_kind == SessionKind.ARENA else CallKind.CHAT


@dataclass(frozen=True)
class CallFilter:
    """Which calls to read. Times are UTC; ``end`` is exclusive; ``None`` means any."""

    start: datetime | None = None
    end: datetime | None = None
    provider: str | None = None
    model: str | None = None
    persona: str | None = None
    kind: str | None = None
    owner_id: int | None = None  # whose calls (A Cuca shows each user their own)

    def with_range(self, start: datetime | None, end: datetime | None) -> CallFilter:
        """The same filter over another time range."""
        return replace(self, start=start, end=end)


def session_owner(session_id: Any) -> Any:
    """The owner of the session ``session_id`` (a column), as a correlated scalar subquery."""
    return select(ChatSession.owner_id).where(ChatSession.id == session_id).scalar_subquery()


def _answers(f: CallFilter) -> Select[Any]:
    m = ChatMessage
    # A Rinha's answers are the messages of arena sessions.
    query = select(
        answer_kind(m.session_id).label("kind"),
        m.id.label("id"),
        m.session_id.label("session_id"),
        m.timestamp.label("ts"),
        m.provider.label("provider"),
        m.model.label("model"),
        m.persona.label("persona"),
        m.status.label("status"),
        m.error_class.label("error_class"),
        m.prompt_tokens.label("prompt_tokens"),
        m.completion_tokens.label("completion_tokens"),
        m.tokens_estimated.label("tokens_estimated"),
        m.cost.label("cost"),
        m.ttft_ms.label("ttft_ms"),
        m.total_ms.label("total_ms"),
        session_owner(m.session_id).label("owner_id"),
    ).where(m.role == "assistant", m.status != MessageStatus.STREAMING)
    if f.owner_id is not None:
        owned = select(ChatSession.id).where(ChatSession.owner_id == f.owner_id)
        query = query.where(m.session_id.in_(owned))
    if f.persona:
        query = query.where(m.persona == f.persona)
    if f.kind == CallKind.ARENA:
        query = query.where(in_arena(m.session_id))
    elif f.kind == CallKind.CHAT:
        query = query.where(~in_arena(m.session_id))
    return _narrowed(query, m, f)


def _other_calls(f: CallFilter) -> Select[Any]:
    c = ProviderCall
    query = select(
        c.kind.label("kind"),
        c.id.label("id"),
        cast(null(), Uuid).label("session_id"),
        c.timestamp.label("ts"),
        c.provider.label("provider"),
        c.model.label("model"),
        cast(null(), String(80)).label("persona"),
        c.status.label("status"),
        c.error_class.label("error_class"),
        c.prompt_tokens.label("prompt_tokens"),
        c.completion_tokens.label("completion_tokens"),
        cast(null(), Boolean).label("tokens_estimated"),
        c.cost.label("cost"),
        cast(null(), Integer).label("ttft_ms"),
        c.duration_ms.label("total_ms"),
        c.owner_id.label("owner_id"),
    )
    if f.owner_id is not None:
        query = query.where(c.owner_id == f.owner_id)
    if f.kind:
        query = query.where(c.kind == f.kind)
    return _narrowed(query, c, f)


def _narrowed(query: Select[Any], table: Any, f: CallFilter) -> Select[Any]:
    """``query`` limited to ``f``'s time range, provider and model (columns both tables have)."""
    if f.start is not None:
        query = query.where(table.timestamp >= f.start)
    if f.end is not None:
        query = query.where(table.timestamp < f.end)
    if f.provider:
        query = query.where(table.provider == f.provider)
    if f.model:
        query = query.where(table.model == f.model)
    return query


def branches(f: CallFilter) -> list[Select[Any]]:
    """One ``SELECT`` per table that can hold calls matching ``f`` (never empty)."""
    result: list[Select[Any]] = []
    if f.kind is None or f.kind in ANSWER_KINDS:
        result.append(_answers(f))
    if f.kind not in ANSWER_KINDS and not f.persona:
        result.append(_other_calls(f))
    return result or [_answers(f).where(literal(False))]


def calls(f: CallFilter, name: str = "calls") -> Subquery:
    """The recorded calls matching ``f``, as a subquery with the columns in ``COLUMNS``."""
    parts = branches(f)
    query = parts[0] if len(parts) == 1 else union_all(*parts)
    return query.subquery(name)

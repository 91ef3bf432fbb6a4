"""Chat sessions and their messages."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import Select

from calango.extensions import db
from calango.models.names import NAME_MAX
from calango.models.owners import default_owner as _default_owner
from calango.models.types import UTCDateTime, utcnow

TITLE_MAX = 200


class SessionKind:
    """What a session is: a chat, or one contender's conversation in A Rinha (hidden from the
    chats: sidebar, search, exports)."""

    CHAT = "chat"
    ARENA = "arena"
    ALL = (CHAT, ARENA)


class MessageStatus:
    """Lifecycle of a message; only assistant messages ever leave ``complete``."""

    COMPLETE = "complete"
    STREAMING = "streaming"
    ERROR = "error"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"
    # Every status, for importers that must refuse anything else.
    ALL = (COMPLETE, STREAMING, ERROR, STOPPED, INTERRUPTED)


# The roles a message may have (imports check them).
ROLES = ("user", "assistant", "system")


def usage_columns(usage: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``token_usage`` counts as the plain columns the dashboard sums (numbers only)."""

    def count(key: str) -> int | None:
        value = usage.get(key) if isinstance(usage, Mapping) else None
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            return None
        return round(value) if abs(value) < 2**31 else None

    estimated = usage.get("estimated") if isinstance(usage, Mapping) else None
    return {
        "prompt_tokens": count("prompt"),
        "completion_tokens": count("completion"),
        "tokens_estimated": estimated if isinstance(estimated, bool) else None,
    }


class ChatSession(db.Model):
    """A conversation. ``updated_at`` is bumped by every message, so it orders the sidebar.

    Search: the migration adds what each database needs beside these columns (SQLite: an FTS5
    table kept current by triggers; PostgreSQL: a generated ``search_vector`` with a GIN
    index); ``migrations/env.py`` keeps those out of ``flask db check``.
    """

    __tablename__ = "chat_sessions"
    __table_args__ = (
        # Keyset pagination of the sidebar: ORDER BY updated_at DESC, id DESC.
        Index("ix_chat_sessions_updated_at_id", "updated_at", "id"),
        # A second import of the same file recognises the user's own chats only.
        UniqueConstraint("owner_id", "import_key", name="uq_chat_sessions_owner_id_import_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # Whose it is (calango.accounts.current_user_id); their deletion deletes it.
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=_default_owner
    )
    title: Mapped[str] = mapped_column(String(TITLE_MAX), default="")
    # The persona's name when last used: a label that history keeps as it was written.
    persona: Mapped[str | None] = mapped_column(String(NAME_MAX))
    # The persona itself: it survives renames; NULL once the persona is deleted.
    persona_id: Mapped[int | None] = mapped_column(
        ForeignKey("personas.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Pinned chats stay at the top of the sidebar, most recently pinned first.
    pinned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where an imported chat came from ("tinydb:session:<id>", "chatgpt:<id>", ...): a second
    # import of the same file recognises it. NULL for chats made here.
    import_key: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(
        String(16), default=SessionKind.CHAT, server_default=SessionKind.CHAT
    )
    # Model parameters chosen for this chat ({"temperature", "max_tokens", "effort"}; see
    # calango.services.parameters); what is missing comes from the persona's defaults.
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Send the "who I am" profile in this chat; NULL follows the profile's own setting.
    profile_enabled: Mapped[bool | None] = mapped_column(Boolean)
    # The last message of the branch the chat shows (messages form a tree, see
    # ChatMessage.parent_id). NULL means the newest message by (timestamp, id), which is what
    # a send or a regenerate makes current, so they need no extra statement to set it. A hint
    # without a foreign key (chat_sessions and chat_messages would refer to each other): a
    # value that names no message of the chat is read as NULL (calango.services.branches).
    leaf_id: Mapped[int | None] = mapped_column(Integer)
    # The most this chat may spend, in USD (calango.services.spend_cap); NULL follows the
    # user's default cap (Settings → Spending), if any.
    spend_cap_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))

    messages: Mapped[list[ChatMessage]] = relationship(
        back_populates="chat",
        order_by="(ChatMessage.timestamp, ChatMessage.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def __repr__(self) -> str:
        return f"<ChatSession {self.id} {self.title!r}>"

    @staticmethod
    def select_recent() -> Select[tuple[ChatSession]]:
        """Most recently active first (the order the sidebar pages through)."""
        return (
            select(ChatSession)
            .where(ChatSession.kind == SessionKind.CHAT)
            .order_by(ChatSession.updated_at.desc(), ChatSession.id.desc())
        )


class ChatMessage(db.Model):
    """One message. Assistant messages carry provider, model, usage, cost and timings."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        # A chat's messages in order: (timestamp, id) fully, so that PostgreSQL never prefers
        # walking the global timestamp index to reach an old chat's latest messages.
        Index("ix_chat_messages_session_id_timestamp_id", "session_id", "timestamp", "id"),
        Index("ix_chat_messages_timestamp", "timestamp"),
        # The dashboard reads answers by time; provider and model narrow its filters.
        Index("ix_chat_messages_role_timestamp", "role", "timestamp"),
        Index("ix_chat_messages_provider_model", "provider", "model"),
        # The versions of a message are its parent's children.
        Index("ix_chat_messages_parent_id", "parent_id"),
        UniqueConstraint("session_id", "import_key", name="uq_chat_messages_session_id_import_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("chat_sessions.id", ondelete="CASCADE")
    )
    # The message this one follows: messages form a tree, and a regenerated answer or an
    # edited question is a sibling of the earlier version. NULL for a chat's first message.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_messages.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.COMPLETE)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    provider: Mapped[str | None] = mapped_column(String(NAME_MAX))
    model: Mapped[str | None] = mapped_column(String(200))
    persona: Mapped[str | None] = mapped_column(String(NAME_MAX))
    # {"prompt": int, "completion": int, "total": int, "estimated": bool}
    token_usage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The same token counts as plain columns, so the dashboard can sum them in SQL.
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    tokens_estimated: Mapped[bool | None] = mapped_column(Boolean)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 8))
    ttft_ms: Mapped[int | None] = mapped_column(Integer)
    total_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    # A stable, untranslated name for the kind of failure (see calango.services.call_log).
    error_class: Mapped[str | None] = mapped_column(String(40))
    # While streaming: the producer's keeper refreshes heartbeat_at; a stale one means it died.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by Stop (possibly in another worker); the producer's keeper checks it each second.
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where an imported message came from (see ChatSession.import_key).
    import_key: Mapped[str | None] = mapped_column(String(255))
    # The finished text rendered and sanitised once (calango.rendering.render_markdown), and
    # the renderer's RENDER_VERSION then; never set while streaming. Read it only through
    # calango.services.message_html: a NULL or an older version is rendered again.
    content_html: Mapped[str | None] = mapped_column(Text)
    content_html_version: Mapped[int | None] = mapped_column(SmallInteger)
    # An answer's model parameters as sent (calango.services.parameters) and whether the
    # "who I am" profile was in its context.
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    profile_sent: Mapped[bool | None] = mapped_column(Boolean)
    # How many files the message carries (calango.models.attachment.MessageFile); NULL for
    # none, so that reading a branch or a page tells whether the links need a read at all.
    file_count: Mapped[int | None] = mapped_column(SmallInteger)

    chat: Mapped[ChatSession] = relationship(back_populates="messages")

    def __repr__(self) -> str:
        return f"<ChatMessage {self.id} {self.role} {self.status}>"

    @staticmethod
    def select_for_session(session_id: uuid.UUID) -> Select[tuple[ChatMessage]]:
        return (
            select(ChatMessage)
            .where(ChatMessage.session_id == session_id)
            .order_by(ChatMessage.timestamp, ChatMessage.id)
        )

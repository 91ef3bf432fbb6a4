"""Long histories: the sidebar's pages of chats (keyset, grouped by day, pinned first) and
the window of messages a chat page shows (the latest 50, earlier ones on demand).

Both page with keysets, never OFFSET: the 100th page costs what the first does, and a chat
that becomes active while someone pages never makes another one appear twice or vanish.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask_babel import to_user_timezone
from sqlalchemy import select, tuple_

from calango.accounts import current_user_id
from calango.extensions import db
from calango.models import ChatMessage, ChatSession, SessionKind
from calango.models.types import utcnow
from calango.services import branches

SIDEBAR_PAGE_SIZE = 30
MAX_PINNED = 50
MESSAGE_PAGE_SIZE = 50
CONTEXT_BEFORE_TARGET = 10  # messages shown above a message opened from a search result
GROUPS = ("today", "yesterday", "week", "older")
_CURSOR = re.compile(r"^(\d{1,17})\.([0-9a-f]{32})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class SidebarPage:
    """One page of the chat list. ``groups`` holds (group key, chats) in order."""

    pinned: list[ChatSession] = field(default_factory=list)
    groups: list[tuple[str, list[ChatSession]]] = field(default_factory=list)
    next_cursor: str | None = None
    is_first: bool = True
    # This page's own cursor (None on the first page): a chat opened from the page keeps it,
    # so the list stays where the user was.
    cursor: str | None = None

    @property
    def empty(self) -> bool:
        return not self.pinned and not self.groups


def make_cursor(chat: ChatSession) -> str:
    """The position just after ``chat``: microseconds since 1970 and the chat id."""
    delta = chat.updated_at - _EPOCH
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}.{chat.id.hex}"


def parse_cursor(raw: str | None) -> tuple[datetime, uuid.UUID] | None:
    """A cursor from the query string, or None when absent or malformed (the first page)."""
    match = _CURSOR.match(raw or "")
    if not match:
        return None
    try:
        when = _EPOCH + timedelta(microseconds=int(match.group(1)))
    except OverflowError:
        return None
    return when, uuid.UUID(match.group(2))


def day_group(when: datetime, today: datetime) -> str:
    """Today / yesterday / previous 7 days / older, by calendar day in the user's zone."""
    days = (today.date() - to_user_timezone(when).date()).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days <= 7:
        return "week"
    return "older"


def sidebar_page(cursor: str | None) -> SidebarPage:
    """Pinned chats (first page), then unpinned chats by last activity, newest first."""
    owner = current_user_id()  # only this user's chats
    position = parse_cursor(cursor)
    page = SidebarPage(is_first=position is None, cursor=cursor if position else None)
    if position is None:
        page.pinned = list(
            db.session.scalars(
                select(ChatSession)
                .where(
                    ChatSession.pinned_at.is_not(None),
                    ChatSession.kind == SessionKind.CHAT,
                    ChatSession.owner_id == owner,
                )
                .order_by(ChatSession.pinned_at.desc(), ChatSession.id.desc())
                .limit(MAX_PINNED)
            )
        )
    query = select(ChatSession).where(
        ChatSession.pinned_at.is_(None),
        ChatSession.kind == SessionKind.CHAT,
        ChatSession.owner_id == owner,
    )
    if position is not None:
        query = query.where(tuple_(ChatSession.updated_at, ChatSession.id) < tuple_(*position))
    chats = list(
        db.session.scalars(
            query.order_by(ChatSession.updated_at.desc(), ChatSession.id.desc()).limit(
                SIDEBAR_PAGE_SIZE + 1
            )
        )
    )
    if len(chats) > SIDEBAR_PAGE_SIZE:
        chats = chats[:SIDEBAR_PAGE_SIZE]
        page.next_cursor = make_cursor(chats[-1])
    today = to_user_timezone(utcnow())
    for chat in chats:
        key = day_group(chat.updated_at, today)
        if not page.groups or page.groups[-1][0] != key:
            page.groups.append((key, []))
        page.groups[-1][1].append(chat)
    return page


def set_pinned(chat: ChatSession, pinned: bool) -> None:
    """Pin a chat to the top of the sidebar, or unpin it."""
    if pinned and chat.pinned_at is None:
        chat.pinned_at = utcnow()
    elif not pinned:
        chat.pinned_at = None
    db.session.commit()


@dataclass
class MessageWindow:
    """The messages a chat page shows (one branch of the conversation), and what lies beyond
    them."""

    messages: list[ChatMessage] = field(default_factory=list)
    earlier: int | None = None  # the ``before`` value that loads the messages above
    has_newer: bool = False  # the latest messages are not in this window
    target: int | None = None  # the message opened from a search result
    versions: dict[int, branches.Versions] = field(default_factory=dict)  # "‹ 2/3 ›"
    other_branch: bool = False  # the target is on a branch the chat does not show


def _anchor(chat_id: uuid.UUID, message_id: int | None) -> ChatMessage | None:
    if message_id is None or not 0 < message_id < 2**31:  # beyond any id (and PG's integer)
        return None
    message = db.session.get(ChatMessage, message_id)
    return message if message is not None and message.session_id == chat_id else None


def _around(chat: ChatSession, target: ChatMessage, window: MessageWindow) -> bool:
    """Fill ``window`` with the target's branch around it; True when there are earlier ones."""
    leaf, window.other_branch = branches.display_leaf(chat, target.id)
    ids = branches.branch_ids(chat.id, leaf)
    at = ids.index(target.id)
    below = MESSAGE_PAGE_SIZE - CONTEXT_BEFORE_TARGET
    shown = ids[max(0, at - CONTEXT_BEFORE_TARGET) : at + below]
    window.has_newer = len(ids) > at + below
    query = select(ChatMessage).where(ChatMessage.id.in_(shown))
    rows = {m.id: m for m in db.session.scalars(query)}
    window.messages = [rows[i] for i in shown if i in rows]
    return at > CONTEXT_BEFORE_TARGET


def message_window(
    chat: ChatSession | None, before: int | None = None, at: int | None = None
) -> MessageWindow:
    """The visible branch's latest ``MESSAGE_PAGE_SIZE`` messages; or those just before
    message ``before``; or a window around message ``at`` (a search result) on its own
    branch. Unknown ids fall back to the latest."""
    if chat is None:
        return MessageWindow()
    window = MessageWindow()
    target = _anchor(chat.id, at)
    limit = MESSAGE_PAGE_SIZE
    if target is not None:
        window.target = target.id
        has_earlier = _around(chat, target, window)
    else:
        anchor = _anchor(chat.id, before)
        if anchor is not None:
            start = anchor.parent_id
            rows = branches.branch_messages(chat.id, start, limit + 1) if start else []
        else:
            rows = branches.branch_messages(
                chat.id, branches.leaf_expression(chat.id, chat.leaf_id), limit + 1
            )
        has_earlier = len(rows) > limit
        window.messages = rows[-limit:]
        window.has_newer = anchor is not None
    if has_earlier and window.messages:
        window.earlier = window.messages[0].id
    window.versions = branches.versions_of(chat.id, window.messages)
    return window

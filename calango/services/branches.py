"""The conversation as a tree: reading the visible branch, its versions, switching between
them.

Every message has a ``parent_id`` (the message it follows); a regenerated answer or an edited
question is a sibling of the earlier version. A chat shows one branch: the path from its root
to ``chat_sessions.leaf_id``, or, when that is NULL (or names no message of the chat, since it
has no foreign key), to the chat's newest message by (timestamp, id). A send or a regenerate
creates the newest message, so it only has to set ``leaf_id`` to NULL in the UPDATE it already
makes; only switching versions and deleting store a leaf.

The branch is read leaf-to-root with one recursive CTE (the same SQL on SQLite and
PostgreSQL), bounded by a depth when only the latest messages are wanted. The writing use cases
(regenerate, retry, edit and resend, delete) are in calango.services.branch_actions.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import aliased

from calango.extensions import db
from calango.models import ChatMessage, ChatSession, MessageStatus
from calango.services.generation import lease_seconds

SENT_ROLES = ("user", "assistant")
# No branch is this long; the bound only keeps a walk finite should rows ever form a cycle
# (nothing Calango writes can: a parent always exists before its child).
MAX_BRANCH = 200_000


@dataclass
class Branch:
    """What a model is sent from a branch: (role, text) in order, and the branch's last
    message (the parent of what is written next; None for an empty chat)."""

    turns: list[tuple[str, str]] = field(default_factory=list)
    leaf_id: int | None = None
    # Turns whose message has files: turn index → message id (read only when not empty).
    files: dict[int, int] = field(default_factory=dict)

    def add(self, message_id: int, role: str, content: str, status: str, files: int | None) -> None:
        """Keep a message of the branch if it is sent to models."""
        if role in SENT_ROLES and status != MessageStatus.STREAMING and (content.strip() or files):
            if files:
                self.files[len(self.turns)] = message_id
            self.turns.append((role, content))


@dataclass
class Versions:
    """Where a message stands among its versions (its siblings), for "‹ 2/3 ›"."""

    index: int  # 1-based
    count: int
    previous: int | None
    next: int | None


def leaf_expression(chat_id: uuid.UUID, hint: int | None) -> ColumnElement[Any]:
    """SQL for the id of the chat's visible leaf: ``hint`` when it is a message of the chat,
    otherwise the newest message."""
    return _leaf(chat_id, hint if _valid_hint(hint) else None)


def _leaf(chat_id: Any, hint: Any) -> ColumnElement[Any]:
    newest_row = aliased(ChatMessage)
    newest = (
        select(newest_row.id)
        .where(newest_row.session_id == chat_id)
        .order_by(newest_row.timestamp.desc(), newest_row.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    if hint is None:
        return newest
    hinted = aliased(ChatMessage)
    valid = (
        select(hinted.id).where(hinted.id == hint, hinted.session_id == chat_id).scalar_subquery()
    )
    return func.coalesce(valid, newest)


def walk_up(chat_id: uuid.UUID, start: ColumnElement[Any] | int, depth: int | None = None) -> Any:
    """A recursive CTE of (id, depth) from ``start`` up to the root (depth 0 = ``start``),
    at most ``depth`` rows."""
    first = aliased(ChatMessage)
    walk = (
        select(first.id, first.parent_id, literal(0).label("depth"))
        .where(first.session_id == chat_id, first.id == start)
        .cte("branch_walk", recursive=True)
    )
    up = aliased(ChatMessage)
    step = select(up.id, up.parent_id, walk.c.depth + 1).join(walk, up.id == walk.c.parent_id)
    step = step.where(walk.c.depth < min(depth or MAX_BRANCH, MAX_BRANCH) - 1)
    return walk.union_all(step)


def read_branch(chat: ChatSession, leaf_hint: int | None) -> Branch:
    """The visible branch's sendable turns, in one query (only the columns sent)."""
    return read_branch_from(chat.id, leaf_expression(chat.id, leaf_hint))


def read_branch_from(chat_id: uuid.UUID, start: ColumnElement[Any] | int | None) -> Branch:
    """The turns from the root down to message ``start`` (included); empty for None."""
    branch = Branch()
    if start is None:
        return branch
    walk = walk_up(chat_id, start)
    rows = db.session.execute(
        select(
            ChatMessage.id,
            ChatMessage.role,
            ChatMessage.content,
            ChatMessage.status,
            ChatMessage.file_count,
        )
        .join(walk, ChatMessage.id == walk.c.id)
        .order_by(walk.c.depth.desc())
    ).all()
    for row in rows:
        branch.add(*row)
    branch.leaf_id = rows[-1].id if rows else None
    return branch


def branch_token_sizes(
    chat_id: uuid.UUID, start: ColumnElement[Any] | int | None
) -> list[tuple[str, int]]:
    """(role, estimated tokens) of the turns :func:`read_branch_from` would send, from the
    root down to ``start``, counted in SQL: the texts never leave the database (the
    composer's estimate asks as one types). The count is ``estimate_tokens``'s, one token
    per four characters rounded up."""
    if start is None:
        return []
    walk = walk_up(chat_id, start)
    tokens = (func.length(ChatMessage.content) + 3) / 4
    rows = db.session.execute(
        select(ChatMessage.role, tokens + _file_tokens())
        .join(walk, ChatMessage.id == walk.c.id)
        .where(
            ChatMessage.role.in_(SENT_ROLES),
            ChatMessage.status != MessageStatus.STREAMING,
            or_(func.length(func.trim(ChatMessage.content)) > 0, ChatMessage.file_count > 0),
        )
        .order_by(walk.c.depth.desc())
    ).all()
    return [(role, int(size)) for role, size in rows]


def _file_tokens() -> ColumnElement[Any]:
    """SQL for the estimated tokens a message's attached files add (0 without files): a text
    file's characters / 4 (with its delimiting lines), a picture one per 750 pixels, at least
    85 — ``services.attachments.attachments_tokens``' count, without loading the files."""
    from calango.models import MessageFile, StoredFile
    from calango.models.attachment import FileKind

    pixels = func.coalesce(StoredFile.width, 0) * func.coalesce(StoredFile.height, 0)
    image = case((pixels / 750 < 85, 85), else_=(pixels + 749) / 750)
    text_tokens = (func.length(func.coalesce(StoredFile.text, "")) + 3) / 4 + 8
    per_file = case((StoredFile.kind == FileKind.IMAGE, image), else_=text_tokens)
    summed = (
        select(func.coalesce(func.sum(per_file), 0))
        .select_from(MessageFile)
        .join(StoredFile, StoredFile.id == MessageFile.file_id)
        .where(MessageFile.message_id == ChatMessage.id)
        .scalar_subquery()
    )
    return case((ChatMessage.file_count > 0, summed), else_=0)


@dataclass
class SendView:
    """What a send reads after claiming the chat, in one statement (``read_for_send``)."""

    branch: Branch
    busy: bool  # an answer of the chat, on any branch, is being written
    newest_id: int | None  # the table's highest message id (asked for on SQLite only)


def newest_message_id() -> int:
    """The highest message id of the table (0 when empty). Only safe while this transaction
    holds SQLite's write lock: the next two rows are then this + 1 and + 2."""
    return db.session.scalar(select(func.coalesce(func.max(ChatMessage.id), 0))) or 0


@dataclass(frozen=True)
class LeafOf:
    """``read_for_send``'s start: the chat's visible leaf (``hint``: its stored ``leaf_id``,
    see :func:`leaf_expression`)."""

    hint: int | None = None


def _valid_hint(hint: int | None) -> bool:
    return hint is not None and 0 < hint < 2**31


@functools.cache
def _send_view_query(start: str, newest_id: bool) -> Select[Any]:
    """The statement of :func:`read_for_send` for one shape, built once: SQLAlchemy's
    construction of the CTE and the aliases costs more CPU than running it. ``start``:
    ``"none"``, ``"id"`` (bound ``start``), ``"leaf"`` or ``"hinted_leaf"`` (bound ``hint``);
    ``chat_id`` and ``alive`` are bound too."""
    chat_id = bindparam("chat_id", type_=ChatMessage.__table__.c.session_id.type)
    alive = bindparam("alive", type_=ChatMessage.__table__.c.heartbeat_at.type)
    streaming = aliased(ChatMessage)
    busy = (
        select(func.count(streaming.id))
        .where(
            streaming.session_id == chat_id,
            streaming.status == MessageStatus.STREAMING,
            streaming.heartbeat_at >= alive,
        )
        .scalar_subquery()
    )
    columns: list[Any] = [busy]
    if newest_id:
        every = aliased(ChatMessage)
        columns.append(select(func.coalesce(func.max(every.id), 0)).scalar_subquery())
    one = select(literal(1).label("one")).subquery("one")
    if start == "none":
        return select(*columns).select_from(one)
    if start == "id":
        first: Any = bindparam("start", type_=Integer())
    else:
        first = _leaf(
            chat_id, bindparam("hint", type_=Integer()) if start == "hinted_leaf" else None
        )
    walk = walk_up(chat_id, first)
    path = (
        select(ChatMessage.id, ChatMessage.role, ChatMessage.content, ChatMessage.status,
               ChatMessage.file_count, walk.c.depth)
        .join(walk, ChatMessage.id == walk.c.id)
        .subquery("path")
    )  # fmt: skip
    return (
        select(*columns, path.c.id, path.c.role, path.c.content, path.c.status, path.c.file_count)
        .select_from(one.outerjoin(path, true()))
        .order_by(path.c.depth.desc())
    )


def read_for_send(
    chat_id: uuid.UUID, start: LeafOf | int | None, now: datetime, newest_id: bool
) -> SendView:
    """The branch from the root down to ``start`` (a message id, or the chat's visible leaf),
    whether an answer of the chat is being written (a heartbeat within the lease: a dead
    producer's answer does not block) and, with ``newest_id``, the table's highest message
    id: one SELECT (a one-row table joined to the branch, so that the two figures come back
    for an empty branch too)."""
    params: dict[str, Any] = {
        "chat_id": chat_id,
        "alive": now - timedelta(seconds=lease_seconds()),
    }
    if start is None:
        shape = "none"
    elif isinstance(start, LeafOf):
        shape = "hinted_leaf" if _valid_hint(start.hint) else "leaf"
        if shape == "hinted_leaf":
            params["hint"] = start.hint
    else:
        shape, params["start"] = "id", start
    rows = db.session.execute(_send_view_query(shape, newest_id), params).all()
    width = 2 if newest_id else 1
    turns = [row[width:] for row in rows if row[width] is not None] if shape != "none" else []
    first = rows[0]
    branch = Branch()
    for row in turns:
        branch.add(*row)
    branch.leaf_id = turns[-1][0] if turns else None
    return SendView(branch, bool(first[0]), int(first[1]) if newest_id else None)


def branch_messages(
    chat_id: uuid.UUID, start: ColumnElement[Any] | int, count: int
) -> list[ChatMessage]:
    """At most ``count`` messages of the branch ending at ``start``, root-side first."""
    walk = walk_up(chat_id, start, count)
    query = (
        select(ChatMessage).join(walk, ChatMessage.id == walk.c.id).order_by(walk.c.depth.desc())
    )
    return list(db.session.scalars(query))


def branch_ids(chat_id: uuid.UUID, start: ColumnElement[Any] | int) -> list[int]:
    """Every id of the branch ending at ``start``, root first (ids only: cheap)."""
    walk = walk_up(chat_id, start)
    return list(db.session.scalars(select(walk.c.id).order_by(walk.c.depth.desc())))


def children_of(chat_id: uuid.UUID) -> dict[int | None, list[int]]:
    """The chat's tree as parent id → child ids (oldest first), fetched once."""
    rows = db.session.execute(
        select(ChatMessage.id, ChatMessage.parent_id)
        .where(ChatMessage.session_id == chat_id)
        .order_by(ChatMessage.timestamp, ChatMessage.id)
    )
    tree: dict[int | None, list[int]] = {}
    for message_id, parent_id in rows:
        tree.setdefault(parent_id, []).append(message_id)
    return tree


def newest_descendant(tree: dict[int | None, list[int]], message_id: int) -> int:
    """Follow the newest version down from ``message_id`` to the end of that branch."""
    seen = {message_id}
    while tree.get(message_id):
        message_id = tree[message_id][-1]
        if message_id in seen:  # a cycle could only come from a bad import: stop
            break
        seen.add(message_id)
    return message_id


def subtree(tree: dict[int | None, list[int]], message_id: int) -> list[int]:
    """``message_id`` and everything that follows it, on every branch below it."""
    found, todo = [], [message_id]
    seen: set[int] = set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        found.append(current)
        todo.extend(tree.get(current, ()))
    return found


def display_leaf(chat: ChatSession, target: int) -> tuple[int, bool]:
    """The leaf of the branch to show for message ``target`` (a search result): the chat's
    own branch when the target is on it, otherwise the newest branch through the target
    (then True: the page shows a branch the chat does not continue from)."""
    current = branch_ids(chat.id, leaf_expression(chat.id, chat.leaf_id))
    if target in current:
        return current[-1], False
    return newest_descendant(children_of(chat.id), target), True


def versions_of(chat_id: uuid.UUID, messages: Sequence[ChatMessage]) -> dict[int, Versions]:
    """ "‹ 2/3 ›" for each of ``messages`` that has other versions, in one query."""
    if not messages:
        return {}
    parents = {m.parent_id for m in messages if m.parent_id is not None}
    roots = any(m.parent_id is None for m in messages)
    conditions = []
    if parents:
        conditions.append(ChatMessage.parent_id.in_(parents))
    if roots:
        conditions.append(ChatMessage.parent_id.is_(None))
    siblings: dict[int | None, list[int]] = {}
    rows = db.session.execute(
        select(ChatMessage.id, ChatMessage.parent_id)
        .where(ChatMessage.session_id == chat_id, or_(*conditions))
        .order_by(ChatMessage.timestamp, ChatMessage.id)
    )
    for message_id, parent_id in rows:
        siblings.setdefault(parent_id, []).append(message_id)
    versions: dict[int, Versions] = {}
    for m in messages:
        group = siblings.get(m.parent_id, [])
        if len(group) < 2 or m.id not in group:
            continue
        at = group.index(m.id)
        versions[m.id] = Versions(
            index=at + 1,
            count=len(group),
            previous=group[at - 1] if at > 0 else None,
            next=group[at + 1] if at + 1 < len(group) else None,
        )
    return versions


def show_version(chat: ChatSession, message_id: int) -> bool:
    """Make the branch through message ``message_id`` (its newest continuation) the one the
    chat shows and continues from; False (nothing changed) when it is not one of the chat's
    messages."""
    tree = children_of(chat.id)
    if not any(message_id in children for children in tree.values()):
        return False
    chat.leaf_id = newest_descendant(tree, message_id)
    db.session.commit()
    return True


def link_as_single_branch(chat_ids: Sequence[uuid.UUID]) -> None:
    """Give every message of these chats that has no parent the one before it by
    (timestamp, id): what an import of a linear conversation (or the migration) needs. One
    statement; the caller commits."""
    if not chat_ids:
        return
    table = ChatMessage.__table__
    before = aliased(ChatMessage)
    previous = (
        select(before.id)
        .where(
            before.session_id == table.c.session_id,
            or_(
                before.timestamp < table.c.timestamp,
                and_(before.timestamp == table.c.timestamp, before.id < table.c.id),
            ),
        )
        .order_by(before.timestamp.desc(), before.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    db.session.execute(
        update(table)
        .where(table.c.session_id.in_(list(chat_ids)), table.c.parent_id.is_(None))
        .values(parent_id=previous)
    )

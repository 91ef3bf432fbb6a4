"""Keeping A Cuca's rollup (``calango.models.call_rollup``) in step with the recorded calls.

The raw rows are the truth; the rollup is their sums per local day (in ``CALANGO_TIMEZONE``)
and is changed in the same transaction as the rows it sums: an answer's final save
(``recounted``), a *Test connection* / *Fetch models* call (``count_call``), imports
(``count_rows``), abandoned answers (``count_answers``), a conversation changing kind
(``rekinded``: an arena conversation continued as a chat) and deletions (``forget_chat``,
``forget_chats``, ``forget_messages``: deleted calls leave A Cuca, exactly as a rebuild from
the remaining rows would have it). An answer's kind is always ``call_query``'s.
``rebuild`` recomputes everything; ``ensure_fresh`` runs it when the
rollup was built under another definition (``ROLLUP_VERSION``) or time zone.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, bindparam, delete, select, text
from sqlalchemy.sql.elements import ColumnElement

from calango.extensions import db
from calango.models import CallRollupState, ChatMessage, ChatSession, MessageStatus, ProviderCall
from calango.models.call_rollup import (
    DAY,
    HISTOGRAM_BUCKETS,
    KEY,
    MONTH,
    ROLLUP_VERSION,
    SPEED_KEY,
    TPS_COLUMNS,
    TPS_FIRST_EDGE,
    TTFT_COLUMNS,
    TTFT_FIRST_EDGE,
    CallRollup,
    CallSpeedRollup,
    bucket_of,
)
from calango.models.types import utcnow
from calango.services.call_query import (
    CallFilter,
    answer_kind,
    calls,
    kind_of_session,
    session_owner,
)
from calango.services.local_time import user_zone

log = logging.getLogger(__name__)

SUMS = ("calls", "cost", "prompt_tokens", "completion_tokens")
REBUILD_BATCH = 5000
_ANSWER_FIELDS = (
    "status", "timestamp", "provider", "model", "persona", "error_class", "prompt_tokens",
    "completion_tokens", "cost", "ttft_ms", "total_ms",
)  # fmt: skip


def _get(row: Any, name: str) -> Any:
    return row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)


def _day(ts: datetime | None, zone: ZoneInfo) -> date:
    ts = ts or utcnow()
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(zone).date()


class Fold:
    """Deltas of the rollup, folded in Python from a few rows before they are written."""

    def __init__(self, zone: ZoneInfo | None = None) -> None:
        self.zone = zone or user_zone()
        self.sums: dict[tuple[Any, ...], list[Any]] = {}
        self.speeds: dict[tuple[Any, ...], list[int]] = {}

    def add(self, call: Mapping[str, Any], sign: int = 1) -> None:
        """Count one call (the columns of ``call_query.COLUMNS``) ``sign`` times, in its day's
        and its month's rows."""
        day = _day(call["ts"], self.zone)
        owner = call["owner_id"]
        group = (
            call["kind"], call["provider"] or "", call["model"] or "", call["persona"] or "",
            call["status"], call["error_class"] or "",
        )  # fmt: skip
        cost = sign * Decimal(str(call["cost"] or 0))
        prompt = sign * (call["prompt_tokens"] or 0)
        completion = sign * (call["completion_tokens"] or 0)
        ttft, total, tokens = call["ttft_ms"], call["total_ms"], call["completion_tokens"]
        generating = total - ttft if total is not None and ttft is not None else None
        tps = tokens * 1000.0 / generating if tokens and generating and generating > 0 else None
        samples: list[int] = []
        if ttft is not None:
            samples.append(1 + bucket_of(ttft, TTFT_FIRST_EDGE))
        if tps is not None:
            samples.append(1 + HISTOGRAM_BUCKETS + bucket_of(tps, TPS_FIRST_EDGE))
        for key in ((owner, DAY, day, *group), (owner, MONTH, day.replace(day=1), *group)):
            sums = self.sums.setdefault(key, [0, Decimal(0), 0, 0])
            sums[0] += sign
            sums[1] += cost
            sums[2] += prompt
            sums[3] += completion
            if samples:
                speed = self.speeds.setdefault(key[:7], [0] * (1 + 2 * HISTOGRAM_BUCKETS))
                speed[0] += sign
                for index in samples:
                    speed[index] += sign

    def add_answer(
        self,
        message: Any,
        sign: int = 1,
        kind: str | None = None,
        owner_id: int | None = None,
    ) -> None:
        """Count a chat answer given as a model object or a dict of its columns.

        Its kind: ``kind``, else the row's own ``kind`` (rows of ``_answer_rows``), else that
        of the model object's session (``call_query.kind_of_session``). Its owner likewise:
        ``owner_id``, the row's ``owner_id``, else its session's."""
        if _get(message, "role") != "assistant":
            return
        status = _get(message, "status") or MessageStatus.COMPLETE
        if status == MessageStatus.STREAMING:
            return  # not a finished call yet
        chat = None if isinstance(message, Mapping) else getattr(message, "chat", None)
        kind = kind or _get(message, "kind")
        if kind is None:
            kind = kind_of_session(chat.kind if chat is not None else None)
        owner = owner_id if owner_id is not None else _get(message, "owner_id")
        if owner is None and chat is not None:
            owner = chat.owner_id
        values = {name: _get(message, name) for name in _ANSWER_FIELDS}
        call = {**values, "status": status, "ts": values["timestamp"], "kind": kind}
        self.add({**call, "owner_id": owner}, sign)

    def rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The folded deltas as rows of the two tables (groups that cancel out are left out)."""
        sums = [
            {**dict(zip(KEY, key, strict=True)), **dict(zip(SUMS, values, strict=True))}
            for key, values in self.sums.items()
            if any(values)
        ]
        names = ("calls", *TTFT_COLUMNS, *TPS_COLUMNS)
        speeds = [
            {**dict(zip(SPEED_KEY, key, strict=True)), **dict(zip(names, values, strict=True))}
            for key, values in self.speeds.items()
            if any(values)
        ]
        return sums, speeds

    def write(self, fresh: bool = False) -> None:
        """Add the deltas to the rollup in the current transaction (the caller commits);
        ``fresh``: the tables are empty (a rebuild), plain inserts suffice."""
        sums, speeds = self.rows()
        for table, rows, key in (
            (CallRollup.__table__, sums, KEY),
            (CallSpeedRollup.__table__, speeds, SPEED_KEY),
        ):
            if not rows:
                continue
            if fresh:
                for start in range(0, len(rows), REBUILD_BATCH):
                    db.session.execute(table.insert(), rows[start : start + REBUILD_BATCH])
                continue
            dialect = db.session.get_bind().dialect.name
            values = tuple(c for c in rows[0] if c not in key)
            db.session.execute(_adding_upsert(dialect, table.name, values), rows)
            if any(row["calls"] < 0 for row in rows):
                days = {row["day"] for row in rows}
                owners = {row["owner_id"] for row in rows}
                db.session.execute(
                    delete(table).where(
                        table.c.owner_id.in_(owners), table.c.day.in_(days), table.c.calls <= 0
                    )
                )


@functools.cache
def _adding_upsert(dialect: str, table_name: str, values: tuple[str, ...]) -> Any:
    """``INSERT … ON CONFLICT (key) DO UPDATE SET c = c + excluded.c`` for ``values``: built
    once per shape (building ``excluded`` costs more than running the statement)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = db.metadata.tables[table_name]
    key = KEY if table_name == CallRollup.__tablename__ else SPEED_KEY
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(key),
        set_={c: table.c[c] + statement.excluded[c] for c in values},
    )


def _answer_rows(where: ColumnElement[bool], lock: bool = False) -> list[Any]:
    m = ChatMessage
    query = select(
        m.role,
        answer_kind(m.session_id).label("kind"),
        session_owner(m.session_id).label("owner_id"),
        *(getattr(m, n) for n in _ANSWER_FIELDS),
    ).where(m.role == "assistant", where)
    if lock:
        query = query.with_for_update()
    return [row._mapping for row in db.session.execute(query)]


def _session_kinds(rows: list[Any]) -> dict[Any, tuple[str, int]]:
    """The call kind and the owner of the answers of the sessions of ``rows``: dicts without
    a ``kind`` or an ``owner_id``, model objects whose ``chat`` is not loaded."""
    ids = set()
    for row in rows:
        if _get(row, "role") != "assistant":
            continue
        if isinstance(row, Mapping):
            if "kind" not in row or "owner_id" not in row:
                ids.add(row.get("session_id"))
        elif getattr(row, "chat", None) is None:
            ids.add(getattr(row, "session_id", None))
    ids.discard(None)
    if not ids:
        return {}
    s = ChatSession
    query = select(s.id, answer_kind(s.id), s.owner_id).where(s.id.in_(ids))
    return {session_id: (kind, owner) for session_id, kind, owner in db.session.execute(query)}


def count_rows(rows: Iterable[Any], sign: int = 1) -> None:
    """Count chat messages just written (model objects or dicts of columns; user messages and
    unfinished answers are skipped). A dict's kind and owner are its own ``kind`` and
    ``owner_id`` when it has both (``finished_columns``: no statement), else those of its
    ``session_id``'s session (written already); a model object's those of its ``chat``."""
    rows = list(rows)
    kinds = _session_kinds(rows)
    fold = Fold()
    for row in rows:
        kind, owner = kinds.get(_get(row, "session_id"), (None, None))
        if not isinstance(row, Mapping):
            kind = None  # a model object's kind is its chat's, as it always was
        fold.add_answer(row, sign, kind, owner)
    fold.write()


def count_answers(ids: Iterable[int]) -> None:
    """Count answers that have just become final (by id)."""
    ids = list(ids)
    if ids:
        count_rows(_answer_rows(ChatMessage.id.in_(ids)))


# The message's own columns that its contribution depends on (its kind and owner are its
# chat's, which a change of the message leaves as they are).
ANSWER_COLUMNS = ("role", *_ANSWER_FIELDS)


@dataclass
class Recount:
    """What the change inside :func:`recounted` may hand back: the message's new
    ``ANSWER_COLUMNS`` (an ``UPDATE … RETURNING``), which spares reading the row again."""

    after: Mapping[str, Any] | None = None


@contextmanager
def recounted(message_id: int, enabled: bool = True) -> Iterator[Recount]:
    """Around a change of one message: its old contribution leaves, its new one comes in."""
    recount = Recount()
    if not enabled:
        yield recount
        return
    fold = Fold()
    before = _one_answer(message_id, lock=True)
    for row in before:
        fold.add_answer(row, -1)
    yield recount
    returned = recount.after
    after = [{**row, **returned} for row in before] if returned else _one_answer(message_id)
    for row in after:
        fold.add_answer(row)
    fold.write()


def finished_columns(table: Any) -> list[Any]:
    """What an ``UPDATE … RETURNING`` of one answer of ``table`` returns for
    :func:`count_rows`: ``ANSWER_COLUMNS`` and the answer's kind and owner (its session's,
    read by the same statement, so counting it reads nothing more)."""
    return [
        *(table.c[n] for n in ANSWER_COLUMNS),
        answer_kind(table.c.session_id).label("kind"),
        session_owner(table.c.session_id).label("owner_id"),
    ]


@functools.cache
def _one_answer_query(lock: bool) -> Any:
    """``_answer_rows`` of one message (bound ``message_id``), built once: it runs twice at
    the end of every answer."""
    m = ChatMessage
    query = select(
        m.role,
        answer_kind(m.session_id).label("kind"),
        session_owner(m.session_id).label("owner_id"),
        *(getattr(m, n) for n in _ANSWER_FIELDS),
    ).where(m.role == "assistant", m.id == bindparam("message_id", type_=Integer()))
    return query.with_for_update() if lock else query


def _one_answer(message_id: int, lock: bool = False) -> list[Any]:
    return [
        row._mapping
        for row in db.session.execute(_one_answer_query(lock), {"message_id": message_id})
    ]


@contextmanager
def rekinded(session_id: Any) -> Iterator[None]:
    """Around a change of a session's kind (an arena conversation continued as a chat): its
    answers leave their old kind and come in under the new one."""
    fold = Fold()
    for row in _answer_rows(ChatMessage.session_id == session_id, lock=True):
        fold.add_answer(row, -1)
    yield
    db.session.flush()
    for row in _answer_rows(ChatMessage.session_id == session_id):
        fold.add_answer(row)
    fold.write()


def forget_chat(chat_id: Any) -> None:
    """Take a chat's answers out of the rollup before the chat is deleted."""
    count_rows(_answer_rows(ChatMessage.session_id == chat_id, lock=True), -1)


def forget_chats(session_ids: Iterable[Any]) -> None:
    """Take the answers of sessions (chats, arena conversations) out of the rollup before
    the sessions are deleted."""
    ids = list(session_ids)
    if ids:
        count_rows(_answer_rows(ChatMessage.session_id.in_(ids), lock=True), -1)


def forget_messages(ids: Iterable[int]) -> None:
    """Take messages out of the rollup before they are deleted (user messages and answers
    still streaming are not counted and are skipped)."""
    ids = list(ids)
    if ids:
        count_rows(_answer_rows(ChatMessage.id.in_(ids), lock=True), -1)


def count_call(call: ProviderCall) -> None:
    """Count a call recorded in ``provider_calls`` (Test connection, Fetch models, Hatch)."""
    fold = Fold()
    fold.add(
        {
            "kind": call.kind, "ts": call.timestamp, "provider": call.provider,
            "model": call.model, "persona": None, "status": call.status,
            "error_class": call.error_class, "prompt_tokens": call.prompt_tokens,
            "completion_tokens": call.completion_tokens, "cost": call.cost, "ttft_ms": None,
            "total_ms": call.duration_ms, "owner_id": call.owner_id,
        }
    )  # fmt: skip
    fold.write()


def stamp() -> tuple[int, str]:
    """What the rollup must be built for: its definition and the time zone of its days."""
    return ROLLUP_VERSION, user_zone().key


def built_for() -> tuple[int, str] | None:
    """What the stored rollup was built for (``None``: unknown, never built)."""
    state = db.session.get(CallRollupState, 1)
    return None if state is None else (state.version, state.zone)


def rebuild(owner_id: int | None = None) -> int:
    """Recompute the rollup from the raw rows in the current transaction and commit: every
    user's, or only ``owner_id``'s (its rows are keyed by owner first).

    Returns how many calls were counted. Rows are streamed, so memory holds only the groups.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        # One rebuild at a time (two workers noticing a new time zone together).
        db.session.execute(text("SELECT pg_advisory_xact_lock(1515)"))
    for model in (CallRollup, CallSpeedRollup):
        gone = delete(model)
        if owner_id is not None:
            gone = gone.where(model.owner_id == owner_id)
        db.session.execute(gone)
    fold = Fold()
    sub = calls(CallFilter(owner_id=owner_id))
    result = db.session.execute(select(sub).execution_options(yield_per=REBUILD_BATCH))
    counted = 0
    for batch in result.partitions():
        for row in batch:
            fold.add(row._mapping)
        counted += len(batch)
    fold.write(fresh=True)
    if owner_id is None:  # one user's rebuild says nothing about the others' rows
        version, zone = stamp()
        state = db.session.get(CallRollupState, 1) or CallRollupState(id=1)
        state.version, state.zone = version, zone
        db.session.add(state)
    db.session.commit()
    log.info("rebuilt the call rollup from %d calls", counted)
    return counted


def ensure_fresh() -> None:
    """Rebuild the rollup if it was built for another definition or time zone."""
    if built_for() != stamp():
        rebuild()


def check(limit: int = 20, owner_id: int | None = None) -> list[str]:
    """Differences between the rollup and a fold of the raw rows (empty when they agree):
    every user's, or only ``owner_id``'s."""
    expected = Fold()
    sub = calls(CallFilter(owner_id=owner_id))
    for row in db.session.execute(select(sub).execution_options(yield_per=REBUILD_BATCH)):
        expected.add(row._mapping)
    want_sums, want_speeds = expected.rows()
    problems: list[str] = []
    for model, want, key in (
        (CallRollup, want_sums, KEY),
        (CallSpeedRollup, want_speeds, SPEED_KEY),
    ):
        table = model.__table__
        stored = select(table)
        if owner_id is not None:
            stored = stored.where(table.c.owner_id == owner_id)
        have = {tuple(r[k] for k in key): dict(r) for r in db.session.execute(stored).mappings()}
        wanted = {tuple(r[k] for k in key): r for r in want}
        for group in sorted(set(have) | set(wanted), key=str):
            a, b = have.get(group), wanted.get(group)
            if a is None or b is None or any(_differ(a[c], b[c]) for c in b if c not in key):
                problems.append(f"{table.name} {group}: rollup {a} != rows {b}")
    return problems[:limit]


def _differ(a: Any, b: Any) -> bool:
    if isinstance(a, (Decimal, float)) or isinstance(b, Decimal):
        return abs(Decimal(str(a or 0)) - Decimal(str(b or 0))) > Decimal("0.000001")
    return a != b

"""Copying every table from one database to another in batches, ids and timestamps kept.

Used to restore a SQLite backup and to move a desktop database to PostgreSQL. The target must
be migrated to the same revision and hold nothing but what the migrations seed (the default
personas), which the copy replaces with the source's.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Connection, Table, delete, func, insert, or_, select, text
from sqlalchemy.exc import SQLAlchemyError

from calango.extensions import db
from calango.models import (
    AuditEntry,
    CallRollup,
    CallRollupState,
    CallSpeedRollup,
    ChatMessage,
    ChatSession,
    Persona,
    Provider,
    Setting,
    User,
    UserSetting,
)

BATCH = 1000
# What `flask db upgrade` seeds (migrations/versions/*_initial_schema.py).
# Also their pt-BR names (calango.services.builtin_personas renames them on a first visit).
SEEDED_PERSONAS = (
    "Calango (Default)",
    "Python Expert",
    "Calango (Padrão)",
    "Especialista em Python",
)
RowHook = Callable[[dict[str, Any]], dict[str, Any]]


class CopyError(Exception):
    """The copy cannot start or did not verify; the message says why. The target is unchanged."""


def tables() -> list[Table]:
    """Calango's tables, parents first."""
    return list(db.metadata.sorted_tables)


def revision(connection: Connection) -> str | None:
    """The database's Alembic revision (``None`` when it was never migrated)."""
    try:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        connection.rollback()
        return None


def check_compatible(source: Connection, target: Connection) -> None:
    """Both databases at the same migration; raises :class:`CopyError` otherwise."""
    here, there = revision(source), revision(target)
    if there is None:
        raise CopyError(_("The target database is not migrated: run flask db upgrade on it first."))
    if here != there:
        raise CopyError(
            _(
                "The two databases are at different schema versions (%(source)s and "
                "%(target)s): upgrade both with flask db upgrade first.",
                source=here or "?",
                target=there,
            )
        )


def is_empty(connection: Connection) -> bool:
    """No chats, messages or providers, and no personas but the migrations' untouched seeds."""
    for model in (ChatSession, ChatMessage, Provider):
        if connection.execute(select(func.count()).select_from(model.__table__)).scalar():
            return False
    users = User.__table__.c
    if connection.execute(select(func.count()).where(users.is_local.is_(False))).scalar():
        return False  # accounts made here would be replaced by the source's
    personas = Persona.__table__.c
    own = select(func.count()).where(
        or_(personas.name.not_in(SEEDED_PERSONAS), personas.updated_at != personas.created_at)
    )
    return not connection.execute(own).scalar()


def totals(connection: Connection) -> dict[str, Any]:
    """Row counts per table and the sum of message costs: what a copy must preserve."""
    result: dict[str, Any] = {
        table.name: connection.execute(select(func.count()).select_from(table)).scalar()
        for table in tables()
    }
    cost = connection.execute(select(func.sum(ChatMessage.__table__.c.cost))).scalar()
    result["cost"] = Decimal(cost or 0).quantize(Decimal("0.00000001"))
    return result


def copy_tables(
    source: Connection,
    target: Connection,
    hooks: dict[str, RowHook] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Copy every row (in batches) inside the target's current transaction; the caller commits.

    ``hooks`` may rewrite rows of a table on the way (re-encrypting keys); stored message HTML
    is always left behind (see ``_without_html``). Returns the totals,
    checked equal on both sides; raises :class:`CopyError` when they differ.
    """
    hooks = hooks or {}
    # Seeded by the migrations (the local user, its personas and settings; A Cuca's derived
    # rollup): the source has its own.
    for model in (
        Persona,
        Setting,
        CallRollup,
        CallSpeedRollup,
        CallRollupState,
        UserSetting,
        AuditEntry,
        User,
    ):
        target.execute(delete(model.__table__))
    for table in tables():
        hook = hooks.get(table.name)
        if table.name == ChatMessage.__tablename__:
            hook = _without_html if hook is None else _then_without_html(hook)
        query = select(table).order_by(*table.primary_key.columns)
        result = source.execution_options(yield_per=BATCH).execute(query)
        for rows in result.partitions():
            batch = [dict(row._mapping) for row in rows]
            if hook is not None:
                batch = [hook(row) for row in batch]
            target.execute(insert(table), batch)
            if progress is not None:
                progress(table.name, len(batch))
    if target.dialect.name == "postgresql":
        _move_sequences(target)
    expected, copied = totals(source), totals(target)
    if expected != copied:
        raise CopyError(
            _(
                "The copy did not verify (expected %(expected)s, found %(found)s). "
                "Nothing was kept.",
                expected=expected,
                found=copied,
            )
        )
    return copied


def _without_html(row: dict[str, Any]) -> dict[str, Any]:
    """Stored message HTML is never copied: this server renders it again from the text on
    first display (a backup file's HTML would otherwise be served as trusted output)."""
    return {**row, "content_html": None, "content_html_version": None}


def _then_without_html(hook: RowHook) -> RowHook:
    return lambda row: _without_html(hook(row))


def _move_sequences(connection: Connection) -> None:
    # Rows came with their ids: move each serial past them, or the next insert collides.
    for table in tables():
        column = table.c.get("id")
        if column is None or column.type.python_type is not int:
            continue
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'
            )
        )

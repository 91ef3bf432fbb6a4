"""The admins' audit log: every admin action writes one entry (who, what, to whom, when)."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from sqlalchemy import Select, select

from calango.extensions import db
from calango.models.user import AuditEntry

SYSTEM_ACTOR = "system"


def record(action: str, target: str | None = None, **details: Any) -> AuditEntry:
    """Add an entry for ``action`` by the current user to the session (the caller commits,
    so the entry lands in the same transaction as the change it describes)."""
    actor = current_user if current_user and current_user.is_authenticated else None
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_email=actor.email if actor is not None else SYSTEM_ACTOR,
        action=action,
        target=target,
        details={k: v for k, v in details.items() if v is not None} or None,
    )
    db.session.add(entry)
    return entry


def newest_first() -> Select[tuple[AuditEntry]]:
    """Every entry, newest first (for ``db.paginate``)."""
    return select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())

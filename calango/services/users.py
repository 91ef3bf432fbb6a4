"""Accounts in SERVER mode: sign-in, registration, password changes and what admins do to
accounts. Every admin action writes an audit entry (:mod:`calango.services.audit`) in the same
transaction as the change.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from calango.extensions import db
from calango.models import Setting
from calango.models.types import utcnow
from calango.models.user import EMAIL_MAX, User
from calango.services import audit

PASSWORD_MIN_LENGTH = 10
REGISTRATION_KEY = "registration_open"
DEFAULT_BUDGET_KEY = "default_budget_usd"
# The tables whose rows belong to a user (helper `owner`'s columns); a hand-over moves them.
OWNED_TABLES = ("chat_sessions", "personas", "arena_rounds", "provider_calls", "import_jobs")


class AccountError(Exception):
    """A refused account change; the message is translated and meant for the user."""


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    from werkzeug.security import generate_password_hash

    from calango.models.user import PASSWORD_METHOD

    return generate_password_hash("not-a-real-password", method=PASSWORD_METHOD)


def authenticate(email: str, password: str) -> User | None:
    """The active account with this e-mail and password, else None. An unknown e-mail still
    checks a password hash, so the answer takes about as long either way."""
    user = User.by_email(email or "")
    if user is None or user.is_local or not user.password_hash:
        from werkzeug.security import check_password_hash

        check_password_hash(_dummy_hash(), password or "")
        return None
    if not user.check_password(password or ""):
        return None
    if not user.is_active:
        return None
    return user


def record_login(user: User) -> None:
    user.last_login_at = utcnow()
    db.session.commit()


def check_new_password(password: str) -> None:
    if len(password or "") < PASSWORD_MIN_LENGTH:
        raise AccountError(
            _("The password must have at least %(n)d characters.", n=PASSWORD_MIN_LENGTH)
        )


def _clean_email(email: str) -> str:
    normalized = User.normalize_email(email or "")
    local, at, domain = normalized.partition("@")
    if not (local and at and "." in domain) or len(normalized) > EMAIL_MAX or " " in normalized:
        raise AccountError(_("Enter a valid e-mail address."))
    return normalized


def create_user(
    email: str,
    password: str,
    *,
    display_name: str | None = None,
    admin: bool = False,
    audited: bool = False,
) -> User:
    """A new account, committed. ``audited``: an admin made it (writes an audit entry)."""
    normalized = _clean_email(email)
    check_new_password(password)
    if User.by_email(normalized) is not None:
        raise AccountError(_("An account with this e-mail address already exists."))
    user = User(email=normalized, display_name=(display_name or "").strip() or None, is_admin=admin)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    if audited:
        audit.record("user.create", normalized, admin=admin)
    db.session.commit()
    return user


def set_password(user: User, password: str, *, audited: bool = False) -> None:
    """Give ``user`` a new password and end their sessions (admin reset, CLI)."""
    check_new_password(password)
    user.set_password(password)
    user.session_epoch += 1
    if audited:
        audit.record("user.reset_password", user.email)
    db.session.commit()


def change_own_password(user: User, current: str, new: str) -> None:
    """The user's own change: needs the current password; ends every other session (the
    caller signs this one in again with the new epoch)."""
    if not user.check_password(current or ""):
        raise AccountError(_("The current password is wrong."))
    check_new_password(new)
    user.set_password(new)
    user.session_epoch += 1
    db.session.commit()


def update_profile(user: User, display_name: str | None) -> None:
    user.display_name = (display_name or "").strip() or None
    db.session.commit()


def admin_count(*, active_only: bool = True) -> int:
    query = select(func.count()).select_from(User).where(User.is_admin.is_(True))
    if active_only:
        query = query.where(User.is_active.is_(True))
    query = query.where(User.is_local.is_(False))
    return int(db.session.scalar(query) or 0)


def _refuse_self_or_last_admin(actor: User, user: User) -> None:
    if actor.id == user.id:
        raise AccountError(_("You cannot do this to your own account."))
    if user.is_admin and user.is_active and admin_count() <= 1:
        raise AccountError(_("This is the last admin: make another admin first."))


def set_active(actor: User, user: User, active: bool) -> None:
    """Enable or disable ``user``; disabling ends their sessions."""
    if not active:
        _refuse_self_or_last_admin(actor, user)
        user.session_epoch += 1
    user.is_active = active
    audit.record("user.enable" if active else "user.disable", user.email)
    db.session.commit()


def set_budget(user: User, amount: Decimal | None) -> None:
    """The user's monthly budget in USD; None: the instance default applies."""
    if amount is not None and amount < 0:
        raise AccountError(_("The budget cannot be negative."))
    user.monthly_budget_usd = amount
    audit.record("user.budget", user.email, budget_usd=None if amount is None else str(amount))
    db.session.commit()


def users() -> list[User]:
    """Every real account (not the DESKTOP local user), by e-mail."""
    return list(
        db.session.scalars(select(User).where(User.is_local.is_(False)).order_by(User.email))
    )


def _owned_tables() -> list[Any]:
    tables = db.metadata.tables
    return [tables[n] for n in OWNED_TABLES if n in tables and "owner_id" in tables[n].c]


def _make_room(user: User, hand_to: User) -> None:
    """What is unique per owner must stay unique after the hand-over: a persona named like
    one of ``hand_to``'s gets the old owner's e-mail in its name; an import key already used
    by ``hand_to`` is dropped (the chat stays, a later re-import may bring it again)."""
    from calango.models import Persona
    from calango.models.names import NAME_MAX, normalize_name

    taken = set(db.session.scalars(select(Persona.name_key).where(Persona.owner_id == hand_to.id)))
    for persona in db.session.scalars(select(Persona).where(Persona.owner_id == user.id)):
        if persona.name_key not in taken:
            continue
        suffix = f" ({user.email})"
        base = persona.name[: max(1, NAME_MAX - len(suffix) - 3)]
        name, n = f"{base}{suffix}", 2
        while normalize_name(name) in taken:
            name, n = f"{base}{suffix[:-1]} {n})", n + 1
        persona.name = name
        taken.add(persona.name_key)
    db.session.flush()
    tables = db.metadata.tables
    for table_name in ("chat_sessions", "arena_rounds"):
        table = tables.get(table_name)
        if table is None or "import_key" not in table.c or "owner_id" not in table.c:
            continue
        theirs = select(table.c.import_key).where(
            table.c.owner_id == hand_to.id, table.c.import_key.is_not(None)
        )
        db.session.execute(
            update(table)
            .where(table.c.owner_id == user.id, table.c.import_key.in_(theirs))
            .values(import_key=None)
        )


def delete_user(actor: User, user: User, *, hand_to: User | None = None) -> None:
    """Delete ``user``. Their chats, personas, rounds, calls and imports are deleted with
    them (the database cascades from ``owner_id``), or, with ``hand_to``, given to that user
    first; the per-user statistics (A Cuca's rollups) of the receiver are rebuilt."""
    _refuse_self_or_last_admin(actor, user)
    if hand_to is not None and (hand_to.id == user.id or hand_to.is_local):
        raise AccountError(_("Choose another user to receive the chats."))
    email = user.email
    if hand_to is not None:
        _make_room(user, hand_to)
        for table in _owned_tables():
            db.session.execute(
                update(table).where(table.c.owner_id == user.id).values(owner_id=hand_to.id)
            )
    for name in ("call_rollups", "call_speed_rollups"):
        table = db.metadata.tables.get(name)
        if table is not None and "owner_id" in table.c:
            db.session.execute(table.delete().where(table.c.owner_id == user.id))
    audit.record(
        "user.delete",
        email,
        chats="handed_over" if hand_to is not None else "deleted",
        to=hand_to.email if hand_to is not None else None,
    )
    db.session.delete(user)
    db.session.flush()
    from calango.services import attachments

    attachments.forget_unlinked()  # the files of their deleted chats
    if hand_to is not None:
        from calango.services import call_rollup

        call_rollup.rebuild(owner_id=hand_to.id)  # commits
    db.session.commit()


# --- instance settings (admin) ---------------------------------------------------------------


def registration_open() -> bool:
    return Setting.get(REGISTRATION_KEY, False) is True


def default_budget() -> Decimal | None:
    raw = Setting.get(DEFAULT_BUDGET_KEY)
    return None if raw is None else Decimal(str(raw)).quantize(Decimal("0.01"))


def save_instance_settings(
    *, registration: bool, budget: Decimal | None, allow_local: bool
) -> None:
    """Store the admin's instance settings and audit what changed."""
    from calango.services import network_policy

    changes: dict[str, Any] = {}
    if registration != registration_open():
        changes["registration_open"] = registration
    if budget != default_budget():
        changes["default_budget_usd"] = None if budget is None else str(budget)
    if allow_local != (Setting.get(network_policy.ALLOW_LOCAL_KEY, False) is True):
        changes["allow_local_providers"] = allow_local
    Setting.put(REGISTRATION_KEY, registration)
    Setting.put(DEFAULT_BUDGET_KEY, None if budget is None else float(budget))
    Setting.put(network_policy.ALLOW_LOCAL_KEY, allow_local)
    audit.record("settings.update", None, **{k: str(v) for k, v in changes.items()})
    db.session.commit()

"""Accounts: the people who use Calango, their own settings and the admins' audit log.

DESKTOP has exactly one implicit user (``is_local``), created by the migration, so both modes
run the same code paths; SERVER has real accounts that sign in with a password.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Integer, Numeric, String, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.util import identity_key
from werkzeug.security import check_password_hash, generate_password_hash

from calango.extensions import db
from calango.models.types import UTCDateTime, utcnow

EMAIL_MAX = 254
DISPLAY_NAME_MAX = 80
LOCAL_USER_EMAIL = "local@calango.invalid"
PASSWORD_METHOD = "scrypt"


class User(UserMixin, db.Model):
    """One account. ``email`` is stored lower-cased and is the sign-in name.

    ``session_epoch`` is part of the Flask-Login id (``"<id>:<epoch>"``): raising it ends
    every session signed in before (a password change ends the other sessions).
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)  # False: disabled by an admin
    is_local: Mapped[bool] = mapped_column(default=False)  # the DESKTOP user
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    # None: the instance's default budget applies (Settings → admin); 0 or more: this user's.
    monthly_budget_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<User {self.email}>"

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"

    @property
    def label(self) -> str:
        """How the user is shown: the display name, else the e-mail address."""
        return self.display_name or self.email

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @staticmethod
    def normalize_email(email: str) -> str:
        return email.strip().lower()

    @staticmethod
    def by_email(email: str) -> User | None:
        return db.session.scalar(select(User).where(User.email == User.normalize_email(email)))


class UserSetting(db.Model):
    """One of a user's own settings (theme, language, last used provider/model/persona…)."""

    __tablename__ = "user_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)

    @staticmethod
    def get(user_id: int, key: str, default: Any = None) -> Any:
        row = db.session.get(UserSetting, (user_id, key))
        return default if row is None or row.value is None else row.value

    @staticmethod
    def put(user_id: int, key: str, value: Any) -> None:
        """Set ``key`` for ``user_id`` in the current transaction (an upsert; the caller
        commits)."""
        dialect = db.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(UserSetting).values(user_id=user_id, key=key, value=value)
        db.session.execute(
            statement.on_conflict_do_update(
                index_elements=[UserSetting.user_id, UserSetting.key],
                set_={"value": statement.excluded.value},
            )
        )
        loaded = db.session.identity_map.get(identity_key(UserSetting, (user_id, key)))
        if loaded is not None:
            db.session.expire(loaded)


class AuditEntry(db.Model):
    """One admin action: who did what to whom, and when. The actor's e-mail is copied so the
    entry still reads right after the account is deleted."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(EMAIL_MAX))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

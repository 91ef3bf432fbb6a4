"""Key/value settings (theme, language, last used provider/model, ...)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from calango.extensions import db


class Setting(db.Model):
    """One setting; ``value`` is any JSON value."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)

    @staticmethod
    def get(key: str, default: Any = None) -> Any:
        row = db.session.get(Setting, key)
        return default if row is None or row.value is None else row.value

    @staticmethod
    def put(key: str, value: Any) -> None:
        """Set ``key`` in the current transaction (the caller commits)."""
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=value))
        else:
            row.value = value

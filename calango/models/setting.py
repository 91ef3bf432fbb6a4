"""Key/value settings (theme, language, last used provider/model, ...)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Select, String, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.util import identity_key

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
        """Set ``key`` in the current transaction (the caller commits).

        An upsert: two first writes of the same key at once (two sends on a fresh database)
        must not collide on the primary key.
        """
        dialect = db.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(Setting).values(key=key, value=value)
        db.session.execute(
            statement.on_conflict_do_update(
                index_elements=[Setting.key], set_={"value": statement.excluded.value}
            )
        )
        loaded = db.session.identity_map.get(identity_key(Setting, key))
        if loaded is not None:
            db.session.expire(loaded)

    @staticmethod
    def select_all() -> Select[tuple[Setting]]:
        return select(Setting)

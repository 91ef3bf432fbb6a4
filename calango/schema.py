"""Is the database at the newest migration? Asked once per process, never at import."""

from __future__ import annotations

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from calango.extensions import db


def head_revisions() -> set[str]:
    """The head revision(s) of ``migrations/``."""
    migrate = current_app.extensions["migrate"]
    config = migrate.migrate.get_config(migrate.directory)
    return set(ScriptDirectory.from_config(config).get_heads())


def pending_upgrade() -> bool:
    """True when the database lacks migrations this code needs."""
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current != head_revisions()

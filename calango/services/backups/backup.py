"""``flask calango backup`` and ``restore``.

On SQLite (desktop) a backup is a copy of the database file made with SQLite's online backup
API: consistent while the app runs and writes. On PostgreSQL it is the full JSON export (use
``pg_dump`` for a database-level backup). A restore goes into an empty database: a SQLite
backup is copied table by table (ids kept), a JSON export is imported.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import create_engine, delete

from calango.extensions import db
from calango.models import Persona, Setting
from calango.models.types import utcnow
from calango.services.backups.table_copy import CopyError, check_compatible, copy_tables, is_empty
from calango.services.imports import ImportSummary
from calango.services.imports.calango_export import import_calango_export

SQLITE_MAGIC = b"SQLite format 3\x00"


def uses_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def default_backup_path() -> Path:
    """``backups/calango-YYYYmmdd-HHMMSS.db`` (``.json`` on PostgreSQL) in CALANGO_HOME."""
    extension = "db" if uses_sqlite() else "json"
    folder = Path(current_app.config["CALANGO_HOME"]) / "backups"
    return folder / f"calango-{utcnow():%Y%m%d-%H%M%S}.{extension}"


def backup_sqlite(target: Path, pages_per_step: int = 1024) -> int:
    """Copy the live SQLite database to ``target`` (mode 0600); returns its size in bytes."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = target.with_name(f".{target.name}.partial")
    raw = db.engine.raw_connection()
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        destination = sqlite3.connect(partial)
        try:
            # Page by page, so writers are only held up between steps.
            raw.driver_connection.backup(destination, pages=pages_per_step)  # type: ignore[union-attr]
        finally:
            destination.close()
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        raw.close()
    return target.stat().st_size


class RestoreError(Exception):
    """The backup cannot be restored here; the message says why. Nothing was written."""


def _require_empty() -> None:
    with db.engine.connect() as connection:
        if not is_empty(connection):
            raise RestoreError(
                _(
                    "This database already holds chats, providers or personas of its own. "
                    "Restore into an empty one (a new CALANGO_HOME, or a new DATABASE_URL after "
                    "flask db upgrade)."
                )
            )


def restore_sqlite(
    path: Path, progress: Callable[[str, int], None] | None = None
) -> dict[str, Any]:
    """Copy every table of a SQLite backup into this (empty, migrated) database."""
    _require_empty()
    source_engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with source_engine.connect() as source, db.engine.begin() as target:
            check_compatible(source, target)
            return copy_tables(source, target, progress=progress)
    except CopyError as exc:
        raise RestoreError(str(exc)) from None
    finally:
        source_engine.dispose()


def restore_json(raw: IO[bytes], progress: Callable[[int], None] | None = None) -> ImportSummary:
    """Import a JSON export into this (empty) database, its personas and settings included."""
    _require_empty()
    # The migrations' default personas give way to the backup's, in the import's transaction.
    db.session.execute(delete(Persona))
    db.session.execute(delete(Setting))
    return import_calango_export(raw, progress)


def is_sqlite_file(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC

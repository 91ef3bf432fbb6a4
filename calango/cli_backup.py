"""``flask calango backup``, ``restore`` and ``transfer``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from calango.cli_data import _fail, _locale, _open, echo_summary, progress_bar, write_atomically


def _row_bar(label: str):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    bar = tqdm(unit=" rows", desc=label, file=sys.stderr, leave=False)
    return (lambda table, count: bar.update(count)), bar.close


@click.command("backup")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file: Path | None) -> None:
    """Make a consistent copy of the database while Calango runs: the SQLite file on a desktop
    (default CALANGO_HOME/backups/calango-DATE.db), the full JSON export on PostgreSQL (use
    pg_dump for a database-level backup)."""
    from flask_babel import force_locale

    from calango.services.backups.backup import backup_sqlite, default_backup_path, uses_sqlite
    from calango.services.exports.export import export_all

    target = file or default_backup_path()
    with force_locale(_locale()):
        try:
            if uses_sqlite():
                size = backup_sqlite(target)
            else:
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                size = write_atomically(target, export_all())
        except OSError as exc:
            _fail(f"cannot write {target}: {exc.strerror or exc}")
    click.echo(f"Backup written to {target} ({size:,} bytes).")
    if not uses_sqlite():
        click.echo("This is the JSON export; for a database-level backup use pg_dump.")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(file: Path) -> None:
    """Restore FILE (a backup made by `flask calango backup`, or an export-all file) into this
    database, which must be empty (migrated, with no chats or providers)."""
    from flask_babel import force_locale

    from calango.services.backups.backup import (
        RestoreError,
        is_sqlite_file,
        restore_json,
        restore_sqlite,
    )
    from calango.services.imports import ImportFileError

    handle = _open(file)
    handle.close()
    with force_locale(_locale()):
        try:
            if is_sqlite_file(file):
                advance, close = _row_bar("restore")
                try:
                    copied = restore_sqlite(file, advance)
                finally:
                    close()
                click.echo(
                    f"Restored {copied['chat_sessions']} chats, {copied['chat_messages']} "
                    f"messages, {copied['providers']} providers, {copied['personas']} personas."
                )
                return
            advance_bytes, close_bar = progress_bar(file, "restore")
            with _open(file) as stream:
                try:
                    summary = restore_json(stream, advance_bytes)
                finally:
                    close_bar()
            echo_summary(summary)
        except (RestoreError, ImportFileError) as exc:
            _fail(f"{file}: {exc} Nothing was restored.")


@click.command("transfer")
@click.option("--to", "target_url", required=True, help="postgresql://user:pass@host/db")
@click.option(
    "--target-key",
    envvar="CALANGO_TARGET_ENCRYPTION_KEY",
    help="The target's CALANGO_ENCRYPTION_KEY, when it differs from this one "
    "(or set CALANGO_TARGET_ENCRYPTION_KEY).",
)
@with_appcontext
def transfer_command(target_url: str, target_key: str | None) -> None:
    """Copy everything from this desktop (SQLite) database into an empty, migrated PostgreSQL
    database: ids and timestamps kept, API keys re-encrypted for the target, counts and cost
    sums verified. A target that holds chats, providers or personas of its own is refused."""
    from flask_babel import force_locale

    from calango.services.backups.transfer import TransferError, transfer

    advance, close = _row_bar("transfer")
    with force_locale(_locale()):
        try:
            copied = transfer(target_url, target_key, advance)
        except TransferError as exc:
            close()
            _fail(str(exc))
    close()
    click.echo(
        f"Transferred {copied['chat_sessions']} chats, {copied['chat_messages']} messages, "
        f"{copied['providers']} providers, {copied['personas']} personas, "
        f"{copied['settings']} settings; total cost {copied['cost']} USD verified."
    )

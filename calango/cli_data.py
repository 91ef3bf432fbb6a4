"""``flask calango`` commands that move data: imports, exports, backups, transfers."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

import click
from flask.cli import with_appcontext

from calango.cli import _fail
from calango.cli_user import USER_HELP, cli_user_id
from calango.services.imports import ImportFileError, ImportSummary


def _locale() -> str:
    from calango.cli import _cli_locale

    return _cli_locale()


def echo_summary(summary: ImportSummary) -> None:
    """Print an import's summary: counts, then each skipped item and warning."""
    for line in summary.lines():
        click.echo(line)
    for reason in summary.skipped:
        click.echo(f"  - {reason}")
    for warning in summary.warnings:
        click.echo(f"Warning: {warning}", err=True)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")


def register_data_commands(group: click.Group) -> None:
    """Attach the data commands to the ``calango`` group."""
    group.add_command(import_tinydb_command)
    group.add_command(export_all_command)
    group.add_command(import_all_command)
    group.add_command(import_chatgpt_command)
    from calango.cli_backup import backup_command, restore_command, transfer_command

    group.add_command(backup_command)
    group.add_command(restore_command)
    group.add_command(transfer_command)
    from calango.cli_stats import rebuild_stats_command

    group.add_command(rebuild_stats_command)


@click.command("import-tinydb")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--user", "email", default=None, help=USER_HELP)
@with_appcontext
def import_tinydb_command(path: Path | None, email: str | None) -> None:
    """Import the original Calango's history and settings from PATH
    (default: calango.json in CALANGO_HOME). Importing it again adds nothing."""
    from flask_babel import force_locale

    from calango.services.imports.legacy import default_path, import_legacy

    path = path or default_path()
    raw = _read(path)
    with force_locale(_locale()):
        try:
            summary = import_legacy(raw, cli_user_id(email))
        except ImportFileError as exc:
            _fail(f"{path}: {exc.message} Nothing was imported.")
        echo_summary(summary)


def write_atomically(path: Path, pieces: Iterable[str], mode: int = 0o600) -> int:
    """Write ``pieces`` to ``path`` through a temporary file, so a failure leaves no half file.
    Returns the number of bytes written."""
    temporary = path.with_name(f".{path.name}.partial")
    written = 0
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as handle:
            for piece in pieces:
                data = piece.encode()
                handle.write(data)
                written += len(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return written


@click.command("export-all")
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--user", "email", default=None, help=USER_HELP)
@with_appcontext
def export_all_command(file: str | None, email: str | None) -> None:
    """Write everything (chats with their messages, personas, providers without their keys,
    settings) as one JSON file to FILE (default: stdout). Memory stays small however big."""
    from flask_babel import force_locale

    from calango.services.exports.export import export_all

    with force_locale(_locale()):
        if not file or file == "-":
            for piece in export_all(cli_user_id(email)):
                sys.stdout.write(piece)
            return
        try:
            size = write_atomically(Path(file), export_all(cli_user_id(email)))
        except OSError as exc:
            _fail(f"cannot write {file}: {exc.strerror or exc}")
    click.echo(f"Exported everything to {file} ({size:,} bytes).", err=True)


def progress_bar(path: Path, label: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    """A tqdm bar over ``path``'s bytes on stderr: (advance, close)."""
    from tqdm import tqdm

    try:
        total = path.stat().st_size
    except OSError:
        total = None
    bar = tqdm(total=total, unit="B", unit_scale=True, desc=label, file=sys.stderr, leave=False)
    return bar.update, bar.close


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")


@click.command("import-all")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--user", "email", default=None, help=USER_HELP)
@with_appcontext
def import_all_command(file: Path, email: str | None) -> None:
    """Import a file made by export-all (or a chat's JSON export). What is already here is
    left alone, so importing the same file twice adds nothing the second time."""
    from flask_babel import force_locale

    from calango.services.imports.calango_export import import_calango_export

    advance, close = progress_bar(file, "import")
    with force_locale(_locale()), _open(file) as handle:
        try:
            summary = import_calango_export(handle, advance, owner_id=cli_user_id(email))
        except ImportFileError as exc:
            close()
            _fail(f"{file}: {exc.message} Nothing was imported.")
        close()
        echo_summary(summary)


@click.command("import-chatgpt")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--user", "email", default=None, help=USER_HELP)
@with_appcontext
def import_chatgpt_command(file: Path, email: str | None) -> None:
    """Import ChatGPT's data export: conversations.json or the .zip it comes in. Each
    conversation's current branch becomes a chat; importing it again adds nothing."""
    from flask_babel import force_locale

    from calango.services.imports.chatgpt import import_chatgpt
    from calango.services.imports.chatgpt_parse import open_export

    with force_locale(_locale()):
        try:
            stream, size = open_export(file)
            stream.close()
        except OSError as exc:
            _fail(f"cannot read {file}: {exc.strerror or exc}")
        except ImportFileError as exc:
            _fail(f"{file}: {exc.message} Nothing was imported.")
        from tqdm import tqdm

        bar = tqdm(total=size, unit="B", unit_scale=True, desc="import", file=sys.stderr)
        try:
            summary = import_chatgpt(file, bar.update, cli_user_id(email))
        except ImportFileError as exc:
            bar.close()
            _fail(f"{file}: {exc.message} Nothing was imported.")
        bar.close()
        echo_summary(summary)

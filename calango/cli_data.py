"""``flask calango`` commands that move data: imports, exports, backups, transfers."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click
from flask.cli import with_appcontext

from calango.services.imports import ImportFileError, ImportSummary


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(1)


def _locale() -> str:
    # Commands have no request to take a language from: use the saved one.
    from flask import current_app

    from calango.services.preferences import saved_language

    return saved_language() or current_app.config["BABEL_DEFAULT_LOCALE"]


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


@click.command("import-tinydb")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def import_tinydb_command(path: Path | None) -> None:
    """Import the original Calango's history and settings from PATH
    (default: calango.json in CALANGO_HOME). Importing it again adds nothing."""
    from flask_babel import force_locale

    from calango.services.imports.legacy import default_path, import_legacy

    path = path or default_path()
    raw = _read(path)
    with force_locale(_locale()):
        try:
            summary = import_legacy(raw)
        except ImportFileError as exc:
            _fail(f"{path}: {exc.message} Nothing was imported.")
        echo_summary(summary)

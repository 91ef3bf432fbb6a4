"""``flask calango ...`` and ``flask translate ...`` commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from calango import load_app

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "calango" / "translations"
POT = ROOT / "messages.pot"


@click.group("calango")
def calango_group() -> None:
    """Calango administration."""


@click.group("translate")
def translate_group() -> None:
    """Maintain the message catalogs (English source, pt_BR translation)."""


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True)


# The catalog's line width: Babel's default changed between versions, and a rewrap of every
# entry would make each branch's catalog conflict with every other's.
CATALOG_WIDTH = "100"


@translate_group.command("update")
def translate_update() -> None:
    """Extract strings and merge them into every catalog."""
    _pybabel(
        "extract",
        "-F",
        str(ROOT / "babel.cfg"),
        "-k",
        "_l",
        "--no-location",
        "--sort-output",
        "--width",
        CATALOG_WIDTH,
        "-o",
        str(POT),
        str(ROOT),
    )
    _pybabel(
        "update",
        "-i",
        str(POT),
        "-d",
        str(TRANSLATIONS),
        "--no-fuzzy-matching",
        "--ignore-obsolete",
        "--width",
        CATALOG_WIDTH,
    )
    POT.unlink()


@translate_group.command("compile")
def translate_compile() -> None:
    """Compile the catalogs to .mo files."""
    _pybabel("compile", "-d", str(TRANSLATIONS))


def register_cli(app: Flask) -> None:
    """Attach the command groups to ``app``."""
    from calango.cli_data import register_data_commands

    check_desktop_bind(app)
    register_data_commands(calango_group)
    app.cli.add_command(calango_group)
    app.cli.add_command(translate_group)


def main() -> None:
    """``calango`` console script: the Flask CLI with Calango's app."""
    FlaskGroup(create_app=load_app)()


# --- configuration import/export ("DNA" file) ------------------------------------------------


def _cli_locale() -> str:
    # Commands have no request to take a language from: use the saved one.
    from flask import current_app

    from calango.services.preferences import saved_language

    return saved_language() or current_app.config["BABEL_DEFAULT_LOCALE"]


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(1)


@calango_group.command("import-config")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--user", "email", default=None, help="E-mail of the user whose personas these are.")
@with_appcontext
def import_config_command(file: str, email: str | None) -> None:
    """Import providers, personas and settings from a YAML FILE ("-" reads stdin)."""
    from flask_babel import force_locale

    from calango.cli_user import cli_user_id
    from calango.services.config_io import ConfigImportError, import_config
    from calango.services.config_yaml import MAX_CONFIG_BYTES, check_size

    with force_locale(_cli_locale()):
        try:
            # Never read more than the limit: the size is refused before parsing.
            if file == "-":
                raw = sys.stdin.buffer.read(MAX_CONFIG_BYTES + 1)
            else:
                with Path(file).open("rb") as handle:
                    check_size(os.fstat(handle.fileno()).st_size)
                    raw = handle.read(MAX_CONFIG_BYTES + 1)
            check_size(len(raw))
            text = raw.decode("utf-8-sig")
        except ConfigImportError as exc:
            _fail(exc.message)
        except (OSError, UnicodeDecodeError) as exc:
            _fail(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}")
        try:
            result = import_config(text, owner_id=cli_user_id(email))
        except ConfigImportError as exc:
            _fail(exc.message)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    for label, items in (
        ("created", result.created),
        ("updated", result.updated),
        ("unchanged", result.unchanged),
    ):
        click.echo(
            f"{label.capitalize()}: {len(items)}" + (f" ({', '.join(items)})" if items else "")
        )


@calango_group.command("export-config")
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--with-secrets", is_flag=True, help="Write the API keys in clear text.")
@click.option("--user", "email", default=None, help="E-mail of the user whose personas these are.")
@with_appcontext
def export_config_command(file: str | None, with_secrets: bool, email: str | None) -> None:
    """Write providers, personas and settings as YAML to FILE (default: stdout)."""
    from flask_babel import force_locale

    from calango.cli_user import cli_user_id
    from calango.services.config_io import ConfigExportError, export_config

    with force_locale(_cli_locale()):
        try:
            text = export_config(with_secrets=with_secrets, owner_id=cli_user_id(email))
        except ConfigExportError as exc:
            _fail(str(exc))
    if not file or file == "-":
        click.echo(text, nl=False)
        return
    try:
        # Owner-only when it holds keys.
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if with_secrets else 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        _fail(f"cannot write {file}: {exc.strerror or exc}")
    click.echo(
        f"Exported the configuration to {file}" + (" (with API keys)" if with_secrets else "")
    )


# --- accounts (SERVER mode) ----------------------------------------------------------------

REMOTE_DESKTOP_VARIABLE = "CALANGO_ALLOW_REMOTE_DESKTOP"


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (as given to ``--host``) only listens on this machine."""
    import ipaddress

    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_desktop_bind(app: Flask) -> None:
    """DESKTOP has no login: ``flask run`` / ``calango run`` must listen on loopback only.

    Raises ``config.ConfigError`` (one line, exit code 2) for another host, unless
    CALANGO_ALLOW_REMOTE_DESKTOP=1.
    """
    from config import ConfigError

    if app.config.get("MODE") == "SERVER":
        return
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.info_name != "run":
        return
    host = str(ctx.params.get("host") or "127.0.0.1")
    if is_loopback_host(host) or os.environ.get(REMOTE_DESKTOP_VARIABLE, "").strip() == "1":
        return
    raise ConfigError(
        f"DESKTOP mode has no login, so it listens on 127.0.0.1 only; refusing --host {host}. "
        f"Use CALANGO_MODE=SERVER (accounts) to share Calango, or set "
        f"{REMOTE_DESKTOP_VARIABLE}=1 if you really want anyone on the network to use it."
    )


def _read_password(prompt: str) -> str:
    """Twice, hidden, from the terminal; or two lines from stdin when it is not a terminal."""
    if sys.stdin.isatty():
        return str(click.prompt(prompt, hide_input=True, confirmation_prompt=True))
    first = sys.stdin.readline().rstrip("\r\n")
    second = sys.stdin.readline().rstrip("\r\n")
    if first != second:
        _fail("the two passwords are not the same.")
    return first


@calango_group.command("create-user")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make the account an admin.")
@click.option("--name", "display_name", default=None, help="The display name.")
@with_appcontext
def create_user_command(email: str, admin: bool, display_name: str | None) -> None:
    """Create an account for EMAIL; the password is asked twice (or read from stdin)."""
    from calango.services.users import AccountError, create_user

    password = _read_password("Password")
    try:
        user = create_user(email, password, display_name=display_name, admin=admin)
    except AccountError as exc:
        _fail(str(exc))
    click.echo(f"Created {'admin ' if admin else ''}account {user.email}.")


@calango_group.command("set-password")
@click.argument("email")
@with_appcontext
def set_password_command(email: str) -> None:
    """Give EMAIL a new password (asked twice, or read from stdin); their sessions end."""
    from calango.models.user import User
    from calango.services.users import AccountError, set_password

    user = User.by_email(email)
    if user is None or user.is_local:
        _fail(f"no account has the e-mail address {User.normalize_email(email)}.")
    password = _read_password("New password")
    try:
        set_password(user, password)
    except AccountError as exc:
        _fail(str(exc))
    click.echo(f"New password set for {user.email}.")

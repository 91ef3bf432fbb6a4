"""``flask calango ...`` and ``flask translate ...`` commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from flask import Flask

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
    )
    POT.unlink()


@translate_group.command("compile")
def translate_compile() -> None:
    """Compile the catalogs to .mo files."""
    _pybabel("compile", "-d", str(TRANSLATIONS))


def register_cli(app: Flask) -> None:
    """Attach the command groups to ``app``."""
    app.cli.add_command(calango_group)
    app.cli.add_command(translate_group)


def main() -> None:
    """``calango`` console script: the Flask CLI with Calango's app."""
    from flask.cli import FlaskGroup

    from wsgi import load_app

    FlaskGroup(create_app=load_app)()

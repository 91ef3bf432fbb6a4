"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask`` (FLASK_APP=wsgi.py)."""

from __future__ import annotations

import sys

from flask import Flask

from calango import create_app
from config import ConfigError


def load_app() -> Flask:
    """Create the app; a configuration problem ends the command with one clear line."""
    try:
        return create_app()
    except ConfigError as exc:
        sys.stderr.write(f"Calango configuration error: {exc}\n")
        raise SystemExit(2) from None


app = load_app()

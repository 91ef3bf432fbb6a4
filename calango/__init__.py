"""Calango: self-hosted chat with many LLMs."""

from __future__ import annotations

import logging
import sqlite3
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from calango.extensions import babel, csrf, db, limiter, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL for concurrent readers while an answer streams, a busy timeout, foreign keys."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def render_migration_type(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write Calango's column types as plain SQLAlchemy types in migration files."""
    from calango.models.types import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def create_app(config: Any = None) -> Flask:
    """Build the Calango app.

    ``config`` is a config object (see ``config.py``) or a mapping of overrides; by default
    the mode is chosen by ``CALANGO_MODE``. Raises ``config.ConfigError`` on bad settings.
    """
    from config import BaseConfig, config_from_env

    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    from calango.request_input import CalangoRequest, DatabaseIdConverter

    # Before any route is registered: routes compile their converters when added.
    app.request_class = CalangoRequest
    app.url_map.converters["int"] = DatabaseIdConverter
    if config is None:
        config = config_from_env()
    if isinstance(config, BaseConfig):
        app.config.from_object(config)
    else:
        app.config.from_object(config_from_env())
        app.config.update(config)

    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"))

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(MIGRATIONS_DIR),
        render_as_batch=True,
        compare_type=True,
        render_item=render_migration_type,
    )
    csrf.init_app(app)
    limiter.init_app(app)

    from calango.accounts import init_accounts

    init_accounts(app)

    from calango.services.budgets import init_budgets

    init_budgets(app)

    from calango.i18n import init_i18n

    init_i18n(app, babel)

    from calango import models  # noqa: F401  (registers the tables on db.metadata)
    from calango.arena import bp as arena_bp
    from calango.chats import bp as chats_bp
    from calango.dashboard import bp as dashboard_bp
    from calango.data import bp as data_bp
    from calango.data.chat_export import bp as chat_export_bp
    from calango.import_export import bp as import_export_bp
    from calango.personas import bp as personas_bp
    from calango.providers import bp as providers_bp
    from calango.settings import bp as settings_bp

    app.register_blueprint(chats_bp)
    app.register_blueprint(personas_bp)
    app.register_blueprint(settings_bp)
    app.register_blueprint(providers_bp)
    app.register_blueprint(import_export_bp)
    app.register_blueprint(data_bp)
    app.register_blueprint(chat_export_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(arena_bp)

    from calango.web import init_web

    init_web(app)

    from calango.services import builtin_personas

    builtin_personas.init_app(app)

    from calango.chats.routes import index as chats_index

    app.add_url_rule("/", "home", chats_index)

    # Last: its before_request (login required in SERVER) runs after the host and schema gates.
    from calango.auth import bp as auth_bp

    app.register_blueprint(auth_bp)

    from calango.cli import register_cli

    register_cli(app)
    return app


def load_app() -> Flask:
    """:func:`create_app` for servers and commands (``wsgi.py``, the ``calango`` script): a
    configuration problem ends the process with one clear line instead of a traceback."""
    from config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        sys.stderr.write(f"Calango configuration error: {exc}\n")
        raise SystemExit(2) from None

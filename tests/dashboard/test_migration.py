"""The migration that adds the dashboard's columns copies token counts out of the JSON."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text

from calango import create_app
from calango.extensions import db
from config import TestConfig, normalize_database_url

BEFORE = "304a8fa88e2d"
ADDED = "ce5717faab26"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    admin_url = os.environ.get("CALANGO_TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("PostgreSQL: CALANGO_TEST_DATABASE_URL is not set")
    admin = create_engine(normalize_database_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"calango_mig_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield normalize_database_url(admin_url.rsplit("/", 1)[0] + "/" + name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_backfill_copies_numbers_and_ignores_junk(empty_url: str, tmp_path: Path) -> None:
    app = create_app(TestConfig(empty_url, home=str(tmp_path)))
    with app.app_context():
        upgrade(revision=BEFORE)
        chat = uuid.uuid4()
        db.session.execute(
            text(
                "INSERT INTO chat_sessions (id, title, created_at, updated_at, metadata) "
                "VALUES (:id, 't', '2026-01-01', '2026-01-01', '{}')"
            ),
            {"id": chat.hex if db.engine.dialect.name == "sqlite" else str(chat)},
        )
        rows = [
            ("complete", '{"prompt": 12, "completion": 34, "total": 46, "estimated": false}'),
            ("stopped", '{"prompt": 5.0, "completion": 2, "estimated": true}'),
            ("complete", '{"prompt": "many", "completion": null}'),
            ("error", "null"),
            ("complete", "[1, 2]"),
        ]
        for status, usage in rows:
            db.session.execute(
                text(
                    "INSERT INTO chat_messages (session_id, role, content, status, timestamp, "
                    "token_usage, stop_requested, metadata) VALUES (:s, 'assistant', '', :st, "
                    "'2026-01-01', :u, false, '{}')"
                ),
                {"s": chat.hex if db.engine.dialect.name == "sqlite" else str(chat), "st": status,
                 "u": usage},
            )  # fmt: skip
        db.session.commit()
        upgrade(revision=ADDED)
        got = db.session.execute(
            text(
                "SELECT prompt_tokens, completion_tokens, tokens_estimated, error_class "
                "FROM chat_messages ORDER BY id"
            )
        ).all()
        assert [tuple(r) for r in got] == [
            (12, 34, False, None),
            (5, 2, True, None),
            (None, None, None, None),
            (None, None, None, "unknown"),
            (None, None, None, None),
        ]
        db.session.rollback()  # end the read: the downgrade needs its locks
        downgrade(revision=BEFORE)  # and back: the columns and the table go away cleanly
        db.session.remove()
        db.engine.dispose()

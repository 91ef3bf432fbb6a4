"""Migration c5d8e1f2a3b4: every existing row goes to the local user, per-person settings move
to ``user_settings``, nothing is lost (and SQLite's search triggers survive the rebuilds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from calango import create_app
from calango.extensions import db
from config import TestConfig

BEFORE = "b4e2c7a9d1f3"
OWNERS = "c5d8e1f2a3b4"
NOW = "2026-01-01 00:00:00"
DAY = "2026-01-01"
OWNED = ("chat_sessions", "personas", "provider_calls", "import_jobs", "arena_rounds")
ROLLUPS = ("call_rollups", "call_speed_rollups")
TABLES = (
    *OWNED,
    *ROLLUPS,
    "chat_messages",
    "arena_contenders",
    "arena_votes",
    "providers",
    "settings",
    "user_settings",
    "users",
)
PERSONAL = {"theme": "ipe", "language": "pt_BR", "profile": {"name": "Ana"}}
INSTANCE = {"allow_local_providers": True}


def _insert(table: str, rows: list[dict[str, Any]]) -> None:
    columns = [sa.column(name) for name in rows[0]]
    db.session.execute(sa.table(table, *columns).insert(), rows)


def _uuid(n: int, postgresql: bool) -> str:
    text = f"{n:032x}"
    return (
        f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}" if postgresql else text
    )


def _fill(postgresql: bool) -> None:
    """Rows in every table the migration touches (two chats, a round, calls, rollups)."""
    chats = [_uuid(n, postgresql) for n in (1, 2, 3)]
    _insert(
        "personas",
        [
            {
                "id": 101,
                "name": "Old Cuca",
                "name_key": "old cuca",
                "prompt": "p",
                "created_at": NOW,
                "updated_at": NOW,
            },
            {
                "id": 102,
                "name": "Old Saci",
                "name_key": "old saci",
                "prompt": "p",
                "created_at": NOW,
                "updated_at": NOW,
            },
        ],
    )
    _insert(
        "chat_sessions",
        [
            {
                "id": chat,
                "title": f"chat {i}",
                "created_at": NOW,
                "updated_at": NOW,
                "kind": "arena" if i == 2 else "chat",
                "import_key": f"k{i}",
                "persona_id": 101,
            }
            for i, chat in enumerate(chats)
        ],
    )
    _insert(
        "chat_messages",
        [
            {
                "id": 10 * i + j,
                "session_id": chat,
                "role": role,
                "content": f"{role} words {i}",
                "status": "complete",
                "timestamp": NOW,
                "stop_requested": False,
            }
            for i, chat in enumerate(chats)
            for j, role in enumerate(("user", "assistant"))
        ],
    )
    _insert(
        "providers",
        [
            {
                "id": 1,
                "name": "Fake",
                "name_key": "fake",
                "kind": "openai",
                "models": "[]",
                "price_overrides": "{}",
                "enabled": True,
                "created_at": NOW,
                "updated_at": NOW,
            }
        ],
    )
    _insert(
        "arena_rounds",
        [{"id": 1, "title": "r", "blind": False, "turns": 1, "created_at": NOW, "updated_at": NOW}],
    )
    _insert(
        "arena_contenders",
        [
            {
                "round_id": 1,
                "slot": 0,
                "position": 0,
                "provider": "Fake",
                "model": "m",
                "session_id": chats[2],
            },
        ],
    )
    _insert(
        "arena_votes",
        [{"round_id": 1, "turn": 1, "outcome": "tie", "created_at": NOW}],
    )
    _insert(
        "provider_calls",
        [
            {
                "kind": "chat",
                "provider": "Fake",
                "model": "m",
                "status": "ok",
                "duration_ms": 5,
                "timestamp": NOW,
            }
            for _ in range(3)
        ],
    )
    _insert(
        "import_jobs",
        [
            {
                "id": _uuid(9, postgresql),
                "kind": "calango",
                "status": "done",
                "filename": "f",
                "done_bytes": 0,
                "created_at": NOW,
                "updated_at": NOW,
            }
        ],
    )
    key = {
        "grain": "d",
        "day": DAY,
        "kind": "chat",
        "provider": "Fake",
        "model": "m",
        "persona": "",
    }
    _insert(
        "call_rollups",
        [
            {
                **key,
                "status": "ok",
                "error_class": "",
                "calls": 3,
                "cost": 0,
                "prompt_tokens": 1,
                "completion_tokens": 2,
            }
        ],
    )
    speed = {f"{name}_{n:02d}": 0 for name in ("ttft", "tps") for n in range(86)}
    _insert("call_speed_rollups", [{**key, "calls": 3, **speed}])
    _insert(
        "settings",
        [{"key": k, "value": json.dumps(v)} for k, v in {**PERSONAL, **INSTANCE}.items()],
    )
    db.session.commit()


def _count(table: str) -> int:
    return db.session.scalar(sa.text(f"SELECT count(*) FROM {table}"))


def test_every_row_goes_to_the_local_user(empty_database_url: str, tmp_path: Path) -> None:
    app = create_app(TestConfig(empty_database_url, home=str(tmp_path)))
    with app.app_context():
        upgrade(revision=BEFORE)
        postgresql = db.engine.dialect.name == "postgresql"
        _fill(postgresql)
        before = {table: _count(table) for table in TABLES}
        local = db.session.scalar(sa.text("SELECT id FROM users WHERE is_local"))
        db.session.commit()  # PostgreSQL: no read locks held while the migration alters tables
        upgrade(revision=OWNERS)

        after = {table: _count(table) for table in TABLES}
        moved = len(PERSONAL)
        assert after == {
            **before,
            "settings": before["settings"] - moved,
            "user_settings": before["user_settings"] + moved,
        }
        for table in (*OWNED, *ROLLUPS):
            owners = db.session.scalars(sa.text(f"SELECT DISTINCT owner_id FROM {table}")).all()
            assert owners == [local], table
        rows = db.session.execute(
            sa.text("SELECT key, value FROM user_settings WHERE user_id = :u"), {"u": local}
        ).all()
        values = {key: value if postgresql else json.loads(value) for key, value in rows}
        assert values == PERSONAL
        left = db.session.scalars(sa.text("SELECT key FROM settings")).all()
        assert left == list(INSTANCE)

        # The rebuilt tables keep their search triggers (SQLite) and the new uniques hold.
        if not postgresql:
            _insert(
                "chat_messages",
                [
                    {
                        "session_id": _uuid(1, False),
                        "role": "user",
                        "content": "jabuticaba",
                        "status": "complete",
                        "timestamp": NOW,
                        "stop_requested": False,
                    }
                ],
            )
            db.session.commit()
            found = db.session.scalar(
                sa.text(
                    "SELECT count(*) FROM search_messages WHERE search_messages MATCH 'jabuticaba'"
                )
            )
            assert found == 1
        with pytest.raises(sa.exc.IntegrityError):
            _insert(
                "personas",
                [
                    {
                        "owner_id": local,
                        "is_shared": False,
                        "name": "OLD CUCA",
                        "name_key": "old cuca",
                        "prompt": "p",
                        "created_at": NOW,
                    }
                ],
            )
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def test_downgrade_refuses_while_another_user_owns_rows(
    empty_database_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    app = create_app(TestConfig(empty_database_url, home=str(tmp_path)))
    with app.app_context():
        upgrade(revision=OWNERS)
        postgresql = db.engine.dialect.name == "postgresql"
        _insert(
            "users",
            [
                {
                    "id": 50,
                    "email": "b@example.com",
                    "is_admin": False,
                    "is_active": True,
                    "is_local": False,
                    "session_epoch": 0,
                    "created_at": NOW,
                }
            ],
        )
        _insert(
            "chat_sessions",
            [
                {
                    "id": _uuid(5, postgresql),
                    "owner_id": 50,
                    "title": "b's",
                    "created_at": NOW,
                    "updated_at": NOW,
                    "kind": "chat",
                }
            ],
        )
        db.session.commit()
        with pytest.raises(SystemExit):  # Flask-Migrate reports the RuntimeError and exits
            downgrade(revision=BEFORE)
        assert "other users" in capfd.readouterr().err
        db.session.rollback()
        db.session.execute(sa.text("DELETE FROM chat_sessions"))
        db.session.commit()
        downgrade(revision=BEFORE)
        db.session.commit()
        assert "owner_id" not in {
            column["name"] for column in sa.inspect(db.engine).get_columns("chat_sessions")
        }
        db.session.remove()
        db.engine.dispose()

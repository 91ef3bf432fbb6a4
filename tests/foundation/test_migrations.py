"""Migrations that change data, run against a database holding rows from before them."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from calango import create_app
from calango.extensions import db
from config import TestConfig

BEFORE_NAME_KEYS = "304a8fa88e2d"


def _app(url: str, home: Path):
    return create_app(TestConfig(url, home=str(home)))


def _insert(table: str, rows: list[dict]) -> None:
    columns = [sa.column(name) for name in rows[0]]
    db.session.execute(sa.table(table, *columns).insert(), rows)
    db.session.commit()


def _names(table: str) -> list[tuple[str, str]]:
    query = sa.text(f"SELECT name, name_key FROM {table} ORDER BY id")
    return [tuple(row) for row in db.session.execute(query)]


def test_name_keys_are_filled_and_old_duplicates_renamed(empty_database_url, tmp_path, capfd):
    app = _app(empty_database_url, tmp_path)
    now = "2026-01-01 00:00:00"
    provider = {"kind": "openai", "models": "[]", "price_overrides": "{}", "enabled": True}
    with app.app_context():
        upgrade(revision=BEFORE_NAME_KEYS)
        _insert(
            "providers",
            [
                {"name": "ÇAJU", **provider, "created_at": now, "updated_at": now},
                {"name": "çaju", **provider, "created_at": now, "updated_at": now},
                {"name": "Çaju (2)", **provider, "created_at": now, "updated_at": now},
            ],
        )
        _insert(
            "personas",
            [
                {"name": "água viva", "prompt": "a", "created_at": now, "updated_at": now},
                {"name": "ÁGUA  VIVA", "prompt": "b", "created_at": now, "updated_at": now},
            ],
        )
        capfd.readouterr()
        upgrade()
        # The oldest keeps its name; a later one gets the first free number (2 was taken).
        assert _names("providers") == [
            ("ÇAJU", "çaju"),
            ("çaju (3)", "çaju (3)"),
            ("Çaju (2)", "çaju (2)"),
        ]
        assert _names("personas")[-2:] == [
            ("água viva", "água viva"),
            ("ÁGUA  VIVA (2)", "água viva (2)"),
        ]
        # Alembic's logging (alembic.ini) writes the warning to stderr for whoever upgrades.
        assert "renamed to 'çaju (3)'" in capfd.readouterr().err
        # Nothing was lost: every row and prompt is still there.
        prompts = db.session.execute(sa.text("SELECT prompt FROM personas ORDER BY id"))
        assert [p for (p,) in prompts][-2:] == ["a", "b"]
        db.session.remove()
        db.engine.dispose()


def test_every_migration_downgrades_and_upgrades_again(empty_database_url, tmp_path):
    app = _app(empty_database_url, tmp_path)
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"providers", "personas", "chat_sessions", "chat_messages"} <= tables
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("chat_messages")}
        assert "metadata" not in columns
        db.session.remove()
        db.engine.dispose()


def test_upgrading_a_filled_database_keeps_every_chat_and_message(empty_database_url, tmp_path):
    # SQLite batch migrations rebuild chat_sessions: with foreign keys on, dropping the old
    # table used to cascade-delete every message of every chat.
    app = _app(empty_database_url, tmp_path)
    now = "2026-01-01 00:00:00"
    with app.app_context():
        upgrade(revision=BEFORE_NAME_KEYS)
        chat_ids = [f"{n:032x}" for n in range(1, 4)]
        if db.engine.dialect.name == "postgresql":
            chat_ids = [f"{c[:8]}-{c[8:12]}-{c[12:16]}-{c[16:20]}-{c[20:]}" for c in chat_ids]
        _insert(
            "chat_sessions",
            [
                {
                    "id": c,
                    "title": f"chat {i}",
                    "created_at": now,
                    "updated_at": now,
                    "metadata": "{}",
                }
                for i, c in enumerate(chat_ids)
            ],
        )
        _insert(
            "chat_messages",
            [
                {
                    "session_id": c,
                    "role": role,
                    "content": f"{role} {i}",
                    "status": "complete",
                    "timestamp": now,
                    "stop_requested": False,
                    "metadata": "{}",
                    "token_usage": '{"prompt": 3, "completion": 5, "estimated": false}'
                    if role == "assistant"
                    else None,
                }
                for i, c in enumerate(chat_ids)
                for role in ("user", "assistant")
            ],
        )
        upgrade()
        assert db.session.scalar(sa.text("SELECT count(*) FROM chat_sessions")) == 3
        assert db.session.scalar(sa.text("SELECT count(*) FROM chat_messages")) == 6
        answers = db.session.execute(
            sa.text(
                "SELECT prompt_tokens, completion_tokens FROM chat_messages "
                "WHERE role = 'assistant' ORDER BY id"
            )
        ).all()
        assert [tuple(r) for r in answers] == [(3, 5)] * 3
        db.session.remove()
        db.engine.dispose()


BEFORE_PERSONA_IDS = "5128c4470a06"


def test_chats_get_the_id_of_the_persona_they_name(empty_database_url, tmp_path):
    app = _app(empty_database_url, tmp_path)
    now = "2026-01-01 00:00:00"
    with app.app_context():
        upgrade(revision=BEFORE_PERSONA_IDS)
        _insert(
            "personas",
            [{"name": "Pirate", "name_key": "pirate", "prompt": "Arr", "created_at": now,
              "updated_at": now}],
        )  # fmt: skip
        pirate = db.session.scalar(sa.text("SELECT id FROM personas WHERE name = 'Pirate'"))
        # Written with the name as it was (another case and spacing), one whose persona is
        # gone, and one without a persona.
        labels = ["Pirate", "  PIRATE ", "Deleted Long Ago", None]
        chat_ids = [f"{n:032x}" for n in range(1, len(labels) + 1)]
        if db.engine.dialect.name == "postgresql":
            chat_ids = [f"{c[:8]}-{c[8:12]}-{c[12:16]}-{c[16:20]}-{c[20:]}" for c in chat_ids]
        _insert(
            "chat_sessions",
            [
                {"id": c, "title": f"chat {i}", "persona": label, "created_at": now,
                 "updated_at": now}
                for i, (c, label) in enumerate(zip(chat_ids, labels, strict=True))
            ],
        )  # fmt: skip
        upgrade()
        rows = db.session.execute(
            sa.text("SELECT title, persona, persona_id FROM chat_sessions ORDER BY title")
        ).all()
        assert [tuple(r) for r in rows] == [
            ("chat 0", "Pirate", pirate),
            ("chat 1", "  PIRATE ", pirate),  # the label stays as it was written
            ("chat 2", "Deleted Long Ago", None),
            ("chat 3", None, None),
        ]
        if db.engine.dialect.name == "sqlite":
            # The search triggers on chat_sessions survived the table's rebuild.
            db.session.execute(sa.text("UPDATE chat_sessions SET title = 'renamed'"))
            db.session.commit()
            titles = db.session.scalars(sa.text("SELECT title FROM search_titles")).all()
            assert titles == ["renamed"] * 4
        # Deleting the persona detaches its chats instead of failing or deleting them.
        db.session.execute(sa.text("DELETE FROM personas WHERE id = :id"), {"id": pirate})
        db.session.commit()
        orphans = "SELECT count(*) FROM chat_sessions WHERE persona_id IS NULL"
        assert db.session.scalar(sa.text(orphans)) == 4
        db.session.remove()
        db.engine.dispose()


BEFORE_ARENA = "64bdd7a8eaa4"


def test_existing_sessions_are_chats_and_arena_sessions_leave_on_downgrade(
    empty_database_url, tmp_path
):
    app = _app(empty_database_url, tmp_path)
    now = "2026-01-01 00:00:00"
    with app.app_context():
        upgrade(revision=BEFORE_ARENA)
        ids = [f"{n:032x}" for n in (1, 2)]
        if db.engine.dialect.name == "postgresql":
            ids = [f"{c[:8]}-{c[8:12]}-{c[12:16]}-{c[16:20]}-{c[20:]}" for c in ids]
        _insert(
            "chat_sessions",
            [{"id": ids[0], "title": "old chat", "created_at": now, "updated_at": now}],
        )
        upgrade(revision="f0c072a47761")  # the arena's revision (before chats had owners)
        assert db.session.scalar(sa.text("SELECT kind FROM chat_sessions")) == "chat"
        _insert(
            "chat_sessions",
            [{"id": ids[1], "title": "arena", "created_at": now, "updated_at": now,
              "kind": "arena"}],
        )  # fmt: skip
        downgrade(revision=BEFORE_ARENA)
        titles = db.session.scalars(sa.text("SELECT title FROM chat_sessions")).all()
        assert titles == ["old chat"]  # the arena's session went with the arena
        if db.engine.dialect.name == "sqlite":
            # Neither direction rebuilt chat_sessions: its search triggers still work.
            db.session.execute(sa.text("UPDATE chat_sessions SET title = 'renamed'"))
            db.session.commit()
            found = db.session.scalars(sa.text("SELECT title FROM search_titles")).all()
            assert found == ["renamed"]


BEFORE_ROLLUP = "f0c072a47761"


def test_the_call_rollup_is_filled_from_the_recorded_calls(
    empty_database_url, tmp_path, monkeypatch
):
    # In São Paulo (UTC−3) an answer at 01:30 UTC belongs to the previous local day.
    monkeypatch.setenv("CALANGO_TIMEZONE", "America/Sao_Paulo")
    app = _app(empty_database_url, tmp_path)
    with app.app_context():
        upgrade(revision=BEFORE_ROLLUP)
        chat = "0" * 31 + "1"
        if db.engine.dialect.name == "postgresql":
            chat = f"{chat[:8]}-{chat[8:12]}-{chat[12:16]}-{chat[16:20]}-{chat[20:]}"
        _insert(
            "chat_sessions",
            [{"id": chat, "title": "t", "created_at": "2026-03-10 00:00:00",
              "updated_at": "2026-03-10 00:00:00"}],
        )  # fmt: skip
        answer = {
            "session_id": chat, "role": "assistant", "content": "a", "status": "complete",
            "provider": "OpenAI", "model": "gpt-4o", "persona": "P", "prompt_tokens": 100,
            "completion_tokens": 50, "cost": 0.01, "ttft_ms": 300, "total_ms": 1300,
            "stop_requested": False, "error_class": None,
        }  # fmt: skip
        _insert(
            "chat_messages",
            [
                {**answer, "timestamp": "2026-03-10 01:30:00"},
                {**answer, "timestamp": "2026-03-10 12:00:00", "cost": 0.02},
                {**answer, "timestamp": "2026-03-10 12:00:00", "status": "error",
                 "error_class": "auth", "prompt_tokens": None, "completion_tokens": None,
                 "cost": None, "ttft_ms": None, "total_ms": 100},
                # Still being written, and a question: not calls.
                {**answer, "timestamp": "2026-03-10 12:00:00", "status": "streaming"},
                {**answer, "timestamp": "2026-03-10 12:00:00", "role": "user", "provider": None},
            ],
        )  # fmt: skip
        _insert(
            "provider_calls",
            [{"kind": "test_connection", "provider": "OpenAI", "model": None,
              "status": "complete", "error_class": None, "duration_ms": 80,
              "timestamp": "2026-03-10 12:00:00"}],
        )  # fmt: skip
        upgrade()
        rows = db.session.execute(
            sa.text(
                "SELECT day, kind, provider, model, persona, status, error_class, calls, cost, "
                "prompt_tokens, completion_tokens FROM call_rollups WHERE grain = 'd' "
                "ORDER BY day, kind, status"
            )
        ).all()
        got = [(str(r[0]), *r[1:8], round(float(r[8]), 8), *r[9:]) for r in rows]
        assert got == [
            ("2026-03-09", "chat", "OpenAI", "gpt-4o", "P", "complete", "", 1, 0.01, 100, 50),
            ("2026-03-10", "chat", "OpenAI", "gpt-4o", "P", "complete", "", 1, 0.02, 100, 50),
            ("2026-03-10", "chat", "OpenAI", "gpt-4o", "P", "error", "auth", 1, 0.0, 0, 0),
            ("2026-03-10", "test_connection", "OpenAI", "", "", "complete", "", 1, 0.0, 0, 0),
        ]
        speeds = db.session.execute(
            sa.text(
                "SELECT day, calls, ttft_26, tps_40 FROM call_speed_rollups WHERE grain = 'd' "
                "ORDER BY day"
            )
        ).all()
        # 300 ms is in the bucket from 287 to 323 ms (calango.models.call_rollup.bucket_of),
        # 50 tokens in 1,000 ms in the one from 45.3 to 50.8 tokens/s; errors have no sample.
        assert [(str(d), *r) for d, *r in speeds] == [
            ("2026-03-09", 1, 1, 1),
            ("2026-03-10", 1, 1, 1),
        ]
        # The month's rows hold both days.
        month = db.session.execute(
            sa.text("SELECT day, sum(calls) FROM call_rollups WHERE grain = 'm' GROUP BY day")
        ).all()
        assert [(str(d), n) for d, n in month] == [("2026-03-01", 4)]
        state = db.session.execute(sa.text("SELECT version, zone FROM call_rollup_state")).all()
        assert [tuple(r) for r in state] == [(1, "America/Sao_Paulo")]
        # The app, configured for the same zone, reads it as it is (no rebuild needed) and the
        # rollup matches a fold of the rows.
        from calango.services import call_rollup

        with app.test_request_context():
            app.config["BABEL_DEFAULT_TIMEZONE"] = "America/Sao_Paulo"
            assert call_rollup.check() == []
            db.session.rollback()  # PostgreSQL: an open read would block the DROP below
        downgrade(revision=BEFORE_ROLLUP)
        names = set(sa.inspect(db.engine).get_table_names())
        assert not names & {"call_rollups", "call_speed_rollups", "call_rollup_state"}
        db.session.remove()
        db.engine.dispose()


BEFORE_LOCAL_RUNTIME = "d87c718a0a6d"


def test_known_local_runtimes_stay_free_and_other_local_addresses_do_not(
    empty_database_url, tmp_path
):
    app = _app(empty_database_url, tmp_path)
    now = "2026-01-01 00:00:00"
    providers = [
        ("Ollama", "http://localhost:11434/v1"),  # a runtime by name and port
        ("My box", "http://192.168.1.20:1234/v1"),  # LM Studio's port on the network
        ("vllm-gpu", "http://10.0.0.7:9000/v1"),  # by name
        ("Work proxy", "http://localhost:4000/v1"),  # a local proxy: not free any more
        ("OpenAI", None),
        ("ollama-cloud", "https://ollama.example.com/v1"),  # a runtime's name, not local
    ]
    with app.app_context():
        upgrade(revision=BEFORE_LOCAL_RUNTIME)
        _insert(
            "providers",
            [
                {"name": name, "name_key": name.lower(), "kind": "openai", "base_url": url,
                 "models": "[]", "price_overrides": "{}", "enabled": True, "created_at": now,
                 "updated_at": now}
                for name, url in providers
            ],
        )  # fmt: skip
        upgrade()
        rows = db.session.execute(
            sa.text("SELECT name, local_runtime FROM providers ORDER BY id")
        ).all()
        assert [(name, bool(local)) for name, local in rows] == [
            ("Ollama", True),
            ("My box", True),
            ("vllm-gpu", True),
            ("Work proxy", False),
            ("OpenAI", False),
            ("ollama-cloud", False),
        ]


BEFORE_TREE = "a7c3e1f95d20"


def test_every_chat_becomes_a_single_branch(empty_database_url, tmp_path):
    """Messages get the one before them (by time, then id) in their chat as parent; the
    chat page and the search index keep working on the rebuilt table."""
    app = _app(empty_database_url, tmp_path)
    with app.app_context():
        upgrade(revision=BEFORE_TREE)
        chat_ids = [f"{n:032x}" for n in (1, 2)]
        if db.engine.dialect.name == "postgresql":
            chat_ids = [f"{c[:8]}-{c[8:12]}-{c[12:16]}-{c[16:20]}-{c[20:]}" for c in chat_ids]
        now = "2026-01-01 00:00:00"
        _insert(
            "chat_sessions",
            [{"id": c, "title": f"chat {i}", "created_at": now, "updated_at": now}
             for i, c in enumerate(chat_ids)],
        )  # fmt: skip
        # Ids out of time order (as imports make them), two messages at the same second,
        # and the two chats interleaved.
        rows = [
            (10, 0, "2026-01-01 00:00:03", "third"),
            (11, 0, "2026-01-01 00:00:01", "first"),
            (12, 1, "2026-01-01 00:00:01", "other chat"),
            (13, 0, "2026-01-01 00:00:02", "second a"),
            (14, 0, "2026-01-01 00:00:02", "second b"),
            (15, 1, "2026-01-01 00:00:05", "other reply"),
        ]
        _insert(
            "chat_messages",
            [{"id": i, "session_id": chat_ids[c], "role": "user", "content": text,
              "status": "complete", "timestamp": when, "stop_requested": False}
             for i, c, when, text in rows],
        )  # fmt: skip
        upgrade()
        parents = dict(db.session.execute(sa.text("SELECT id, parent_id FROM chat_messages")).all())
        assert parents == {11: None, 13: 11, 14: 13, 10: 14, 12: None, 15: 12}
        leaves = db.session.scalars(sa.text("SELECT leaf_id FROM chat_sessions")).all()
        assert leaves == [None, None]  # the newest message: the end of the single branch
        if db.engine.dialect.name == "sqlite":
            # The search triggers on chat_messages survived the table's rebuild.
            db.session.execute(
                sa.text("UPDATE chat_messages SET content = 'lagarto' WHERE id = 10")
            )
            db.session.commit()
            found = db.session.scalars(
                sa.text("SELECT rowid FROM search_messages WHERE search_messages MATCH 'lagarto'")
            ).all()
            assert found == [10]
        # Deleting a message deletes what follows it (the foreign key cascades).
        db.session.execute(sa.text("DELETE FROM chat_messages WHERE id = 13"))
        db.session.commit()
        left = db.session.scalars(sa.text("SELECT id FROM chat_messages ORDER BY id")).all()
        assert left == [11, 12, 15]
        db.session.remove()  # a transaction still open would hold PostgreSQL's DDL lock
        downgrade(revision=BEFORE_TREE)
        db.session.remove()
        db.engine.dispose()

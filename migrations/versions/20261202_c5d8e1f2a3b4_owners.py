"""Every user's own data: ``owner_id`` on chats, personas, provider calls, imports and arena
rounds; per-person settings move to ``user_settings``.

Every existing row goes to the DESKTOP local user (created by b4e2c7a9d1f3), so nothing is
lost and DESKTOP runs the same code as SERVER. Messages, arena contenders and votes belong to
their chat or round (no column of their own).

- Unique names and import keys become unique per owner: two users may both have a persona
  "Tutor" and may both import the same legacy file (a message's import key is unique within
  its chat).
- ``personas.is_shared``: made by an admin for everyone.
- The call rollups gain ``owner_id`` as the first key column; their rows are the local
  user's (no rebuild needed).
- Per-person settings (theme, language, last choices, the profile, the built-in personas'
  language) move from ``settings`` to the local user's ``user_settings``.

SQLite: batch mode rebuilds chat_sessions and chat_messages, which drops the search triggers
on them (5128c4470a06); both directions create them again (row ids are kept, so the FTS
index stays valid). The downgrade refuses while other users own rows.

Revision ID: c5d8e1f2a3b4
Revises: b4e2c7a9d1f3
Create Date: 2026-12-02 12:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c5d8e1f2a3b4"
down_revision = "b4e2c7a9d1f3"
branch_labels = None
depends_on = None

OWNED = ("chat_sessions", "personas", "provider_calls", "import_jobs", "arena_rounds")
ROLLUPS = ("call_rollups", "call_speed_rollups")
PERSONAL_KEYS = (
    "theme",
    "language",
    "last_chat_choice",
    "last_arena_choice",
    "profile",
    "builtin_personas_language",
)

SQLITE_TRIGGERS = {
    "chat_messages": [
        """CREATE TRIGGER search_messages_ai AFTER INSERT ON chat_messages BEGIN
        INSERT INTO search_messages(rowid, content) VALUES (new.id, new.content);
    END""",
        """CREATE TRIGGER search_messages_ad AFTER DELETE ON chat_messages BEGIN
        INSERT INTO search_messages(search_messages, rowid, content)
        VALUES ('delete', old.id, old.content);
    END""",
        """CREATE TRIGGER search_messages_au AFTER UPDATE OF content ON chat_messages
    WHEN old.content IS NOT new.content BEGIN
        INSERT INTO search_messages(search_messages, rowid, content)
        VALUES ('delete', old.id, old.content);
        INSERT INTO search_messages(rowid, content) VALUES (new.id, new.content);
    END""",
    ],
    "chat_sessions": [
        """CREATE TRIGGER search_titles_ai AFTER INSERT ON chat_sessions BEGIN
        INSERT INTO search_titles(title, chat_id) VALUES (new.title, new.id);
    END""",
        """CREATE TRIGGER search_titles_ad AFTER DELETE ON chat_sessions BEGIN
        DELETE FROM search_titles WHERE chat_id = old.id;
    END""",
        """CREATE TRIGGER search_titles_au AFTER UPDATE OF title ON chat_sessions
    WHEN old.title IS NOT new.title BEGIN
        UPDATE search_titles SET title = new.title WHERE chat_id = old.id;
    END""",
    ],
}
TRIGGER_NAMES = {
    "chat_messages": ("search_messages_ai", "search_messages_ad", "search_messages_au"),
    "chat_sessions": ("search_titles_ai", "search_titles_ad", "search_titles_au"),
}


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def _drop_triggers(table):
    if _sqlite():
        for name in TRIGGER_NAMES[table]:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def _create_triggers(table):
    if _sqlite():
        for statement in SQLITE_TRIGGERS[table]:
            op.execute(statement)


def _local_user_id():
    local = op.get_bind().scalar(sa.text("SELECT id FROM users WHERE is_local ORDER BY id LIMIT 1"))
    if local is None:
        raise RuntimeError("The local user is missing (revision b4e2c7a9d1f3 creates it).")
    return local


def upgrade():
    local = _local_user_id()
    for table in OWNED:
        op.add_column(table, sa.Column("owner_id", sa.Integer(), nullable=True))
        op.execute(sa.text(f"UPDATE {table} SET owner_id = :local").bindparams(local=local))
    op.add_column(
        "personas", sa.Column("is_shared", sa.Boolean(), nullable=False, server_default=sa.false())
    )

    _drop_triggers("chat_sessions")
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.alter_column("owner_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_chat_sessions_owner_id_users"),
            "users",
            ["owner_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_chat_sessions_owner_id"), ["owner_id"], unique=False)
        batch_op.drop_constraint(batch_op.f("uq_chat_sessions_import_key"), type_="unique")
        batch_op.create_unique_constraint(
            "uq_chat_sessions_owner_id_import_key", ["owner_id", "import_key"]
        )
    _create_triggers("chat_sessions")

    _drop_triggers("chat_messages")
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_chat_messages_import_key"), type_="unique")
        batch_op.create_unique_constraint(
            "uq_chat_messages_session_id_import_key", ["session_id", "import_key"]
        )
    _create_triggers("chat_messages")

    for table in ("personas", "provider_calls", "import_jobs", "arena_rounds"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("owner_id", existing_type=sa.Integer(), nullable=False)
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_owner_id_users"),
                "users",
                ["owner_id"],
                ["id"],
                ondelete="CASCADE",
            )
            batch_op.create_index(batch_op.f(f"ix_{table}_owner_id"), ["owner_id"], unique=False)
            if table == "personas":
                batch_op.drop_constraint(batch_op.f("uq_personas_name_key"), type_="unique")
                batch_op.create_unique_constraint(
                    "uq_personas_owner_id_name_key", ["owner_id", "name_key"]
                )
            if table == "arena_rounds":
                batch_op.drop_constraint(batch_op.f("uq_arena_rounds_import_key"), type_="unique")
                batch_op.create_unique_constraint(
                    "uq_arena_rounds_owner_id_import_key", ["owner_id", "import_key"]
                )

    # Every call so far was the local user's: their rollup rows are the whole rollup.
    for table in ROLLUPS:
        op.add_column(table, sa.Column("owner_id", sa.Integer(), nullable=True))
        op.execute(sa.text(f"UPDATE {table} SET owner_id = :local").bindparams(local=local))
        _set_rollup_key(table, with_owner=True)

    keys = ", ".join(f"'{key}'" for key in PERSONAL_KEYS)
    op.execute(
        sa.text(
            "INSERT INTO user_settings (user_id, key, value) "
            f"SELECT :local, key, value FROM settings WHERE key IN ({keys})"
        ).bindparams(local=local)
    )
    op.execute(f"DELETE FROM settings WHERE key IN ({keys})")


def _rollup_key(table):
    key = ["grain", "day", "kind", "provider", "model", "persona"]
    return [*key, "status", "error_class"] if table == "call_rollups" else key


def _set_rollup_key(table, with_owner):
    key = _rollup_key(table)
    with op.batch_alter_table(table, schema=None, recreate="always") as batch_op:
        if with_owner:
            batch_op.alter_column("owner_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(f"pk_{table}", type_="primary")
        batch_op.create_primary_key(f"pk_{table}", ["owner_id", *key] if with_owner else key)
        if with_owner:
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_owner_id_users"),
                "users",
                ["owner_id"],
                ["id"],
                ondelete="CASCADE",
            )
        else:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_owner_id_users"), type_="foreignkey")
            batch_op.drop_column("owner_id")


def downgrade():
    bind = op.get_bind()
    local = _local_user_id()
    for table in OWNED:
        others = bind.scalar(
            sa.text(f"SELECT COUNT(*) FROM {table} WHERE owner_id <> :local").bindparams(
                local=local
            )
        )
        if others:
            raise RuntimeError(
                f"Cannot downgrade: {others} rows of {table} belong to other users than the "
                "local one; delete those users or hand their data to the local user first."
            )
    keys = ", ".join(f"'{key}'" for key in PERSONAL_KEYS)
    op.execute(
        sa.text(
            "INSERT INTO settings (key, value) SELECT key, value FROM user_settings "
            f"WHERE user_id = :local AND key IN ({keys})"
        ).bindparams(local=local)
    )
    for table in ROLLUPS:
        _set_rollup_key(table, with_owner=False)

    for table in ("arena_rounds", "import_jobs", "provider_calls", "personas"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "arena_rounds":
                batch_op.drop_constraint("uq_arena_rounds_owner_id_import_key", type_="unique")
                batch_op.create_unique_constraint(
                    batch_op.f("uq_arena_rounds_import_key"), ["import_key"]
                )
            if table == "personas":
                batch_op.drop_constraint("uq_personas_owner_id_name_key", type_="unique")
                batch_op.create_unique_constraint(batch_op.f("uq_personas_name_key"), ["name_key"])
                batch_op.drop_column("is_shared")
            batch_op.drop_index(batch_op.f(f"ix_{table}_owner_id"))
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_owner_id_users"), type_="foreignkey")
            batch_op.drop_column("owner_id")

    _drop_triggers("chat_messages")
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_chat_messages_session_id_import_key", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_chat_messages_import_key"), ["import_key"])
    _create_triggers("chat_messages")

    _drop_triggers("chat_sessions")
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_chat_sessions_owner_id_import_key", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_chat_sessions_import_key"), ["import_key"])
        batch_op.drop_index(batch_op.f("ix_chat_sessions_owner_id"))
        batch_op.drop_constraint(batch_op.f("fk_chat_sessions_owner_id_users"), type_="foreignkey")
        batch_op.drop_column("owner_id")
    _create_triggers("chat_sessions")

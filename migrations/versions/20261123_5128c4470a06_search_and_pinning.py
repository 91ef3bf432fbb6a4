"""History at scale: search indexes, pinned chats, keyset indexes.

Full-text search of messages and chat titles, ``chat_sessions.pinned_at``, an index for the
sidebar's keyset pages, and the chat index extended with ``id`` for a chat's message pages.

SQLite: two FTS5 tables (``unicode61 remove_diacritics 2``: "acao" finds "ação"), kept
current by triggers on every insert, content update (answers saved while streaming) and
delete, so any write path (the app, imports, bulk inserts, ON DELETE CASCADE) keeps them
right. ``search_messages`` is an external-content table over ``chat_messages`` (rowid = id);
``search_titles`` stores its own copy of titles keyed by chat id (a UUID table has no stable
rowid: VACUUM may renumber it).

PostgreSQL: a text search configuration ``calango_search`` (the language-neutral ``simple``
plus the ``unaccent`` dictionary), generated ``search_vector`` columns and GIN indexes. The
configuration is used instead of wrapping ``unaccent()`` in an IMMUTABLE function: both index
the same lexemes, but only a configuration lets ``ts_headline`` highlight the original,
accented text.

A later migration that makes SQLite batch mode *recreate* ``chat_messages`` or
``chat_sessions`` drops their triggers: it must create them again (tests/search checks they
exist at head).

Revision ID: 5128c4470a06
Revises: ce5717faab26
Create Date: 2026-11-23 15:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5128c4470a06"
down_revision = "ce5717faab26"
branch_labels = None
depends_on = None

SQLITE_UP = [
    """CREATE VIRTUAL TABLE search_messages USING fts5(
        content, content='chat_messages', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE VIRTUAL TABLE search_titles USING fts5(
        title, chat_id UNINDEXED, tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER search_messages_ai AFTER INSERT ON chat_messages BEGIN
        INSERT INTO search_messages(rowid, content) VALUES (new.id, new.content);
    END""",
    """CREATE TRIGGER search_messages_ad AFTER DELETE ON chat_messages BEGIN
        INSERT INTO search_messages(search_messages, rowid, content)
        VALUES ('delete', old.id, old.content);
    END""",
    # Heartbeats and status changes do not touch the index; only a changed text does.
    """CREATE TRIGGER search_messages_au AFTER UPDATE OF content ON chat_messages
    WHEN old.content IS NOT new.content BEGIN
        INSERT INTO search_messages(search_messages, rowid, content)
        VALUES ('delete', old.id, old.content);
        INSERT INTO search_messages(rowid, content) VALUES (new.id, new.content);
    END""",
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
    "INSERT INTO search_messages(search_messages) VALUES ('rebuild')",
    "INSERT INTO search_titles(title, chat_id) SELECT title, id FROM chat_sessions",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS search_titles_au",
    "DROP TRIGGER IF EXISTS search_titles_ad",
    "DROP TRIGGER IF EXISTS search_titles_ai",
    "DROP TRIGGER IF EXISTS search_messages_au",
    "DROP TRIGGER IF EXISTS search_messages_ad",
    "DROP TRIGGER IF EXISTS search_messages_ai",
    "DROP TABLE IF EXISTS search_titles",
    "DROP TABLE IF EXISTS search_messages",
]

POSTGRESQL_UP = [
    # Trusted since PostgreSQL 13: the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH CONFIGURATION calango_search (COPY = pg_catalog.simple)",
    """ALTER TEXT SEARCH CONFIGURATION calango_search
        ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple""",
    """ALTER TABLE chat_messages ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('calango_search'::regconfig, content)) STORED""",
    """CREATE INDEX ix_chat_messages_search_vector ON chat_messages
        USING gin (search_vector)""",
    """ALTER TABLE chat_sessions ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('calango_search'::regconfig, title)) STORED""",
    """CREATE INDEX ix_chat_sessions_search_vector ON chat_sessions
        USING gin (search_vector)""",
]

POSTGRESQL_DOWN = [
    "DROP INDEX IF EXISTS ix_chat_sessions_search_vector",
    "ALTER TABLE chat_sessions DROP COLUMN IF EXISTS search_vector",
    "DROP INDEX IF EXISTS ix_chat_messages_search_vector",
    "ALTER TABLE chat_messages DROP COLUMN IF EXISTS search_vector",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS calango_search",
    # The unaccent extension stays: other things in the database may use it.
]


def upgrade():
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pinned_at", sa.DateTime(), nullable=True))
        batch_op.drop_index("ix_chat_sessions_updated_at")
        batch_op.create_index("ix_chat_sessions_updated_at_id", ["updated_at", "id"], unique=False)

    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_messages_session_id_timestamp")
        batch_op.create_index(
            "ix_chat_messages_session_id_timestamp_id",
            ["session_id", "timestamp", "id"],
            unique=False,
        )

    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_UP, "postgresql": POSTGRESQL_UP}.get(dialect, [])
    for statement in statements:
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_DOWN, "postgresql": POSTGRESQL_DOWN}.get(dialect, [])
    for statement in statements:
        op.execute(statement)

    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_messages_session_id_timestamp_id")
        batch_op.create_index(
            "ix_chat_messages_session_id_timestamp", ["session_id", "timestamp"], unique=False
        )

    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_sessions_updated_at_id")
        batch_op.create_index("ix_chat_sessions_updated_at", ["updated_at"], unique=False)
        batch_op.drop_column("pinned_at")

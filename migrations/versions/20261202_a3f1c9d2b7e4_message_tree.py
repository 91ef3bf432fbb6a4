"""Messages form a tree: ``chat_messages.parent_id`` and ``chat_sessions.leaf_id``.

A regenerated answer or an edited question becomes a sibling of the earlier version (both
children of the same parent), so every version is kept. ``chat_sessions.leaf_id`` records the
last message of the branch the chat shows; NULL means the newest message of the chat.

Every existing chat becomes a single branch: each message's parent is the message before it
by (timestamp, id) in its chat, and every ``leaf_id`` stays NULL (the newest message, which
is the end of that single branch).

SQLite: the self-referencing foreign key makes batch mode rebuild ``chat_messages``, which
drops the search triggers on it (5128c4470a06); both directions create them again. Row ids
are kept by the rebuild, so the external-content FTS index stays valid. ``leaf_id`` is a plain
nullable column (no foreign key: the two tables would refer to each other), added without a
rebuild.

Revision ID: a3f1c9d2b7e4
Revises: a7c3e1f95d20
Create Date: 2026-12-02 03:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a3f1c9d2b7e4"
down_revision = "a7c3e1f95d20"
branch_labels = None
depends_on = None

FK_NAME = "fk_chat_messages_parent_id_chat_messages"
INDEX_NAME = "ix_chat_messages_parent_id"

# The search migration's (5128c4470a06) triggers on chat_messages, copied as they are there.
SQLITE_MESSAGE_TRIGGERS = [
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
]

# Each message's parent: the one before it in its chat by (timestamp, id). One statement,
# through the (session_id, timestamp, id) index, on both databases.
LINK_PARENTS = """
UPDATE chat_messages SET parent_id = (
    SELECT p.id FROM chat_messages AS p
    WHERE p.session_id = chat_messages.session_id
      AND (p.timestamp < chat_messages.timestamp
           OR (p.timestamp = chat_messages.timestamp AND p.id < chat_messages.id))
    ORDER BY p.timestamp DESC, p.id DESC
    LIMIT 1
)
"""


def _recreate_message_triggers() -> None:
    """SQLite: batch mode rebuilt chat_messages, which dropped the search triggers on it."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in ("search_messages_ai", "search_messages_ad", "search_messages_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in SQLITE_MESSAGE_TRIGGERS:
        op.execute(statement)


def upgrade():
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            FK_NAME, "chat_messages", ["parent_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index(INDEX_NAME, ["parent_id"], unique=False)
    _recreate_message_triggers()
    op.add_column("chat_sessions", sa.Column("leaf_id", sa.Integer(), nullable=True))
    op.execute(LINK_PARENTS)


def downgrade():
    op.drop_column("chat_sessions", "leaf_id")
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index(INDEX_NAME)
        batch_op.drop_constraint(FK_NAME, type_="foreignkey")
        batch_op.drop_column("parent_id")
    _recreate_message_triggers()

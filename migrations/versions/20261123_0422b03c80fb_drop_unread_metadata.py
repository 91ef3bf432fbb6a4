"""Drop the ``metadata`` columns of chat_sessions and chat_messages: nothing read them.

(The chat send wrote the last provider and model into chat_sessions.metadata; the composer
takes them from the chat's last assistant message instead.)

Revision ID: 0422b03c80fb
Revises: 42716f52aefe
Create Date: 2026-11-23 15:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0422b03c80fb"
down_revision = "42716f52aefe"
branch_labels = None
depends_on = None

TABLES = ("chat_sessions", "chat_messages")


def upgrade():
    for table_name in TABLES:
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.drop_column("metadata")


def downgrade():
    for table_name in TABLES:
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("metadata", sa.JSON(), nullable=False, server_default="{}")
            )

"""A spending cap per chat (issue #17 item 5).

- ``chat_sessions.spend_cap_usd``: the most the chat may spend, in USD; NULL follows the
  user's default cap (a ``user_settings`` row, no schema change).

A nullable column without a foreign key: SQLite adds it with ``ALTER TABLE ADD COLUMN`` and
rebuilds no table (the search triggers on chat_sessions stay); the downgrade drops it with
``ALTER TABLE DROP COLUMN`` (SQLite ≥ 3.35) for the same reason.

Revision ID: e1c4a7b2d9f0
Revises: 5c6e6795e497
Create Date: 2026-12-03 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e1c4a7b2d9f0"
down_revision = "5c6e6795e497"
branch_labels = None
depends_on = None


def upgrade():
    cap = sa.Column("spend_cap_usd", sa.Numeric(precision=12, scale=4), nullable=True)
    op.add_column("chat_sessions", cap)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE chat_sessions DROP COLUMN spend_cap_usd")
    else:
        op.drop_column("chat_sessions", "spend_cap_usd")

"""Richer personas, the "who I am" profile and per-chat model parameters.

- ``personas``: description, avatar (an emoji, or a PNG re-encoded by the app), traits,
  starter prompts, a default provider/model and default parameters.
- ``chat_sessions``: the chat's model parameters and its profile toggle.
- ``chat_messages``: the parameters an answer was sent with and whether the profile was.
- ``provider_calls``: tokens and cost, for calls that produce text (hatching a persona).

Every column is nullable and has no foreign key, so SQLite adds them with ``ALTER TABLE ADD
COLUMN`` and rebuilds no table (the search triggers on chat_messages/chat_sessions stay). The
downgrade drops columns with ``ALTER TABLE DROP COLUMN`` (SQLite ≥ 3.35) for the same reason.

Revision ID: d87c718a0a6d
Revises: 3f6a2c8d1e90
Create Date: 2026-12-02 03:02:40

"""

import sqlalchemy as sa
from alembic import op

revision = "d87c718a0a6d"
down_revision = "3f6a2c8d1e90"
branch_labels = None
depends_on = None

COLUMNS: dict[str, list[sa.Column]] = {
    "chat_messages": [
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("profile_sent", sa.Boolean(), nullable=True),
    ],
    "chat_sessions": [
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("profile_enabled", sa.Boolean(), nullable=True),
    ],
    "personas": [
        sa.Column("description", sa.String(length=300), nullable=True),
        sa.Column("avatar_emoji", sa.String(length=16), nullable=True),
        sa.Column("avatar_image", sa.LargeBinary(), nullable=True),
        sa.Column("has_avatar_image", sa.Boolean(), nullable=True),
        sa.Column("traits", sa.JSON(), nullable=True),
        sa.Column("starters", sa.JSON(), nullable=True),
        sa.Column("default_provider", sa.String(length=80), nullable=True),
        sa.Column("default_model", sa.String(length=200), nullable=True),
        sa.Column("params", sa.JSON(), nullable=True),
    ],
    "provider_calls": [
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("cost", sa.Numeric(precision=14, scale=8), nullable=True),
    ],
}


def upgrade():
    for table, columns in COLUMNS.items():
        for column in columns:
            op.add_column(table, column)


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in COLUMNS.items():
        for column in reversed(columns):
            if sqlite:
                op.execute(f"ALTER TABLE {table} DROP COLUMN {column.name}")
            else:
                op.drop_column(table, column.name)

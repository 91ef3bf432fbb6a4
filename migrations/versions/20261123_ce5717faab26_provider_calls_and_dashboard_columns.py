"""Provider calls and the dashboard's columns.

A new table records *Test connection* and *Fetch models*; chat answers keep their metrics on
their message and gain plain token columns (backfilled from the ``token_usage`` JSON) and an
``error_class``, so that the dashboard can aggregate them in SQL. Indexes for its queries.

Revision ID: ce5717faab26
Revises: 7c1e0d4a9b52
Create Date: 2026-11-23 15:02:17.254473

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "ce5717faab26"
down_revision = "7c1e0d4a9b52"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "provider_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=80), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_class", sa.String(length=40), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_calls")),
    )
    with op.batch_alter_table("provider_calls", schema=None) as batch_op:
        batch_op.create_index("ix_provider_calls_timestamp", ["timestamp"], unique=False)

    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prompt_tokens", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("completion_tokens", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("tokens_estimated", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("error_class", sa.String(length=40), nullable=True))
        batch_op.create_index(
            "ix_chat_messages_provider_model", ["provider", "model"], unique=False
        )
        batch_op.create_index(
            "ix_chat_messages_role_timestamp", ["role", "timestamp"], unique=False
        )

    _backfill()


def _backfill():
    """Copy token counts out of the JSON; only numbers and booleans are trusted."""
    if op.get_bind().dialect.name == "postgresql":

        def number(key):
            return (
                f"CASE WHEN json_typeof(token_usage->'{key}') = 'number' "
                f"THEN round((token_usage->>'{key}')::numeric)::integer END"
            )

        estimated = (
            "CASE WHEN json_typeof(token_usage->'estimated') = 'boolean' "
            "THEN (token_usage->>'estimated')::boolean END"
        )
        where = "token_usage IS NOT NULL AND json_typeof(token_usage) = 'object'"
    else:

        def number(key):
            return (
                f"CASE WHEN json_type(token_usage, '$.{key}') IN ('integer', 'real') "
                f"THEN CAST(round(json_extract(token_usage, '$.{key}')) AS INTEGER) END"
            )

        estimated = (
            "CASE WHEN json_type(token_usage, '$.estimated') IN ('true', 'false') "
            "THEN json_extract(token_usage, '$.estimated') END"
        )
        where = (
            "token_usage IS NOT NULL AND json_valid(token_usage) "
            "AND json_type(token_usage) = 'object'"
        )
    op.execute(
        f"UPDATE chat_messages SET prompt_tokens = {number('prompt')}, "
        f"completion_tokens = {number('completion')}, tokens_estimated = {estimated} "
        f"WHERE {where}"
    )
    # Older errors only kept their translated text: their class is unknown.
    op.execute("UPDATE chat_messages SET error_class = 'unknown' WHERE status = 'error'")


def downgrade():
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_messages_role_timestamp")
        batch_op.drop_index("ix_chat_messages_provider_model")
        batch_op.drop_column("error_class")
        batch_op.drop_column("tokens_estimated")
        batch_op.drop_column("completion_tokens")
        batch_op.drop_column("prompt_tokens")

    with op.batch_alter_table("provider_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_provider_calls_timestamp")

    op.drop_table("provider_calls")

"""A Rinha: arena rounds, their contenders and votes; ``chat_sessions.kind``.

Each contender's conversation is a chat session of kind ``arena`` (hidden from the chats);
every existing session is a ``chat``. The column is added with a constant default, which
SQLite does with ``ALTER TABLE ADD COLUMN``: no rebuild, so the search triggers on
``chat_sessions`` (5128c4470a06) stay. Downgrading drops it the same way (SQLite ≥ 3.35).

Revision ID: f0c072a47761
Revises: 64bdd7a8eaa4
Create Date: 2026-12-02 03:02:20

"""

import sqlalchemy as sa
from alembic import op

revision = "f0c072a47761"
down_revision = "64bdd7a8eaa4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "arena_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("blind", sa.Boolean(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("import_key", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arena_rounds")),
        sa.UniqueConstraint("import_key", name=op.f("uq_arena_rounds_import_key")),
    )
    with op.batch_alter_table("arena_rounds", schema=None) as batch_op:
        batch_op.create_index("ix_arena_rounds_created_at_id", ["created_at", "id"], unique=False)

    op.create_table(
        "arena_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("winner_slot", sa.SmallInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["arena_rounds.id"],
            name=op.f("fk_arena_votes_round_id_arena_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arena_votes")),
        sa.UniqueConstraint("round_id", "turn", name="uq_arena_votes_round_id_turn"),
    )
    with op.batch_alter_table("arena_votes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_arena_votes_created_at"), ["created_at"], unique=False)

    op.create_table(
        "arena_contenders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("provider", sa.String(length=80), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("persona", sa.String(length=80), nullable=True),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["arena_rounds.id"],
            name=op.f("fk_arena_contenders_round_id_arena_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["chat_sessions.id"],
            name=op.f("fk_arena_contenders_session_id_chat_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arena_contenders")),
        sa.UniqueConstraint("round_id", "slot", name="uq_arena_contenders_round_id_slot"),
        sa.UniqueConstraint("session_id", name=op.f("uq_arena_contenders_session_id")),
    )
    with op.batch_alter_table("arena_contenders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_arena_contenders_round_id"), ["round_id"], unique=False
        )

    # Plain ADD COLUMN (not batch mode): SQLite must not rebuild chat_sessions.
    op.add_column(
        "chat_sessions",
        sa.Column("kind", sa.String(length=16), server_default="chat", nullable=False),
    )


def downgrade() -> None:
    # Arena sessions would become chats: delete them first (their messages cascade).
    op.execute(
        "DELETE FROM chat_messages WHERE session_id IN "
        "(SELECT id FROM chat_sessions WHERE kind = 'arena')"
    )
    op.execute("DELETE FROM chat_sessions WHERE kind = 'arena'")
    if op.get_bind().dialect.name == "sqlite":
        # Native DROP COLUMN keeps the table and its search triggers.
        op.execute("ALTER TABLE chat_sessions DROP COLUMN kind")
    else:
        op.drop_column("chat_sessions", "kind")

    with op.batch_alter_table("arena_contenders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arena_contenders_round_id"))

    op.drop_table("arena_contenders")
    with op.batch_alter_table("arena_votes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arena_votes_created_at"))

    op.drop_table("arena_votes")
    with op.batch_alter_table("arena_rounds", schema=None) as batch_op:
        batch_op.drop_index("ix_arena_rounds_created_at_id")

    op.drop_table("arena_rounds")

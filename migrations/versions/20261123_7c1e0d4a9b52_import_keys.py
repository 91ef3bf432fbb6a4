"""Import keys on chats and messages (a second import of the same file recognises them);
import jobs (background imports a page follows).

Revision ID: 7c1e0d4a9b52
Revises: 0422b03c80fb
Create Date: 2026-11-23 15:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7c1e0d4a9b52"
down_revision = "0422b03c80fb"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=True),
        sa.Column("done_bytes", sa.BigInteger(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_key", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_chat_sessions_import_key"), ["import_key"])
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_key", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_chat_messages_import_key"), ["import_key"])


def downgrade():
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_chat_messages_import_key"), type_="unique")
        batch_op.drop_column("import_key")
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_chat_sessions_import_key"), type_="unique")
        batch_op.drop_column("import_key")
    op.drop_table("import_jobs")

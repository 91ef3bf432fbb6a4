"""Files and images attached to messages.

- ``stored_files``: one row per content (unique SHA-256 of the uploaded bytes) with the bytes
  served for download and, for text files and PDFs, the text sent to models.
- ``message_files``: a message's files (name as uploaded, position), deleted with the
  message; a stored file follows its links (the application deletes unlinked ones).
- ``chat_messages.file_count``: how many files a message has (NULL: none), so that sends and
  pages read the links only when there are some.

The new column is nullable, without a foreign key: SQLite adds it with ``ALTER TABLE ADD
COLUMN`` and rebuilds no table (the search triggers on chat_messages stay); the downgrade
drops it with ``ALTER TABLE DROP COLUMN`` (SQLite ≥ 3.35) for the same reason.

Revision ID: 5c6e6795e497
Revises: c5d8e1f2a3b4
Create Date: 2026-12-02 17:13:32

"""

import sqlalchemy as sa
from alembic import op

revision = "5c6e6795e497"
down_revision = "c5d8e1f2a3b4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stored_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_files")),
        sa.UniqueConstraint("sha256", name="uq_stored_files_sha256"),
    )
    op.create_table(
        "message_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["stored_files.id"],
            name=op.f("fk_message_files_file_id_stored_files"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["chat_messages.id"],
            name=op.f("fk_message_files_message_id_chat_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_files")),
        sa.UniqueConstraint("message_id", "position", name="uq_message_files_message_id_position"),
    )
    op.create_index(op.f("ix_message_files_file_id"), "message_files", ["file_id"], unique=False)
    op.add_column("chat_messages", sa.Column("file_count", sa.SmallInteger(), nullable=True))


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE chat_messages DROP COLUMN file_count")
    else:
        op.drop_column("chat_messages", "file_count")
    op.drop_index(op.f("ix_message_files_file_id"), table_name="message_files")
    op.drop_table("message_files")
    op.drop_table("stored_files")

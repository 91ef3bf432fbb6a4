"""Stored HTML of finished messages: ``chat_messages.content_html`` and its renderer version.

Opening a chat showed every message through Markdown, Pygments and nh3 on each view. A
finished message's text never changes, so its rendered, sanitised HTML is stored once
(``content_html``) with the version of the renderer that produced it
(``content_html_version``, ``calango.rendering.RENDER_VERSION``). Rows stored before this
migration, imported rows and rows rendered by an older renderer are rendered again on their
first display. Both columns are nullable: nothing to backfill here.

The columns are added with plain ``ALTER TABLE ... ADD COLUMN`` (no batch mode): on SQLite a
batch that recreated ``chat_messages`` would drop the search triggers of 5128c4470a06.

Revision ID: 9d3b61f0c2a7
Revises: 5128c4470a06
Create Date: 2026-11-23 16:25:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9d3b61f0c2a7"
down_revision = "5128c4470a06"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("chat_messages", sa.Column("content_html", sa.Text(), nullable=True))
    op.add_column(
        "chat_messages", sa.Column("content_html_version", sa.SmallInteger(), nullable=True)
    )


def downgrade():
    # SQLite >= 3.35 drops a column in place; neither column is used by a trigger or index.
    op.drop_column("chat_messages", "content_html_version")
    op.drop_column("chat_messages", "content_html")

"""Chats refer to their persona by id: ``chat_sessions.persona_id`` (ON DELETE SET NULL).

Renaming a persona used to detach its chats (they held only its name). The name column stays
as the historical label; the id is filled from it with the name rule (a chat written with
"pirate " belongs to the persona "Pirate"). Chats whose persona no longer exists keep a NULL
id, and the chat page says the persona was deleted.

SQLite: a foreign key makes batch mode rebuild ``chat_sessions``, which drops the search
triggers on it (5128c4470a06); both directions create them again. (``ALTER TABLE ADD COLUMN
... REFERENCES`` would avoid the rebuild, but SQLite reflection then loses the constraint's
name and ON DELETE, and ``flask db check`` reports drift.)

Revision ID: 64bdd7a8eaa4
Revises: 9d3b61f0c2a7
Create Date: 2026-11-23 16:30:00

"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "64bdd7a8eaa4"
down_revision = "9d3b61f0c2a7"
branch_labels = None
depends_on = None

FK_NAME = "fk_chat_sessions_persona_id_personas"
INDEX_NAME = "ix_chat_sessions_persona_id"

# The search migration's (5128c4470a06) triggers on chat_sessions, copied as they are there.
SQLITE_TITLE_TRIGGERS = [
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
]


def normalize_name(name: str) -> str:
    """A copy of calango.models.names.normalize_name as of this revision (migrations must not
    change when the application does)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())


def link_chats_to_personas() -> None:
    """Fill ``persona_id`` from each chat's persona name, compared under the name rule."""
    bind = op.get_bind()
    personas = sa.table("personas", sa.column("id", sa.Integer), sa.column("name_key"))
    chats = sa.table(
        "chat_sessions", sa.column("persona", sa.String), sa.column("persona_id", sa.Integer)
    )
    by_key = dict(bind.execute(sa.select(personas.c.name_key, personas.c.id)).all())
    # One UPDATE per distinct name written in chats: a handful, whatever the number of chats.
    names = bind.execute(
        sa.select(chats.c.persona).where(chats.c.persona.is_not(None)).distinct()
    ).scalars()
    for name in list(names):
        persona_id = by_key.get(normalize_name(name))
        if persona_id is not None:
            bind.execute(
                chats.update().where(chats.c.persona == name).values(persona_id=persona_id)
            )


def _recreate_title_triggers() -> None:
    """SQLite: batch mode rebuilt chat_sessions, which dropped the search triggers on it."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in ("search_titles_ai", "search_titles_ad", "search_titles_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in SQLITE_TITLE_TRIGGERS:
        op.execute(statement)


def upgrade():
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("persona_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            FK_NAME, "personas", ["persona_id"], ["id"], ondelete="SET NULL"
        )
        # Deleting a persona sets its chats' ids to NULL: found through this index.
        batch_op.create_index(INDEX_NAME, ["persona_id"], unique=False)
    _recreate_title_triggers()
    link_chats_to_personas()


def downgrade():
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.drop_index(INDEX_NAME)
        batch_op.drop_constraint(FK_NAME, type_="foreignkey")
        batch_op.drop_column("persona_id")
    _recreate_title_triggers()

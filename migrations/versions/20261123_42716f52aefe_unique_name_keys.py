"""Providers and personas get a normalised name (name_key) that carries the unique constraint.

``name_key`` is the name NFKC-normalised, case-folded and with its spaces collapsed, so
"ÇAJU" and "çaju", or "água viva" and "ÁGUA  VIVA", are one name on SQLite as on PostgreSQL.

Existing rows that collide under the new rule are kept, not refused: the oldest (lowest id)
keeps its name, the others get " (2)", " (3)"... and a warning names each rename. Chats keep
showing the name they were written with.

Revision ID: 42716f52aefe
Revises: 304a8fa88e2d
Create Date: 2026-11-23 15:40:00

"""

import logging
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "42716f52aefe"
down_revision = "304a8fa88e2d"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

TABLES = ("providers", "personas")
NAME_MAX = 80
NAME_KEY_MAX = 4 * NAME_MAX


def normalize_name(name: str) -> str:
    """A copy of calango.models.names.normalize_name as of this revision (migrations must not
    change when the application does)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())


def _free_name(name: str, taken: set[str]) -> str:
    number = 2
    while True:
        suffix = f" ({number})"
        candidate = name[: NAME_MAX - len(suffix)].rstrip() + suffix
        if normalize_name(candidate) not in taken:
            return candidate
        number += 1


def fill_name_keys(table_name: str) -> None:
    """Write every row's name_key; rename the later rows of a colliding group."""
    table = sa.table(
        table_name,
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("name_key", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(table.c.id, table.c.name).order_by(table.c.id)).all()
    first_by_key: dict[str, int] = {}
    for row in rows:
        first_by_key.setdefault(normalize_name(row.name), row.id)
    taken = set(first_by_key)
    for row in rows:
        name, key = row.name, normalize_name(row.name)
        if first_by_key[key] != row.id:
            name = _free_name(row.name, taken)
            key = normalize_name(name)
            log.warning(
                "%s: %r is the same name as an older row under the new name rule; renamed to %r",
                table_name,
                row.name,
                name,
            )
        taken.add(key)
        bind.execute(table.update().where(table.c.id == row.id).values(name=name, name_key=key))


def upgrade():
    for table_name in TABLES:
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("name_key", sa.String(NAME_KEY_MAX), nullable=True))
        fill_name_keys(table_name)
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.alter_column("name_key", existing_type=sa.String(NAME_KEY_MAX), nullable=False)
            batch_op.drop_constraint(f"uq_{table_name}_name", type_="unique")
            batch_op.create_unique_constraint(f"uq_{table_name}_name_key", ["name_key"])


def downgrade():
    for table_name in TABLES:
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{table_name}_name_key", type_="unique")
            batch_op.create_unique_constraint(f"uq_{table_name}_name", ["name"])
            batch_op.drop_column("name_key")

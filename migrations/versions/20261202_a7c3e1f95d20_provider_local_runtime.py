"""Providers say whether they are a local runtime: ``providers.local_runtime``.

Answers were costed $0.00 whenever the provider's address was local or private, which also
made a local proxy to a paid API look free. Now only a local runtime is free. Existing
providers that are one of the known runtimes (by name or default port on a local address:
Ollama, LM Studio, vLLM, llama.cpp) keep their $0.00; any other gets no price until the user
ticks "local runtime" or sets a price.

Plain ``ADD COLUMN`` with a server default: SQLite does not rebuild the table.

Revision ID: a7c3e1f95d20
Revises: d87c718a0a6d
Create Date: 2026-12-02 03:20:00

"""

import ipaddress
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "a7c3e1f95d20"
down_revision = "d87c718a0a6d"
branch_labels = None
depends_on = None

RUNTIME_NAMES = ("ollama", "lm studio", "lmstudio", "vllm", "llama.cpp", "llamacpp", "llamafile")
RUNTIME_PORTS = (11434, 1234, 8000, 8080)


def _local_host(host: str) -> bool:
    if host in ("localhost", "host.docker.internal") or host.endswith((".local", ".localhost")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def _is_runtime(name: str, base_url: str | None) -> bool:
    try:
        parts = urlsplit(base_url or "")
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return False
    if not host or not _local_host(host):
        return False
    lowered = (name or "").lower()
    return port in RUNTIME_PORTS or any(word in lowered for word in RUNTIME_NAMES)


def upgrade() -> None:
    op.add_column(
        "providers",
        sa.Column("local_runtime", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    providers = sa.table(
        "providers",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("base_url", sa.String),
        sa.column("local_runtime", sa.Boolean),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(providers.c.id, providers.c.name, providers.c.base_url))
    runtime_ids = [row.id for row in rows if _is_runtime(row.name, row.base_url)]
    if runtime_ids:
        bind.execute(
            providers.update()
            .where(providers.c.id.in_(runtime_ids))
            .values(local_runtime=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("providers") as batch_op:
        batch_op.drop_column("local_runtime")

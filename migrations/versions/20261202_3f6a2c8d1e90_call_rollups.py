"""A Cuca's rollup: recorded calls summed per local day and month, filled from existing rows.

Each call is counted in the row of its local day and in that of its local month (``grain``
"d" or "m"; a month row's ``day`` is the 1st). ``call_rollups`` holds the sums (calls, cost,
tokens) per grain, day, kind, provider, model, persona, status and error class;
``call_speed_rollups`` the histograms of time to first token and output tokens/s per grain,
day, kind, provider, model and persona (86 buckets each, six per doubling). Both are a
derived cache of ``chat_messages`` and ``provider_calls``; the app rebuilds them when their
definition or the time zone changes (``call_rollup_state``).

The fill folds the existing rows in Python, streamed: the local day needs the time zone
(``CALANGO_TIMEZONE``, UTC when unset), which SQLite cannot apply. The definition below is a
frozen copy of ``calango.models.call_rollup`` version 1 (migrations import no app code).

Revision ID: 3f6a2c8d1e90
Revises: f0c072a47761
Create Date: 2026-12-02 03:10:00

"""

import math
import os
from datetime import UTC
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op

revision = "3f6a2c8d1e90"
down_revision = "f0c072a47761"
branch_labels = None
depends_on = None

VERSION = 1
STEPS = 6
BUCKETS = 86
TTFT_FIRST_EDGE = 16.0
TPS_FIRST_EDGE = 0.5
TTFT = [f"ttft_{i:02d}" for i in range(BUCKETS)]
TPS = [f"tps_{i:02d}" for i in range(BUCKETS)]
KEY = ["grain", "day", "kind", "provider", "model", "persona", "status", "error_class"]
SPEED_KEY = KEY[:6]
BATCH = 5000


def _key_columns(with_status):
    columns = [
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=80), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("persona", sa.String(length=80), nullable=False),
    ]
    if with_status:
        columns += [
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("error_class", sa.String(length=40), nullable=False),
        ]
    return columns


def upgrade():
    op.create_table(
        "call_rollups",
        *_key_columns(True),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Numeric(precision=20, scale=8), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*KEY, name=op.f("pk_call_rollups")),
    )
    op.create_table(
        "call_speed_rollups",
        *_key_columns(False),
        sa.Column("calls", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in TTFT + TPS),
        sa.PrimaryKeyConstraint(*SPEED_KEY, name=op.f("pk_call_speed_rollups")),
    )
    op.create_table(
        "call_rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_rollup_state")),
    )
    _fill()


def _zone():
    try:
        return ZoneInfo((os.environ.get("CALANGO_TIMEZONE") or "").strip() or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _bucket(value, first_edge):
    if value < first_edge:
        return 0

    def edge(index):
        return first_edge * 2 ** ((index - 1) / STEPS)

    index = max(1, min(math.floor(math.log2(value / first_edge) * STEPS) + 1, BUCKETS - 1))
    while index > 1 and value < edge(index):
        index -= 1
    while index < BUCKETS - 1 and value >= edge(index + 1):
        index += 1
    return index


def _fill():
    bind = op.get_bind()
    zone = _zone()
    sums = {}
    speeds = {}

    def add(kind, ts, provider, model, persona, status, error_class, prompt, completion, cost,
            ttft, total):  # fmt: skip
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        day = ts.astimezone(zone).date()
        group = (kind, provider or "", model or "", persona or "", status, error_class or "")
        generating = total - ttft if total is not None and ttft is not None else None
        tps = (
            completion * 1000.0 / generating
            if completion and generating and generating > 0
            else None
        )
        for key in (("d", day, *group), ("m", day.replace(day=1), *group)):
            row = sums.setdefault(key, [0, Decimal(0), 0, 0])
            row[0] += 1
            row[1] += Decimal(str(cost or 0))
            row[2] += prompt or 0
            row[3] += completion or 0
            if ttft is None and tps is None:
                continue
            speed = speeds.setdefault(key[:6], [0] * (1 + 2 * BUCKETS))
            speed[0] += 1
            if ttft is not None:
                speed[1 + _bucket(ttft, TTFT_FIRST_EDGE)] += 1
            if tps is not None:
                speed[1 + BUCKETS + _bucket(tps, TPS_FIRST_EDGE)] += 1

    answers = sa.text(
        "SELECT timestamp, provider, model, persona, status, error_class, prompt_tokens, "
        "completion_tokens, cost, ttft_ms, total_ms FROM chat_messages "
        "WHERE role = 'assistant' AND status <> 'streaming'"
    ).columns(timestamp=sa.DateTime(), cost=sa.Numeric(14, 8))
    result = bind.execute(answers.execution_options(yield_per=BATCH))
    for r in result:
        add("chat", r.timestamp, r.provider, r.model, r.persona, r.status, r.error_class,
            r.prompt_tokens, r.completion_tokens, r.cost, r.ttft_ms, r.total_ms)  # fmt: skip
    others = sa.text(
        "SELECT kind, timestamp, provider, model, status, error_class, duration_ms "
        "FROM provider_calls"
    ).columns(timestamp=sa.DateTime())
    result = bind.execute(others.execution_options(yield_per=BATCH))
    for r in result:
        add(r.kind, r.timestamp, r.provider, r.model, None, r.status, r.error_class, None, None,
            None, None, r.duration_ms)  # fmt: skip

    sums_table = sa.table(
        "call_rollups",
        *(sa.column(c) for c in KEY),
        sa.column("calls"),
        sa.column("cost", sa.Numeric(20, 8)),
        sa.column("prompt_tokens"),
        sa.column("completion_tokens"),
    )
    speed_names = ["calls", *TTFT, *TPS]
    speed_table = sa.table(
        "call_speed_rollups",
        *(sa.column(c) for c in SPEED_KEY),
        *(sa.column(c) for c in speed_names),
    )
    sum_rows = [
        dict(zip(KEY, k, strict=True))
        | dict(zip(("calls", "cost", "prompt_tokens", "completion_tokens"), v, strict=True))
        for k, v in sums.items()
    ]
    speed_rows = [
        dict(zip(SPEED_KEY, k, strict=True)) | dict(zip(speed_names, v, strict=True))
        for k, v in speeds.items()
    ]
    for table, rows in ((sums_table, sum_rows), (speed_table, speed_rows)):
        for start in range(0, len(rows), BATCH):
            bind.execute(table.insert(), rows[start : start + BATCH])
    state = sa.table("call_rollup_state", sa.column("id"), sa.column("version"), sa.column("zone"))
    bind.execute(state.insert(), [{"id": 1, "version": VERSION, "zone": zone.key}])


def downgrade():
    op.drop_table("call_rollup_state")
    op.drop_table("call_speed_rollups")
    op.drop_table("call_rollups")

"""A Cuca's rollup: recorded calls summed per local day and month, a derived cache.

The raw rows (answers on ``chat_messages``, other calls on ``provider_calls``) stay the source
of truth; ``calango.services.call_rollup`` keeps these tables in step with them in the same
transaction as each write, and can rebuild them from scratch. Key columns are never NULL
(``""`` stands for "none") so that the primary key makes every group unique and the
maintenance can ``INSERT ... ON CONFLICT DO UPDATE``.

A new dimension (the owner of Server mode) is one more key column on both tables.

Percentiles come from fixed histograms on logarithmic buckets (``HISTOGRAM_STEPS`` per
doubling): bucket 0 holds values below the first edge, bucket ``i`` values in
``[edge(i - 1), edge(i))``, the last one values from the last edge up.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from calango.extensions import db

# Each call is counted twice: in its local day's row and in its local month's row (``day`` is
# then the 1st). A period reads the months it covers whole and the days at its ends, so "all"
# costs ~24 rows per group after two years instead of ~730.
DAY, MONTH = "d", "m"
GRAINS = (DAY, MONTH)

# Bumping this makes every database rebuild its rollup on the next read (a new definition).
ROLLUP_VERSION = 1

HISTOGRAM_STEPS = 6  # buckets per doubling: each is 2^(1/6) ≈ 12.2 % wide
HISTOGRAM_BUCKETS = 86  # 84 log buckets over 14 doublings, plus below and above
TTFT_FIRST_EDGE = 16.0  # ms; the last edge is 16 · 2^14 ms ≈ 262 s
TPS_FIRST_EDGE = 0.5  # output tokens per second; the last edge is 8,192 tokens/s
TTFT_COLUMNS = tuple(f"ttft_{i:02d}" for i in range(HISTOGRAM_BUCKETS))
TPS_COLUMNS = tuple(f"tps_{i:02d}" for i in range(HISTOGRAM_BUCKETS))


def bucket_edge(first_edge: float, index: int) -> float:
    """The lower bound of bucket ``index`` (≥ 1); bucket 0 starts at 0."""
    return first_edge * 2 ** ((index - 1) / HISTOGRAM_STEPS)


def bucket_of(value: float, first_edge: float) -> int:
    """The histogram bucket holding ``value``."""
    if value < first_edge:
        return 0
    index = math.floor(math.log2(value / first_edge) * HISTOGRAM_STEPS) + 1
    index = max(1, min(index, HISTOGRAM_BUCKETS - 1))
    # Guard against rounding at the exact edges.
    while index > 1 and value < bucket_edge(first_edge, index):
        index -= 1
    while index < HISTOGRAM_BUCKETS - 1 and value >= bucket_edge(first_edge, index + 1):
        index += 1
    return index


class CallRollup(db.Model):
    """Sums of the calls of one local day, kind, provider, model, persona, status and class."""

    __tablename__ = "call_rollups"

    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)  # GRAINS
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    provider: Mapped[str] = mapped_column(String(80), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    persona: Mapped[str] = mapped_column(String(80), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    error_class: Mapped[str] = mapped_column(String(40), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer)
    cost: Mapped[Decimal] = mapped_column(Numeric(20, 8))
    prompt_tokens: Mapped[int] = mapped_column(BigInteger)
    completion_tokens: Mapped[int] = mapped_column(BigInteger)


class CallSpeedRollup(db.Model):
    """Histograms of time to first token and output tokens/s of one local day, kind,
    provider, model and persona (status does not matter for speed)."""

    __tablename__ = "call_speed_rollups"

    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)  # GRAINS
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    provider: Mapped[str] = mapped_column(String(80), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    persona: Mapped[str] = mapped_column(String(80), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer)  # calls with a sample; 0 rows are pruned
    for _name in (*TTFT_COLUMNS, *TPS_COLUMNS):
        locals()[_name] = mapped_column(Integer, default=0, nullable=False)
    del _name


class CallRollupState(db.Model):
    """What the rollup was built for (one row): a different version or time zone than the
    running app's means it must be rebuilt."""

    __tablename__ = "call_rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    zone: Mapped[str] = mapped_column(String(64))


KEY = ("owner_id", "grain", "day", "kind", "provider", "model", "persona", "status", "error_class")
SPEED_KEY = KEY[:7]

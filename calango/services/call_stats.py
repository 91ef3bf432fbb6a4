"""The dashboard's aggregate queries over recorded calls (``call_query.calls``).

Everything is grouped by the database; Python only folds the few hundred grouped rows into
chart series. Percentiles use ``percentile_cont`` on PostgreSQL and, on SQLite (which has no
percentile function), the same linear interpolation computed with ``ROW_NUMBER`` windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, Integer, and_, case, cast, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from calango.extensions import db
from calango.models import MessageStatus
from calango.services.call_query import CallFilter, calls
from calango.services.local_time import Period, local_bucket


@dataclass
class Totals:
    """Sums over a period."""

    cost: Decimal = Decimal(0)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    errors: int = 0
    ttft_median: float | None = None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None


@dataclass
class Fact:
    """One group of calls: a bucket, provider, model, kind, status and error class."""

    bucket: str
    provider: str | None
    model: str | None
    kind: str
    status: str
    error_class: str | None
    calls: int
    cost: Decimal
    prompt_tokens: int
    completion_tokens: int


@dataclass
class Speed:
    """Latency and throughput of one provider's model."""

    provider: str | None
    model: str | None
    calls: int
    ttft_median: float | None
    ttft_p95: float | None
    tps_median: float | None


def _money(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


def dialect() -> str:
    return db.engine.dialect.name


def percentile_select(
    source: Subquery,
    groups: list[ColumnElement[Any]],
    value: ColumnElement[Any],
    fractions: tuple[float, ...],
) -> Any:
    """``SELECT groups..., count, p(fraction)...`` of ``value`` (NULLs ignored), per group.

    Continuous percentiles (linear interpolation), like PostgreSQL's ``percentile_cont``.
    """
    if dialect() == "postgresql":
        return (
            select(
                *groups,
                func.count(value).label("n"),
                *(
                    func.percentile_cont(p).within_group(cast(value, Float)).label(f"p{i}")
                    for i, p in enumerate(fractions)
                ),
            )
            .select_from(source)
            .where(value.is_not(None))
            .group_by(*groups)
        )
    ranked = (
        select(
            *groups,
            value.label("v"),
            func.row_number().over(partition_by=groups or None, order_by=value).label("rn"),
            func.count().over(partition_by=groups or None).label("n"),
        )
        .select_from(source)
        .where(value.is_not(None))
        .subquery("ranked")
    )
    keys = [ranked.c[g.key] for g in groups]  # type: ignore[index]
    columns = []
    for i, p in enumerate(fractions):
        position = (ranked.c.n - 1) * p
        low = cast(position, Integer)  # floor: positions are never negative
        weight = position - low
        columns.append(
            func.sum(
                case(
                    (ranked.c.rn - 1 == low, ranked.c.v * (1 - weight)),
                    (ranked.c.rn - 1 == low + 1, ranked.c.v * weight),
                    else_=0,
                )
            ).label(f"p{i}")
        )
    return select(*keys, func.max(ranked.c.n).label("n"), *columns).group_by(*keys)


def _span(f: CallFilter) -> tuple[datetime, datetime]:
    """The instants a query can see, for SQLite's offset table."""
    from calango.models import ChatMessage, ProviderCall
    from calango.models.types import utcnow

    start, end = f.start, f.end
    if start is None or end is None:
        lows = [
            db.session.scalar(select(func.min(ChatMessage.timestamp))),
            db.session.scalar(select(func.min(ProviderCall.timestamp))),
        ]
        highs = [
            db.session.scalar(select(func.max(ChatMessage.timestamp))),
            db.session.scalar(select(func.max(ProviderCall.timestamp))),
        ]
        now = utcnow()
        start = start or min((x for x in lows if x is not None), default=now)
        end = end or max([now, *(x for x in highs if x is not None)])
    return start, end


def totals(current: CallFilter, previous: CallFilter | None) -> tuple[Totals, Totals | None]:
    """Totals of the current period and, when given, of the previous one (one scan)."""
    span = current if previous is None else current.with_range(previous.start, current.end)
    sub = calls(span)
    groups: list[ColumnElement[Any]] = []
    if previous is not None:
        groups = [case((sub.c.ts >= current.start, "current"), else_="previous").label("period")]
    is_error = case((sub.c.status == MessageStatus.ERROR, 1), else_=0)
    query = select(
        *groups,
        func.coalesce(func.sum(sub.c.cost), 0),
        func.coalesce(func.sum(sub.c.prompt_tokens), 0),
        func.coalesce(func.sum(sub.c.completion_tokens), 0),
        func.count(),
        func.coalesce(func.sum(is_error), 0),
    ).group_by(*groups)
    found: dict[str, Totals] = {}
    for row in db.session.execute(query):
        values = tuple(row)[len(groups) :]
        if not values[3]:
            continue  # no group by and no rows: one row of zeros
        key = row.period if groups else "current"
        found[key] = Totals(_money(values[0]), *(int(v) for v in values[1:]))
    for row in db.session.execute(percentile_select(sub, groups, sub.c.ttft_ms, (0.5,))):
        found.setdefault(row.period if groups else "current", Totals()).ttft_median = row.p0
    current_totals = found.get("current", Totals())
    return current_totals, None if previous is None else found.get("previous", Totals())


def facts(f: CallFilter, period: Period) -> list[Fact]:
    """Calls grouped by local bucket (day or month), provider, model, kind, status, class."""
    sub = calls(f)
    bucket = local_bucket(sub.c.ts, dialect(), period.zone, _span(f), period.monthly)
    bucket = bucket.label("bucket")
    groups = [bucket, sub.c.provider, sub.c.model, sub.c.kind, sub.c.status, sub.c.error_class]
    query = select(
        *groups,
        func.count(),
        func.coalesce(func.sum(sub.c.cost), 0),
        func.coalesce(func.sum(sub.c.prompt_tokens), 0),
        func.coalesce(func.sum(sub.c.completion_tokens), 0),
    ).group_by(*groups)
    rows = db.session.execute(query)
    return [Fact(str(r[0]), *r[1:6], int(r[6]), _money(r[7]), int(r[8]), int(r[9])) for r in rows]


def speeds(f: CallFilter) -> list[Speed]:
    """Median and p95 time to first token and median output tokens/s, per provider model."""
    sub = calls(f)
    groups = [sub.c.provider, sub.c.model]
    generating = sub.c.total_ms - sub.c.ttft_ms
    tps = case(
        (
            and_(sub.c.completion_tokens > 0, generating > 0),
            cast(sub.c.completion_tokens, Float) * 1000.0 / generating,
        ),
        else_=None,
    )
    result: dict[tuple[Any, Any], Speed] = {}
    for row in db.session.execute(percentile_select(sub, groups, sub.c.ttft_ms, (0.5, 0.95))):
        result[(row.provider, row.model)] = Speed(
            row.provider, row.model, row.n, row.p0, row.p1, None
        )
    for row in db.session.execute(percentile_select(sub, groups, tps, (0.5,))):
        key = (row.provider, row.model)
        speed = result.setdefault(key, Speed(row.provider, row.model, row.n, None, None, None))
        speed.tps_median = row.p0
    return sorted(result.values(), key=lambda s: (s.ttft_median is None, s.ttft_median or 0))

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
    values: list[tuple[ColumnElement[Any], tuple[float, ...]]],
) -> Any:
    """``SELECT groups..., n0, p0_0, p0_1..., n1, p1_0...`` per group: for each value, how many
    rows have it and its continuous percentiles (linear interpolation, like PostgreSQL's
    ``percentile_cont``), NULLs ignored. All values are read in one pass over ``source``.
    """
    if dialect() == "postgresql":
        columns: list[Any] = []
        for v, (value, fractions) in enumerate(values):
            columns.append(func.count(value).label(f"n{v}"))
            columns.extend(
                func.percentile_cont(p).within_group(cast(value, Float)).label(f"p{v}_{i}")
                for i, p in enumerate(fractions)
            )
        return select(*groups, *columns).select_from(source).group_by(*groups)
    partition = groups or None
    ranks: list[Any] = []
    for v, (value, _fractions) in enumerate(values):
        ranks += [
            value.label(f"v{v}"),
            # NULLs sort last, so the ranks of the values run 1..n.
            func.row_number()
            .over(partition_by=partition, order_by=value.asc().nulls_last())
            .label(f"rn{v}"),
            func.count(value).over(partition_by=partition).label(f"n{v}"),
        ]
    ranked = select(*groups, *ranks).select_from(source).subquery("ranked")
    keys = [ranked.c[g.key] for g in groups]  # type: ignore[index]
    columns = []
    for v, (_value, fractions) in enumerate(values):
        n, rn, val = ranked.c[f"n{v}"], ranked.c[f"rn{v}"], ranked.c[f"v{v}"]
        columns.append(func.max(n).label(f"n{v}"))
        for i, p in enumerate(fractions):
            position = (n - 1) * p
            low = cast(position, Integer)  # floor: positions are never negative
            weight = position - low
            columns.append(
                func.sum(
                    case(
                        (and_(val.is_not(None), rn - 1 == low), val * (1 - weight)),
                        (and_(val.is_not(None), rn - 1 == low + 1), val * weight),
                        else_=None,
                    )
                ).label(f"p{v}_{i}")
            )
    return select(*keys, *columns).group_by(*keys)


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
    for row in db.session.execute(percentile_select(sub, groups, [(sub.c.ttft_ms, (0.5,))])):
        found.setdefault(row.period if groups else "current", Totals()).ttft_median = row.p0_0
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
    query = percentile_select(sub, groups, [(sub.c.ttft_ms, (0.5, 0.95)), (tps, (0.5,))])
    result = [
        Speed(row.provider, row.model, row.n0, row.p0_0, row.p0_1, row.p1_0)
        for row in db.session.execute(query)
        if row.n0 or row.n1
    ]
    return sorted(result, key=lambda s: (s.ttft_median is None, s.ttft_median or 0))

"""The dashboard's aggregate queries, read from the rollup (``calango.models.call_rollup``).

Everything is grouped by the database over the rollup's rows (one per local day and group,
not one per call); Python only folds the few hundred grouped rows into chart series and turns
summed histogram counts into percentiles (``call_histogram``: within 12.2 % of exact).
The rollup's grain is the local day: a filter's instants are widened to whole local days,
which the periods of the page always are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from calango.extensions import db
from calango.models import MessageStatus
from calango.models.call_rollup import (
    DAY,
    MONTH,
    TPS_COLUMNS,
    TPS_FIRST_EDGE,
    TTFT_COLUMNS,
    TTFT_FIRST_EDGE,
    CallRollup,
    CallSpeedRollup,
)
from calango.services.call_histogram import percentiles
from calango.services.call_query import CallFilter
from calango.services.local_time import Period, user_zone


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


def _days(f: CallFilter) -> tuple[date | None, date | None]:
    """The local days ``f``'s instants fall on (``end`` is exclusive)."""
    zone = user_zone()
    first = f.start.astimezone(zone).date() if f.start is not None else None
    last = (f.end - timedelta(microseconds=1)).astimezone(zone).date() if f.end else None
    return first, last


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _range(table: Any, first: date | None, last: date | None, months: bool) -> Any:
    """The rollup rows that make up the local days ``first``–``last`` (``None``: unbounded),
    each counted once: with ``months``, the month rows of the months covered whole and the
    day rows of the days at either end; otherwise day rows only."""
    days = table.grain == DAY
    if not months:
        return and_(
            days,
            *([table.day >= first] if first else []),
            *([table.day <= last] if last else []),
        )
    # Whole months: from ``low`` (a 1st) up to, not including, ``high`` (a 1st).
    low = None if first is None else first if first.day == 1 else _next_month(first)
    high = (
        None
        if last is None
        else _next_month(last)
        if _next_month(last) - last == timedelta(days=1)
        else last.replace(day=1)
    )
    if low is not None and high is not None and low >= high:
        return _range(table, first, last, months=False)
    parts = [
        and_(
            table.grain == MONTH,
            *([table.day >= low] if low else []),
            *([table.day < high] if high else []),
        )
    ]
    if first is not None and low is not None and first < low:
        parts.append(and_(days, table.day >= first, table.day < low))
    if last is not None and high is not None and high <= last:
        parts.append(and_(days, table.day >= high, table.day <= last))
    return or_(*parts)


def _where(table: Any, f: CallFilter, months: bool = True) -> list[ColumnElement[bool]]:
    """``f`` as conditions on a rollup table's key columns (``""`` is "none")."""
    conditions: list[ColumnElement[bool]] = []
    if f.owner_id is not None:  # the first key column: each user's rows lie together
        conditions.append(table.owner_id == f.owner_id)
    conditions.append(_range(table, *_days(f), months))
    for name in ("provider", "model", "persona", "kind"):
        value = getattr(f, name)
        if value:
            conditions.append(getattr(table, name) == value)
    return conditions


def _or_none(value: str | None) -> str | None:
    return value or None


@cache
def _histogram_sums(table: Any, columns: tuple[str, ...]) -> tuple[Any, ...]:
    # Built once: ~170 expressions per query are otherwise rebuilt on every page view.
    return tuple(func.coalesce(func.sum(getattr(table, c)), 0) for c in columns)


def _periods(
    table: Any, current: CallFilter, previous: CallFilter | None
) -> tuple[list[ColumnElement[Any]], list[ColumnElement[bool]]]:
    """The ``period`` grouping ("current"/"previous") and the conditions for both periods
    (each row lies wholly in one of them: a month row is used only for a month inside one)."""
    if previous is None:
        return [], _where(table, current)
    now, before = and_(*_where(table, current)), and_(*_where(table, previous))
    return [case((now, "current"), else_="previous").label("period")], [or_(now, before)]


def totals(current: CallFilter, previous: CallFilter | None) -> tuple[Totals, Totals | None]:
    """Totals of the current period and, when given, of the previous one (one scan each of
    the two rollup tables)."""
    found: dict[str, Totals] = {}
    r = CallRollup
    groups, where = _periods(r, current, previous)
    is_error = case((r.status == MessageStatus.ERROR, r.calls), else_=0)
    query = (
        select(
            *groups,
            func.coalesce(func.sum(r.cost), 0),
            func.coalesce(func.sum(r.prompt_tokens), 0),
            func.coalesce(func.sum(r.completion_tokens), 0),
            func.coalesce(func.sum(r.calls), 0),
            func.coalesce(func.sum(is_error), 0),
        )
        .where(*where)
        .group_by(*groups)
    )
    for row in db.session.execute(query):
        values = tuple(row)[len(groups) :]
        if not values[3]:
            continue  # no group by and no rows: one row of zeros
        key = row.period if groups else "current"
        found[key] = Totals(_money(values[0]), *(int(v) for v in values[1:]))
    s = CallSpeedRollup
    groups, where = _periods(s, current, previous)
    query = select(*groups, *_histogram_sums(s, TTFT_COLUMNS)).where(*where).group_by(*groups)
    for row in db.session.execute(query):
        counts = tuple(row)[len(groups) :]
        median = percentiles(counts, TTFT_FIRST_EDGE, (0.5,))[0]
        if median is not None:
            key = row.period if groups else "current"
            found.setdefault(key, Totals()).ttft_median = median
    current_totals = found.get("current", Totals())
    return current_totals, None if previous is None else found.get("previous", Totals())


def _bucket(day: Any, monthly: bool) -> ColumnElement[str]:
    if dialect() == "postgresql":
        return func.to_char(day, "YYYY-MM" if monthly else "YYYY-MM-DD")
    return func.substr(day, 1, 7 if monthly else 10)


def facts(f: CallFilter, period: Period) -> list[Fact]:
    """Calls grouped by local bucket (day or month), provider, model, kind, status, class."""
    r = CallRollup
    bucket = _bucket(r.day, period.monthly).label("bucket")
    groups = [bucket, r.provider, r.model, r.kind, r.status, r.error_class]
    query = (
        select(
            *groups,
            func.sum(r.calls),
            func.coalesce(func.sum(r.cost), 0),
            func.coalesce(func.sum(r.prompt_tokens), 0),
            func.coalesce(func.sum(r.completion_tokens), 0),
        )
        .where(*_where(r, f, months=period.monthly))
        .group_by(*groups)
    )
    return [
        Fact(
            str(row[0]),
            _or_none(row[1]),
            _or_none(row[2]),
            row[3],
            row[4],
            _or_none(row[5]),
            int(row[6]),
            _money(row[7]),
            int(row[8]),
            int(row[9]),
        )
        for row in db.session.execute(query)
        if row[6]
    ]


def speeds(f: CallFilter) -> list[Speed]:
    """Median and p95 time to first token and median output tokens/s, per provider model."""
    s = CallSpeedRollup
    query = (
        select(
            s.provider,
            s.model,
            *_histogram_sums(s, TTFT_COLUMNS),
            *_histogram_sums(s, TPS_COLUMNS),
        )
        .where(*_where(s, f))
        .group_by(s.provider, s.model)
    )
    result = []
    width = len(TTFT_COLUMNS)
    for row in db.session.execute(query):
        ttft_counts = row[2 : 2 + width]
        median, p95 = percentiles(ttft_counts, TTFT_FIRST_EDGE, (0.5, 0.95))
        (tps,) = percentiles(row[2 + width :], TPS_FIRST_EDGE, (0.5,))
        if median is None and tps is None:
            continue
        n = sum(int(c) for c in ttft_counts)
        result.append(Speed(_or_none(row.provider), _or_none(row.model), n, median, p95, tps))
    return sorted(result, key=lambda s: (s.ttft_median is None, s.ttft_median or 0))

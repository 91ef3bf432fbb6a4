"""Periods and day buckets in the user's time zone, computed by the database.

The time zone is ``BABEL_DEFAULT_TIMEZONE`` (set with ``CALANGO_TIMEZONE``). PostgreSQL converts
with ``AT TIME ZONE``. SQLite knows no time zones, so the UTC offset is given as a ``CASE`` over
the zone's transitions inside the period: each row is shifted by the offset in force at its
instant, which stays right across DST changes (a bucket never mixes two local days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import case, func, literal
from sqlalchemy.sql.elements import ColumnElement

from calango.models.types import utcnow

PERIODS = ("7d", "30d", "this_month", "last_month", "all", "custom")
DEFAULT_PERIOD = "30d"
MONTHLY_AFTER_DAYS = 92  # longer periods are charted per month, not per day


def user_zone() -> ZoneInfo:
    """The configured time zone."""
    return ZoneInfo(str(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC"))


@dataclass(frozen=True)
class Period:
    """A half-open range of local days ``[first, last + 1 day)``; ``None`` ends mean "all"."""

    first: date | None
    last: date | None
    zone: ZoneInfo

    @property
    def start(self) -> datetime | None:
        """Inclusive start in UTC."""
        return _utc_midnight(self.first, self.zone) if self.first else None

    @property
    def end(self) -> datetime | None:
        """Exclusive end in UTC."""
        return _utc_midnight(self.last + timedelta(days=1), self.zone) if self.last else None

    @property
    def days(self) -> int | None:
        if self.first is None or self.last is None:
            return None
        return (self.last - self.first).days + 1

    @property
    def monthly(self) -> bool:
        """Whether charts bucket this period by month rather than by day."""
        return self.days is None or self.days > MONTHLY_AFTER_DAYS

    def previous(self) -> Period | None:
        """The period of the same length just before (the previous month for a month)."""
        if self.first is None or self.last is None:
            return None
        if self.first.day == 1 and (self.last + timedelta(days=1)).day == 1:
            months = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month
            first = _add_months(self.first, -(months + 1))
            return Period(first, self.first - timedelta(days=1), self.zone)
        length = self.last - self.first + timedelta(days=1)
        return Period(self.first - length, self.first - timedelta(days=1), self.zone)


def _utc_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def local_today(zone: ZoneInfo, now: datetime | None = None) -> date:
    """Today's date in ``zone``."""
    return (now or utcnow()).astimezone(zone).date()


def resolve_period(
    name: str,
    zone: ZoneInfo,
    first: date | None = None,
    last: date | None = None,
    now: datetime | None = None,
) -> Period:
    """The local days a named period covers (``custom`` uses ``first`` and ``last``)."""
    today = local_today(zone, now)
    if name == "7d":
        return Period(today - timedelta(days=6), today, zone)
    if name == "this_month":
        return Period(today.replace(day=1), today, zone)
    if name == "last_month":
        this_month = today.replace(day=1)
        return Period(_add_months(this_month, -1), this_month - timedelta(days=1), zone)
    if name == "all":
        return Period(None, None, zone)
    if name == "custom":
        return Period(first, last, zone)
    return Period(today - timedelta(days=29), today, zone)


def offset_transitions(
    zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, int]]:
    """``[(from_utc, offset_seconds), ...]``: the offset in force from each instant on.

    The first entry starts at ``start``; a new one begins at each change before ``end``.
    Days are scanned and a change is narrowed down to the second by bisection.
    """

    def offset(at: datetime) -> int:
        delta = at.astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    result = [(start, offset(start))]
    cursor = start
    while cursor < end:
        step = min(cursor + timedelta(days=1), end)
        if offset(step) != result[-1][1]:
            low, high = cursor, step  # offset(low) is the old one, offset(high) the new one
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if offset(middle) == result[-1][1]:
                    low = middle
                else:
                    high = middle
            result.append((high.replace(microsecond=0), offset(high)))
        cursor = step
    return result


def local_bucket(
    column: Any,
    dialect: str,
    zone: ZoneInfo,
    span: tuple[datetime, datetime],
    monthly: bool = False,
) -> ColumnElement[str]:
    """The local day (``YYYY-MM-DD``) or month (``YYYY-MM``) of the UTC ``column``.

    ``span`` bounds the instants the query can see (used for SQLite's offset table).
    """
    if dialect == "postgresql":
        local = func.timezone(zone.key, func.timezone("UTC", column))
        return func.to_char(local, "YYYY-MM" if monthly else "YYYY-MM-DD")
    transitions = offset_transitions(zone, *span)
    if len(transitions) == 1:
        shift: Any = literal(f"{transitions[0][1]:+d} seconds")
    else:
        whens = [
            (column < transitions[i + 1][0], f"{transitions[i][1]:+d} seconds")
            for i in range(len(transitions) - 1)
        ]
        shift = case(*whens, else_=f"{transitions[-1][1]:+d} seconds")
    return func.strftime("%Y-%m" if monthly else "%Y-%m-%d", column, shift)


def bucket_labels(period_first: date, period_last: date, monthly: bool) -> list[str]:
    """Every bucket key of the period in order, so that empty days still show."""
    keys: list[str] = []
    if monthly:
        cursor = period_first.replace(day=1)
        while cursor <= period_last:
            keys.append(cursor.strftime("%Y-%m"))
            cursor = _add_months(cursor, 1)
        return keys
    cursor = period_first
    while cursor <= period_last:
        keys.append(cursor.isoformat())
        cursor += timedelta(days=1)
    return keys

"""The dashboard's log of calls: keyset pages and the streamed CSV of the filtered rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, String, and_, literal, or_, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from calango.extensions import db
from calango.models.types import UTCDateTime
from calango.services.call_query import COLUMNS, CallFilter, branches, calls

PAGE_SIZE = 50
CSV_BATCH = 2000


@dataclass(frozen=True)
class Cursor:
    """Where a log page starts: strictly after this (timestamp, kind, id) going back in time."""

    ts: datetime
    kind: str
    id: int

    def encode(self) -> str:
        return f"{self.ts.isoformat()}~{self.kind}~{self.id}"

    @staticmethod
    def decode(raw: str | None) -> Cursor | None:
        """A cursor from the query string, or ``None`` when it is missing or malformed."""
        if not raw or len(raw) > 120:
            return None
        try:
            ts_text, kind, id_text = raw.split("~")
            ts = datetime.fromisoformat(ts_text)
            if ts.tzinfo is None or len(kind) > 20:
                return None
            return Cursor(ts, kind, int(id_text))
        except ValueError:
            return None


@dataclass
class LogPage:
    """One page of calls, newest first, and the cursor of the next (older) page."""

    rows: list[Row[Any]]
    next_cursor: str | None


def _before(columns: Any, cursor: Cursor) -> ColumnElement[bool]:
    ts = literal(cursor.ts, UTCDateTime)
    kind = literal(cursor.kind, String(20))
    return or_(
        columns.ts < ts,
        and_(
            columns.ts == ts,
            or_(columns.kind < kind, and_(columns.kind == kind, columns.id < cursor.id)),
        ),
    )


def log_page(f: CallFilter, cursor: Cursor | None, size: int = PAGE_SIZE) -> LogPage:
    """Calls matching ``f`` older than ``cursor``.

    Each table is read in index order and cut to one page before the union, so a page costs
    the same on the first day as after two years.
    """
    parts = []
    for number, branch in enumerate(branches(f)):
        sub = branch.subquery(f"b{number}")
        query = select(sub)
        if cursor is not None:
            query = query.where(_before(sub.c, cursor))
        query = query.order_by(sub.c.ts.desc(), sub.c.kind.desc(), sub.c.id.desc()).limit(size + 1)
        parts.append(select(query.subquery(f"p{number}")))
    merged = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("page")
    rows = db.session.execute(
        select(merged)
        .order_by(merged.c.ts.desc(), merged.c.kind.desc(), merged.c.id.desc())
        .limit(size + 1)
    ).all()
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = Cursor(last.ts, last.kind, last.id).encode()
    return LogPage(rows, next_cursor)


def _cell(value: Any) -> Any:
    # Text a spreadsheet would run as a formula (model and persona names are user input).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# The owner (the last column) is the user downloading: not repeated on every line.
CSV_HEADER = ("time", *COLUMNS[:3], *COLUMNS[4:-1])


def csv_lines(f: CallFilter, zone: ZoneInfo) -> Iterator[str]:
    """The filtered calls as CSV text, oldest first, produced a batch at a time.

    Rows are streamed from a server-side cursor (``yield_per``): memory stays flat however
    many calls there are. Times are in ``zone`` with their UTC offset.
    """
    sub = calls(f)
    query = (
        select(sub).order_by(sub.c.ts, sub.c.kind, sub.c.id).execution_options(yield_per=CSV_BATCH)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    yield buffer.getvalue()
    result = db.session.execute(query)
    try:
        for batch in result.partitions():
            buffer.seek(0)
            buffer.truncate()
            for row in batch:
                writer.writerow(
                    [
                        row.ts.astimezone(zone).isoformat(timespec="seconds"),
                        row.kind,
                        row.id,
                        row.session_id.hex if row.session_id else "",
                        *(_cell(v) if v is not None else "" for v in row[4:-1]),
                    ]
                )
            yield buffer.getvalue()
    finally:
        result.close()

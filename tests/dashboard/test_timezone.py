"""Days and months are the user's, not UTC's: midnight and DST changes on both databases."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from calango.services.dashboard import DashboardFilters, overview
from calango.services.local_time import Period, offset_transitions, resolve_period
from config import TestConfig
from tests.dashboard.conftest import add_answer


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def buckets(app: Flask, first: date, last: date) -> Counter[str]:
    with app.test_request_context():
        view = overview(DashboardFilters(period="custom", first=first, last=last))
    counts: Counter[str] = Counter()
    for fact in view.facts:
        counts[fact.bucket] += fact.calls
    return counts


@pytest.mark.parametrize("zone", ["Europe/Berlin"])
def test_berlin_days_across_both_dst_changes(app_config: TestConfig, app: Flask, zone: str) -> None:
    app.config["BABEL_DEFAULT_TIMEZONE"] = zone
    # Spring forward on 2024-03-31 at 01:00 UTC (CET +1 -> CEST +2).
    add_answer(app, utc(2024, 3, 30, 22, 59))  # 23:59 on the 30th
    add_answer(app, utc(2024, 3, 30, 23, 0))  # 00:00 on the 31st
    add_answer(app, utc(2024, 3, 31, 21, 59))  # 23:59 CEST on the 31st
    add_answer(app, utc(2024, 3, 31, 22, 0))  # 00:00 on 1 April
    assert buckets(app, date(2024, 3, 30), date(2024, 4, 1)) == {
        "2024-03-30": 1,
        "2024-03-31": 2,
        "2024-04-01": 1,
    }
    # Fall back on 2024-10-27 at 01:00 UTC (CEST +2 -> CET +1): a 25-hour day.
    add_answer(app, utc(2024, 10, 26, 21, 59))  # 23:59 CEST on the 26th
    add_answer(app, utc(2024, 10, 26, 22, 0))  # 00:00 on the 27th
    add_answer(app, utc(2024, 10, 27, 0, 30))  # 02:30 CEST, the first of two 02:30s
    add_answer(app, utc(2024, 10, 27, 1, 30))  # 02:30 CET, the second
    add_answer(app, utc(2024, 10, 27, 22, 59))  # 23:59 CET on the 27th
    add_answer(app, utc(2024, 10, 27, 23, 0))  # 00:00 on the 28th
    assert buckets(app, date(2024, 10, 26), date(2024, 10, 28)) == {
        "2024-10-26": 1,
        "2024-10-27": 4,
        "2024-10-28": 1,
    }


def test_sao_paulo_historic_dst_and_the_missing_midnight(app: Flask) -> None:
    app.config["BABEL_DEFAULT_TIMEZONE"] = "America/Sao_Paulo"
    # 2018-11-04: clocks jumped from 00:00 to 01:00 (-03 -> -02); that day had no midnight.
    add_answer(app, utc(2018, 11, 4, 2, 59))  # 23:59 -03 on the 3rd
    add_answer(app, utc(2018, 11, 4, 3, 0))  # 01:00 -02 on the 4th
    add_answer(app, utc(2018, 11, 5, 1, 59))  # 23:59 -02 on the 4th
    add_answer(app, utc(2018, 11, 5, 2, 0))  # 00:00 on the 5th
    assert buckets(app, date(2018, 11, 3), date(2018, 11, 5)) == {
        "2018-11-03": 1,
        "2018-11-04": 2,
        "2018-11-05": 1,
    }
    # A day's totals start at local midnight too.
    with app.test_request_context():
        one_day = overview(
            DashboardFilters(period="custom", first=date(2018, 11, 4), last=date(2018, 11, 4))
        )
    assert one_day.totals.calls == 2


def test_all_time_is_charted_per_local_month(app: Flask) -> None:
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Europe/Berlin"
    add_answer(app, utc(2024, 10, 31, 22, 30))  # 23:30 CET on 31 October
    add_answer(app, utc(2024, 10, 31, 23, 30))  # 00:30 CET on 1 November
    with app.test_request_context():
        view = overview(DashboardFilters(period="all"))
    assert view.period.monthly
    assert sorted(f.bucket for f in view.facts) == ["2024-10", "2024-11"]


def test_offset_table_finds_each_change_to_the_second() -> None:
    zone = ZoneInfo("America/Sao_Paulo")
    changes = offset_transitions(zone, utc(2018, 1, 1), utc(2019, 3, 1))
    assert changes == [
        (utc(2018, 1, 1), -7200),
        (utc(2018, 2, 18, 2), -10800),
        (utc(2018, 11, 4, 3), -7200),
        (utc(2019, 2, 17, 2), -10800),
    ]
    assert offset_transitions(ZoneInfo("UTC"), utc(2020, 1, 1), utc(2024, 1, 1)) == [
        (utc(2020, 1, 1), 0)
    ]


def test_named_periods_and_their_previous_period() -> None:
    zone = ZoneInfo("America/Sao_Paulo")
    # 02:00 UTC on 1 March is still 28 February in São Paulo.
    now = utc(2026, 3, 1, 2, 0)
    assert resolve_period("this_month", zone, now=now) == Period(
        date(2026, 2, 1), date(2026, 2, 28), zone
    )
    last = resolve_period("last_month", zone, now=now)
    assert (last.first, last.last) == (date(2026, 1, 1), date(2026, 1, 31))
    assert (last.previous().first, last.previous().last) == (date(2025, 12, 1), date(2025, 12, 31))
    week = resolve_period("7d", zone, now=now)
    assert (week.first, week.last, week.days) == (date(2026, 2, 22), date(2026, 2, 28), 7)
    assert week.previous().last == date(2026, 2, 21)
    assert week.start == utc(2026, 2, 22, 3) and week.end - week.start == timedelta(days=7)
    assert resolve_period("all", zone).previous() is None


def test_the_time_zone_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from config import BaseConfig, ConfigError

    monkeypatch.setenv("CALANGO_TIMEZONE", "America/Sao_Paulo")
    assert BaseConfig().BABEL_DEFAULT_TIMEZONE == "America/Sao_Paulo"
    monkeypatch.setenv("CALANGO_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(ConfigError, match="CALANGO_TIMEZONE"):
        BaseConfig()
    monkeypatch.delenv("CALANGO_TIMEZONE")
    assert BaseConfig().BABEL_DEFAULT_TIMEZONE == "UTC"

"""The dashboard's figures against values computed by hand, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from flask import Flask

from calango.models import CallKind
from calango.services import call_stats
from calango.services.call_histogram import BUCKET_ERROR
from calango.services.call_query import CallFilter
from calango.services.dashboard import DashboardFilters, overview
from tests.dashboard.conftest import add_answer, add_call

NOW = datetime.now(UTC)


def near(exact: float) -> object:
    """Percentiles come from histogram buckets: within one bucket's width of ``exact``
    (12.2 %), which still tells apart the neighbouring values of these tests."""
    return pytest.approx(exact, rel=BUCKET_ERROR)


DAY = timedelta(days=1)


@pytest.fixture
def history(app: Flask) -> None:
    """Five answers and two other calls in the last week; two answers the week before."""
    base = NOW - 2 * DAY
    add_answer(app, base, cost="0.02", prompt=1000, completion=200, ttft_ms=100, total_ms=1100)
    add_answer(app, base, model="gpt-4o-mini", cost="0.005", prompt=400, completion=100,
               ttft_ms=300, total_ms=800)  # fmt: skip
    # A local model: tokens but nothing billed.
    add_answer(app, base, provider="Ollama", model="llama3", cost=None, prompt=500,
               completion=300, ttft_ms=500, total_ms=3500)  # fmt: skip
    # Refused before any token: no usage, no cost, no first token.
    add_answer(app, base, status="error", error_class="auth", prompt=None, completion=None,
               cost=None, ttft_ms=None, total_ms=150)  # fmt: skip
    # Stopped: estimated tokens, billed for what was streamed.
    add_answer(app, base, status="stopped", estimated=True, cost="0.001", prompt=80,
               completion=20, ttft_ms=700, total_ms=900)  # fmt: skip
    add_call(app, base, CallKind.TEST_CONNECTION, duration_ms=120)
    add_call(app, base, CallKind.FETCH_MODELS, status="error", error_class="timeout")
    earlier = NOW - 9 * DAY
    add_answer(app, earlier, cost="0.01", prompt=100, completion=50, ttft_ms=200)
    add_answer(app, earlier, cost="0.01", prompt=100, completion=50, ttft_ms=400)


def test_totals_and_change_against_previous_week(app: Flask, history: None) -> None:
    with app.test_request_context():
        view = overview(DashboardFilters(period="7d"))
    t = view.totals
    assert t.calls == 7
    assert t.cost == Decimal("0.026")  # calls without cost count as nothing, not as NULL
    assert (t.prompt_tokens, t.completion_tokens) == (1980, 620)
    assert t.errors == 2
    assert t.error_rate == pytest.approx(2 / 7)
    # First tokens: 100, 300, 500, 700 (errors and non-chat calls have none) -> median 400.
    assert t.ttft_median == near(400)
    previous = view.previous_totals
    assert previous is not None
    assert (previous.calls, previous.cost, previous.errors) == (2, Decimal("0.02"), 0)
    assert previous.ttft_median == near(300)


def test_speed_percentiles_per_model(app: Flask) -> None:
    base = NOW - DAY
    for ttft in (100, 200, 300, 400, 1000):
        add_answer(app, base, ttft_ms=ttft, total_ms=ttft + 1000, completion=50)
    add_answer(app, base, model="slow", ttft_ms=900, total_ms=2900, completion=100)
    with app.app_context():
        speeds = call_stats.speeds(CallFilter(start=NOW - 7 * DAY, end=NOW + DAY))
    by_model = {s.model: s for s in speeds}
    fast = by_model["gpt-4o"]
    assert fast.ttft_median == near(300)
    # percentile_cont: position 0.95 * 4 = 3.8 -> 400 + 0.8 * (1000 - 400) = 880.
    assert fast.ttft_p95 == near(880)
    assert fast.tps_median == near(50)  # 50 tokens in the 1000 ms after the first
    assert by_model["slow"].ttft_median == near(900)
    assert by_model["slow"].tps_median == near(50)
    assert [s.model for s in speeds] == ["gpt-4o", "slow"]  # fastest first


def test_facts_split_errors_by_class_and_kinds(app: Flask, history: None) -> None:
    with app.test_request_context():
        view = overview(DashboardFilters(period="7d"))
    errors = {(f.kind, f.error_class): f.calls for f in view.facts if f.status == "error"}
    assert errors == {("chat", "auth"): 1, ("fetch_models", "timeout"): 1}
    kinds = {f.kind for f in view.facts}
    assert kinds == {"chat", "test_connection", "fetch_models"}
    day = (NOW - 2 * DAY).date().isoformat()
    assert {f.bucket for f in view.facts} == {day}


def test_filters_narrow_every_figure(app: Flask, history: None) -> None:
    with app.test_request_context():
        ollama = overview(DashboardFilters(period="7d", provider="Ollama")).totals
        mini = overview(DashboardFilters(period="7d", model="gpt-4o-mini")).totals
        tests = overview(DashboardFilters(period="7d", kind="test_connection")).totals
        persona = overview(DashboardFilters(period="7d", persona="Calango (Default)")).totals
        nobody = overview(DashboardFilters(period="7d", persona="Nobody")).totals
    assert (ollama.calls, ollama.cost, ollama.completion_tokens) == (1, Decimal(0), 300)
    assert (mini.calls, mini.cost) == (1, Decimal("0.005"))
    assert (tests.calls, tests.errors, tests.ttft_median) == (1, 0, None)
    assert persona.calls == 5  # other calls have no persona
    assert nobody.calls == 0


def test_custom_range_and_all(app: Flask, history: None) -> None:
    ten_days_ago = (NOW - 10 * DAY).date()
    with app.test_request_context():
        custom = overview(
            DashboardFilters(period="custom", first=ten_days_ago, last=ten_days_ago + 2 * DAY)
        )
        everything = overview(DashboardFilters(period="all"))
    assert custom.totals.calls == 2
    assert custom.previous is not None and custom.previous.days == 3
    assert everything.totals.calls == 9
    assert everything.previous_totals is None


def test_an_empty_period_has_no_figures(app: Flask) -> None:
    with app.test_request_context():
        view = overview(DashboardFilters(period="last_month"))
    assert view.empty
    assert view.totals.calls == 0 and view.totals.ttft_median is None
    assert view.facts == [] and view.speeds == []
    assert view.period.first == date(view.period.first.year, view.period.first.month, 1)

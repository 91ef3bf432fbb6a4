"""A Cuca's rollup equals a fold of the raw rows, whatever happens to them, on both databases;
and its histogram percentiles stay within one bucket of the exact ones."""

from __future__ import annotations

import io
import random
import statistics
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, update

from calango.extensions import db
from calango.models import (
    ArenaContender,
    ArenaRound,
    ArenaVote,
    CallRollup,
    CallRollupState,
    CallSpeedRollup,
    ChatMessage,
    ChatSession,
    MessageStatus,
)
from calango.models.call_rollup import (
    HISTOGRAM_BUCKETS,
    ROLLUP_VERSION,
    TTFT_FIRST_EDGE,
    bucket_edge,
    bucket_of,
)
from calango.services import call_rollup, producer
from calango.services.call_histogram import BUCKET_ERROR, percentiles
from calango.services.call_query import CallFilter, calls
from calango.services.chat import delete_chat
from calango.services.dashboard import DashboardFilters, overview
from calango.services.generation import mark_abandoned_streams
from calango.services.imports.legacy import import_legacy
from tests.dashboard.conftest import add_answer, add_call
from tests.helpers import FAKE_MODEL, PRICES, add_provider, finish, messages_of, send, wait_until

SAMPLE = Path(__file__).parent.parent / "data" / "samples" / "calango.json"


# --- the histogram -------------------------------------------------------------------------


def test_each_value_falls_in_the_bucket_its_edges_say() -> None:
    assert bucket_of(0, TTFT_FIRST_EDGE) == bucket_of(15.9, TTFT_FIRST_EDGE) == 0
    for index in range(1, HISTOGRAM_BUCKETS):
        edge = bucket_edge(TTFT_FIRST_EDGE, index)
        assert bucket_of(edge, TTFT_FIRST_EDGE) == index
        assert bucket_of(edge * 0.9999, TTFT_FIRST_EDGE) == index - 1
    assert bucket_of(10**9, TTFT_FIRST_EDGE) == HISTOGRAM_BUCKETS - 1


def _exact(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@pytest.mark.parametrize("n", [1, 2, 5, 40, 3000])
@pytest.mark.parametrize("shape", ["lognormal", "uniform", "constant"])
def test_histogram_percentiles_are_within_one_bucket_of_exact(n: int, shape: str) -> None:
    rng = random.Random(n)
    draw = {
        "lognormal": lambda: rng.lognormvariate(6.2, 0.8),
        "uniform": lambda: rng.uniform(20, 9000),
        "constant": lambda: 431.0,
    }[shape]
    values = [draw() for _ in range(n)]
    counts = [0] * HISTOGRAM_BUCKETS
    for value in values:
        counts[bucket_of(value, TTFT_FIRST_EDGE)] += 1
    fractions = (0.05, 0.5, 0.95)
    for fraction, estimate in zip(
        fractions, percentiles(counts, TTFT_FIRST_EDGE, fractions), strict=True
    ):
        assert estimate == pytest.approx(_exact(values, fraction), rel=BUCKET_ERROR)
    if n >= 3000 and shape != "constant":  # many samples: far closer than the bound
        assert percentiles(counts, TTFT_FIRST_EDGE, (0.5,))[0] == pytest.approx(
            statistics.median(values), rel=BUCKET_ERROR / 3
        )


def test_an_empty_histogram_has_no_percentiles() -> None:
    assert percentiles([0] * HISTOGRAM_BUCKETS, TTFT_FIRST_EDGE, (0.5, 0.95)) == [None, None]


# --- the rollup against the raw rows ---------------------------------------------------------


def _raw_totals() -> tuple[int, Decimal, int, int]:
    """Calls, cost and tokens summed straight over the raw rows (the source of truth)."""
    sub = calls(CallFilter())
    row = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(sub.c.cost), 0),
            func.coalesce(func.sum(sub.c.prompt_tokens), 0),
            func.coalesce(func.sum(sub.c.completion_tokens), 0),
        )
    ).one()
    return int(row[0]), Decimal(str(row[1])).quantize(Decimal("1e-8")), int(row[2]), int(row[3])


def _page_totals() -> tuple[int, Decimal, int, int]:
    t = overview(DashboardFilters(period="all")).totals
    return t.calls, t.cost.quantize(Decimal("1e-8")), t.prompt_tokens, t.completion_tokens


def _snapshot() -> list[tuple[Any, ...]]:
    rows = db.session.execute(select(CallRollup.__table__)).mappings()
    return sorted(
        (
            *(str(v) if k == "day" else v for k, v in r.items() if k != "cost"),
            Decimal(str(r["cost"])).quantize(Decimal("1e-8")),
        )
        for r in rows
    )


@pytest.fixture
def fake_provider(app: Flask, fake: Any) -> int:
    provider = add_provider(
        app, "sk-fake-key-0001", name="Fake", kind="openai", base_url=fake.openai_base_url,
        models=[FAKE_MODEL], price_overrides=PRICES,
    )  # fmt: skip
    return provider.id


@pytest.fixture
def app_config(app_config: Any) -> Any:
    app_config.PROVIDER_MAX_RETRIES = 0
    return app_config


def test_the_rollup_follows_sends_errors_stops_imports_and_deletes(
    app: Flask, client: FlaskClient, csrf: str, fake: Any, fake_provider: int
) -> None:
    first = send(client, csrf, "one").get_json()["chat_id"]
    finish(app)
    send(client, csrf, "two", chat_id=first)
    finish(app)
    fake.script(status=401)
    failed = send(client, csrf, "refused").get_json()["chat_id"]
    finish(app)
    fake.script(chunks=[f"w{i} " for i in range(200)], delay=0.05)
    stopped = send(client, csrf, "slow").get_json()["chat_id"]
    answer_id = messages_of(app, stopped)[1].id
    wait_until(lambda: len(fake.requests) == 4)
    client.post(f"/chats/{stopped}/messages/{answer_id}/stop", data={"csrf_token": csrf})
    finish(app)
    fake.script()
    client.post(f"/settings/providers/{fake_provider}/test", data={"csrf_token": csrf})
    fake.script(status=429)
    client.post(f"/settings/providers/{fake_provider}/models", data={"csrf_token": csrf})
    with app.test_request_context():
        import_legacy(SAMPLE.read_bytes())
        # An answer whose producer died: the sweep marks it interrupted.
        chat = db.session.get(ChatSession, messages_of(app, failed)[0].session_id)
        assert chat is not None
        old = datetime.now(UTC) - timedelta(hours=1)
        db.session.add(
            ChatMessage(session_id=chat.id, role="assistant", content="cut", timestamp=old,
                        status=MessageStatus.STREAMING, provider="Fake", model=FAKE_MODEL,
                        heartbeat_at=old, prompt_tokens=7)
        )  # fmt: skip
        db.session.commit()
        assert mark_abandoned_streams() == 1

        assert call_rollup.check() == []
        statuses = {
            (r.kind, r.status): r.calls
            for r in db.session.scalars(select(CallRollup).where(CallRollup.grain == "d"))
            if r.provider == "Fake"
        }
        assert statuses == {
            ("chat", "complete"): 2, ("chat", "error"): 1, ("chat", "stopped"): 1,
            ("chat", "interrupted"): 1, ("test_connection", "complete"): 1,
            ("fetch_models", "error"): 1,
        }  # fmt: skip
        before = _raw_totals()
        assert _page_totals() == before

        # Deleting a chat takes its answers out of A Cuca, as a rebuild from the rows would.
        chat = db.session.get(ChatSession, messages_of(app, first)[0].session_id)
        delete_chat(chat)
        assert call_rollup.check() == []
        after = _raw_totals()
        assert after[0] == before[0] - 2
        assert _page_totals() == after

        kept = _snapshot()
        assert call_rollup.rebuild() == after[0]
        assert _snapshot() == kept


def test_a_final_save_over_an_interrupted_answer_counts_it_once(app: Flask) -> None:
    now = datetime.now(UTC)
    chat_id, message_id = add_answer(app, now, status="interrupted", prompt=None, cost=None,
                                     ttft_ms=None)  # fmt: skip
    with app.test_request_context():
        # The producer was only slow: its final save lands after the sweep. The row is not
        # streaming any more, so the final UPDATE of a streaming answer misses it and the
        # save takes the interrupted call out before counting the complete one.
        producer._write(
            message_id,
            {"status": "complete", "prompt_tokens": 10, "completion_tokens": 5, "ttft_ms": 250},
        )
        assert call_rollup.check() == []
        totals = overview(DashboardFilters(period="7d")).totals
    assert (totals.calls, totals.prompt_tokens) == (1, 10)
    assert totals.ttft_median == pytest.approx(250, rel=BUCKET_ERROR)
    del chat_id


def test_periods_read_whole_months_and_the_days_at_their_ends(app: Flask) -> None:
    days = [date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 15), date(2026, 1, 31),
            date(2026, 2, 1), date(2026, 2, 28), date(2026, 3, 1)]  # fmt: skip
    for number, day in enumerate(days):
        add_answer(app, datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
                   prompt=10**number, ttft_ms=100 * (number + 1))  # fmt: skip

    def prompt(first: date, last: date) -> int:
        view = overview(DashboardFilters(period="custom", first=first, last=last))
        return view.totals.prompt_tokens

    def expected(first: date, last: date) -> int:
        return sum(10**n for n, d in enumerate(days) if first <= d <= last)

    with app.test_request_context():
        for first, last in [
            (date(2025, 12, 31), date(2026, 3, 1)),  # two whole months and a day either side
            (date(2026, 1, 1), date(2026, 1, 31)),  # one whole month
            (date(2026, 1, 2), date(2026, 2, 28)),  # a whole month after partial one
            (date(2026, 1, 15), date(2026, 1, 15)),
            (date(2025, 12, 1), date(2026, 2, 27)),
        ]:
            assert prompt(first, last) == expected(first, last), (first, last)
        # The previous period of "January" is December: a month row in neither half twice.
        january = overview(
            DashboardFilters(period="custom", first=date(2026, 1, 1), last=date(2026, 1, 31))
        )
        assert january.previous_totals is not None
        assert january.previous_totals.prompt_tokens == 1
        everything = overview(DashboardFilters(period="all")).totals
        assert everything.prompt_tokens == sum(10**n for n in range(len(days)))
        assert everything.ttft_median == pytest.approx(400, rel=BUCKET_ERROR)


def test_a_new_time_zone_or_definition_rebuilds_the_rollup(app: Flask) -> None:
    # 01:30 UTC on 10 March is still 9 March in São Paulo (UTC−3).
    add_answer(app, datetime(2026, 3, 10, 1, 30, tzinfo=UTC))
    add_call(app, datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    ninth = DashboardFilters(period="custom", first=date(2026, 3, 9), last=date(2026, 3, 9))
    with app.test_request_context():
        assert overview(ninth).totals.calls == 0
        app.config["BABEL_DEFAULT_TIMEZONE"] = "America/Sao_Paulo"
        assert overview(ninth).totals.calls == 1
        assert call_rollup.built_for() == (ROLLUP_VERSION, "America/Sao_Paulo")
        # A rollup built by another definition is rebuilt too (here: a damaged one).
        db.session.execute(delete(CallRollup))
        db.session.execute(update(CallRollupState).values(version=ROLLUP_VERSION - 1))
        db.session.commit()
        assert overview(ninth).totals.calls == 1
        assert call_rollup.check() == []


def test_rebuild_stats_command_checks_and_rebuilds(app: Flask) -> None:
    add_answer(app, datetime.now(UTC) - timedelta(days=3))
    add_call(app, datetime.now(UTC))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["calango", "rebuild-stats", "--check"]).exit_code == 0
    with app.app_context():
        db.session.execute(delete(CallRollup).where(CallRollup.kind == "chat"))
        db.session.commit()
    damaged = runner.invoke(args=["calango", "rebuild-stats", "--check"])
    assert damaged.exit_code == 1 and "call_rollups" in damaged.output
    rebuilt = runner.invoke(args=["calango", "rebuild-stats"])
    assert rebuilt.exit_code == 0 and "from 2 calls" in rebuilt.output
    assert runner.invoke(args=["calango", "rebuild-stats", "--check"]).exit_code == 0


# --- A Rinha ---------------------------------------------------------------------------------


def _kinds() -> dict[tuple[str, str, str], int]:
    """The rollup's daily calls by kind, model and status."""
    rows = db.session.scalars(select(CallRollup).where(CallRollup.grain == "d"))
    found: dict[tuple[str, str, str], int] = {}
    for r in rows:
        found[(r.kind, r.model, r.status)] = found.get((r.kind, r.model, r.status), 0) + r.calls
    return found


def _consistent() -> None:
    assert call_rollup.check() == []
    assert _page_totals() == _raw_totals()


def test_the_rollup_follows_the_arena(
    app: Flask, client: FlaskClient, csrf: str, fake: Any, fake_provider: int
) -> None:
    from calango.services.exports.export import export_all
    from calango.services.imports.calango_export import import_calango_export
    from tests.arena.conftest import round_id_from, start_round

    with app.test_request_context():
        import_legacy(SAMPLE.read_bytes())  # its two rinha-mode records are a round
        _consistent()
        assert _kinds()[("arena", "gpt-4o", "complete")] == 1
        assert ("chat", "claude-sonnet-4-5", "complete") in _kinds()

    # A round whose third contender cannot be sent (a model the provider does not offer).
    fake_model = f"{fake_provider}:{FAKE_MODEL}"
    response = start_round(client, csrf, [fake_model, fake_model, f"{fake_provider}:gone"])
    first = round_id_from(response)
    finish(app)
    with app.test_request_context():
        _consistent()
        assert _kinds()[("arena", FAKE_MODEL, "complete")] == 2
        assert _kinds()[("arena", "gone", "error")] == 1
    client.post(f"/rinha/{first}/turns/0/vote", data={"csrf_token": csrf, "outcome": "winner:0"})
    # Continued in a chat, the conversation's answer is a chat call (in the rows and the sums).
    moved = client.post(f"/rinha/{first}/columns/0/continue", data={"csrf_token": csrf})
    assert moved.status_code == 303 and "/chats/" in moved.headers["Location"]
    with app.test_request_context():
        _consistent()
        assert _kinds()[("arena", FAKE_MODEL, "complete")] == 1
        assert _kinds()[("chat", FAKE_MODEL, "complete")] == 1

    second = round_id_from(start_round(client, csrf, [fake_model, f"{fake_provider}:gone"]))
    finish(app)
    with app.test_request_context():
        _consistent()
        assert _kinds()[("arena", "gone", "error")] == 2
    client.post(f"/rinha/{second}/delete", data={"csrf_token": csrf})
    with app.test_request_context():
        _consistent()
        assert _kinds()[("arena", "gone", "error")] == 1

        # Export everything, empty the database, import it back: the same sums.
        kept = _snapshot()
        exported = "".join(export_all()).encode()
        for model in (ArenaVote, ArenaContender, ArenaRound, ChatMessage, ChatSession):
            db.session.execute(delete(model))
        for model in (CallRollup, CallSpeedRollup):
            db.session.execute(delete(model))
        db.session.commit()
        import_calango_export(io.BytesIO(exported))
        _consistent()
        # (Test connection / Fetch models calls are not exported; here there are none.)
        assert _snapshot() == kept

    client.post("/rinha/clear", data={"csrf_token": csrf})
    with app.test_request_context():
        _consistent()
        assert not [k for k in _kinds() if k[0] == "arena"]
        assert _kinds()[("chat", FAKE_MODEL, "complete")] == 1  # the continued chat stays
        kept = _snapshot()
        call_rollup.rebuild()
        assert _snapshot() == kept


def test_forgotten_messages_leave_the_rollup_before_they_are_deleted(app: Flask) -> None:
    now = datetime.now(UTC)
    chat_id, kept_id = add_answer(app, now - timedelta(minutes=2))
    _chat, gone_id = add_answer(app, now - timedelta(minutes=1), cost="0.5", chat_id=chat_id)
    _chat, also_gone = add_answer(app, now, status="error", chat_id=chat_id)
    with app.app_context():
        call_rollup.rebuild()
        question = ChatMessage(session_id=chat_id, role="user", content="q", timestamp=now)
        db.session.add(question)
        db.session.commit()
        before = _raw_totals()
        # What "delete a message and what follows it" does: forget, then delete, one commit.
        doomed = [question.id, gone_id, also_gone]
        call_rollup.forget_messages(doomed)
        db.session.execute(delete(ChatMessage).where(ChatMessage.id.in_(doomed)))
        db.session.commit()
        assert call_rollup.check() == []
        after = _raw_totals()
        assert after[0] == before[0] - 2
        assert after[1] == before[1] - Decimal("0.51")
        assert _page_totals() == after
        assert db.session.get(ChatMessage, kept_id) is not None

"""Monthly budgets (issue #11 item 4): the month's spend summed in SQL, sends refused (402)
before the provider is called once the budget is reached, the header's line."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask, render_template
from flask.testing import FlaskClient
from flask_login import login_user

from calango.extensions import db
from calango.models import CallKind, ChatMessage, ChatSession, Provider, ProviderCall, Setting
from calango.models.chat import SessionKind
from calango.models.user import User
from calango.services import budgets
from calango.services.composer import model_value
from tests.accounts_helpers import make_user
from tests.arena.conftest import start_round
from tests.helpers import FAKE_MODEL, finish, messages_of, send

NOW = datetime.now(UTC)
LAST_MONTH = budgets.month_bounds(NOW)[0] - timedelta(days=3)


def spend(app: Flask, user: User, cost: str, *, when: datetime = NOW, kind: str = "chat") -> None:
    """A priced row of ``user`` at ``when``: an answer in a chat (``kind`` chat or arena) or a
    provider call of that kind."""
    with app.app_context():
        if kind in (SessionKind.CHAT, SessionKind.ARENA):
            chat = ChatSession(id=uuid.uuid4(), title="t", kind=kind, owner_id=user.id)
            db.session.add(chat)
            db.session.flush()
            db.session.add_all(
                [
                    ChatMessage(session_id=chat.id, role="user", content="q", timestamp=when),
                    ChatMessage(
                        session_id=chat.id,
                        role="assistant",
                        content="a",
                        timestamp=when,
                        cost=Decimal(cost),
                    ),
                ]
            )
        else:
            db.session.add(
                ProviderCall(kind=kind, provider="Fake", status="complete", duration_ms=1,
                             cost=Decimal(cost), timestamp=when, owner_id=user.id)
            )  # fmt: skip
        db.session.commit()


def month_spend(app: Flask, user: User) -> Decimal:
    with app.app_context():
        return budgets.month_spend(user.id)


def set_budget(app: Flask, user: User, amount: str | None) -> None:
    with app.app_context():
        db.session.get(User, user.id).monthly_budget_usd = (
            Decimal(amount) if amount is not None else None
        )
        db.session.commit()


def set_default(app: Flask, amount: Any) -> None:
    with app.app_context():
        Setting.put(budgets.DEFAULT_BUDGET_KEY, amount)
        db.session.commit()


def test_month_spend_sums_this_months_costs_of_the_user_once(
    app: Flask, user: User, provider: Provider
) -> None:
    other = make_user(app, "bia@example.com")
    spend(app, user, "1.25")
    spend(app, user, "0.50", kind=SessionKind.ARENA)
    spend(app, user, "0.125", kind=CallKind.HATCH)
    spend(app, user, "0.0625", kind=CallKind.TITLE)
    spend(app, user, "7", when=LAST_MONTH)  # last month
    spend(app, user, "9", when=LAST_MONTH, kind=CallKind.HATCH)
    spend(app, other, "100")  # someone else's
    spend(app, other, "100", kind=CallKind.TITLE)
    assert month_spend(app, user) == Decimal("1.9375")
    assert month_spend(app, other) == Decimal("200")
    with app.app_context():
        assert budgets.month_spend(user.id, now=LAST_MONTH) == Decimal("16")
        # One query, whatever the rows.
        from tests.chat.test_send_cost import statements_of_this_thread

    with statements_of_this_thread(app) as seen, app.app_context():
        budgets.month_spend(user.id)
    assert len(seen) == 1


def test_a_real_answer_is_counted_at_its_frozen_cost(
    app: Flask, signed_in: FlaskClient, token: str, user: User, provider: Provider
) -> None:
    assert month_spend(app, user) == 0
    chat_id = send(signed_in, token, "Oi").get_json()["chat_id"]
    finish(app)
    answer = messages_of(app, chat_id)[-1]
    assert answer.cost and answer.cost > 0
    assert month_spend(app, user) == answer.cost


def test_month_bounds_are_the_utc_calendar_month() -> None:
    start, end = budgets.month_bounds(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_the_send_is_refused_at_the_budget_and_the_provider_is_not_called(
    app: Flask, signed_in: FlaskClient, token: str, user: User, provider: Provider, fake: Any
) -> None:
    set_budget(app, user, "20")
    spend(app, user, "19.99")
    assert send(signed_in, token, "still within").status_code == 201
    finish(app)
    spend(app, user, "0.01")
    before = len(fake.requests)
    response = send(signed_in, token, "over the budget")
    assert response.status_code == 402
    error = response.get_json()["error"]
    _start, end = budgets.month_bounds()
    assert "You have reached your monthly budget of US$ 20.00; it resets on" in error
    assert f"{end.day} {end.strftime('%B')} {end.year}" in error
    assert len(fake.requests) == before, "the provider was called"
    with app.app_context():
        assert db.session.query(ChatMessage).filter_by(content="over the budget").count() == 0


def test_the_refusal_in_portuguese(
    app: Flask, signed_in: FlaskClient, token: str, user: User, provider: Provider
) -> None:
    set_budget(app, user, "1234.5")
    spend(app, user, "1234.5")
    url = "/chats/messages"
    data = {"csrf_token": token, "content": "x", "provider": "Fake", "model": FAKE_MODEL,
            "persona": ""}  # fmt: skip
    headers = {"Accept": "application/json", "Accept-Language": "pt-BR"}
    response = signed_in.post(url, data=data, headers=headers)
    assert response.status_code == 402
    error = response.get_json()["error"]
    assert "Você atingiu seu orçamento mensal de US$ 1.234,50" in error
    assert " de 20" in error  # "1 de janeiro de 2027"


def test_the_form_path_shows_the_refusal_and_keeps_the_text(
    app: Flask, signed_in: FlaskClient, token: str, user: User, provider: Provider, fake: Any
) -> None:
    set_budget(app, user, "5")
    spend(app, user, "6")
    response = send(signed_in, token, "my carefully typed question", json=False)
    assert response.status_code == 402
    page = response.get_data(as_text=True)
    assert "You have reached your monthly budget of US$ 5.00" in page
    assert "my carefully typed question" in page
    assert fake.requests == []


def test_the_instance_default_applies_when_the_user_has_none(
    app: Flask, signed_in: FlaskClient, token: str, user: User, provider: Provider, fake: Any
) -> None:
    set_default(app, 2)
    spend(app, user, "2")
    response = send(signed_in, token, "x")
    assert response.status_code == 402
    assert "US$ 2.00" in response.get_json()["error"]
    set_budget(app, user, "50")  # the user's own wins over the default
    assert send(signed_in, token, "x").status_code == 201
    finish(app)
    assert len(fake.requests) == 1


def test_a_budget_of_zero_blocks_everything(
    app: Flask, signed_in: FlaskClient, token: str, user: User, provider: Provider, fake: Any
) -> None:
    set_budget(app, user, "0")
    response = send(signed_in, token, "x")
    assert response.status_code == 402
    assert "US$ 0.00" in response.get_json()["error"]
    assert fake.requests == []


def test_no_budget_is_unlimited(
    app: Flask, signed_in: FlaskClient, token: str, user: User, provider: Provider
) -> None:
    spend(app, user, "100000")
    assert send(signed_in, token, "x").status_code == 201
    finish(app)


def test_another_users_spend_does_not_count(
    app: Flask, signed_in: FlaskClient, token: str, user: User, provider: Provider
) -> None:
    set_default(app, "1")
    other = make_user(app, "bia@example.com")
    spend(app, other, "10")
    spend(app, user, "10", when=LAST_MONTH)
    assert send(signed_in, token, "x").status_code == 201
    finish(app)


def test_regenerate_is_refused_too(
    app: Flask, signed_in: FlaskClient, token: str, user: User, provider: Provider, fake: Any
) -> None:
    chat_id = send(signed_in, token, "Capital?").get_json()["chat_id"]
    finish(app)
    answer = messages_of(app, chat_id)[-1]
    set_budget(app, user, "0.01")
    spend(app, user, "0.01")
    before = len(fake.requests)
    data = {"csrf_token": token, "provider": "Fake", "model": FAKE_MODEL, "persona": ""}
    response = signed_in.post(f"/chats/{chat_id}/messages/{answer.id}/regenerate", data=data)
    assert response.status_code == 303
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "You have reached your monthly budget of US$ 0.01" in page
    assert len(fake.requests) == before
    assert len(messages_of(app, chat_id)) == 2


def test_arena_rounds_are_refused_too(
    app: Flask, signed_in: FlaskClient, token: str, user: User, provider: Provider, fake: Any
) -> None:
    set_budget(app, user, "1")
    spend(app, user, "1", kind=CallKind.HATCH)
    value = model_value(provider.id, FAKE_MODEL)
    response = start_round(signed_in, token, [value, model_value(provider.id, "other-model")])
    assert response.status_code == 402
    assert "You have reached your monthly budget of US$ 1.00" in response.get_data(as_text=True)
    assert fake.requests == []


def test_hatch_is_refused_too(
    app: Flask, signed_in: FlaskClient, token: str, user: User, provider: Provider, fake: Any
) -> None:
    set_budget(app, user, "1")
    spend(app, user, "3")
    response = signed_in.post(
        "/personas/hatch",
        data={"csrf_token": token, "description": "a tutor",
              "model": model_value(provider.id, FAKE_MODEL)},
    )  # fmt: skip
    assert "You have reached your monthly budget of US$ 1.00" in response.get_data(as_text=True)
    assert fake.requests == []


def test_auto_titles_are_skipped_silently_over_budget(
    app: Flask, signed_in: FlaskClient, token: str, user: User, provider: Provider, fake: Any
) -> None:
    from calango.services.auto_titles import AutoTitle, save_auto_title

    with app.app_context():
        save_auto_title(AutoTitle(enabled=True, model=model_value(provider.id, FAKE_MODEL)))
    set_budget(app, user, "10")
    spend(app, user, "9.99999")
    # The answer itself is allowed (under budget); it reaches the budget, so no title call.
    fake.script(reply="A long answer " * 200)
    chat_id = send(signed_in, token, "Tell me a story").get_json()["chat_id"]
    finish(app)
    assert messages_of(app, chat_id)[-1].status == "complete"
    assert month_spend(app, user) >= Decimal("10")
    assert len(fake.requests) == 1, "only the answer, no title request"
    with app.app_context():
        assert db.session.query(ProviderCall).filter_by(kind=CallKind.TITLE).count() == 0


@pytest.mark.parametrize("budget", [None, "20"])
def test_the_header_line(app: Flask, user: User, budget: str | None) -> None:
    set_budget(app, user, budget)
    spend(app, user, "3.42")
    with app.test_request_context("/"):
        login_user(db.session.get(User, user.id))
        html = render_template("_spend.html")
        again = render_template("_spend.html")
    expected = "This month: US$ 3.42" + (" of US$ 20.00" if budget else "")
    assert expected in html and html == again
    assert (" of " in html) == bool(budget)


def test_the_header_line_is_computed_once_per_request(app: Flask, user: User) -> None:
    from tests.chat.test_send_cost import statements_of_this_thread

    with app.test_request_context("/"):
        login_user(db.session.get(User, user.id))
        render_template("_spend.html")
        with statements_of_this_thread(app) as seen:
            render_template("_spend.html")
        assert seen == []


def test_no_header_line_when_signed_out(app: Flask, user: User) -> None:
    with app.test_request_context("/"):
        assert render_template("_spend.html").strip() == ""


def test_the_check_costs_no_statement_without_a_budget_and_one_with(
    app: Flask, signed_in: FlaskClient, token: str, user: User, provider: Provider
) -> None:
    from tests.chat.test_send_cost import statements_of_this_thread

    chat_id = send(signed_in, token, "first").get_json()["chat_id"]
    finish(app)
    counts = []
    for budget in (None, "100"):
        set_budget(app, user, budget)
        with statements_of_this_thread(app) as seen:
            assert send(signed_in, token, "again", chat_id=chat_id).status_code == 201
        finish(app)
        counts.append([s for s in seen if "sum(" in s.lower()])
        counts.append(len(seen))
    no_budget_sums, no_budget, budget_sums, with_budget = counts
    assert no_budget_sums == [] and len(budget_sums) == 1
    assert with_budget == no_budget + 1


def test_the_user_menu_shows_the_months_spend(
    app: Flask, signed_in: FlaskClient, user: User
) -> None:
    set_budget(app, user, "20")
    spend(app, user, "3.42")
    page = signed_in.get("/chats/").get_data(as_text=True)
    assert "This month: US$ 3.42 of US$ 20.00" in page
    page = signed_in.get("/chats/", headers={"Accept-Language": "pt-BR"}).get_data(as_text=True)
    assert "Este mês: US$ 3,42 de US$ 20,00" in page


def test_a_signed_in_send_costs_the_sign_in_check_and_four_statements(
    app: Flask, signed_in: FlaskClient, token: str, user: User, provider: Provider
) -> None:
    """SERVER: the signed-in user's row (Flask-Login's loader), then the send's four; the
    instance's settings (default budget, "allow local providers") ride along in the lookup."""
    from tests.chat.test_send_cost import MAX_STATEMENTS, statements_of_this_thread

    chat_id = send(signed_in, token, "first").get_json()["chat_id"]
    finish(app)
    with statements_of_this_thread(app) as seen:
        assert send(signed_in, token, "again", chat_id=chat_id).status_code == 201
    finish(app)
    assert "FROM users" in seen[0], seen[0]
    assert len(seen) <= 1 + MAX_STATEMENTS, "\n\n".join(seen)
    assert not any(s.lstrip().upper().startswith("SELECT SETTINGS") for s in seen)
    assert [m.status for m in messages_of(app, chat_id)][-1] == "complete"

"""Item 6: whatever fails after the provider has answered, the answer is saved and ends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from calango.extensions import db
from calango.models import Provider
from calango.services.generation import registry
from tests.helpers import FAKE_MODEL, finish, messages_of, send

REPLY = "A full answer that must survive."


def _price(app: Flask, provider: Provider, price: float) -> None:
    """Put a price straight into the row, as an older version let people do."""
    with app.app_context():
        row = db.session.get(Provider, provider.id)
        assert row is not None
        row.price_overrides = {FAKE_MODEL: {"input": price, "output": price}}
        db.session.commit()


def _follow(client: FlaskClient, chat_id: str, message_id: int) -> str:
    response = client.get(f"/chats/{chat_id}/messages/{message_id}/stream")
    return response.get_data(as_text=True)


@pytest.mark.parametrize("price", [1e300, 1e12])
def test_an_absurd_price_does_not_keep_the_answer_from_ending(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any, price: float
) -> None:
    _price(app, provider, price)
    fake.script(reply=REPLY)
    chat_id = send(client, csrf, "hi").get_json()["chat_id"]
    finish(app)
    answer = messages_of(app, chat_id)[1]
    assert answer.status == "complete"
    assert answer.content == REPLY
    assert answer.cost is None  # not a cost anyone could pay: not stored
    assert answer.token_usage is not None
    assert registry(app).get(answer.id) is None
    assert "event: done" in _follow(client, chat_id, answer.id)


def test_a_nul_in_the_model_text_is_dropped_not_fatal(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(chunks=["Hel", "\x00lo", " there"])
    chat_id = send(client, csrf, "hi").get_json()["chat_id"]
    finish(app)
    answer = messages_of(app, chat_id)[1]
    assert (answer.status, answer.content) == ("complete", "Hello there")


@pytest.fixture
def failing_final_save(app: Flask) -> Iterator[list[int]]:
    """The first UPDATE that writes an answer's final status fails, as on a full disk."""
    failures: list[int] = []

    def fail(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any) -> None:
        final = "UPDATE chat_messages" in statement and "status" in statement
        if final and not failures:
            failures.append(1)
            raise OperationalError(statement, params, Exception("database or disk is full"))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", fail)
    yield failures
    event.remove(engine, "before_cursor_execute", fail)


def test_a_failed_final_save_still_ends_the_answer_with_its_text(
    app: Flask,
    client: FlaskClient,
    csrf: str,
    provider: Provider,
    fake: Any,
    failing_final_save: list[int],
) -> None:
    fake.script(reply=REPLY)
    chat_id = send(client, csrf, "hi").get_json()["chat_id"]
    finish(app)
    assert failing_final_save == [1]
    answer = messages_of(app, chat_id)[1]
    assert answer.status == "error"
    assert answer.content == REPLY
    assert "could not save all of it" in answer.error
    assert registry(app).get(answer.id) is None
    assert "event: done" in _follow(client, chat_id, answer.id)
    # The composer is free again: the next message is accepted and answered.
    assert send(client, csrf, "again", chat_id=chat_id).status_code == 201
    finish(app)
    assert messages_of(app, chat_id)[3].status == "complete"


@pytest.mark.parametrize("prices", ["m = 1000001, 1", "m = 1, 1e300", "m = -1, 2"])
def test_the_provider_form_refuses_prices_out_of_range(
    app: Flask, client: FlaskClient, csrf: str, prices: str
) -> None:
    data = {"csrf_token": csrf, "name": "P", "kind": "openai", "models": "m", "prices": prices}
    page = client.post("/settings/providers/new", data=data).get_data(as_text=True)
    assert "prices must be numbers from 0 to 1,000,000" in page
    with app.app_context():
        assert db.session.query(Provider).count() == 0


def test_the_form_accepts_the_dearest_sane_price(
    app: Flask, client: FlaskClient, csrf: str
) -> None:
    data = {
        "csrf_token": csrf,
        "name": "P",
        "kind": "openai",
        "models": "m",
        "prices": "m = 1000000, 0",
    }
    assert client.post("/settings/providers/new", data=data).status_code == 302


@pytest.mark.parametrize("price", ["1000001", "1e300", "-0.5"])
def test_the_import_refuses_prices_out_of_range(
    app: Flask, client: FlaskClient, csrf: str, price: str
) -> None:
    text = (
        "providers:\n  P:\n    kind: openai\n    models: [m]\n"
        f"    prices:\n      m: {{input: {price}, output: 1}}\n"
    )
    with app.app_context():
        from calango.services.config_io import ConfigImportError, import_config

        with pytest.raises(ConfigImportError, match="from 0 to 1,000,000"):
            import_config(text)
        assert db.session.query(Provider).count() == 0

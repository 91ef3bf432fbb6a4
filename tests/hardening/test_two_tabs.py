"""Item 11: two tabs sending to one chat at once never leave a question without its answer
in the context: while an answer in the chat is being written, the later send is refused."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from calango.models import Provider
from tests.helpers import csrf_token_from, finish, messages_of, send

BUSY = "An answer in this chat is still being written"


def _first_exchange(app: Flask, client: FlaskClient, csrf: str) -> str:
    chat_id = send(client, csrf, "first").get_json()["chat_id"]
    finish(app)
    return str(chat_id)


def test_two_tabs_sending_at_once_get_one_answer_and_one_clear_refusal(
    app: Flask, provider: Provider, fake: Any
) -> None:
    # Plain test clients: pytest-flask's ``client`` keeps its last request's context pushed,
    # and a second client in the same thread would then share its CSRF token cache.
    tabs = [app.test_client() for _ in range(2)]
    tokens = [csrf_token_from(tab) for tab in tabs]
    chat_id = _first_exchange(app, tabs[0], tokens[0])
    fake.hold()  # the winner's answer stays in progress while the other send arrives
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def tab_sends(index: int) -> None:
        barrier.wait()
        results[index] = send(tabs[index], tokens[index], f"tab {index}", chat_id=chat_id)

    threads = [threading.Thread(target=tab_sends, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 409]
    refused = next(r for r in results if r.status_code == 409)
    assert BUSY in refused.get_json()["error"]
    fake.release()
    finish(app)
    roles = [m.role for m in messages_of(app, chat_id)]
    assert roles == ["user", "assistant", "user", "assistant"]  # every question answered


def test_the_refusal_without_javascript_keeps_the_message_and_a_later_send_works(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    chat_id = _first_exchange(app, client, csrf)
    fake.hold()
    assert send(client, csrf, "second", chat_id=chat_id).status_code == 201
    page = send(client, csrf, "third, typed meanwhile", chat_id=chat_id, json=False)
    assert page.status_code == 409
    text = page.get_data(as_text=True)
    assert BUSY in text and "third, typed meanwhile" in text  # kept in the composer
    fake.release()
    finish(app)
    assert send(client, csrf, "fourth", chat_id=chat_id).status_code == 201
    finish(app)
    # The provider saw every earlier question followed by its answer.
    context = fake.requests[-1]["json"]["messages"]
    turns = [(m["role"], m["content"]) for m in context if m["role"] != "system"]
    assert [role for role, _ in turns] == ["user", "assistant", "user", "assistant", "user"]
    assert [text for role, text in turns if role == "user"] == ["first", "second", "fourth"]


def test_an_answer_whose_producer_died_does_not_block_the_chat(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from calango.extensions import db
    from calango.models import ChatMessage
    from calango.models.types import utcnow

    chat_id = _first_exchange(app, client, csrf)
    answer_id = messages_of(app, chat_id)[1].id
    with app.app_context():  # what a killed worker leaves behind
        db.session.execute(
            update(ChatMessage)
            .where(ChatMessage.id == answer_id)
            .values(status="streaming", heartbeat_at=utcnow() - timedelta(minutes=5))
        )
        db.session.commit()
    assert send(client, csrf, "still there?", chat_id=chat_id).status_code == 201

"""Sending a message: what is saved, when, and what the page shows afterwards."""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from calango.extensions import db
from calango.models import ChatMessage, Persona, Provider
from tests.helpers import FAKE_MODEL, finish, messages_of, only_chat, send, wait_until


def test_answer_is_streamed_saved_with_usage_cost_and_timings(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(reply="Olá! Sou o Calango, um lagarto rápido.")
    response = send(client, csrf, "Quem é você?")
    assert response.status_code == 201
    body = response.get_json()
    assert body["new_chat"] is True
    assert "Quem é você?" in body["html"]
    finish(app)

    user, answer = messages_of(app, only_chat(app).id)
    assert (user.role, user.content, user.status) == ("user", "Quem é você?", "complete")
    assert answer.role == "assistant"
    assert answer.status == "complete"
    assert answer.content == "Olá! Sou o Calango, um lagarto rápido."
    assert (answer.provider, answer.model, answer.persona) == (
        "Fake",
        FAKE_MODEL,
        "Calango (Default)",
    )
    usage = answer.token_usage
    assert usage["estimated"] is False
    assert usage["total"] == usage["prompt"] + usage["completion"] > 0
    expected = (Decimal(usage["prompt"]) * 2 + Decimal(usage["completion"]) * 8) / Decimal(10**6)
    assert answer.cost == expected.quantize(Decimal("0.00000001"))
    assert answer.ttft_ms is not None and answer.total_ms is not None
    assert answer.total_ms >= answer.ttft_ms >= 0

    page = client.get(body["chat_url"]).get_data(as_text=True)
    assert "Olá! Sou o Calango, um lagarto rápido." in page
    assert "Fake / fake-model" in page
    assert "Calango (Default)" in page
    assert "tokens" in page


def test_a_new_chat_is_titled_from_its_first_line(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider
) -> None:
    text = "\n\n  Como faço um decorator em Python que mede o tempo de execução de funções?\nok"
    send(client, csrf, text)
    finish(app)
    title = only_chat(app).title
    assert title.startswith("Como faço um decorator em Python")
    assert len(title) <= 60 and title.endswith("…")
    page = client.get("/chats/").get_data(as_text=True)
    assert title in page  # the sidebar lists it


def test_user_message_is_committed_before_the_provider_answers(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.hold()
    send(client, csrf, "first question")
    wait_until(lambda: len(fake.requests) == 1)
    # The provider has the request and has not answered: both rows are already in the database.
    chat = only_chat(app)
    user, answer = messages_of(app, chat.id)
    assert user.content == "first question"
    assert answer.status == "streaming" and answer.content == ""
    fake.release()
    finish(app)
    assert messages_of(app, chat.id)[1].status == "complete"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_provider_keeps_the_question_and_explains(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider
) -> None:
    with app.app_context():
        p = db.session.get(Provider, provider.id)
        p.base_url = f"http://127.0.0.1:{_closed_port()}/v1"
        db.session.commit()
    send(client, csrf, "is anyone there?")
    finish(app)
    user, answer = messages_of(app, only_chat(app).id)
    assert user.content == "is anyone there?"
    assert answer.status == "error"
    assert "connection to Fake was lost" in answer.error
    page = client.get(f"/chats/{only_chat(app).id}").get_data(as_text=True)
    assert "connection to Fake was lost" in page


def test_without_javascript_the_send_redirects_at_once_to_a_page_that_shows_progress(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(reply="plain answer").hold()  # no answer yet when the redirect comes
    response = send(client, csrf, "no script here", json=False)
    assert response.status_code == 303
    chat = only_chat(app)
    assert response.headers["Location"].startswith(f"/chats/{chat.id}#m-")
    assert messages_of(app, chat.id)[1].status == "streaming"
    page = client.get(f"/chats/{chat.id}").get_data(as_text=True)
    assert "no script here" in page  # the question is there at once
    assert '<noscript><meta http-equiv="refresh"' in page  # the page refreshes itself
    answer_id = messages_of(app, chat.id)[1].id
    stop_url = f"/chats/{chat.id}/messages/{answer_id}/stop"
    assert f'action="{stop_url}"' in page  # Stop is a plain form
    fake.release()
    finish(app)
    page = client.get(f"/chats/{chat.id}").get_data(as_text=True)
    assert "plain answer" in page
    assert 'http-equiv="refresh"' not in page  # nothing left streaming: no more refreshes


def test_without_javascript_stop_is_a_form_that_ends_the_answer(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(chunks=[f"c{i} " for i in range(400)], delay=0.02)
    location = send(client, csrf, "long one", json=False).headers["Location"]
    chat_id = location.split("/chats/")[1].split("#")[0]
    answer = messages_of(app, chat_id)[1]
    response = client.post(f"/chats/{chat_id}/messages/{answer.id}/stop", data={"csrf_token": csrf})
    assert response.status_code == 303
    finish(app)
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert messages_of(app, chat_id)[1].status == "stopped"
    assert "Stopped" in page and 'http-equiv="refresh"' not in page


def test_a_streaming_answer_page_refreshes_itself_without_javascript(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.hold()
    chat_id = send(client, csrf, "slow one").get_json()["chat_id"]
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert '<noscript><meta http-equiv="refresh"' in page
    assert "data-stream-url" in page
    fake.release()
    finish(app)


def test_reopened_chat_preselects_its_last_choice_and_new_chat_the_last_used(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider
) -> None:
    chat_id = send(client, csrf, "one", model="other-model", persona="Python Expert").get_json()[
        "chat_id"
    ]
    finish(app)
    for url in (f"/chats/{chat_id}", "/chats/"):
        page = client.get(url).get_data(as_text=True)
        assert f'<option selected value="{provider.id}:other-model">' in page
        assert '<option selected value="Python Expert">' in page


def test_a_chat_can_switch_persona_and_messages_keep_theirs(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    chat_id = send(client, csrf, "one", persona="Python Expert").get_json()["chat_id"]
    finish(app)
    send(client, csrf, "two", chat_id=chat_id, persona="Calango (Default)")
    finish(app)
    personas = [m.persona for m in messages_of(app, chat_id) if m.role == "assistant"]
    assert personas == ["Python Expert", "Calango (Default)"]
    second = fake.requests[-1]["json"]["messages"]
    assert second[0] == {"role": "system", "content": "You are a helpful AI assistant."} or (
        second[0]["role"] == "system"
    )
    # Deleting the persona keeps the chat readable.
    with app.app_context():
        db.session.delete(db.session.scalars(Persona.select_by_name("Python Expert")).one())
        db.session.commit()
    page = client.get(f"/chats/{chat_id}")
    assert page.status_code == 200
    assert "Python Expert" in page.get_data(as_text=True)


def test_context_has_persona_first_then_history_in_order(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(reply="A1")
    chat_id = send(client, csrf, "Q1", persona="Python Expert").get_json()["chat_id"]
    finish(app)
    fake.script(reply="A2 partial", cut_after=1, chunks=["A2 ", "partial"])
    send(client, csrf, "Q2", chat_id=chat_id, persona="Python Expert")
    finish(app)
    fake.script(reply="A3")
    send(client, csrf, "Q3", chat_id=chat_id, persona="Python Expert")
    finish(app)
    with app.app_context():
        prompt = db.session.scalars(Persona.select_by_name("Python Expert")).one().prompt
    sent = fake.requests[-1]["json"]["messages"]
    assert sent == [
        {"role": "system", "content": prompt},
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "A1"},
        {"role": "user", "content": "Q2"},
        {"role": "assistant", "content": "A2 "},  # an errored answer is resent for its text
        {"role": "user", "content": "Q3"},
    ]


def test_anthropic_gets_the_persona_as_its_system_parameter(
    app: Flask, client: FlaskClient, csrf: str, anthropic_provider: Provider, fake: Any
) -> None:
    fake.script(reply="Claude fake reply")
    send(client, csrf, "hello", provider="FakeClaude", model="claude-fake", persona="Python Expert")
    finish(app)
    request = fake.requests[-1]
    assert request["path"].endswith("/v1/messages")
    assert "Senior Python" in json.dumps(request["json"]["system"])
    assert [m["role"] for m in request["json"]["messages"]] == ["user"]
    answer = messages_of(app, only_chat(app).id)[1]
    assert answer.content == "Claude fake reply"
    assert answer.token_usage["estimated"] is False
    assert answer.cost is not None and answer.cost > 0


def test_a_long_chat_is_trimmed_oldest_first_instead_of_failing(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    with app.app_context():
        p = db.session.get(Provider, provider.id)
        p.models = [*p.models, "llama3"]  # a small (8k token) context window
        db.session.commit()
    chat_id = send(client, csrf, "start", model="llama3").get_json()["chat_id"]
    finish(app)
    with app.app_context():
        chat_uuid = only_chat(app).id
        for i in range(12):
            db.session.add(
                ChatMessage(session_id=chat_uuid, role="user", content=f"old {i} " + "x" * 4000)
            )
        db.session.commit()
    send(client, csrf, "the newest question", chat_id=chat_id, model="llama3")
    finish(app)
    sent = fake.requests[-1]["json"]["messages"]
    assert sent[0]["role"] == "system"
    assert sent[-1] == {"role": "user", "content": "the newest question"}
    assert sum(len(m["content"]) for m in sent) < 8192 * 4
    assert messages_of(app, chat_id)[-1].status == "complete"

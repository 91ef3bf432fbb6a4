"""What happens when things go wrong: provider errors, Stop, a closed tab, a killed server,
several workers."""

from __future__ import annotations

import html
import json
import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calango import create_app
from calango.extensions import db
from calango.models import ChatMessage, ChatSession, Provider
from calango.models.types import utcnow
from calango.services.generation import wait_for_generations
from config import TestConfig
from tests.helpers import csrf_token_from, finish, messages_of, send, wait_until


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (401, "refused the API key"),
        (429, "rate limiting"),
        (500, "internal error"),
        (404, "does not know this model"),
    ],
)
def test_provider_error_before_the_stream_is_saved_and_shown(
    app: Flask,
    client: FlaskClient,
    csrf: str,
    provider: Provider,
    fake: Any,
    status: int,
    words: str,
) -> None:
    fake.script(status=status)
    chat_id = send(client, csrf, "hello?").get_json()["chat_id"]
    finish(app)
    user, answer = messages_of(app, chat_id)
    assert user.content == "hello?"
    assert answer.status == "error"
    assert words in answer.error
    assert f"fake error {status}" in answer.error  # the provider's own words follow
    assert answer.cost is None and answer.token_usage is None  # a refused request costs nothing
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert words in page


def test_provider_errors_are_translated(
    app: Flask, client: FlaskClient, provider: Provider, fake: Any
) -> None:
    fake.script(status=401)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "pt-BR"
    token = csrf_token_from(client)
    chat_id = send(client, token, "oi").get_json()["chat_id"]
    finish(app)
    answer = messages_of(app, chat_id)[1]
    assert "recusou a chave de API" in answer.error


def test_connection_cut_mid_stream_keeps_the_partial_text(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(chunks=["The ", "first ", "words ", "and ", "more"], cut_after=3)
    chat_id = send(client, csrf, "tell me").get_json()["chat_id"]
    finish(app)
    answer = messages_of(app, chat_id)[1]
    assert answer.status == "error"
    assert answer.content == "The first words "
    assert "connection to Fake was lost" in answer.error
    assert answer.token_usage["estimated"] is True  # the provider never reported usage


def test_timeout_keeps_the_question_and_says_so(
    app_config: TestConfig,
    app: Flask,
    client: FlaskClient,
    csrf: str,
    provider: Provider,
    fake: Any,
) -> None:
    app.config["PROVIDER_READ_TIMEOUT"] = 0.5
    fake.script(reply="too late", first_delay=3)
    chat_id = send(client, csrf, "are you slow?").get_json()["chat_id"]
    finish(app)
    answer = messages_of(app, chat_id)[1]
    assert answer.status == "error"
    assert "timed out" in answer.error


def test_stop_saves_the_partial_answer(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(chunks=[f"w{i} " for i in range(200)], delay=0.05)
    body = send(client, csrf, "count slowly").get_json()
    chat_id = body["chat_id"]
    answer_id = messages_of(app, chat_id)[1].id
    wait_until(lambda: len(fake.requests) == 1)
    response = client.post(
        f"/chats/{chat_id}/messages/{answer_id}/stop",
        data={"csrf_token": csrf},
        headers={"Accept": "application/json"},
    )
    assert response.get_json() == {"stopped": True}
    finish(app)
    answer = messages_of(app, chat_id)[1]
    assert answer.status == "stopped"
    assert answer.content.startswith("w0 ")
    assert len(answer.content) < len("".join(f"w{i} " for i in range(200)))
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert "Stopped" in page


def test_stop_without_a_token_is_refused(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.hold()
    chat_id = send(client, csrf, "x").get_json()["chat_id"]
    answer_id = messages_of(app, chat_id)[1].id
    assert client.post(f"/chats/{chat_id}/messages/{answer_id}/stop").status_code == 400
    fake.release()
    finish(app)
    assert messages_of(app, chat_id)[1].status == "complete"


def test_closing_the_tab_mid_stream_loses_nothing(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    reply = "".join(f"token{i} " for i in range(40))
    fake.script(reply=reply, chunk_size=7, delay=0.02)
    chat_id = send(client, csrf, "long answer please").get_json()["chat_id"]
    answer_id = messages_of(app, chat_id)[1].id
    # The browser reads a little of the stream, then the tab is closed.
    response = client.get(f"/chats/{chat_id}/messages/{answer_id}/stream", buffered=False)
    chunks = iter(response.response)
    next(chunks)
    next(chunks)
    response.close()
    finish(app)
    answer = messages_of(app, chat_id)[1]
    assert (answer.status, answer.content) == ("complete", reply)


def _read_events(response: Any) -> list[tuple[str, str, str | None]]:
    """Parse an SSE body into (event, data, id) triples."""
    events = []
    for block in response.get_data(as_text=True).split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        if "data" in fields:
            events.append((fields.get("event", "message"), fields["data"], fields.get("id")))
    return events


def test_reloading_mid_stream_continues_from_what_the_page_showed(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    words = ["Alpha ", "Beta ", "Gamma ", "Delta ", "Epsilon ", "Zeta ", "Eta ", "Theta"]
    full = "".join(words)
    fake.script(chunks=words, delay=0.4)
    chat_id = send(client, csrf, "letters").get_json()["chat_id"]
    answer_id = messages_of(app, chat_id)[1].id
    wait_until(lambda: messages_of(app, chat_id)[1].content != "", timeout=10)
    # A reload renders what was saved so far and the offset to continue from.
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    shown = html.unescape(re.search(r'class="stream-text">([^<]*)<', page).group(1))
    offset = int(re.search(r'data-offset="(\d+)"', page).group(1))
    assert shown and offset == len(shown) and full.startswith(shown)
    response = client.get(f"/chats/{chat_id}/messages/{answer_id}/stream?offset={offset}")
    assert response.mimetype == "text/event-stream"
    assert response.headers["X-Accel-Buffering"] == "no"
    events = _read_events(response)
    deltas = [(json.loads(data)["text"], int(i)) for kind, data, i in events if kind == "message"]
    assert deltas, "the answer was still being written: some text must follow"
    assert shown + "".join(text for text, _i in deltas) == full
    assert deltas[-1][1] == len(full)  # each event id is the offset reached
    done = [json.loads(data) for kind, data, _i in events if kind == "done"]
    assert done[0]["status"] == "complete"
    assert full in done[0]["html"]
    # EventSource resends the last id it saw: the stream resumes exactly there.
    again = client.get(
        f"/chats/{chat_id}/messages/{answer_id}/stream", headers={"Last-Event-ID": "6"}
    )
    resumed = "".join(
        json.loads(d)["text"] for kind, d, _i in _read_events(again) if kind == "message"
    )
    assert resumed == full[6:]


def test_answer_left_streaming_by_a_killed_server_is_marked_interrupted(
    app_config: TestConfig, app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        chat = ChatSession(title="crashed")
        db.session.add(chat)
        db.session.flush()
        stale = utcnow() - timedelta(minutes=10)
        db.session.add_all(
            [
                ChatMessage(session_id=chat.id, role="user", content="q"),
                ChatMessage(
                    session_id=chat.id,
                    role="assistant",
                    content="half an ans",
                    status="streaming",
                    heartbeat_at=stale,
                    provider="Fake",
                    model="m",
                ),
            ]
        )
        db.session.commit()
        chat_id = chat.id
    # The next start (a new process: a new app) marks it on its first request.
    restarted = create_app(app_config)
    page = restarted.test_client().get(f"/chats/{chat_id}").get_data(as_text=True)
    answer = messages_of(app, chat_id)[1]
    assert answer.status == "interrupted"
    assert answer.content == "half an ans"
    assert "Interrupted" in page and "half an ans" in page


def test_a_second_worker_follows_and_stops_an_answer_it_does_not_run(
    app_config: TestConfig,
    app: Flask,
    client: FlaskClient,
    csrf: str,
    provider: Provider,
    fake: Any,
) -> None:
    fake.script(chunks=[f"p{i} " for i in range(400)], delay=0.02)
    chat_id = send(client, csrf, "in worker one").get_json()["chat_id"]
    answer_id = messages_of(app, chat_id)[1].id
    worker_two = create_app(app_config)  # shares only the database with `app`
    other = worker_two.test_client()
    wait_until(lambda: messages_of(app, chat_id)[1].content != "", timeout=10)
    events: list[Any] = []

    def follow() -> None:
        response = other.get(f"/chats/{chat_id}/messages/{answer_id}/stream")
        events.extend(_read_events(response))

    follower = threading.Thread(target=follow)
    follower.start()
    token = csrf_token_from(other)
    stop = other.post(
        f"/chats/{chat_id}/messages/{answer_id}/stop",
        data={"csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert stop.get_json() == {"stopped": True}
    finish(app)
    follower.join(15)
    assert not follower.is_alive()
    answer = messages_of(app, chat_id)[1]
    assert answer.status == "stopped"
    text = "".join(json.loads(d)["text"] for kind, d, _i in events if kind == "message")
    assert text == answer.content
    assert [json.loads(d)["status"] for kind, d, _i in events if kind == "done"] == ["stopped"]
    wait_for_generations(worker_two, timeout=1)

"""Two app instances on one database (two workers, or two servers): the second follows and
stops answers the first produces. On PostgreSQL the text arrives live by LISTEN/NOTIFY; on
SQLite (one process in real use) it is followed through the row."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from calango import create_app
from calango.extensions import db
from calango.models import Provider
from calango.services.answer_bus import CHANNEL
from calango.services.generation import wait_for_generations
from config import TestConfig
from tests.helpers import csrf_token_from, finish, messages_of, send, sse_events, wait_until


def _follow_in_thread(client: FlaskClient, url: str) -> tuple[threading.Thread, list[Any]]:
    events: list[Any] = []

    def follow() -> None:
        events.extend(sse_events(client.get(url)))

    thread = threading.Thread(target=follow)
    thread.start()
    return thread, events


def _backends(app: Flask, query_like: str) -> list[int]:
    """PostgreSQL backends of the test database whose last query is ``LIKE query_like``."""
    with app.app_context():
        return list(
            db.session.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND query LIKE :q AND pid <> pg_backend_pid()"
                ),
                {"q": query_like},
            )
        )


def _terminate(app: Flask, pids: list[int] | set[int]) -> None:
    with app.app_context():
        for pid in pids:
            db.session.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        db.session.commit()


def _send_and_follow_elsewhere(
    app_config: TestConfig, app: Flask, client: FlaskClient, csrf: str, question: str
) -> tuple[Any, Flask, threading.Thread, list[Any]]:
    """Send through ``app``; follow the answer's stream from another instance (an app of its
    own sharing only the database) in a thread. Returns the chat id, the other instance, the
    thread and the events it collects."""
    chat_id = send(client, csrf, question).get_json()["chat_id"]
    answer_id = messages_of(app, chat_id)[1].id
    other = create_app(app_config)
    url = f"/chats/{chat_id}/messages/{answer_id}/stream"
    thread, events = _follow_in_thread(other.test_client(), url)
    return chat_id, other, thread, events


def _ended_complete(app: Flask, chat_id: Any, thread: threading.Thread, events: list[Any]) -> Any:
    """Once the answer is done: the follower got all of its saved text and one ``done``."""
    finish(app)
    thread.join(20)
    assert not thread.is_alive()
    answer = messages_of(app, chat_id)[1]
    assert answer.status == "complete"
    assert "".join(_texts(events)) == answer.content
    assert [d["status"] for d in _done(events)] == ["complete"]
    return answer


def _texts(events: list[Any]) -> list[str]:
    return [json.loads(d)["text"] for kind, d, _i in events if kind == "message"]


def _done(events: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(d) for kind, d, _i in events if kind == "done"]


def test_another_instance_follows_an_answer_chunk_by_chunk(
    app_config: TestConfig,
    app: Flask,
    backend: str,
    client: FlaskClient,
    csrf: str,
    provider: Provider,
    fake: Any,
) -> None:
    fake.script(chunks=[f"n{i} " for i in range(60)], delay=0.03)
    chat_id, other, thread, events = _send_and_follow_elsewhere(
        app_config, app, client, csrf, "live elsewhere"
    )
    _ended_complete(app, chat_id, thread, events)
    assert "n59" in _done(events)[0]["html"]
    if backend == "postgresql":
        # Live: many small deltas (notifications), not one per second of the row's writes.
        assert len(_texts(events)) >= 10, _texts(events)
    wait_for_generations(other, timeout=1)


def test_a_long_delta_crosses_instances_whole_despite_the_payload_limit(
    app_config: TestConfig,
    app: Flask,
    client: FlaskClient,
    csrf: str,
    provider: Provider,
    fake: Any,
) -> None:
    big = "ção—" * 6000  # 24,000 characters, ~48 kB: far beyond one notification's 8 kB
    fake.script(chunks=["start ", big, " end"], first_delay=0.5, delay=0.2)
    chat_id = send(client, csrf, "a long one").get_json()["chat_id"]
    answer_id = messages_of(app, chat_id)[1].id
    other = create_app(app_config)
    url = f"/chats/{chat_id}/messages/{answer_id}/stream"
    thread, events = _follow_in_thread(other.test_client(), url)
    finish(app)
    thread.join(20)
    assert "".join(_texts(events)) == "start " + big + " end"
    assert [d["status"] for d in _done(events)] == ["complete"]


# Notifications are PostgreSQL's: this test has no SQLite variant (a skipped variant would
# fail CI, where every skip counts as a failure).
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_follower_catches_up_when_its_notification_connection_drops(
    app_config: TestConfig,
    app: Flask,
    backend: str,
    client: FlaskClient,
    csrf: str,
    provider: Provider,
    fake: Any,
) -> None:
    fake.script(chunks=[f"r{i} " for i in range(80)], delay=0.03)
    chat_id, _other, thread, events = _send_and_follow_elsewhere(
        app_config, app, client, csrf, "through a dropped connection"
    )
    wait_until(lambda: len(_backends(app, "LISTEN%")) >= 2, timeout=10)  # one per instance
    _terminate(app, _backends(app, "LISTEN%"))
    _ended_complete(app, chat_id, thread, events)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # notifications are PG's
def test_a_follower_gets_the_whole_answer_when_the_publishers_connection_drops(
    app_config: TestConfig,
    app: Flask,
    backend: str,
    client: FlaskClient,
    csrf: str,
    provider: Provider,
    fake: Any,
) -> None:
    """The producer's process publishes on a connection of its own: killed mid-answer, the
    batch it was sending is lost, the next one goes out on a new connection, and the
    follower elsewhere fills the gap (it asks again, or reads the row) and ends complete."""
    fake.script(chunks=[f"p{i} " for i in range(80)], delay=0.03)
    chat_id, _other, thread, events = _send_and_follow_elsewhere(
        app_config, app, client, csrf, "through a dropped publisher"
    )
    wait_until(lambda: bool(_backends(app, "SELECT pg_notify%")), timeout=10)
    killed = set(_backends(app, "SELECT pg_notify%"))
    _terminate(app, killed)
    # Publishing again, on a new connection:
    wait_until(lambda: bool(set(_backends(app, "SELECT pg_notify%")) - killed), timeout=10)
    answer = _ended_complete(app, chat_id, thread, events)
    assert answer.content == "".join(f"p{i} " for i in range(80))


def test_stop_from_another_instance_reaches_the_producer(
    app_config: TestConfig,
    app: Flask,
    client: FlaskClient,
    csrf: str,
    provider: Provider,
    fake: Any,
) -> None:
    fake.script(chunks=[f"s{i} " for i in range(1000)], delay=0.02)
    chat_id = send(client, csrf, "stop me from there").get_json()["chat_id"]
    answer_id = messages_of(app, chat_id)[1].id
    wait_until(lambda: messages_of(app, chat_id)[1].content != "", timeout=10)
    other = create_app(app_config).test_client()
    stop = other.post(
        f"/chats/{chat_id}/messages/{answer_id}/stop",
        data={"csrf_token": csrf_token_from(other)},
        headers={"Accept": "application/json"},
    )
    assert stop.get_json() == {"stopped": True}
    finish(app)
    answer = messages_of(app, chat_id)[1]
    assert answer.status == "stopped"
    assert 0 < len(answer.content) < len("".join(f"s{i} " for i in range(1000)))


def test_a_reload_served_by_another_instance_continues_where_the_page_was(
    app_config: TestConfig,
    app: Flask,
    client: FlaskClient,
    csrf: str,
    provider: Provider,
    fake: Any,
) -> None:
    fake.script(chunks=[f"c{i} " for i in range(60)], delay=0.03)
    chat_id = send(client, csrf, "resume elsewhere").get_json()["chat_id"]
    answer_id = messages_of(app, chat_id)[1].id
    wait_until(lambda: len(messages_of(app, chat_id)[1].content) >= 6, timeout=10)
    other = create_app(app_config).test_client()
    # EventSource resends the last id it saw: the other instance resumes exactly there.
    response = other.get(
        f"/chats/{chat_id}/messages/{answer_id}/stream", headers={"Last-Event-ID": "6"}
    )
    events = sse_events(response)
    finish(app)
    full = messages_of(app, chat_id)[1].content
    assert "".join(_texts(events)) == full[6:]
    assert [d["status"] for d in _done(events)] == ["complete"]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # notifications are PG's
def test_an_answer_followed_where_it_runs_sends_no_text_notification(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    """Notifications carry text only for a follower elsewhere: followed in its own process,
    an answer notifies its end alone (what reaches the channel is heard by a listener of the
    test's own)."""
    with app.app_context():
        raw = db.engine.raw_connection()
    raw.detach()
    listener = raw.dbapi_connection
    listener.autocommit = True
    with listener.cursor() as cursor:
        cursor.execute(f"LISTEN {CHANNEL}")
    notified: list[str] = []

    def heard_the_end() -> bool:
        listener.poll()
        notified.extend(n.payload for n in listener.notifies)
        listener.notifies.clear()
        return any('"k": "e"' in n for n in notified)

    try:
        fake.script(chunks=[f"h{i} " for i in range(20)], delay=0.01)
        sent = send(client, csrf, "followed here").get_json()
        answer_id = messages_of(app, sent["chat_id"])[1].id
        events = sse_events(client.get(f"/chats/{sent['chat_id']}/messages/{answer_id}/stream"))
        finish(app)
        wait_until(heard_the_end)
    finally:
        listener.close()
    assert "".join(_texts(events)) == "".join(f"h{i} " for i in range(20))
    mine = [n for n in notified if f'"m": {answer_id}' in n]
    assert [json.loads(n)["k"] for n in mine] == ["e"]

"""A send is cheap: at most four SQL statements in the request (counted with SQLAlchemy's
``before_cursor_execute`` event), for a new chat and for an existing one."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, event

from calango.extensions import db
from calango.models import ChatSession, Persona, Provider
from tests.helpers import FAKE_MODEL, finish, messages_of, only_chat, send, sse_events, wait_until

MAX_STATEMENTS = 4


@contextmanager
def statements_where(app: Flask, counted: Callable[[], bool]) -> Iterator[list[str]]:
    """The SQL statements sent meanwhile by the threads for which ``counted()`` is true."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if counted():
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_of_this_thread(app: Flask) -> AbstractContextManager[list[str]]:
    """The SQL statements this thread (the request) sends meanwhile; the answer's producer
    runs in its own thread and is not counted."""
    me = threading.get_ident()
    return statements_where(app, lambda: threading.get_ident() == me)


def test_a_send_costs_at_most_four_statements(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    chat_id = send(client, csrf, "first, to remember the choice").get_json()["chat_id"]
    finish(app)
    with statements_of_this_thread(app) as seen:
        response = send(client, csrf, "in the same chat", chat_id=chat_id)
    assert response.status_code == 201
    assert len(seen) <= MAX_STATEMENTS, "\n\n".join(seen)
    finish(app)
    with statements_of_this_thread(app) as seen:
        response = send(client, csrf, "a new chat")
    assert response.status_code == 201
    assert len(seen) <= MAX_STATEMENTS, "\n\n".join(seen)
    finish(app)
    # Still correct: the question and its answer saved, in order, the context complete.
    turns = [(m.role, m.content) for m in messages_of(app, chat_id)]
    assert [t for t in turns if t[0] == "user"] == [
        ("user", "first, to remember the choice"),
        ("user", "in the same chat"),
    ]
    assert [m.status for m in messages_of(app, chat_id)] == ["complete"] * 4
    sent = [m["content"] for m in fake.requests[1]["json"]["messages"] if m["role"] != "system"]
    assert sent[0] == "first, to remember the choice" and sent[-1] == "in the same chat"
    assert len(sent) == 3


def test_a_send_with_a_persona_parameters_and_the_profile_stays_within_four(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    """The persona's default parameters come with the persona row and the profile with the
    primed preferences: neither costs a statement, and both still reach the provider."""
    with app.app_context():
        db.session.add(
            Persona(name="Frio", prompt="Be exact.", params={"temperature": 0.1, "max_tokens": 99})
        )
        db.session.commit()
    profile = {"enabled": "y", "name": "Ana", "language": "", "work": "", "style": ""}
    assert client.post("/settings/profile", data={"csrf_token": csrf, **profile}).status_code == 302
    extra = {"profile": "y", "profile_offered": "1", "max_tokens": "1000"}

    def send_frio(text: str, chat_id: Any = None) -> Any:
        url = f"/chats/{chat_id}/messages" if chat_id else "/chats/messages"
        data = {"csrf_token": csrf, "content": text, "provider": "Fake", "model": FAKE_MODEL,
                "persona": "Frio", **extra}  # fmt: skip
        return client.post(url, data=data, headers={"Accept": "application/json"})

    chat_id = send_frio("first, to remember the choice").get_json()["chat_id"]
    finish(app)
    for target in (chat_id, None):
        with statements_of_this_thread(app) as seen:
            response = send_frio("again", chat_id=target)
        assert response.status_code == 201
        assert len(seen) <= MAX_STATEMENTS, "\n\n".join(seen)
        finish(app)
        body = fake.requests[-1]["json"]
        assert (body["temperature"], body["max_tokens"]) == (0.1, 1000)
        system = [m["content"] for m in body["messages"] if m["role"] == "system"]
        assert system[0] == "Be exact." and "Call them: Ana" in system[1]
    answer = messages_of(app, chat_id)[-1]
    assert answer.params == {"temperature": 0.1, "max_tokens": 1000}
    assert answer.profile_sent is True
    assert messages_of(app, chat_id)[-2].params is None, "the question has no parameters"


def test_a_send_continues_the_branch_shown_within_four_statements(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    chat_id = send(client, csrf, "first question").get_json()["chat_id"]
    finish(app)
    send(client, csrf, "second question", chat_id=chat_id)
    finish(app)
    first_answer = messages_of(app, chat_id)[1]
    with app.app_context():  # the chat shows the first turn only (as after switching versions)
        chat = db.session.get(ChatSession, uuid.UUID(chat_id))
        chat.leaf_id = first_answer.id
        db.session.commit()
    with statements_of_this_thread(app) as seen:
        response = send(client, csrf, "instead of the second", chat_id=chat_id)
    assert response.status_code == 201
    assert len(seen) <= MAX_STATEMENTS, "\n\n".join(seen)
    finish(app)
    by_text = {m.content: m for m in messages_of(app, chat_id) if m.role == "user"}
    question = by_text["instead of the second"]
    answer = next(m for m in messages_of(app, chat_id) if m.parent_id == question.id)
    assert question.parent_id == first_answer.id
    assert answer.role == "assistant" and answer.status == "complete"
    with app.app_context():
        assert db.session.get(ChatSession, uuid.UUID(chat_id)).leaf_id is None
    sent = [m["content"] for m in fake.requests[-1]["json"]["messages"] if m["role"] != "system"]
    assert sent[0] == "first question" and sent[-1] == "instead of the second"
    assert len(sent) == 3 and "second question" not in sent  # only the branch shown


def _send_held(app: Flask, client: FlaskClient, csrf: str, fake: Any, persona: str,
               emoji: str, reply: str) -> str:  # fmt: skip
    """Send as a new persona with an emoji avatar while the provider holds its answer;
    return the answer's stream URL."""
    with app.app_context():
        db.session.add(Persona(name=persona, prompt="Be exact.", avatar_emoji=emoji))
        db.session.commit()
    fake.script(reply=reply).hold()
    data = {"csrf_token": csrf, "content": "hi", "provider": "Fake", "model": FAKE_MODEL,
            "persona": persona}  # fmt: skip
    sent = client.post("/chats/messages", data=data, headers={"Accept": "application/json"})
    stream_url = re.search(r'data-stream-url="([^"]+)"', sent.get_json()["html"])
    assert stream_url and fake.wait_until_held()
    return stream_url.group(1)


def test_following_an_answer_costs_one_statement_and_shows_the_personas_avatar(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    """The stream reads the message, its persona's avatar and the viewer's settings in one
    statement; the ``done`` bubble then renders from the producer's values (no statement)."""
    stream_url = _send_held(app, client, csrf, fake, "Frio", "🧊", "cold answer")
    release = threading.Timer(0.3, fake.release)  # while this thread follows the answer
    release.start()
    with statements_of_this_thread(app) as seen:
        body = client.get(stream_url, headers={"Accept": "text/event-stream"})
        events = sse_events(body)
    release.join()
    finish(app)
    assert len(seen) == 1, "\n\n".join(seen)
    assert "".join(json.loads(d)["text"] for e, d, _ in events if e == "message") == "cold answer"
    done = json.loads(next(d for e, d, _ in events if e == "done"))
    assert done["status"] == "complete"
    assert "cold answer" in done["html"] and "🧊" in done["html"]


def test_an_answer_without_a_persona_row_follows_without_its_avatar(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    """A persona deleted after the send: the bubble shows no avatar and nothing breaks."""
    stream_url = _send_held(app, client, csrf, fake, "Gone", "👻", "still here")
    with app.app_context():
        db.session.execute(delete(Persona).where(Persona.name == "Gone"))
        db.session.commit()
    fake.release()
    finish(app)
    events = sse_events(client.get(stream_url))
    done = json.loads(next(d for e, d, _ in events if e == "done"))
    assert done["status"] == "complete" and "still here" in done["html"]
    assert "👻" not in done["html"]


def statements_of_answers(app: Flask) -> AbstractContextManager[list[str]]:
    """The SQL statements the answers' producer threads send meanwhile."""
    return statements_where(
        app, lambda: threading.current_thread().name.startswith("calango-answer-")
    )


def test_a_finished_answer_reads_neither_the_auto_title_setting_nor_its_row(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    """The send read the setting (off by default) with its provider; the producer ends the
    answer with its own statements only: the final ``UPDATE … RETURNING`` (of the row while
    it is still streaming), which hands A Cuca's rollup what it counts, and the rollup's two
    upserts. No read, and no write while it reads the provider (the keeper saves the text)."""
    with statements_of_answers(app) as seen:
        assert send(client, csrf, "name me not").status_code == 201
        finish(app)
    assert seen, "the producer's statements were not seen"
    everything = "\n\n".join(seen)
    assert not [s for s in seen if s.lstrip().upper().startswith("SELECT")], everything
    final = [i for i, s in enumerate(seen) if "SET content" in s and "status=" in s]
    assert len(final) == 1 and "RETURNING" in seen[final[0]], everything
    upserts = [s for s in seen[final[0] + 1 :] if "ON CONFLICT" in s]
    assert len(seen) == 3 and len(upserts) == 2, everything
    assert [m.status for m in messages_of(app, only_chat(app).id)] == ["complete", "complete"]


def test_while_answers_stream_their_text_is_saved_with_the_heartbeat_in_one_statement(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    """Two answers streaming in one process: their producers write nothing until the end;
    once a second the keeper saves both texts and both heartbeats in one statement, so a
    reload (or a crash) meanwhile finds the text so far in the rows."""
    fake.script(chunks=[f"w{i} " for i in range(12)], delay=0.25)  # about 3 s each
    keeper = statements_where(app, lambda: threading.current_thread().name == "calango-keeper")
    with statements_of_answers(app) as producers, keeper as rounds:
        first = send(client, csrf, "one").get_json()["chat_id"]
        second = send(client, csrf, "two").get_json()["chat_id"]

        def both_saved_while_streaming() -> bool:
            answers = [messages_of(app, chat)[1] for chat in (first, second)]
            return all(a.status == "streaming" and a.content.startswith("w0 ") for a in answers)

        wait_until(both_saved_while_streaming, timeout=10)
        assert not [s for s in producers if "UPDATE" in s.upper()], "\n\n".join(producers)
        finish(app)
    everything = "\n\n".join(rounds)
    assert rounds, "the keeper sent nothing"
    assert all(s.lstrip().upper().startswith("UPDATE CHAT_MESSAGES") for s in rounds), everything
    assert all("heartbeat_at" in s and "RETURNING" in s for s in rounds), everything
    # Both texts in one statement: the keeper's rounds are not one per answer.
    assert any(s.count(" WHEN ") >= 2 for s in rounds), everything
    assert len(rounds) <= 6, everything  # ~3 s of streaming: about one round a second
    for chat in (first, second):
        answer = messages_of(app, chat)[1]
        assert answer.status == "complete"
        assert answer.content == "".join(f"w{i} " for i in range(12))
        assert answer.heartbeat_at is None

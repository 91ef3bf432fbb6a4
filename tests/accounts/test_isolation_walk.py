"""Isolation in SERVER mode: B never reaches A's chats, messages, rounds, personas or jobs.

The walker visits every rule of the URL map, so a new route is covered (or fails loudly,
until its id arguments are classified below)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from calango.extensions import db
from calango.models import (
    ArenaRound,
    ChatMessage,
    ChatSession,
    ImportJob,
    Persona,
    Provider,
    ProviderCall,
)
from calango.services.network_policy import set_local_providers_allowed
from tests.accounts.conftest import Person
from tests.arena.conftest import MODELS, PRICES, pair, round_id_from, start_round
from tests.helpers import (
    add_provider,
    csrf_token_from,
    finish,
    messages_of,
    send,
    send_with_files,
)

SECRET = "Xylophonist"
# What of A's rows a page could show (the search query itself is echoed, so not SECRET alone).
MARKS = (f"about the {SECRET}", f"{SECRET} persona", f"{SECRET} round")

# Arguments naming a row of A's: B must get a 404.
OWNED_ARGUMENTS = {"chat_id", "message_id", "round_id", "session_id", "persona_id", "job_id"}
# Positions inside a row already named by an owned argument.
INNER_ARGUMENTS = {"turn", "position"}
# Instance-wide rows managed by admins only: B (not an admin) gets a 403.
ADMIN_ARGUMENTS = {"provider_id", "user_id"}
# Rules whose owner check lives in helper scope's branch (the integrator empties this list).
SCOPE_RULES: set[str] = set()


@dataclass
class Data:
    chat_id: uuid.UUID
    message_id: int
    question_id: int  # carries a file (chats.attachment)
    round_id: int
    round_session_id: uuid.UUID
    round_message_id: int
    persona_id: int
    job_id: uuid.UUID
    provider_id: int


@pytest.fixture
def provider(app: Flask, fake: Any) -> Provider:
    """The fake provider (on 127.0.0.1: the admin allows local providers)."""
    with app.app_context():
        set_local_providers_allowed(True)
        db.session.commit()
    return add_provider(
        app,
        "sk-fake-key-0001",
        name="Fake",
        kind="openai",
        base_url=fake.openai_base_url,
        models=[*MODELS, "fake-model"],
        price_overrides=PRICES,
    )


def _shows_a(page: str) -> bool:
    return any(mark in page for mark in MARKS)


def _counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (ArenaRound, ChatMessage, ChatSession, ImportJob, Persona, ProviderCall)
        }


def _fingerprint(app: Flask, owner_id: int) -> list[tuple[Any, ...]]:
    """Everything B might change in A's rows."""
    with app.app_context():
        chats = db.session.execute(
            select(ChatSession.id, ChatSession.title, ChatSession.pinned_at)
            .where(ChatSession.owner_id == owner_id)
            .order_by(ChatSession.id)
        ).all()
        messages = db.session.execute(
            select(ChatMessage.id, ChatMessage.content, ChatMessage.status)
            .join(ChatSession, ChatSession.id == ChatMessage.session_id)
            .where(ChatSession.owner_id == owner_id)
            .order_by(ChatMessage.id)
        ).all()
        personas = db.session.execute(
            select(Persona.id, Persona.name, Persona.prompt)
            .where(Persona.owner_id == owner_id)
            .order_by(Persona.id)
        ).all()
        return [*map(tuple, chats), *map(tuple, messages), *map(tuple, personas)]


@pytest.fixture
def data_of_a(app: Flask, a: Person, provider: Provider) -> Data:
    """A's chat (with an answer), arena round, persona and import job."""
    token = csrf_token_from(a.client, "/chats/")
    notes = (f"notes about the {SECRET}".encode(), "notes.txt")
    sent = send_with_files(
        a.client, token, f"Tell me about the {SECRET}", [notes], model="fake-model"
    )
    assert sent.status_code == 201, sent.get_data(as_text=True)[:300]
    chat_id = uuid.UUID(sent.get_json()["chat_id"])
    finish(app)
    question_id = messages_of(app, chat_id)[0].id
    answer = messages_of(app, chat_id)[1]
    assert answer.status == "complete", answer.error
    message_id = answer.id

    token = csrf_token_from(a.client, "/rinha/")
    started = start_round(
        a.client, token, [pair(provider, "alpha"), pair(provider, "beta")], prompt=f"{SECRET} round"
    )
    assert started.status_code in (302, 303), started.get_data(as_text=True)[:300]
    round_id = round_id_from(started)
    finish(app)

    token = csrf_token_from(a.client, "/personas/new")
    created = a.client.post(
        "/personas/new",
        data={"csrf_token": token, "name": f"{SECRET} persona", "prompt": "You are secret."},
    )
    assert created.status_code == 302, created.get_data(as_text=True)[:300]

    with app.app_context():
        arena_round = db.session.get(ArenaRound, round_id)
        assert arena_round is not None and arena_round.owner_id == a.user.id
        contender = arena_round.contenders[0]
        round_message_id = db.session.scalar(
            select(ChatMessage.id)
            .where(ChatMessage.session_id == contender.session_id, ChatMessage.role == "assistant")
            .limit(1)
        )
        assert round_message_id is not None
        persona_id = db.session.scalar(
            select(Persona.id).where(
                Persona.owner_id == a.user.id, Persona.name == f"{SECRET} persona"
            )
        )
        assert persona_id is not None
        job = ImportJob(owner_id=a.user.id, kind="calango", filename="a.json")
        db.session.add(job)
        db.session.commit()
        assert db.session.get(ChatSession, chat_id).owner_id == a.user.id
        return Data(
            chat_id=chat_id,
            message_id=message_id,
            question_id=question_id,
            round_id=round_id,
            round_session_id=contender.session_id,
            round_message_id=round_message_id,
            persona_id=persona_id,
            job_id=job.id,
            provider_id=provider.id,
        )


def _arguments(rule: Any, data: Data, user_ids: dict[str, int]) -> dict[str, Any] | None:
    """A's ids for ``rule``'s arguments; None when the rule names no row at all."""
    arena = rule.endpoint.startswith("arena.")
    message_id = data.round_message_id if arena else data.message_id
    if rule.endpoint == "chats.attachment":
        message_id = data.question_id  # the message with the file
    values = {
        "chat_id": data.chat_id,
        "message_id": message_id,
        "round_id": data.round_id,
        "session_id": data.round_session_id,
        "persona_id": data.persona_id,
        "job_id": data.job_id,
        "provider_id": data.provider_id,
        "user_id": user_ids["a"],
        "turn": 1,
        "position": 0,
    }
    if rule.endpoint == "static":
        return None
    found = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        if name not in values:
            pytest.fail(
                f"{rule.rule}: unknown {kind} argument {name!r}; classify it in "
                "tests/accounts/test_isolation.py"
            )
        found[name] = values[name]
    return found or None


def _expected(rule: Any) -> int:
    names = set(rule.arguments)
    if names & ADMIN_ARGUMENTS:
        return 403
    assert names & OWNED_ARGUMENTS, f"{rule.rule}: no owned argument among {sorted(names)}"
    return 404


def test_b_reaches_none_of_a_rows_by_any_route(
    app: Flask, a: Person, b: Person, data_of_a: Data
) -> None:
    token = csrf_token_from(b.client, "/chats/")  # B's first visit (their built-in personas)
    before_counts = _counts(app)
    before = _fingerprint(app, a.user.id)
    adapter = app.url_map.bind("localhost")
    wrong: list[str] = []
    walked = 0
    for rule in app.url_map.iter_rules():
        arguments = _arguments(rule, data_of_a, {"a": a.user.id})
        if arguments is None:
            continue
        expected = _expected(rule)
        url = adapter.build(rule.endpoint, arguments)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            if method == "GET":
                response = b.client.get(url)
            else:
                response = b.client.post(url, data={"csrf_token": token})
            walked += 1
            status = response.status_code
            # A stream that should not exist is not read (it would wait for the answer).
            page = response.get_data(as_text=True) if status == expected else ""
            response.close()
            if rule.rule in SCOPE_RULES:
                continue
            if status != expected:
                wrong.append(f"{method} {url} ({rule.endpoint}): {status}")
            elif _shows_a(page):
                wrong.append(f"{method} {url} ({rule.endpoint}): shows A's data")
    assert not wrong, "B reached A's rows:\n" + "\n".join(wrong)
    assert walked > 30
    finish(app)
    assert _counts(app) == before_counts
    assert _fingerprint(app, a.user.id) == before
    # A still reaches everything of theirs.
    assert a.client.get(f"/chats/{data_of_a.chat_id}").status_code == 200
    assert a.client.get(f"/rinha/{data_of_a.round_id}").status_code == 200
    file_url = f"/chats/{data_of_a.chat_id}/messages/{data_of_a.question_id}/files/0"
    assert a.client.get(file_url).data == f"notes about the {SECRET}".encode()


def test_lists_and_search_of_b_show_nothing_of_a(
    app: Flask, a: Person, b: Person, data_of_a: Data
) -> None:
    pages = ["/chats/", "/rinha/", f"/chats/search?q={SECRET}", "/cuca/", "/cuca/log", "/personas/"]
    for path in pages:
        response = b.client.get(path)
        assert response.status_code == 200, path
        assert not _shows_a(response.get_data(as_text=True)), path
    assert MARKS[0] in a.client.get(f"/chats/search?q={SECRET}").get_data(as_text=True)
    assert MARKS[0] in a.client.get("/chats/").get_data(as_text=True)
    assert MARKS[2] in a.client.get("/rinha/").get_data(as_text=True)
    assert MARKS[1] in a.client.get("/personas/").get_data(as_text=True)


def test_b_can_neither_follow_nor_stop_a_running_answer(
    app: Flask, a: Person, b: Person, provider: Provider, fake: Any
) -> None:
    fake.script(chunks=["one ", "two"])
    fake.hold()
    try:
        token = csrf_token_from(a.client, "/chats/")
        chat_id = send(a.client, token, "a long one", model="fake-model").get_json()["chat_id"]
        answer_id = messages_of(app, chat_id)[1].id
        assert fake.wait_until_held()
        stream = f"/chats/{chat_id}/messages/{answer_id}/stream"
        followed = b.client.get(stream, buffered=False)
        followed.close()
        assert followed.status_code == 404
        b_token = csrf_token_from(b.client, "/chats/")
        stop = f"/chats/{chat_id}/messages/{answer_id}/stop"
        assert b.client.post(stop, data={"csrf_token": b_token}).status_code == 404
    finally:
        fake.release()
        finish(app)
    answer = messages_of(app, chat_id)[1]
    assert (answer.status, answer.content) == ("complete", "one two")
    assert a.client.get(stream).status_code == 200

"""Isolation in SERVER mode: every route that names one of A's rows answers B with a 404
(never a 403: the row's existence is not disclosed), B's pages and search show nothing of
A's, and nothing of A's changes while B tries. The walker covers every rule of the URL map,
so a new route must be classified here (an unknown argument fails the test)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from calango.extensions import db
from calango.models import (
    ArenaContender,
    ArenaRound,
    ChatMessage,
    ChatSession,
    ImportJob,
    Persona,
    Provider,
)
from calango.models.import_job import JobStatus
from calango.services.network_policy import set_local_providers_allowed
from tests.arena.conftest import round_id_from, start_round
from tests.helpers import (
    FAKE_MODEL,
    PRICES,
    add_provider,
    csrf_token_from,
    finish,
    send,
    wait_until,
)

TITLE = "Zanzibar quokka isolation"  # A's chat: a title found nowhere else
SECRET = "quokka"  # a word of A's message

# Arguments that name an instance-wide row (providers, users): B is refused as a non-admin.
ADMIN_ONLY = {"provider_id", "user_id"}
SKIPPED_RULES = {"static"}  # files of the app, nobody's data


@dataclass
class Rows:
    """A's rows, by the URL argument that names them."""

    chat_id: uuid.UUID
    message_id: int  # an answer in A's chat
    round_id: int
    arena_message_id: int  # an answer in A's round
    session_id: uuid.UUID  # a contender's conversation of A's round
    persona_id: int
    job_id: uuid.UUID
    provider_id: int
    user_id: int


def _provider(app: Flask, fake: Any) -> Provider:
    """The fake provider (on 127.0.0.1: SERVER mode must be told to allow local ones)."""
    with app.app_context():
        set_local_providers_allowed(True)
    return add_provider(
        app, "sk-fake-key-0001", name="Fake", kind="openai", base_url=fake.openai_base_url,
        models=[FAKE_MODEL, "alpha", "beta"], price_overrides=PRICES,
    )  # fmt: skip


def _a_rows(app: Flask, people: dict[str, Any], provider: Provider) -> Rows:
    a = people["a"]
    token = csrf_token_from(a.client)
    response = send(a.client, token, f"Tell me about the {SECRET}", persona="")
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    chat_id = uuid.UUID(response.get_json()["chat_id"])
    finish(app)
    response = send(a.client, token, f"And more on the {SECRET}?", chat_id=chat_id, persona="")
    assert response.status_code == 201
    finish(app)
    response = a.client.post(f"/chats/{chat_id}/rename", data={"csrf_token": token, "title": TITLE})
    assert response.status_code == 303
    response = start_round(
        a.client, token, [f"{provider.id}:alpha", f"{provider.id}:beta"], prompt="Who wins?"
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    round_id = round_id_from(response)
    finish(app)
    with app.app_context():
        statuses = db.session.scalars(
            select(ChatMessage.status).where(ChatMessage.role == "assistant")
        ).all()
        assert statuses and set(statuses) == {"complete"}, statuses
    response = a.client.post(
        "/personas/new", data={"csrf_token": token, "name": "Quokka", "prompt": "Be a quokka."}
    )
    assert response.status_code == 302
    with app.app_context():
        message_id = db.session.scalar(
            select(func.max(ChatMessage.id)).where(ChatMessage.session_id == chat_id)
        )
        contender = db.session.scalars(
            select(ArenaContender).where(ArenaContender.round_id == round_id)
        ).first()
        arena_message_id = db.session.scalar(
            select(func.max(ChatMessage.id)).where(ChatMessage.session_id == contender.session_id)
        )
        persona_id = db.session.scalar(
            select(Persona.id).where(Persona.name == "Quokka", Persona.owner_id == a.user.id)
        )
        job = ImportJob(owner_id=a.user.id, kind="chatgpt", status=JobStatus.DONE, filename="x")
        db.session.add(job)
        db.session.commit()
        return Rows(
            chat_id=chat_id, message_id=message_id, round_id=round_id,
            arena_message_id=arena_message_id, session_id=contender.session_id,
            persona_id=persona_id, job_id=job.id, provider_id=provider.id, user_id=a.user.id,
        )  # fmt: skip


def _value(rule: Any, name: str, rows: Rows) -> Any:
    """A's row for the argument ``name`` of ``rule``; fails for an argument nobody classified."""
    arena = rule.endpoint.startswith("arena.")
    values = {
        "chat_id": rows.chat_id,
        "message_id": rows.arena_message_id if arena else rows.message_id,
        "round_id": rows.round_id,
        "session_id": rows.session_id,
        "persona_id": rows.persona_id,
        "job_id": rows.job_id,
        "provider_id": rows.provider_id,
        "user_id": rows.user_id,
        "turn": 1,  # of A's round (the rule also has round_id)
        "position": 0,  # a column of A's round (the rule also has round_id)
    }
    assert name in values, f"{rule.rule}: classify the argument {name!r} in this test"
    return values[name]


def _snapshot(app: Flask, a_id: int, chat_id: uuid.UUID) -> dict[str, Any]:
    """How many rows every table holds (A's only, where a table has an owner), and A's chat."""
    with app.app_context():
        counts: dict[str, Any] = {}
        for table in db.metadata.sorted_tables:
            query = select(func.count()).select_from(table)
            if "owner_id" in table.c:
                query = query.where(table.c.owner_id == a_id)
            elif "user_id" in table.c:
                query = query.where(table.c.user_id == a_id)
            counts[table.name] = db.session.scalar(query)
        chat = db.session.get(ChatSession, chat_id)
        counts["chat"] = (chat.title, chat.pinned_at, chat.leaf_id, chat.updated_at)
        counts["messages"] = [
            (m.id, m.parent_id, m.role, m.content, m.status)
            for m in db.session.scalars(
                select(ChatMessage)
                .where(ChatMessage.session_id == chat_id)
                .order_by(ChatMessage.id)
            )
        ]
        rounds = db.session.scalars(select(ArenaRound).where(ArenaRound.owner_id == a_id))
        counts["rounds"] = [(r.id, r.title, r.turns, len(r.votes)) for r in rounds]
        return counts


def test_b_gets_404_for_every_route_naming_a_row_of_a(
    app: Flask, people: dict[str, Any], fake: Any
) -> None:
    provider = _provider(app, fake)
    rows = _a_rows(app, people, provider)
    b = people["b"]
    token = csrf_token_from(b.client)  # B's first visit (B's own starter rows) comes first
    before = _snapshot(app, rows.user_id, rows.chat_id)
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_RULES:
            continue
        names = set(rule.arguments) - set(rule.defaults or {})
        if not names:
            continue
        url = rule.build({n: _value(rule, n, rows) for n in names}, append_unknown=False)[1]
        expected = 403 if names & ADMIN_ONLY else 404
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = b.client.get(url)
            else:
                data = {"csrf_token": token, "title": "B was here", "content": "B was here"}
                response = b.client.post(url, data=data)
            body = response.get_data(as_text=True)
            assert response.status_code == expected, (method, url, response.status_code)
            assert TITLE not in body and SECRET not in body, (method, url)
            checked += 1
    assert checked >= 40  # every chat, arena, persona and import route was tried
    finish(app)
    assert _snapshot(app, rows.user_id, rows.chat_id) == before
    # A still reaches every one of them.
    assert people["a"].client.get(f"/chats/{rows.chat_id}").status_code == 200
    assert people["a"].client.get(f"/rinha/{rows.round_id}").status_code == 200


def test_b_pages_list_nothing_of_a(app: Flask, people: dict[str, Any], fake: Any) -> None:
    provider = _provider(app, fake)
    rows = _a_rows(app, people, provider)
    a, b = people["a"], people["b"]
    assert TITLE in a.client.get("/chats/").get_data(as_text=True)  # the check can fail
    pages = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.arguments or rule.endpoint in SKIPPED_RULES:
            continue
        response = b.client.get(rule.rule)
        body = response.get_data(as_text=True)
        assert TITLE not in body and str(rows.chat_id) not in body, rule.rule
        assert f"/rinha/{rows.round_id}" not in body, rule.rule
        pages += 1
    assert pages >= 15
    # Search: A finds the chat, B finds nothing.
    found = a.client.get(f"/chats/search?q={SECRET}").get_data(as_text=True)
    assert str(rows.chat_id) in found
    for query in (SECRET, "Zanzibar", f'"{SECRET} isolation"', "more"):
        body = b.client.get(f"/chats/search?q={query}").get_data(as_text=True)
        assert str(rows.chat_id) not in body and TITLE not in body, query


def test_a_running_answer_is_out_of_b_reach(app: Flask, people: dict[str, Any], fake: Any) -> None:
    _provider(app, fake)
    a, b = people["a"], people["b"]
    token_a, token_b = csrf_token_from(a.client), csrf_token_from(b.client)
    fake.script(reply="a long and slow answer for A").hold()
    response = send(a.client, token_a, "Slow one, please", persona="")
    assert response.status_code == 201
    chat_id = response.get_json()["chat_id"]
    wait_until(lambda: len(fake.requests) == 1)
    with app.app_context():
        answer = db.session.scalar(
            select(ChatMessage).where(
                ChatMessage.session_id == uuid.UUID(chat_id), ChatMessage.role == "assistant"
            )
        )
        assert answer.status == "streaming"
        answer_id = answer.id
    base = f"/chats/{chat_id}/messages/{answer_id}"
    assert b.client.get(f"{base}/stream").status_code == 404
    assert b.client.post(f"{base}/stop", data={"csrf_token": token_b}).status_code == 404
    stop_json = b.client.post(
        f"{base}/stop", data={"csrf_token": token_b}, headers={"Accept": "application/json"}
    )
    assert stop_json.status_code == 404
    # B's send into A's chat: refused as if the chat did not exist; nothing written.
    sent = send(b.client, token_b, "hijack", chat_id=chat_id, persona="")
    assert sent.status_code == 404
    fake.release()
    finish(app)
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(ChatMessage)
                .where(ChatMessage.session_id == uuid.UUID(chat_id))
                .order_by(ChatMessage.id)
            )
        )
        assert [m.role for m in rows] == ["user", "assistant"]
        assert rows[1].status == "complete"
        assert rows[1].content == "a long and slow answer for A"
    # A follows the finished answer; B still cannot.
    events = a.client.get(f"{base}/stream").get_data(as_text=True)
    assert "event: done" in events
    wait_until(lambda: b.client.get(f"{base}/stream").status_code == 404)

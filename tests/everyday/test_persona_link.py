"""Chats refer to their persona by id: renaming it keeps it with its chats; deleting it is
said on the chat page and the composer falls back to the default."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calango.extensions import db
from calango.models import DEFAULT_PERSONA_NAME, ChatSession, Persona, Provider
from tests.everyday.composer_page import composer, form_data
from tests.helpers import finish, messages_of, send

PIRATE_PROMPT = "Answer like a pirate. Arr."


@pytest.fixture
def pirate(app: Flask, client: FlaskClient, csrf: str) -> int:
    response = client.post(
        "/personas/new", data={"csrf_token": csrf, "name": "Pirate", "prompt": PIRATE_PROMPT}
    )
    assert response.status_code == 302
    with app.app_context():
        return db.session.scalars(Persona.select_by_name("Pirate")).one().id


def _pirate_chat(app: Flask, client: FlaskClient, csrf: str, provider: Provider) -> str:
    chat_id = send(
        client, csrf, "Ahoy?", provider=provider.name, model="fake-small", persona="Pirate"
    ).get_json()["chat_id"]
    finish(app)
    return str(chat_id)


def _persona_shown(page: str) -> str:
    chosen = composer(page).selects["persona"].value
    assert chosen is not None
    return chosen.value


def _system_prompt(fake: Any) -> str:
    first = fake.requests[-1]["json"]["messages"][0]
    assert first["role"] == "system"
    return str(first["content"])


def test_a_renamed_persona_stays_with_its_chats_and_its_prompt_is_used(
    app: Flask,
    client: FlaskClient,
    csrf: str,
    twins: dict[str, Provider],
    fake: Any,
    pirate: int,
) -> None:
    chat_id = _pirate_chat(app, client, csrf, twins["Ollama"])
    response = client.post(
        f"/personas/{pirate}/edit",
        data={"csrf_token": csrf, "name": "Pirate Captain", "prompt": PIRATE_PROMPT},
    )
    assert response.status_code == 302

    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert _persona_shown(page) == "Pirate Captain"
    assert 'id="persona-deleted"' not in page
    response = client.post(f"/chats/{chat_id}/messages", data=form_data(page, "Where?"))
    assert response.status_code == 303
    finish(app)
    assert _system_prompt(fake) == PIRATE_PROMPT
    with app.app_context():
        chat = db.session.get(ChatSession, uuid.UUID(chat_id))
        assert (chat.persona_id, chat.persona) == (pirate, "Pirate Captain")
    # Each answer keeps the name the persona had when it answered.
    labels = [m.persona for m in messages_of(app, chat_id) if m.role == "assistant"]
    assert labels == ["Pirate", "Pirate Captain"]
    # The delete confirmation still counts the chat as using the persona.
    confirm = client.get(f"/personas/{pirate}/delete").get_data(as_text=True)
    assert "1 chat used it" in confirm


def test_a_deleted_persona_falls_back_to_the_default_and_the_chat_says_so(
    app: Flask,
    client: FlaskClient,
    csrf: str,
    twins: dict[str, Provider],
    fake: Any,
    pirate: int,
) -> None:
    chat_id = _pirate_chat(app, client, csrf, twins["Ollama"])
    response = client.post(f"/personas/{pirate}/delete", data={"csrf_token": csrf})
    assert response.status_code == 303

    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert _persona_shown(page) == DEFAULT_PERSONA_NAME
    assert "The persona “Pirate” of this chat was deleted." in page
    client.post(f"/chats/{chat_id}/messages", data=form_data(page, "Still there?"))
    finish(app)
    with app.app_context():
        default = db.session.scalars(Persona.select_by_name(DEFAULT_PERSONA_NAME)).one()
        assert _system_prompt(fake) == default.prompt
        chat = db.session.get(ChatSession, uuid.UUID(chat_id))
        assert (chat.persona_id, chat.persona) == (default.id, DEFAULT_PERSONA_NAME)
    # Picking a persona again ends the notice.
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert "was deleted" not in page


def test_a_chat_imported_with_only_a_name_finds_its_persona_by_the_name_rule(
    app: Flask, client: FlaskClient, twins: dict[str, Provider], pirate: int
) -> None:
    with app.app_context():
        chat = ChatSession(title="From a file", persona="  PIRATE ")
        db.session.add(chat)
        db.session.commit()
        chat_id = chat.id
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert _persona_shown(page) == "Pirate"
    assert "was deleted" not in page

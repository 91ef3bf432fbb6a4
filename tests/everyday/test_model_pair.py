"""Two providers listing the same model names: the composer chooses a (provider, model) pair,
never a bare model name that several options share."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calango.accounts import local_user_id
from calango.extensions import db
from calango.models import ChatMessage, Provider, UserSetting
from calango.services.imports.calango_export import import_calango_export
from tests.everyday.composer_page import composer, form_data
from tests.everyday.conftest import KEYS, key_used
from tests.helpers import finish, messages_of, send


def _model_menu_shows(page: str, provider: str, model: str) -> None:
    parsed = composer(page)
    marked = parsed.selects["model"].marked
    assert [(o.group, o.text) for o in marked] == [(provider, model)]
    assert parsed.selects["provider"].value is not None
    assert parsed.selects["provider"].value.value == provider


@pytest.mark.parametrize(
    ("provider", "model"),
    [("Ollama", "fake-small"), ("Ollama", "fake-large"), ("LM Studio", "fake-large")],
)
def test_reopened_chat_preselects_exactly_its_pair_and_the_next_message_goes_there(
    app: Flask,
    client: FlaskClient,
    csrf: str,
    twins: dict[str, Provider],
    fake: Any,
    provider: str,
    model: str,
) -> None:
    chat_id = send(client, csrf, "first", provider=provider, model=model).get_json()["chat_id"]
    finish(app)
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    _model_menu_shows(page, provider, model)

    # Sending the form as the page offers it (no JavaScript) reaches the same pair.
    response = client.post(f"/chats/{chat_id}/messages", data=form_data(page, "second"))
    assert response.status_code == 303
    finish(app)
    assert key_used(fake.requests[-1]) == KEYS[provider]
    assert fake.requests[-1]["json"]["model"] == model
    answers = [m for m in messages_of(app, chat_id) if m.role == "assistant"]
    assert [(m.provider, m.model) for m in answers] == [(provider, model)] * 2


def test_new_chat_preselects_the_last_pair_used(
    app: Flask, client: FlaskClient, csrf: str, twins: dict[str, Provider]
) -> None:
    # Scripts may post a bare model name: it is the picked provider's model.
    send(client, csrf, "hello", provider="Ollama", model="fake-large")
    finish(app)
    _model_menu_shows(client.get("/chats/").get_data(as_text=True), "Ollama", "fake-large")


def test_the_last_pair_survives_renaming_its_provider(
    app: Flask, client: FlaskClient, csrf: str, twins: dict[str, Provider]
) -> None:
    send(client, csrf, "hello", provider="Ollama", model="fake-large")
    finish(app)
    with app.app_context():
        db.session.get(Provider, twins["Ollama"].id).name = "Ollama Box"
        db.session.commit()
    _model_menu_shows(client.get("/chats/").get_data(as_text=True), "Ollama Box", "fake-large")


def test_a_model_of_another_provider_is_refused_not_sent_elsewhere(
    app: Flask, client: FlaskClient, csrf: str, twins: dict[str, Provider], fake: Any
) -> None:
    """Without JavaScript both menus change independently: provider "LM Studio" with the
    option "fake-small" of Ollama is a contradiction, and the user is asked to resolve it."""
    page = client.get("/chats/").get_data(as_text=True)
    ollama_small = next(
        o.value
        for o in composer(page).selects["model"].options
        if (o.group, o.text) == ("Ollama", "fake-small")
    )
    data = form_data(page, "which one?") | {"provider": "LM Studio", "model": ollama_small}
    response = client.post("/chats/messages", data=data)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "is the one of “Ollama”, not of “LM Studio”" in text
    assert "which one?</textarea>" in text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ChatMessage)) == 0
    assert fake.requests == []


@pytest.mark.parametrize("value", ["99999999999:fake-small", "1:", ":fake-small"])
def test_a_forged_pair_is_refused_with_a_message(
    app: Flask, client: FlaskClient, csrf: str, twins: dict[str, Provider], value: str
) -> None:
    response = send(client, csrf, "hi", provider="Ollama", model=value)
    assert response.status_code == 400
    assert "is not offered by “Ollama”" in response.get_json()["error"]


def test_an_exported_last_pair_imports_by_names_only(app_ctx: Flask) -> None:
    """Ids name rows of the installation that exported them: the import keeps the names."""
    raw = json.dumps(
        {
            "format": "calango-export",
            "version": 1,
            "settings": {
                "last_chat_choice": {
                    "provider": "Ollama",
                    "provider_id": 7,
                    "model": "fake-large",
                    "persona": "",
                    "persona_id": None,
                }
            },
            "chats": [],
        }
    ).encode()
    summary = import_calango_export(io.BytesIO(raw))
    assert summary.skipped == []
    assert UserSetting.get(local_user_id(), "last_chat_choice") == {
        "provider": "Ollama",
        "model": "fake-large",
        "persona": "",
    }

"""The SSRF guard as a SERVER's users meet it: the fake provider on 127.0.0.1 is refused for
chat sends, Test connection and Fetch models (and when a provider is saved) until an admin
allows local providers on Settings → Providers; DESKTOP never refuses it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calango.models import Provider
from tests.accounts_helpers import login_as, make_user
from tests.helpers import (
    FAKE_MODEL,
    PRICES,
    add_provider,
    csrf_token_from,
    finish,
    flashes,
    messages_of,
    provider_named,
    send,
)

REFUSAL = "a private, loopback or link-local address"


@pytest.fixture
def server(app: Flask, client: FlaskClient) -> Flask:
    """The test app in SERVER mode (on the test database), ``client`` signed in as an admin
    (the providers pages are theirs)."""
    app.config.update(MODE="SERVER")
    login_as(client, make_user(app, "admin@example.com", admin=True))
    return app


@pytest.fixture
def provider(app: Flask, fake: Any) -> Provider:
    return add_provider(
        app,
        "sk-fake-key-0001",
        name="Fake",
        kind="openai",
        base_url=fake.openai_base_url,
        models=[FAKE_MODEL],
        price_overrides=PRICES,
    )


def _switch_on(page: str) -> bool:
    match = re.search(r'<input[^>]*name="allow"[^>]*>', page)
    assert match, "no allow-local-providers switch on the page"
    return "checked" in match.group(0)


def _allow(client: FlaskClient, token: str, allowed: bool) -> None:
    data = {"csrf_token": token, **({"allow": "y"} if allowed else {})}
    response = client.post("/settings/providers/local-access", data=data)
    assert response.status_code == 302


def test_a_send_to_a_local_provider_is_refused_on_a_server(
    server: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    chat_id = send(client, csrf, "hello?").get_json()["chat_id"]
    finish(server)
    _user, answer = messages_of(server, chat_id)
    assert answer.status == "error"
    assert REFUSAL in answer.error
    assert "127.0.0.1" in answer.error
    assert fake.requests == []


def test_allowing_local_providers_lets_the_send_through(
    server: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    _allow(client, csrf, True)
    assert "may now use local and private addresses" in flashes(client)[0]
    assert _switch_on(client.get("/settings/providers").get_data(as_text=True))
    chat_id = send(client, csrf, "hello?").get_json()["chat_id"]
    finish(server)
    _user, answer = messages_of(server, chat_id)
    assert (answer.status, answer.content) == ("complete", "Hello from fake")
    _allow(client, csrf, False)
    chat_id = send(client, csrf, "again?").get_json()["chat_id"]
    finish(server)
    assert REFUSAL in messages_of(server, chat_id)[-1].error


@pytest.mark.parametrize("action", ["test", "models"])
def test_test_connection_and_fetch_models_are_refused_then_allowed(
    server: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any, action: str
) -> None:
    client.post(f"/settings/providers/{provider.id}/{action}", data={"csrf_token": csrf})
    [message] = flashes(client)
    assert REFUSAL in message and "an admin can allow them" in message.lower()
    assert fake.requests == []
    _allow(client, csrf, True)
    flashes(client)
    client.post(f"/settings/providers/{provider.id}/{action}", data={"csrf_token": csrf})
    assert REFUSAL not in flashes(client)[0]
    assert fake.requests[-1]["path"].endswith("/models")


def test_the_refusal_is_translated(
    server: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    client.post(
        f"/settings/providers/{provider.id}/test",
        data={"csrf_token": csrf},
        headers={"Accept-Language": "pt-BR"},
    )
    [message] = flashes(client)
    assert "127.0.0.1" in message
    assert REFUSAL not in message
    assert "provedores locais" in message


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "2130706433", "0177.0.0.1", "[::ffff:127.0.0.1]"]
)
def test_saving_a_local_base_url_is_refused_on_a_server(
    server: Flask, client: FlaskClient, csrf: str, host: str
) -> None:
    response = client.post(
        "/settings/providers/new",
        data={
            "csrf_token": csrf,
            "name": "Local",
            "kind": "openai",
            "base_url": f"http://{host}:11434/v1",
        },
    )
    assert response.status_code == 200
    assert REFUSAL in response.get_data(as_text=True)
    assert provider_named(server, "Local") is None


def test_saving_a_local_base_url_is_fine_once_allowed_and_on_desktop(
    app: Flask, client: FlaskClient, csrf: str
) -> None:
    data = {"csrf_token": csrf, "name": "Ollama", "kind": "openai"}
    data["base_url"] = "http://127.0.0.1:11434/v1"
    assert client.post("/settings/providers/new", data=data).status_code == 302  # DESKTOP
    app.config.update(MODE="SERVER")
    login_as(client, make_user(app, "admin@example.com", admin=True))
    _allow(client, csrf, True)
    data.update(name="Ollama 2")
    assert client.post("/settings/providers/new", data=data).status_code == 302


def test_the_switch_shows_only_on_a_server(app: Flask, client: FlaskClient) -> None:
    page = client.get("/settings/providers").get_data(as_text=True)
    assert "local-access" not in page
    token = csrf_token_from(client, "/settings/providers")
    assert (
        client.post("/settings/providers/local-access", data={"csrf_token": token}).status_code
        == 404
    )
    app.config.update(MODE="SERVER")
    login_as(client, make_user(app, "admin@example.com", admin=True))
    page = client.get("/settings/providers").get_data(as_text=True)
    assert 'action="/settings/providers/local-access"' in page
    assert not _switch_on(page)


def test_the_switch_needs_a_csrf_token(server: Flask, client: FlaskClient) -> None:
    response = client.post("/settings/providers/local-access", data={"allow": "y"})
    assert response.status_code == 400
    page = client.get("/settings/providers").get_data(as_text=True)
    assert not _switch_on(page)

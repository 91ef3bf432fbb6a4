"""Item 3: a key from the environment goes only to its own vendor's official address."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calango.extensions import db
from calango.llm import env_key_names, official_family, resolve_api_key
from calango.models import Provider
from calango.services.config_io import export_config
from tests.helpers import FAKE_MODEL, finish, messages_of, send

ENV_KEY = "sk-from-the-environment-9999"


def _add(app: Flask, name: str, base_url: str, key: str | None = None) -> int:
    with app.app_context():
        p = Provider(name=name, kind="openai", base_url=base_url, models=[FAKE_MODEL])
        p.set_api_key(key)
        db.session.add(p)
        db.session.commit()
        return p.id


@pytest.mark.parametrize(
    ("name", "var"),
    [
        ("OpenAI", "OPENAI_API_KEY"),
        ("groq", "GROQ_API_KEY"),
        ("My OpenRouter", "OPENROUTER_API_KEY"),
    ],
)
def test_a_provider_named_after_a_vendor_never_gets_its_key(
    app: Flask,
    client: FlaskClient,
    csrf: str,
    fake: Any,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    var: str,
) -> None:
    monkeypatch.setenv(var, ENV_KEY)
    _add(app, name, fake.openai_base_url)
    chat_id = send(client, csrf, "hello", provider=name).get_json()["chat_id"]
    finish(app)
    assert messages_of(app, chat_id)[1].status == "complete"
    sent = [r["headers"].get("authorization", "") for r in fake.requests]
    assert sent and all(ENV_KEY not in header for header in sent)
    assert sent[-1] == "Bearer not-needed"  # a local address gets the placeholder, no secret


def test_test_connection_and_the_provider_page_do_not_use_a_vendor_key_either(
    app: Flask, client: FlaskClient, csrf: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    provider_id = _add(app, "openai", fake.openai_base_url)
    client.post(f"/settings/providers/{provider_id}/test", data={"csrf_token": csrf})
    client.post(f"/settings/providers/{provider_id}/models", data={"csrf_token": csrf})
    assert len(fake.requests) == 2
    assert all(ENV_KEY not in r["headers"].get("authorization", "") for r in fake.requests)
    for page in ("/settings/providers", f"/settings/providers/{provider_id}/edit"):
        assert "$OPENAI_API_KEY" not in client.get(page).get_data(as_text=True)


def test_an_export_never_names_a_vendor_variable_for_a_custom_address(
    app: Flask, fake: Any
) -> None:
    _add(app, "OpenAI", fake.openai_base_url, key="sk-stored-1234")
    with app.app_context():
        text = export_config()
    assert "${OPENAI_API_KEY}" not in text
    assert "${CUSTOM_OPENAI_API_KEY}" in text


@pytest.mark.parametrize(
    ("kind", "base_url"),
    [
        ("openai", "http://api.openai.com/v1"),  # not over HTTPS
        ("openai", "https://api.openai.com:8443/v1"),  # another port
        ("openai", "https://user:pw@api.openai.com/v1"),  # credentials in the URL
        ("openai", "https://api.openai.com.evil.example/v1"),  # a look-alike host
        ("openai", "https://evil.example/api.openai.com/v1"),  # the host only in the path
        ("anthropic", "https://api.openai.com/v1"),  # another vendor's protocol
        ("openai", "https://api.anthropic.com"),
        ("openai", "http://127.0.0.1:8000/v1"),
    ],
)
def test_only_the_official_endpoint_counts(kind: str, base_url: str) -> None:
    environ = {"OPENAI_API_KEY": ENV_KEY, "ANTHROPIC_API_KEY": ENV_KEY}
    assert official_family(kind, base_url) is None
    assert env_key_names(kind, base_url) == ()
    assert resolve_api_key(kind, base_url, None, environ) != ENV_KEY


@pytest.mark.parametrize(
    ("kind", "base_url", "family"),
    [
        ("openai", None, "openai"),
        ("openai", "https://api.openai.com/v1", "openai"),
        ("openai", "https://API.OpenAI.com:443/v1/", "openai"),
        ("anthropic", None, "anthropic"),
        ("gemini", "", "gemini"),
        ("openai", "https://api.groq.com/openai/v1", "groq"),
        ("openai", "https://openrouter.ai/api/v1", "openrouter"),
    ],
)
def test_official_endpoints_keep_their_keys(kind: str, base_url: str | None, family: str) -> None:
    assert official_family(kind, base_url) == family

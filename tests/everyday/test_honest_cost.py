"""Honest cost: $0.00 only for a local runtime; an unknown price says so and links to the
provider's price overrides."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from calango.extensions import db
from calango.models import Provider
from calango.services.config_io import ConfigImportError, export_config, import_config
from tests.helpers import add_provider, finish, messages_of, send


def _answer_meta(page: str) -> str:
    meta = re.findall(r'<footer class="msg-meta small">(.*?)</footer>', page, re.S)
    assert meta, page
    return meta[-1]


def test_a_local_address_without_a_price_shows_price_unknown_with_a_link(
    app: Flask, client: FlaskClient, csrf: str, fake: Any
) -> None:
    # The fake listens on 127.0.0.1: a local address, but not marked as a local runtime.
    proxy = add_provider(
        app, "sk-1", name="House proxy", kind="openai", base_url=fake.openai_base_url,
        models=["house-model"],
    )  # fmt: skip
    chat_id = send(client, csrf, "hi", provider="House proxy", model="house-model").get_json()[
        "chat_id"
    ]
    finish(app)
    (answer,) = [m for m in messages_of(app, chat_id) if m.role == "assistant"]
    assert answer.cost is None and answer.token_usage
    meta = _answer_meta(client.get(f"/chats/{chat_id}").get_data(as_text=True))
    assert "$0.00" not in meta
    assert "price unknown" in meta
    link = re.search(r'<a href="([^"]+)">set it</a>', meta)
    assert link, meta
    target = client.get(link.group(1).replace("&amp;", "&"))
    assert target.status_code == 302
    assert target.headers["Location"].endswith(f"/settings/providers/{proxy.id}/edit#prices")
    edit = client.get(f"/settings/providers/{proxy.id}/edit").get_data(as_text=True)
    assert 'id="prices"' in edit and 'name="local_runtime"' in edit


def test_a_local_runtime_costs_nothing(
    app: Flask, client: FlaskClient, csrf: str, fake: Any
) -> None:
    add_provider(
        app, None, name="Ollama", kind="openai", base_url=fake.openai_base_url,
        models=["llama3.1"], local_runtime=True,
    )  # fmt: skip
    chat_id = send(client, csrf, "hi", provider="Ollama", model="llama3.1").get_json()["chat_id"]
    finish(app)
    (answer,) = [m for m in messages_of(app, chat_id) if m.role == "assistant"]
    assert answer.cost == 0
    meta = _answer_meta(client.get(f"/chats/{chat_id}").get_data(as_text=True))
    assert "$0.00" in meta and "price unknown" not in meta


def test_the_local_checkbox_is_saved_and_presets_tick_it(
    app: Flask, client: FlaskClient, csrf: str
) -> None:
    form = client.get("/settings/providers/new?preset=ollama").get_data(as_text=True)
    assert re.search(
        r'<input[^>]*checked[^>]*name="local_runtime"|name="local_runtime"[^>]*checked', form
    )
    hosted = client.get("/settings/providers/new?preset=openai").get_data(as_text=True)
    assert not re.search(r'name="local_runtime"[^>]*checked', hosted)
    response = client.post(
        "/settings/providers/new",
        data={"csrf_token": csrf, "name": "vLLM box", "kind": "openai",
              "base_url": "http://localhost:8000/v1", "local_runtime": "y", "models": "m"},
    )  # fmt: skip
    assert response.status_code == 302
    with app.app_context():
        saved = db.session.scalars(db.select(Provider).filter_by(name="vLLM box")).one()
        assert saved.local_runtime is True
        provider_id = saved.id
    client.post(
        f"/settings/providers/{provider_id}/edit",
        data={"csrf_token": csrf, "name": "vLLM box", "kind": "openai",
              "base_url": "http://localhost:8000/v1", "models": "m"},
    )  # fmt: skip
    with app.app_context():
        assert db.session.get(Provider, provider_id).local_runtime is False


def test_an_unknown_provider_name_leads_to_the_provider_list(client: FlaskClient) -> None:
    response = client.get("/settings/providers/prices?name=Gone")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/settings/providers")


def test_the_local_flag_travels_through_the_configuration_file(app_ctx: Any) -> None:
    text = (
        "providers:\n"
        "  Ollama:\n    base_url: http://localhost:11434/v1\n    models: [llama3]\n"
        "  Box:\n    base_url: http://10.0.0.9:9000/v1\n    local: true\n    models: [m]\n"
        "  Proxy:\n    base_url: http://localhost:4000/v1\n    models: [gpt-4o]\n"
    )
    import_config(text, environ={})
    flags = {p.name: p.local_runtime for p in db.session.scalars(db.select(Provider))}
    assert flags == {"Ollama": True, "Box": True, "Proxy": False}  # Ollama: its preset's
    exported = yaml.safe_load(export_config())["providers"]
    assert "local" not in exported["Ollama"] and "local" not in exported["Proxy"]
    assert exported["Box"]["local"] is True
    bad = "providers:\n  X:\n    base_url: http://localhost:1/v1\n    local: maybe\n"
    with pytest.raises(ConfigImportError, match="true or false"):
        import_config(bad, environ={})

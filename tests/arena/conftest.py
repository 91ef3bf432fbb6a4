"""Fixtures for A Rinha's tests: one fake provider offering several models."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calango.extensions import db
from calango.models import ArenaRound, Provider
from config import TestConfig
from tests.helpers import add_provider

MODELS = ["alpha", "beta", "gamma", "delta"]
PRICES = {m: {"input": 1.0 * (i + 1), "output": 4.0 * (i + 1)} for i, m in enumerate(MODELS)}


@pytest.fixture
def app_config(app_config: TestConfig) -> TestConfig:
    app_config.PROVIDER_MAX_RETRIES = 0
    app_config.PROVIDER_READ_TIMEOUT = 3.0
    app_config.PROVIDER_CONNECT_TIMEOUT = 2.0
    return app_config


@pytest.fixture
def provider(app: Flask, fake: Any) -> Provider:
    """An OpenAI-compatible provider "Fake" offering four models, served by the fake."""
    return add_provider(
        app,
        "sk-fake-key-0001",
        name="Fake",
        kind="openai",
        base_url=fake.openai_base_url,
        models=list(MODELS),
        price_overrides=PRICES,
    )


def pair(provider: Provider, model: str) -> str:
    """The model menu's value for ``model`` of ``provider``."""
    return f"{provider.id}:{model}"


def start_round(
    client: FlaskClient,
    token: str,
    models: list[str],
    prompt: str = "Quem ganha?",
    blind: bool = False,
    persona: str = "",
    personas: list[str] | None = None,
) -> Any:
    """POST the new-round form (``models``: menu values, empty for an unused row)."""
    data: dict[str, Any] = {"csrf_token": token, "prompt": prompt, "persona": persona}
    for i in range(4):
        data[f"contenders-{i}-model"] = models[i] if i < len(models) else ""
        data[f"contenders-{i}-persona"] = (personas or [""] * 4)[i] if personas else ""
    if blind:
        data["blind"] = "y"
    return client.post("/rinha/", data=data)


def round_id_from(response: Any) -> int:
    match = re.search(r"/rinha/(\d+)", response.headers["Location"])
    assert match, response.headers.get("Location")
    return int(match.group(1))


def load_round(app: Flask, round_id: int) -> ArenaRound:
    with app.app_context():
        from calango.services.arena_queries import get_round

        found = get_round(round_id)
        assert found is not None
        for contender in found.contenders:
            _ = contender.session
        db.session.expunge_all()
        return found

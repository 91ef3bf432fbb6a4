"""Fixtures for the everyday-chat tests: two providers that list the same model names."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from calango.models import Provider
from config import TestConfig
from tests.chat.conftest import provider  # noqa: F401
from tests.helpers import add_provider

SHARED_MODELS = ["fake-small", "fake-large"]
KEYS = {"LM Studio": "sk-lmstudio-key-0001", "Ollama": "sk-ollama-key-0002"}


@pytest.fixture
def app_config(app_config: TestConfig) -> TestConfig:
    app_config.PROVIDER_MAX_RETRIES = 0
    app_config.PROVIDER_READ_TIMEOUT = 5.0
    app_config.PROVIDER_CONNECT_TIMEOUT = 2.0
    return app_config


@pytest.fixture
def twins(app: Flask, fake: Any) -> dict[str, Provider]:
    """ "LM Studio" (listed first) and "Ollama", both offering every model of SHARED_MODELS,
    at very different prices; the fake tells them apart by their API keys."""
    prices = {
        "LM Studio": {m: {"input": 0.1, "output": 0.1} for m in SHARED_MODELS},
        "Ollama": {m: {"input": 20.0, "output": 20.0} for m in SHARED_MODELS},
    }
    return {
        name: add_provider(
            app,
            key,
            name=name,
            kind="openai",
            base_url=fake.openai_base_url,
            models=list(SHARED_MODELS),
            price_overrides=prices[name],
        )
        for name, key in KEYS.items()
    }


def key_used(request: dict[str, Any]) -> str:
    """The API key a recorded request to the fake carried."""
    return str(request["headers"].get("authorization", "")).removeprefix("Bearer ")

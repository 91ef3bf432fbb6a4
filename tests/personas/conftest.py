"""Fixtures for the persona tests: providers served by the fake server."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from calango.models import Provider
from config import TestConfig
from tests.helpers import FAKE_MODEL, PRICES, add_provider


@pytest.fixture
def app_config(app_config: TestConfig) -> TestConfig:
    app_config.PROVIDER_MAX_RETRIES = 0
    app_config.PROVIDER_READ_TIMEOUT = 5.0
    app_config.PROVIDER_CONNECT_TIMEOUT = 2.0
    return app_config


@pytest.fixture
def provider(app: Flask, fake: Any) -> Provider:
    """An OpenAI-compatible provider "Fake" served by the fake server."""
    return add_provider(
        app,
        "sk-fake-key-0001",
        name="Fake",
        kind="openai",
        base_url=fake.openai_base_url,
        models=[FAKE_MODEL],
        price_overrides=PRICES,
    )


@pytest.fixture
def anthropic_provider(app: Flask, fake: Any) -> Provider:
    return add_provider(
        app,
        "sk-ant-fake-0002",
        name="FakeClaude",
        kind="anthropic",
        base_url=fake.anthropic_base_url,
        models=["claude-fake"],
        price_overrides={"claude-fake": {"input": 3.0, "output": 15.0}},
    )

"""Fixtures for attached files: the fake provider as a text-only model and as vision models
of each protocol (OpenAI-compatible, Anthropic, Gemini's OpenAI-compatible endpoint)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from calango.models import Provider
from config import TestConfig
from tests.helpers import FAKE_MODEL, PRICES, add_provider

VISION_MODEL = "fake-vision"  # "vision" in a name: calango.llm.vision takes it to see images


@pytest.fixture
def app_config(app_config: TestConfig) -> TestConfig:
    app_config.PROVIDER_MAX_RETRIES = 0
    app_config.PROVIDER_READ_TIMEOUT = 5.0
    app_config.PROVIDER_CONNECT_TIMEOUT = 2.0
    return app_config


@pytest.fixture
def provider(app: Flask, fake: Any) -> Provider:
    """ "Fake": OpenAI-compatible, a text-only model and a vision one."""
    return add_provider(
        app,
        "sk-fake-key-0001",
        name="Fake",
        kind="openai",
        base_url=fake.openai_base_url,
        models=[FAKE_MODEL, VISION_MODEL],
        price_overrides=PRICES,
    )


@pytest.fixture
def claude(app: Flask, fake: Any) -> Provider:
    return add_provider(
        app,
        "sk-ant-fake-0002",
        name="FakeClaude",
        kind="anthropic",
        base_url=fake.anthropic_base_url,
        models=["claude-sonnet-4-5"],
    )


@pytest.fixture
def gemini(app: Flask, fake: Any) -> Provider:
    return add_provider(
        app,
        "fake-gemini-key",
        name="FakeGemini",
        kind="gemini",
        base_url=fake.openai_base_url,
        models=["gemini-2.5-flash"],
    )

"""Fixtures for the chat tests: providers served by the fake server (helpers: tests/helpers.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from calango.extensions import db
from calango.models import Provider
from config import TestConfig
from tests.helpers import FAKE_MODEL, PRICES


@pytest.fixture
def app_config(app_config: TestConfig) -> TestConfig:
    # Tests inject failures: no backoff retries, short waits.
    app_config.PROVIDER_MAX_RETRIES = 0
    app_config.PROVIDER_READ_TIMEOUT = 5.0
    app_config.PROVIDER_CONNECT_TIMEOUT = 2.0
    return app_config


@pytest.fixture
def provider(app: Flask, fake: Any) -> Provider:
    """An OpenAI-compatible provider "Fake" served by the fake server."""
    with app.app_context():
        p = Provider(
            name="Fake",
            kind="openai",
            base_url=fake.openai_base_url,
            models=[FAKE_MODEL, "other-model"],
            price_overrides=PRICES,
        )
        p.set_api_key("sk-fake-key-0001")
        db.session.add(p)
        db.session.commit()
        db.session.refresh(p)
        db.session.expunge(p)
        return p


@pytest.fixture
def anthropic_provider(app: Flask, fake: Any) -> Provider:
    with app.app_context():
        p = Provider(
            name="FakeClaude",
            kind="anthropic",
            base_url=fake.anthropic_base_url,
            models=["claude-fake"],
            price_overrides={"claude-fake": {"input": 3.0, "output": 15.0}},
        )
        p.set_api_key("sk-ant-fake-0002")
        db.session.add(p)
        db.session.commit()
        db.session.refresh(p)
        db.session.expunge(p)
        return p

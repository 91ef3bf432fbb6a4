"""Fixtures for the budget tests: a SERVER-mode app, the fake provider with prices, a
signed-in user."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calango.models import Provider
from calango.models.user import User
from calango.services.network_policy import set_local_providers_allowed
from config import TestConfig
from tests.accounts_helpers import login_as, make_user
from tests.helpers import FAKE_MODEL, PRICES, add_provider, csrf_token_from


@pytest.fixture
def app_config(app_config: TestConfig) -> TestConfig:
    app_config.MODE = "SERVER"
    app_config.PROVIDER_MAX_RETRIES = 0
    app_config.PROVIDER_READ_TIMEOUT = 5.0
    app_config.PROVIDER_CONNECT_TIMEOUT = 2.0
    return app_config


@pytest.fixture
def provider(app: Flask, fake: Any) -> Provider:
    """An OpenAI-compatible provider "Fake" with prices: every answer costs something."""
    found = add_provider(
        app,
        "sk-fake-key-0001",
        name="Fake",
        kind="openai",
        base_url=fake.openai_base_url,
        models=[FAKE_MODEL, "other-model"],
        price_overrides=PRICES,
    )
    with app.app_context():  # the fake listens on 127.0.0.1: SERVER mode must allow it
        set_local_providers_allowed(True)
    return found


@pytest.fixture
def user(app: Flask) -> User:
    return make_user(app, "ana@example.com")


@pytest.fixture
def signed_in(client: FlaskClient, user: User) -> FlaskClient:
    login_as(client, user)
    return client


@pytest.fixture
def token(signed_in: FlaskClient) -> str:
    return csrf_token_from(signed_in)

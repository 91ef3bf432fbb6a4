"""SERVER mode with two people, A and B, each signed in on their own client."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calango.models.user import User
from tests.accounts_helpers import login_as, make_user
from tests.conftest import TestConfig


@pytest.fixture
def app_config(app_config: TestConfig) -> TestConfig:
    app_config.MODE = "SERVER"
    app_config.PROVIDER_MAX_RETRIES = 0
    app_config.PROVIDER_READ_TIMEOUT = 3.0
    app_config.PROVIDER_CONNECT_TIMEOUT = 2.0
    return app_config


@dataclass
class Person:
    user: User
    client: FlaskClient


@pytest.fixture
def a(app: Flask) -> Person:
    user = make_user(app, "a@example.com")
    client = app.test_client()
    login_as(client, user)
    return Person(user, client)


@pytest.fixture
def b(app: Flask) -> Person:
    user = make_user(app, "b@example.com")
    client = app.test_client()
    login_as(client, user)
    return Person(user, client)


# ``people`` (a, b and an admin, each signed in) for the tests shared with tests/per_user.
from tests.per_user.conftest import people  # noqa: E402

__all__ = ["Person", "people"]

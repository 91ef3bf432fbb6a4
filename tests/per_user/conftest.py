"""SERVER mode with two people, A and B, and an admin: what one does stays theirs."""

from __future__ import annotations

from collections.abc import Iterator
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
    return app_config


@dataclass
class Person:
    user: User
    client: FlaskClient


@pytest.fixture
def people(app: Flask) -> Iterator[dict[str, Person]]:
    """``a`` and ``b`` (not admins) and ``admin``, each with a signed-in client."""
    found = {}
    for name, admin in (("a", False), ("b", False), ("admin", True)):
        user = make_user(app, f"{name}@example.com", admin=admin)
        client = app.test_client()
        login_as(client, user)
        found[name] = Person(user, client)
    yield found

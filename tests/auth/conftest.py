"""SERVER-mode apps for the accounts tests."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calango.models.user import User
from config import ServerConfig, TestConfig
from tests.accounts_helpers import PASSWORD, make_user

ADMIN_EMAIL = "admin@example.com"
USER_EMAIL = "ana@example.com"


@pytest.fixture
def app_config(app_config: TestConfig) -> TestConfig:
    """The test config as a SERVER instance runs it (login required)."""
    app_config.MODE = "SERVER"
    app_config.SECRETS_OVER_HTTP = ServerConfig.SECRETS_OVER_HTTP
    return app_config


@pytest.fixture
def admin(app: Flask) -> User:
    return make_user(app, ADMIN_EMAIL, admin=True, display_name="Admin")


@pytest.fixture
def user(app: Flask) -> User:
    return make_user(app, USER_EMAIL)


def token_of(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the page at ``path`` (a form field or the layout's meta tag)."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'name="csrf-token" content="([^"]+)"', page
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, next_url: str = ""):
    token = token_of(client, "/login")
    return client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": password, "next": next_url},
    )

"""POST /login is rate limited per address and e-mail (memory or Redis storage)."""

from __future__ import annotations

import uuid

import pytest

from tests.accounts_helpers import PASSWORD
from tests.auth.conftest import USER_EMAIL, token_of

REDIS = "redis://127.0.0.1:6379"


@pytest.fixture(params=["memory://", REDIS])
def storage(request) -> str:
    return str(request.param)


@pytest.fixture
def app_config(app_config, storage):
    app_config.RATELIMIT_STORAGE_URI = storage
    app_config.RATELIMIT_KEY_PREFIX = f"calango-test-{uuid.uuid4().hex}"
    return app_config


def _attempt(client, token, email=USER_EMAIL, password="wrong password", lang=None):
    headers = {"Accept-Language": lang} if lang else {}
    return client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": password},
        headers=headers,
    )


def test_eleventh_attempt_is_refused(app, client, user, storage):
    from calango.extensions import limiter

    assert type(limiter.storage).__name__.lower().startswith(storage.split(":")[0])
    token = token_of(client)
    for _ in range(10):
        assert _attempt(client, token).status_code == 400
    response = _attempt(client, token, password=PASSWORD)  # even the right password
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many attempts" in page and 'name="password"' in page
    assert "Traceback" not in page
    assert client.get("/chats/").status_code == 302
    # Another e-mail from the same address still gets its own 10 per minute.
    assert _attempt(client, token, email="other@example.com").status_code == 400


def test_limit_message_is_translated(app, client, user):
    token = token_of(client)
    for _ in range(10):
        _attempt(client, token)
    page = _attempt(client, token, lang="pt-BR").get_data(as_text=True)
    assert "Too many attempts" not in page and "Tentativas demais" in page


def test_get_is_not_limited(app, client):
    for _ in range(15):
        assert client.get("/login").status_code == 200

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
    return app_config


@pytest.fixture
def address() -> str:
    """A client address of this test alone: Redis keeps counts across tests and runs."""
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2]}"


def _attempt(client, token, address, email=USER_EMAIL, password="wrong password", lang=None):
    headers = {"Accept-Language": lang} if lang else {}
    return client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": password},
        headers=headers,
        environ_base={"REMOTE_ADDR": address},
    )


def test_eleventh_attempt_is_refused(app, client, user, storage, address):
    from calango.extensions import limiter

    assert type(limiter.storage).__name__.lower().startswith(storage.split(":")[0])
    token = token_of(client)
    for _ in range(10):
        assert _attempt(client, token, address).status_code == 400
    response = _attempt(client, token, address, password=PASSWORD)  # even the right password
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many attempts" in page and 'name="password"' in page
    assert "Traceback" not in page
    assert client.get("/chats/").status_code == 302
    # Another e-mail from the same address still gets its own 10 per minute.
    assert _attempt(client, token, address, email="other@example.com").status_code == 400
    # And another address with the same e-mail, too.
    other_address = "11." + address.split(".", 1)[1]
    assert _attempt(client, token, other_address).status_code == 400


def test_limit_message_is_translated(app, client, user, address):
    token = token_of(client)
    for _ in range(10):
        _attempt(client, token, address)
    page = _attempt(client, token, address, lang="pt-BR").get_data(as_text=True)
    assert "Too many attempts" not in page and "Tentativas demais" in page


def test_get_is_not_limited(app, client):
    for _ in range(15):
        assert client.get("/login").status_code == 200


def test_users_behind_the_proxy_are_counted_apart(app, client, user, storage, address):
    # nginx on 127.0.0.1 (trusted by FORWARDED_ALLOW_IPS) appends the client's address to
    # X-Forwarded-For; a client's own forged entries come before it and do not count.
    token = token_of(client)

    def through_proxy(client_address: str):
        return client.post(
            "/login",
            data={"csrf_token": token, "email": USER_EMAIL, "password": "wrong password"},
            headers={"X-Forwarded-For": f"6.6.6.6, {client_address}"},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )

    for _ in range(10):
        assert through_proxy(address).status_code == 400
    assert through_proxy(address).status_code == 429
    # Someone else behind the same proxy is not locked out.
    assert through_proxy("11." + address.split(".", 1)[1]).status_code == 400
    # A peer that is not the proxy cannot pick its address with the header.
    response = client.post(
        "/login",
        data={"csrf_token": token, "email": USER_EMAIL, "password": "wrong password"},
        headers={"X-Forwarded-For": "12.0.0.1"},
        environ_base={"REMOTE_ADDR": address},
    )
    assert response.status_code == 429

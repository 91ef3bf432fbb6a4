"""SERVER mode: every page needs a signed-in user; DESKTOP needs none and has no auth pages."""

from __future__ import annotations

import re

import pytest

from tests.accounts_helpers import login_as
from tests.auth.conftest import USER_EMAIL, sign_in, token_of

OPEN = {"auth.login", "auth.register", "static", "healthz"}


def _sample_path(rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__.lower()
        values[name] = (
            "00000000-0000-0000-0000-000000000001"
            if "uuid" in kind
            else "a"
            if "string" in kind or "path" in kind
            else 1
        )
    path = rule.rule
    for name, value in values.items():
        path = re.sub(r"<(?:[^:>]+:)?" + name + r">", str(value), path)
    return path


def test_every_get_page_needs_a_login(app, client):
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint not in OPEN]
    assert len(rules) > 30
    for rule in rules:
        path = _sample_path(rule)
        response = client.get(path)
        assert response.status_code in (302, 401), (rule.rule, response.status_code)
        if response.status_code == 302:
            assert response.headers["Location"].startswith("/login?next="), rule.rule
        else:
            assert "error" in response.get_json()


def test_every_post_needs_a_login(app, client):
    """Even with a valid CSRF token (from the login page), nothing changes without a login."""
    token = token_of(client)
    rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods and r.endpoint not in OPEN]
    assert len(rules) > 20
    for rule in rules:
        path = _sample_path(rule)
        response = client.post(
            path, data={"csrf_token": token}, headers={"Accept": "application/json"}
        )
        assert response.status_code == 401, rule.rule
        response = client.post(path, data={"csrf_token": token})
        assert response.status_code == 303 and response.headers["Location"] == "/login", rule.rule


def test_scripts_get_401_json(app, client):
    for headers in (
        {"Accept": "application/json"},
        {"Accept": "text/event-stream"},
        {"X-Requested-With": "XMLHttpRequest"},
    ):
        response = client.get("/chats/", headers=headers)
        assert response.status_code == 401 and response.get_json()["error"]
    stream = "/chats/00000000-0000-0000-0000-000000000001/messages/1/stream"
    assert client.get(stream).status_code == 401


def test_open_endpoints(app, client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/static/css/accounts.css").status_code == 200
    assert client.get("/login").status_code == 200
    assert client.get("/register").status_code == 404  # registration closed by default


def test_signed_in_user_reaches_pages(app, client, user):
    login_as(client, user)
    assert client.get("/chats/").status_code == 200
    assert client.get("/account").status_code == 200


def test_signed_in_user_visiting_login_goes_on(app, client, user):
    sign_in(client, USER_EMAIL)
    response = client.get("/login?next=/personas/")
    assert response.status_code == 302 and response.headers["Location"] == "/personas/"


@pytest.fixture
def desktop_client(app):
    app.config["MODE"] = "DESKTOP"
    return app.test_client()


@pytest.mark.parametrize(
    "path",
    ["/login", "/register", "/account", "/admin/users", "/admin/settings", "/admin/audit"],
)
def test_desktop_has_no_auth_pages(app, desktop_client, path):
    assert desktop_client.get(path).status_code == 404


def test_desktop_needs_no_login(app, desktop_client):
    response = desktop_client.get("/chats/")
    assert response.status_code == 200
    assert (
        "Cache-Control" not in response.headers or response.headers["Cache-Control"] != "no-store"
    )
    assert "user-menu" not in response.get_data(as_text=True)

"""Signing in and out (SERVER): generic errors, safe next URLs, disabled accounts, cookies."""

from __future__ import annotations

import pytest

from calango.extensions import db
from calango.models.user import User
from tests.accounts_helpers import PASSWORD
from tests.auth.conftest import USER_EMAIL, sign_in, token_of

WRONG = "Wrong e-mail or password."


def test_login_page_has_the_form(app, client):
    page = client.get("/login").get_data(as_text=True)
    assert 'name="password"' in page and 'action="/login"' in page
    assert 'name="csrf_token"' in page


def test_sign_in_then_out(app, client, user):
    response = sign_in(client, USER_EMAIL)
    assert response.status_code == 302 and response.headers["Location"] == "/chats/"
    assert client.get("/chats/").status_code == 200
    with app.app_context():
        assert db.session.get(User, user.id).last_login_at is not None
    token = token_of(client, "/chats/")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/chats/").status_code == 302


def test_email_is_case_insensitive(app, client, user):
    assert sign_in(client, "  ANA@Example.com ").status_code == 302


@pytest.mark.parametrize(
    "email,password", [("nobody@example.com", PASSWORD), (USER_EMAIL, "wrong password!")]
)
def test_same_generic_error(app, client, user, email, password):
    response = sign_in(client, email, password)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert WRONG in page
    assert "nobody" not in page.replace('value="nobody@example.com"', "")
    assert client.get("/chats/").status_code == 302


def test_generic_error_in_portuguese(app, client, user):
    token = token_of(client)
    response = client.post(
        "/login",
        data={"csrf_token": token, "email": USER_EMAIL, "password": "nope nope nope"},
        headers={"Accept-Language": "pt-BR"},
    )
    page = response.get_data(as_text=True)
    assert WRONG not in page and "E-mail ou senha incorretos." in page


def test_disabled_user_cannot_sign_in_and_is_signed_out(app, client, user):
    assert sign_in(client, USER_EMAIL).status_code == 302
    with app.app_context():
        db.session.get(User, user.id).is_active = False
        db.session.commit()
    assert client.get("/chats/").status_code == 302  # the open session ended
    response = sign_in(client, USER_EMAIL)
    assert response.status_code == 400 and WRONG in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/\tevil",
    ],
)
def test_next_url_to_another_site_is_refused(app, client, user, target):
    response = sign_in(client, USER_EMAIL, next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/chats/"


def test_next_url_on_this_site_is_followed(app, client, user):
    response = client.get("/personas/?x=1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="/personas/?x=1"' in page
    response = sign_in(client, USER_EMAIL, next_url="/personas/?x=1")
    assert response.headers["Location"] == "/personas/?x=1"


def test_csrf_required_on_login_and_logout(app, client, user):
    response = client.post("/login", data={"email": USER_EMAIL, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/chats/").status_code == 302
    assert sign_in(client, USER_EMAIL).status_code == 302
    response = client.post("/logout")
    assert response.status_code == 400
    assert client.get("/chats/").status_code == 200  # still signed in


def test_logout_is_post_only(app, client, user):
    sign_in(client, USER_EMAIL)
    assert client.get("/logout").status_code == 405


def test_signed_in_pages_are_not_cached(app, client, user):
    sign_in(client, USER_EMAIL)
    response = client.get("/chats/")
    assert response.headers["Cache-Control"] == "no-store"


def test_cookie_flags(app, client, user):
    app.config["SESSION_COOKIE_SECURE"] = True
    response = sign_in(client, USER_EMAIL)
    cookie = next(
        v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("session=")
    )
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie

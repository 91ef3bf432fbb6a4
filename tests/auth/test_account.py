"""The account page: display name and password; a change ends the other sessions."""

from __future__ import annotations

from calango.extensions import db
from calango.models.user import User
from tests.accounts_helpers import PASSWORD
from tests.auth.conftest import USER_EMAIL, sign_in, token_of

NEW = "a brand new password 99"


def _change(client, current=PASSWORD, new=NEW, confirm=None):
    token = token_of(client, "/account")
    return client.post(
        "/account/password",
        data={"csrf_token": token, "current": current, "password": new, "confirm": confirm or new},
    )


def test_display_name(app, client, user):
    sign_in(client, USER_EMAIL)
    token = token_of(client, "/account")
    response = client.post("/account", data={"csrf_token": token, "display_name": " Ana Souza "})
    assert response.status_code == 302
    assert "Ana Souza" in client.get("/chats/").get_data(as_text=True)


def test_password_change_ends_other_sessions(app, user):
    first, second = app.test_client(), app.test_client()
    sign_in(first, USER_EMAIL)
    sign_in(second, USER_EMAIL)
    assert _change(first).status_code == 302
    assert first.get("/chats/").status_code == 200  # this session continues
    assert second.get("/chats/").status_code == 302  # the other one ended
    assert sign_in(second, USER_EMAIL, PASSWORD).status_code == 400
    assert sign_in(second, USER_EMAIL, NEW).status_code == 302


def test_password_change_needs_the_current_one(app, client, user):
    sign_in(client, USER_EMAIL)
    response = _change(client, current="not my password")
    assert response.status_code == 400
    assert "The current password is wrong." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).check_password(PASSWORD)


def test_password_change_checks_length_and_confirmation(app, client, user):
    sign_in(client, USER_EMAIL)
    response = _change(client, new="short", confirm="short")
    assert "at least 10 characters" in response.get_data(as_text=True)
    response = _change(client, new=NEW, confirm=NEW + "x")
    assert "The two passwords are not the same." in response.get_data(as_text=True)


def test_register_closed_is_404(app, client):
    assert client.get("/register").status_code == 404
    assert client.post("/register", data={}).status_code in (400, 404)


def test_register_open_works(app, admin):
    client = app.test_client()  # two plain clients: pytest-flask's keeps its last request
    from calango.models import Setting
    from calango.services.users import REGISTRATION_KEY

    with app.app_context():
        Setting.put(REGISTRATION_KEY, True)
        db.session.commit()
    assert 'href="/register"' in client.get("/login").get_data(as_text=True)
    token = token_of(client, "/register")
    data = {"csrf_token": token, "email": "new@example.com", "password": NEW, "confirm": NEW}
    response = client.post("/register", data=data)
    assert response.status_code == 302
    assert client.get("/chats/").status_code == 200
    with app.app_context():
        created = User.by_email("new@example.com")
        assert created is not None and not created.is_admin
    other = app.test_client()
    token = token_of(other, "/register")
    response = other.post("/register", data={**data, "csrf_token": token})
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)

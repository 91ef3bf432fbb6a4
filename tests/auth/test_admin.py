"""Admin pages: 403 for non-admins, each action audited, the self/last-admin guards."""

from __future__ import annotations

import pytest

from calango.extensions import db
from calango.models import Setting
from calango.models.user import AuditEntry, User
from calango.services.network_policy import ALLOW_LOCAL_KEY
from calango.services.users import DEFAULT_BUDGET_KEY, REGISTRATION_KEY
from tests.accounts_helpers import PASSWORD, login_as, make_user
from tests.auth.conftest import ADMIN_EMAIL, USER_EMAIL, sign_in, token_of

NEW = "another good password"
ADMIN_PAGES = ["/admin/users", "/admin/settings", "/admin/audit"]


@pytest.fixture
def admin_client(app, admin):
    client = app.test_client()
    login_as(client, admin)
    return client


def _audit(app) -> list[tuple[str, str | None, str]]:
    with app.app_context():
        rows = db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id)).all()
        return [(r.action, r.target, r.actor_email) for r in rows]


def _get(app, user_id) -> User | None:
    with app.app_context():
        user = db.session.get(User, user_id)
        if user is not None:
            db.session.expunge(user)
        return user


@pytest.mark.parametrize("path", [*ADMIN_PAGES, "/admin/users/1/password", "/admin/users/1/delete"])
def test_admin_pages_are_403_for_users(app, client, user, path):
    login_as(client, user)
    response = client.get(path)
    assert response.status_code == 403
    assert "Only an administrator" in response.get_data(as_text=True)


def test_user_menu_shows_admin_links_only_to_admins(app, admin_client, user):
    page = admin_client.get("/chats/").get_data(as_text=True)
    assert 'href="/admin/users"' in page and 'action="/logout"' in page
    other = app.test_client()
    login_as(other, user)
    page = other.get("/chats/").get_data(as_text=True)
    assert 'href="/admin/users"' not in page and 'href="/account"' in page


def test_admin_pages_render(app, admin_client, user):
    for path in ADMIN_PAGES:
        assert admin_client.get(path).status_code == 200, path
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert USER_EMAIL in page


def test_create_user_is_audited(app, admin_client):
    token = token_of(admin_client, "/admin/users")
    data = {"csrf_token": token, "email": "Bia@Example.com", "password": NEW, "admin": "y"}
    response = admin_client.post("/admin/users", data=data)
    assert response.status_code == 302
    with app.app_context():
        created = User.by_email("bia@example.com")
        assert created.is_admin and created.check_password(NEW)
    assert _audit(app) == [("user.create", "bia@example.com", ADMIN_EMAIL)]
    response = admin_client.post("/admin/users", data=data)
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)
    assert len(_audit(app)) == 1


def test_create_user_needs_csrf(app, admin_client):
    response = admin_client.post("/admin/users", data={"email": "x@example.com", "password": NEW})
    assert response.status_code == 400
    with app.app_context():
        assert User.by_email("x@example.com") is None


def test_disable_and_enable(app, admin_client, user):
    victim = app.test_client()
    sign_in(victim, USER_EMAIL)
    token = token_of(admin_client, "/admin/users")
    url = f"/admin/users/{user.id}/active"
    assert admin_client.post(url, data={"csrf_token": token, "active": "0"}).status_code == 302
    assert not _get(app, user.id).is_active
    assert victim.get("/chats/").status_code == 302  # signed out
    assert admin_client.post(url, data={"csrf_token": token, "active": "1"}).status_code == 302
    assert _get(app, user.id).is_active
    assert [a for a, _t, _e in _audit(app)] == ["user.disable", "user.enable"]


def test_admin_cannot_disable_or_delete_themselves(app, admin_client, admin):
    token = token_of(admin_client, "/admin/users")
    admin_client.post(f"/admin/users/{admin.id}/active", data={"csrf_token": token, "active": "0"})
    assert _get(app, admin.id).is_active
    response = admin_client.post(
        f"/admin/users/{admin.id}/delete", data={"csrf_token": token, "chats": "delete"}
    )
    assert response.status_code == 400
    assert "your own account" in response.get_data(as_text=True)
    assert _get(app, admin.id) is not None
    assert _audit(app) == []


def test_last_admin_cannot_be_disabled(app, admin):
    from calango.services import users

    other_admin = make_user(app, "boss@example.com", admin=True)
    with app.app_context(), app.test_request_context():
        actor = db.session.get(User, other_admin.id)
        target = db.session.get(User, admin.id)
        target.is_active = True
        db.session.get(User, other_admin.id).is_active = True
        # Disable boss first via the admin, then the admin is the last one.
        db.session.get(User, other_admin.id).is_active = False
        db.session.commit()
        with pytest.raises(users.AccountError, match="last admin"):
            users.set_active(actor, target, False)


def test_reset_password_ends_sessions(app, admin_client, user):
    victim = app.test_client()
    sign_in(victim, USER_EMAIL)
    url = f"/admin/users/{user.id}/password"
    token = token_of(admin_client, url)
    response = admin_client.post(url, data={"csrf_token": token, "password": NEW, "confirm": NEW})
    assert response.status_code == 302
    assert victim.get("/chats/").status_code == 302
    assert sign_in(victim, USER_EMAIL, PASSWORD).status_code == 400
    assert sign_in(victim, USER_EMAIL, NEW).status_code == 302
    assert _audit(app) == [("user.reset_password", USER_EMAIL, ADMIN_EMAIL)]


def test_budget(app, admin_client, user):
    token = token_of(admin_client, "/admin/users")
    url = f"/admin/users/{user.id}/budget"
    prefix = f"u{user.id}-budget"
    assert admin_client.post(url, data={"csrf_token": token, prefix: "12,50"}).status_code == 302
    assert str(_get(app, user.id).monthly_budget_usd) == "12.50"
    admin_client.post(url, data={"csrf_token": token, prefix: "lots"})
    assert str(_get(app, user.id).monthly_budget_usd) == "12.50"
    admin_client.post(url, data={"csrf_token": token, prefix: ""})
    assert _get(app, user.id).monthly_budget_usd is None
    assert [a for a, _t, _e in _audit(app)] == ["user.budget", "user.budget"]


def test_instance_settings(app, admin_client):
    token = token_of(admin_client, "/admin/settings")
    data = {
        "csrf_token": token,
        "registration_open": "y",
        "default_budget": "5",
        "allow_local": "y",
    }
    assert admin_client.post("/admin/settings", data=data).status_code == 302
    with app.app_context():
        assert Setting.get(REGISTRATION_KEY) is True
        assert Setting.get(DEFAULT_BUDGET_KEY) == 5
        assert Setting.get(ALLOW_LOCAL_KEY) is True
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert 'value="5.00"' in page
    assert admin_client.post("/admin/settings", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert Setting.get(REGISTRATION_KEY) is False and Setting.get(DEFAULT_BUDGET_KEY) is None
    assert [a for a, _t, _e in _audit(app)] == ["settings.update", "settings.update"]
    assert "settings.update" in admin_client.get("/admin/audit").get_data(as_text=True)


def test_audit_is_paged_newest_first(app, admin_client, admin):
    from calango.services import audit

    with app.app_context(), app.test_request_context():
        for i in range(55):
            audit.record("test.action", f"t{i}@example.com")
        db.session.commit()
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "t54@example.com" in page and "t4@example.com" not in page
    assert 'href="/admin/audit?page=2"' in page
    page2 = admin_client.get("/admin/audit?page=2").get_data(as_text=True)
    assert "t4@example.com" in page2 and "t54@example.com" not in page2


def test_delete_user_without_chats(app, admin_client, user):
    url = f"/admin/users/{user.id}/delete"
    page = admin_client.get(url).get_data(as_text=True)
    assert "Give them to another user" in page and "Delete them" in page
    token = token_of(admin_client, url)
    assert admin_client.post(url, data={"csrf_token": token, "chats": "delete"}).status_code == 302
    assert _get(app, user.id) is None
    assert _audit(app) == [("user.delete", USER_EMAIL, ADMIN_EMAIL)]

"""Issue #8 item 11: the session cookie's attributes and the 405 ``Allow`` header."""

from __future__ import annotations

import pytest


def _session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[0]


def test_desktop_session_cookie_is_lax_and_http_only(app, client):
    # Any page with a form puts the CSRF token in the session, which sets the cookie.
    cookie = _session_cookie(client.get("/settings/config"))
    assert "SameSite=Lax" in cookie
    assert "HttpOnly" in cookie
    assert "Secure" not in cookie  # DESKTOP is plain http on localhost


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("put", "/settings/config", {"GET", "HEAD", "OPTIONS"}),
        ("get", "/settings/config/import", {"POST", "OPTIONS"}),
        ("delete", "/settings/config/export", {"GET", "HEAD", "POST", "OPTIONS"}),
    ],
)
def test_405_says_which_methods_are_allowed(app, client, method, path, allowed):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == allowed
    assert "This address does not accept that request." in response.get_data(as_text=True)


def test_other_bad_requests_get_our_page(app, client):
    from werkzeug.exceptions import BadRequest

    @app.get("/test-only/bad-request")
    def bad() -> str:
        raise BadRequest()

    response = client.get("/test-only/bad-request")
    assert response.status_code == 400
    assert "The request could not be understood." in response.get_data(as_text=True)
    assert "<html" in response.get_data(as_text=True)  # a full page in our layout

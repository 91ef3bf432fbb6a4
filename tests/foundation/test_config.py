"""Mode selection and the messages a misconfigured start gives."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from config import ConfigError, DesktopConfig, ServerConfig, config_from_env

ROOT = Path(__file__).resolve().parents[2]


def test_desktop_is_the_default_and_creates_its_home(monkeypatch, tmp_path):
    home = tmp_path / "nested" / ".calango"
    monkeypatch.delenv("CALANGO_MODE", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("CALANGO_ENCRYPTION_KEY", raising=False)
    monkeypatch.setenv("CALANGO_HOME", str(home))
    config = config_from_env()
    assert isinstance(config, DesktopConfig)
    assert f"sqlite:///{home / 'calango.db'}" == config.SQLALCHEMY_DATABASE_URI
    assert stat.S_IMODE(home.stat().st_mode) == 0o700  # other local users cannot read chats
    for name in ("secret_key", "encryption.key"):
        path = home / name
        assert path.exists()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Generated once: a second start reuses the same secrets.
    again = config_from_env()
    assert again.SECRET_KEY == config.SECRET_KEY
    assert again.ENCRYPTION_KEY == config.ENCRYPTION_KEY
    Fernet(config.ENCRYPTION_KEY.encode())  # a usable key


def _server_env(monkeypatch, **overrides):
    env = {
        "CALANGO_MODE": "SERVER",
        "DATABASE_URL": "postgresql://u:p@127.0.0.1:5432/calango",
        "SECRET_KEY": "9f2c4e1a7b3d8c6e0f5a2b9d4c7e1f3a",
        "CALANGO_ALLOWED_HOSTS": "calango.example.com",
        "CALANGO_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    env.update(overrides)
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)


def test_server_mode_reads_environment_and_pins_psycopg2(monkeypatch):
    _server_env(monkeypatch)
    config = config_from_env()
    assert isinstance(config, ServerConfig)
    assert config.SQLALCHEMY_DATABASE_URI.startswith("postgresql+psycopg2://")
    assert config.SESSION_COOKIE_SECURE is True
    assert config.SECRETS_OVER_HTTP is False


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"DATABASE_URL": None}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL"),
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"CALANGO_ENCRYPTION_KEY": None}, "CALANGO_ENCRYPTION_KEY"),
        ({"CALANGO_ENCRYPTION_KEY": "not-a-key"}, "CALANGO_ENCRYPTION_KEY"),
        ({"CALANGO_MODE": "CLOUD"}, "CALANGO_MODE"),
    ],
)
def test_server_mode_errors_name_the_variable(monkeypatch, overrides, variable):
    _server_env(monkeypatch, **overrides)
    with pytest.raises(ConfigError, match=variable):
        config_from_env()


def test_flask_command_stops_with_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALANGO_", "DATABASE"))}
    env.update({"CALANGO_MODE": "SERVER", "CALANGO_HOME": str(tmp_path)})
    result = subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stderr

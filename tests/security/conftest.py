"""Helpers for the security tests: a start-up subprocess and a SERVER-mode app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
STRONG_SECRET = "9f2c4e1a7b3d8c6e0f5a2b9d4c7e1f3a"


def start_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    """A clean environment for starting Calango in a subprocess (no developer settings)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CALANGO_", "DATABASE", "SECRET_KEY", "FLASK_"))
    }
    env["CALANGO_HOME"] = str(tmp_path)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def server_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    """A complete SERVER-mode environment; ``overrides`` change or (``None``) remove values."""
    base: dict[str, str | None] = {
        "CALANGO_MODE": "SERVER",
        "DATABASE_URL": "postgresql://u:p@127.0.0.1:5432/calango",
        "SECRET_KEY": STRONG_SECRET,
        "CALANGO_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "CALANGO_ALLOWED_HOSTS": "calango.example.com",
    }
    base.update(overrides)
    return start_env(tmp_path, **base)


def start_calango(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -c 'import wsgi'``: what gunicorn and ``flask`` do first."""
    return subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], variable: str) -> None:
    """Exit code 2 and exactly one line on stderr that names ``variable``."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Calango configuration error: ")
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def set_server_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **overrides: str | None):
    """Put a SERVER-mode environment in ``os.environ`` for ``config_from_env``."""
    env = server_env(tmp_path, **overrides)
    for key in list(os.environ):
        if key not in env:
            monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)

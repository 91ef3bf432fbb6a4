"""Issue #8 item 10: a malformed setting stops the start with one line and exit code 2."""

from __future__ import annotations

import pytest

from config import ConfigError, config_from_env, validate_secret_key
from tests.security.conftest import (
    STRONG_SECRET,
    assert_one_line_error,
    server_env,
    start_calango,
    start_env,
)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CALANGO_READ_TIMEOUT", "abc"),
        ("CALANGO_CONNECT_TIMEOUT", "1s"),
        ("CALANGO_READ_TIMEOUT", "-5"),
        ("CALANGO_CONNECT_TIMEOUT", "0"),
        ("CALANGO_READ_TIMEOUT", "nan"),
        ("CALANGO_CONNECT_TIMEOUT", "inf"),
        ("CALANGO_LOG_LEVEL", "LOUD"),
        ("SECRET_KEY", "a" * 64),
        ("CALANGO_ALLOWED_HOSTS", None),  # in SERVER mode, below
    ],
)
def test_bad_setting_stops_the_start_with_one_line(tmp_path, variable, value):
    if value is None:
        env = server_env(tmp_path, CALANGO_ALLOWED_HOSTS=None)
    else:
        env = start_env(tmp_path, **{variable: value})
    assert_one_line_error(start_calango(env), variable)


def test_the_flask_command_stops_the_same_way(tmp_path):
    import subprocess
    import sys

    from tests.security.conftest import ROOT

    result = subprocess.run(
        [sys.executable, "-m", "flask", "routes"],
        cwd=ROOT,
        env=start_env(tmp_path, CALANGO_LOG_LEVEL="LOUD"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_one_line_error(result, "CALANGO_LOG_LEVEL")


def test_good_values_start(tmp_path):
    env = start_env(
        tmp_path,
        CALANGO_READ_TIMEOUT="2.5",
        CALANGO_CONNECT_TIMEOUT="3",
        CALANGO_LOG_LEVEL="warning",
        SECRET_KEY=STRONG_SECRET,
    )
    result = start_calango(env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "value",
    ["s" * 32, "ab" * 16, "abcabcabcabcabcabcabc", "1234567" * 4, "Zq8#kL2p-x"],
)
def test_weak_secret_keys_are_refused(value):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        validate_secret_key(value)


def test_a_random_secret_key_is_accepted():
    import secrets

    assert validate_secret_key(secrets.token_hex(32))
    assert validate_secret_key(secrets.token_urlsafe(16))


def test_desktop_env_secret_key_is_checked(monkeypatch, tmp_path):
    monkeypatch.delenv("CALANGO_MODE", raising=False)
    monkeypatch.setenv("CALANGO_HOME", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        config_from_env()
    monkeypatch.delenv("SECRET_KEY")
    assert len(set(config_from_env().SECRET_KEY)) >= 8  # the generated one

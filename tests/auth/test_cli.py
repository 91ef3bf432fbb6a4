"""``flask calango create-user`` / ``set-password``, and DESKTOP's loopback-only binding."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from calango.cli import is_loopback_host
from calango.extensions import db
from calango.models.user import User
from tests.security.conftest import ROOT, assert_one_line_error, start_env

GOOD = "a long enough password"


def test_create_user_reads_the_password_twice_from_stdin(app, runner):
    result = runner.invoke(
        args=["calango", "create-user", "Root@Example.com", "--admin", "--name", "Root"],
        input=f"{GOOD}\n{GOOD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "root@example.com" in result.output
    with app.app_context():
        user = User.by_email("root@example.com")
        assert user.is_admin and user.display_name == "Root" and user.check_password(GOOD)


def test_create_user_errors(app, runner):
    args = ["calango", "create-user", "bia@example.com"]
    result = runner.invoke(args=args, input="short\nshort\n")
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    result = runner.invoke(args=args, input=f"{GOOD}\n{GOOD}x\n")
    assert result.exit_code == 1 and "not the same" in result.output
    assert runner.invoke(args=args, input=f"{GOOD}\n{GOOD}\n").exit_code == 0
    result = runner.invoke(args=args, input=f"{GOOD}\n{GOOD}\n")
    assert result.exit_code == 1 and "already exists" in result.output
    result = runner.invoke(
        args=["calango", "create-user", "not-an-email"], input=f"{GOOD}\n{GOOD}\n"
    )
    assert result.exit_code == 1 and "valid e-mail" in result.output


def test_set_password(app, runner):
    runner.invoke(args=["calango", "create-user", "bia@example.com"], input=f"{GOOD}\n{GOOD}\n")
    new = "the second password"
    result = runner.invoke(
        args=["calango", "set-password", "BIA@example.com"], input=f"{new}\n{new}\n"
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = User.by_email("bia@example.com")
        assert user.check_password(new) and user.session_epoch == 1
    result = runner.invoke(args=["calango", "set-password", "nobody@example.com"], input="")
    assert result.exit_code == 1 and "no account" in result.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 2  # + local


@pytest.mark.parametrize(
    "host,loopback",
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.0.1.1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("calango.lan", False),
    ],
)
def test_loopback_hosts(host, loopback):
    assert is_loopback_host(host) is loopback


def _flask_run(tmp_path, host, port=1, **env):
    environment = start_env(tmp_path, FLASK_APP="wsgi.py", **env)
    return subprocess.run(
        [sys.executable, "-m", "flask", "run", "--host", host, "--port", str(port)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20"])
def test_desktop_refuses_a_network_host(tmp_path, host):
    result = _flask_run(tmp_path, host)
    assert_one_line_error(result, "CALANGO_ALLOW_REMOTE_DESKTOP=1")
    assert host in result.stderr


def test_desktop_remote_bind_can_be_allowed(tmp_path):
    # Allowed: it gets past the check and stops only because the port is taken.
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _flask_run(tmp_path, "0.0.0.0", port, CALANGO_ALLOW_REMOTE_DESKTOP="1")
    assert result.returncode != 0
    assert "in use" in result.stderr.lower() or "address already" in result.stderr.lower()
    assert "CALANGO_ALLOW_REMOTE_DESKTOP" not in result.stderr
    assert "Calango configuration error" not in result.stderr

"""Issue #8 item 4: DNS rebinding. Only the allowed Host names get an answer."""

from __future__ import annotations

import http.client
import re

import pytest

from calango.extensions import db
from calango.hosts import host_allowed
from calango.models import Persona
from config import LOCAL_HOSTS, ConfigError, config_from_env
from tests.security.conftest import set_server_env


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:5000",
        "LocalHost:5000",
        "localhost.:5000",
        "127.0.0.1",
        "127.0.0.1:8000",
        "[::1]",
        "[::1]:5000",
    ],
)
def test_desktop_answers_its_own_names(host):
    assert host_allowed(host, LOCAL_HOSTS)


@pytest.mark.parametrize(
    "host",
    [
        "rebind.example:5000",
        "localhost.rebind.example",
        "127.0.0.1.nip.io",
        "evil-localhost",
        "127.0.0.2",
        "[::2]:5000",
        "localhost:5000@evil.example",
        "localhost:abc",
        "",
        " ",
    ],
)
def test_desktop_refuses_other_names(host):
    assert not host_allowed(host, LOCAL_HOSTS)


def test_listed_names_and_subdomains():
    allowed = ("calango.lan", ".example.com")
    assert host_allowed("calango.lan:5000", allowed)
    assert host_allowed("chat.example.com", allowed)
    assert host_allowed("example.com", allowed)
    assert not host_allowed("notexample.com", allowed)
    assert not host_allowed("calango.lan.evil.example", allowed)


def test_rebound_host_gets_our_400_page(app, client):
    response = client.get("/settings/config", headers={"Host": "rebind.example:5000"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "does not answer to this host name" in page
    assert "CALANGO_ALLOWED_HOSTS" in page
    assert "Import a configuration" not in page and "csrf_token" not in page
    assert "Back to the chats" in page  # our layout, not werkzeug.s bare page


def test_rebound_host_cannot_post(app, client):
    """After rebinding, the attacker's page is same-origin with the app on its own name: it
    would load a form there (getting its own session and CSRF token) and post it back."""
    rebound = {"Host": "rebind.example:5000"}
    page = client.get("/settings/config", headers=rebound).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    token = match.group(1) if match else ""
    response = client.post(
        "/settings/config/import",
        data={"csrf_token": token, "text": "personas:\n  - {name: x, prompt: y}\n"},
        headers=rebound,
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(Persona.select_by_name("x")) is None


def test_refusal_is_translated(app, client):
    response = client.get("/", headers={"Host": "rebind.example", "Accept-Language": "pt-BR"})
    assert response.status_code == 400
    assert "does not answer to this host name" not in response.get_data(as_text=True)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:5000", "[::1]:5000"])
def test_local_names_are_served(app, client, host):
    assert client.get("/settings/config", headers={"Host": host}).status_code == 200


def test_allowed_hosts_adds_names(app, client):
    app.config["ALLOWED_HOSTS"] = (*LOCAL_HOSTS, "calango.lan")
    assert client.get("/settings/config", headers={"Host": "calango.lan:5000"}).status_code == 200
    assert client.get("/settings/config", headers={"Host": "other.lan"}).status_code == 400


def test_health_check_answers_any_host(app, client):
    assert client.get("/healthz", headers={"Host": "10.0.0.7:8000"}).status_code == 200


def test_live_server_refuses_a_rebound_host(live_server):
    """What ``curl -H 'Host: rebind.example:5000' …/settings/config`` sends."""
    for host, status in (("rebind.example:5000", 400), (f"127.0.0.1:{live_server.port}", 200)):
        conn = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=10)
        try:
            conn.request("GET", "/settings/config", headers={"Host": host})
            response = conn.getresponse()
            body = response.read().decode()
        finally:
            conn.close()
        assert response.status == status, host
        assert ("Import a configuration" in body) is (status == 200)


def test_desktop_reads_extra_names(monkeypatch, tmp_path):
    monkeypatch.delenv("CALANGO_MODE", raising=False)
    monkeypatch.setenv("CALANGO_HOME", str(tmp_path))
    monkeypatch.setenv("CALANGO_ALLOWED_HOSTS", "calango.lan, Box.Local")
    assert (*LOCAL_HOSTS, "calango.lan", "box.local") == config_from_env().ALLOWED_HOSTS
    monkeypatch.setenv("CALANGO_ALLOWED_HOSTS", "*")
    assert config_from_env().ALLOWED_HOSTS is None


def test_server_needs_allowed_hosts(monkeypatch, tmp_path):
    set_server_env(monkeypatch, tmp_path, CALANGO_ALLOWED_HOSTS=None)
    with pytest.raises(ConfigError, match="CALANGO_ALLOWED_HOSTS"):
        config_from_env()
    set_server_env(monkeypatch, tmp_path, CALANGO_ALLOWED_HOSTS="chat.example.com")
    assert config_from_env().ALLOWED_HOSTS == ("chat.example.com",)
    set_server_env(monkeypatch, tmp_path, CALANGO_ALLOWED_HOSTS="*")
    assert config_from_env().ALLOWED_HOSTS is None


def test_refusal_page_keeps_its_stylesheet(app, client):
    """Static files hold nothing private: served to any host, the 400 page is styled."""
    page = client.get("/", headers={"Host": "rebind.example"}).get_data(as_text=True)
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert stylesheet, page
    response = client.get(stylesheet.group(1), headers={"Host": "rebind.example"})
    assert response.status_code == 200
    response.close()

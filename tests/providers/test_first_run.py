"""First run: offers for providers whose key is in the environment, and for a running Ollama."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select

from calango.extensions import db
from calango.llm import PRESETS
from calango.models import Provider
from calango.services import first_run
from calango.services.first_run import first_run_offers
from tests.helpers import flashes, provider_named


class FakeOllama:
    """Answers GET /api/tags like Ollama, on 127.0.0.1 and a free port."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.hits += 1
                if self.path != "/api/tags":
                    self.send_error(404)
                    return
                body = (
                    outer.payload
                    if isinstance(outer.payload, bytes)
                    else json.dumps(outer.payload).encode()
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOllama:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _clean(app, monkeypatch) -> Iterator[None]:
    """No Ollama, nothing remembered between tests (the shell's keys are cleared globally)."""
    app.config["OLLAMA_URL"] = f"http://127.0.0.1:{_closed_port()}"
    first_run._probe_cache.clear()
    yield
    first_run._probe_cache.clear()


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Provider))


def test_no_offers_without_keys_or_ollama(app_ctx):
    started = time.monotonic()
    assert first_run_offers() == []
    assert time.monotonic() - started < 2


def test_offers_from_environment(app_ctx, monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "gsk-env-123")
    monkeypatch.setenv("GOOGLE_API_KEY", "g-env-456")
    monkeypatch.setenv("OPENAI_API_KEY", "")  # set but empty: no offer
    offers = first_run_offers()
    assert [o.preset for o in offers] == ["gemini", "groq"]
    gemini, groq = offers
    assert (groq.label, groq.kind, groq.env_var) == ("Groq", "openai", "GROQ_API_KEY")
    assert groq.base_url == "https://api.groq.com/openai/v1"
    assert (gemini.kind, gemini.env_var) == ("gemini", "GOOGLE_API_KEY")


def test_offers_skip_configured_providers(app_ctx, monkeypatch):
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GROQ_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.setenv(name, "k")
    db.session.add(Provider(name="openai", kind="openai", models=[]))  # by name, any case
    db.session.add(
        Provider(name="My router", kind="openai", base_url="https://openrouter.ai/api/v1/")
    )  # by address
    db.session.commit()
    assert [o.preset for o in first_run_offers()] == ["anthropic", "groq"]
    assert db.session.scalar(select(func.count()).select_from(Provider)) == 2  # no side effects


def test_offers_read_from_dotenv_values_in_environ(app_ctx):
    offers = first_run_offers(environ={"ANTHROPIC_API_KEY": "from-dotenv"})
    assert [o.preset for o in offers] == ["anthropic"]


def test_ollama_detected_with_its_models(app, app_ctx):
    payload = {"models": [{"name": "llama3:latest"}, {"name": "qwen2.5:0.5b"}, {"bad": 1}]}
    with FakeOllama(payload) as ollama:
        app.config["OLLAMA_URL"] = ollama.url
        (offer,) = first_run_offers()
        assert offer.preset == "ollama"
        assert offer.label == "Ollama"
        assert offer.local is True
        assert offer.base_url == ollama.url + "/v1"
        assert offer.models == ("llama3:latest", "qwen2.5:0.5b")
        first_run_offers()
        assert ollama.hits == 1  # remembered briefly: page views stay cheap


@pytest.mark.parametrize("payload", [b"not json", {"models": "nope"}, [1, 2]])
def test_ollama_garbage_is_no_offer(app, app_ctx, payload):
    with FakeOllama(payload) as ollama:
        app.config["OLLAMA_URL"] = ollama.url
        assert first_run_offers() == []


def test_ollama_already_configured_is_no_offer(app, app_ctx):
    with FakeOllama({"models": []}) as ollama:
        app.config["OLLAMA_URL"] = ollama.url
        db.session.add(Provider(name="local", kind="openai", base_url=ollama.url + "/v1"))
        db.session.commit()
        assert first_run_offers() == []


def test_page_shows_offers_with_setup_buttons(app, client, monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "gsk-env-123")
    with FakeOllama({"models": [{"name": "llama3"}]}) as ollama:
        app.config["OLLAMA_URL"] = ollama.url
        page = client.get("/settings/providers").get_data(as_text=True)
    assert "Ready to set up" in page
    assert "$GROQ_API_KEY" in page
    assert "gsk-env-123" not in page
    assert 'name="preset" value="groq"' in page
    assert 'name="preset" value="ollama"' in page
    assert "llama3" in page
    assert 'action="/settings/providers/setup"' in page


def test_setup_hosted_provider_keeps_key_in_environment(app, client, csrf, monkeypatch, fake):
    monkeypatch.setenv("GROQ_API_KEY", "gsk-env-123")
    # Point the preset at the fake so the best-effort model fetch stays on this machine.
    monkeypatch.setitem(PRESETS["groq"], "base_url", fake.openai_base_url)
    fake.script(models=["llama-3.1-8b-instant", "mixtral"])
    response = client.post("/settings/providers/setup", data={"csrf_token": csrf, "preset": "groq"})
    assert response.status_code == 302
    provider = provider_named(app, "Groq")
    assert provider.kind == "openai"
    assert provider.base_url == fake.openai_base_url
    assert provider.api_key_encrypted is None  # resolved from the environment when used
    assert provider.models == ["llama-3.1-8b-instant", "mixtral"]
    # The fake is not Groq's official address: $GROQ_API_KEY is never sent to it.
    assert fake.requests[-1]["headers"]["authorization"] == "Bearer not-needed"
    assert flashes(client) == ["Set up “Groq” with 2 models."]
    with app.app_context():
        assert first_run_offers() == []


def test_setup_with_failing_model_fetch_leaves_list_empty(app, client, csrf, monkeypatch, fake):
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-env")
    monkeypatch.setitem(PRESETS["openrouter"], "base_url", fake.openai_base_url)
    fake.script(status=401)
    client.post("/settings/providers/setup", data={"csrf_token": csrf, "preset": "openrouter"})
    provider = provider_named(app, "OpenRouter")
    assert provider is not None and provider.models == []
    (message,) = flashes(client)
    assert "refused the API key" in message and "fetch them later" in message


def test_setup_ollama_uses_detected_models(app, client, csrf):
    with FakeOllama({"models": [{"name": "llama3"}, {"name": "phi3"}]}) as ollama:
        app.config["OLLAMA_URL"] = ollama.url
        client.post("/settings/providers/setup", data={"csrf_token": csrf, "preset": "ollama"})
    provider = provider_named(app, "Ollama")
    assert provider.base_url == ollama.url + "/v1"
    assert provider.models == ["llama3", "phi3"]
    assert provider.api_key_encrypted is None


def test_setup_of_a_gone_offer_is_refused(app, client, csrf):
    response = client.post("/settings/providers/setup", data={"csrf_token": csrf, "preset": "groq"})
    assert response.status_code == 302
    assert "no longer be set up" in flashes(client)[0]
    assert _count(app) == 0

"""Settings → Providers: presets, validation, the write-only key, test connection, fetch models."""

from __future__ import annotations

import re

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from calango.extensions import db
from calango.models import Provider

SECRET = "sk-test-SECRET-1234567890"


def _provider(app, name):
    with app.app_context():
        provider = db.session.scalar(select(Provider).where(Provider.name == name))
        if provider is not None:
            db.session.expunge(provider)
        return provider


def _key_of(app, name):
    with app.app_context():
        provider = db.session.scalar(select(Provider).where(Provider.name == name))
        return provider.get_api_key()


def _count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Provider))


def _add(app, name="Fake", key=SECRET, base_url="https://api.example.com/v1", **values):
    with app.app_context():
        provider = Provider(name=name, kind=values.pop("kind", "openai"), base_url=base_url)
        provider.models = values.pop("models", ["fake-small"])
        provider.price_overrides = values.pop("price_overrides", {})
        for attr, value in values.items():
            setattr(provider, attr, value)
        provider.set_api_key(key)
        db.session.add(provider)
        db.session.commit()
        return provider.id


def _field_errors(page, field):
    match = re.search(rf'<ul class="errors" id="{field}-errors">(.*?)</ul>', page, re.S)
    return match.group(1) if match else ""


def _form(**values):
    data = {
        "name": "My Groq",
        "kind": "openai",
        "base_url": "https://api.groq.com/openai/v1",
        "api_key": "",
        "models": "",
        "prices": "",
    }
    data.update(values)
    return data


def _flashes(client):
    with client.session_transaction() as session:
        return [message for _category, message in session.pop("_flashes", [])]


# --- list and presets -------------------------------------------------------------------


def test_page_lists_every_preset(client):
    page = client.get("/settings/providers").get_data(as_text=True)
    for key in ("openai", "anthropic", "gemini", "groq", "openrouter", "ollama", "lmstudio"):
        assert f'href="/settings/providers/new?preset={key}"' in page
    for label in (
        "OpenAI",
        "Anthropic",
        "Google Gemini",
        "Groq",
        "OpenRouter",
        "Ollama",
        "LM Studio",
    ):
        assert label in page
    assert "No provider yet" in page
    assert 'href="/settings/providers"' in page  # the settings sub-navigation


def test_preset_prefills_kind_and_address(client):
    page = client.get("/settings/providers/new?preset=groq").get_data(as_text=True)
    assert 'value="Groq"' in page
    assert 'value="https://api.groq.com/openai/v1"' in page
    assert '<option selected value="openai">' in page
    assert "$GROQ_API_KEY" in page  # where a key would come from
    page = client.get("/settings/providers/new?preset=anthropic").get_data(as_text=True)
    assert '<option selected value="anthropic">' in page
    page = client.get("/settings/providers/new?preset=ollama").get_data(as_text=True)
    assert 'value="http://localhost:11434/v1"' in page
    assert 'value="Ollama"' in page


def test_list_shows_providers_with_actions(app, client):
    pid = _add(app, models=["m1", "m2"])
    page = client.get("/settings/providers").get_data(as_text=True)
    assert "Fake" in page and "m1, m2" in page
    for path in ("test", "models", "toggle"):
        assert f'action="/settings/providers/{pid}/{path}"' in page
    assert f'href="/settings/providers/{pid}/edit"' in page
    assert f'href="/settings/providers/{pid}/delete"' in page
    assert "•••• 7890" in page


def test_env_var_shown_as_key_source(app, client, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-abcdef")
    _add(app, name="OpenAI", key=None, base_url=None)
    page = client.get("/settings/providers").get_data(as_text=True)
    assert "key from $OPENAI_API_KEY" in page
    assert "sk-from-env-abcdef" not in page


# --- create and validation --------------------------------------------------------------


def test_create_provider(app, client, csrf):
    response = client.post(
        "/settings/providers/new",
        data=_form(
            csrf_token=csrf,
            api_key=SECRET,
            models=" llama-3.1-8b-instant \n\nmixtral\nllama-3.1-8b-instant\n",
            prices="mixtral = 0.24, 0.24\n\nllama-3.1-8b-instant = $0.05, 0.08",
        ),
    )
    assert response.status_code == 302
    provider = _provider(app, "My Groq")
    assert provider.kind == "openai"
    assert provider.base_url == "https://api.groq.com/openai/v1"
    assert provider.models == ["llama-3.1-8b-instant", "mixtral"]
    assert provider.price_overrides == {
        "mixtral": {"input": 0.24, "output": 0.24},
        "llama-3.1-8b-instant": {"input": 0.05, "output": 0.08},
    }
    assert provider.enabled is True
    assert provider.api_key_hint == "7890"
    assert SECRET not in (provider.api_key_encrypted or "")
    assert _key_of(app, "My Groq") == SECRET


def test_base_url_is_optional(app, client, csrf):
    response = client.post(
        "/settings/providers/new", data=_form(csrf_token=csrf, name="OpenAI", base_url="")
    )
    assert response.status_code == 302
    assert _provider(app, "OpenAI").base_url is None


@pytest.mark.parametrize("other", ["Fake", "fake", "FAKE", "  fAkE  "])
def test_duplicate_name_refused_whatever_the_case(app, client, csrf, other):
    _add(app, name="Fake")
    response = client.post(
        "/settings/providers/new", data=_form(csrf_token=csrf, name=other, models="keep-me")
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "already exists" in _field_errors(page, "name")
    assert "keep-me" in page  # what was typed is kept
    assert _count(app) == 1


def test_rename_onto_another_name_refused(app, client, csrf):
    _add(app, name="Fake")
    pid = _add(app, name="Other", key=None)
    response = client.post(
        f"/settings/providers/{pid}/edit",
        data=_form(csrf_token=csrf, name="FAKE", base_url="https://api.example.com/v1"),
    )
    assert "already exists" in _field_errors(response.get_data(as_text=True), "name")
    assert _provider(app, "Other") is not None


@pytest.mark.parametrize(
    "url", ["api.groq.com/openai/v1", "ftp://example.com", "http://", "https://exa mple.com"]
)
def test_bad_base_url_refused(app, client, csrf, url):
    response = client.post(
        "/settings/providers/new",
        data=_form(csrf_token=csrf, base_url=url, api_key=SECRET, models="typed-model"),
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "http:// or https://" in _field_errors(page, "base_url")
    assert 'value="My Groq"' in page and "typed-model" in page
    assert SECRET not in page  # the key is the one thing not echoed back
    assert _count(app) == 0


def test_unknown_kind_refused(app, client, csrf):
    response = client.post("/settings/providers/new", data=_form(csrf_token=csrf, kind="bogus"))
    assert "listed protocols" in _field_errors(response.get_data(as_text=True), "kind")
    assert _count(app) == 0


@pytest.mark.parametrize(
    ("prices", "words"),
    [
        ("gpt-4o = 2.5, 10\ngpt-4o-mini = 0.15", "Line 2"),
        ("gpt-4o 2.5, 10", "Line 1"),
        ("gpt-4o = 2.5, 10\n\ngpt-x = -1, 2", "Line 3"),
        ("gpt-4o = cheap, 10", "numbers from 0 to 1,000,000"),
        ("= 1, 2", "Line 1"),
        ("gpt-4o = nan, 1", "numbers from 0 to 1,000,000"),
    ],
)
def test_bad_price_line_refused(app, client, csrf, prices, words):
    response = client.post("/settings/providers/new", data=_form(csrf_token=csrf, prices=prices))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert words in _field_errors(page, "prices")
    assert _count(app) == 0


def test_new_key_and_remove_together_refused(app, client, csrf):
    pid = _add(app)
    response = client.post(
        f"/settings/providers/{pid}/edit",
        data=_form(csrf_token=csrf, name="Fake", api_key="abc", remove_key="y"),
    )
    assert "not both" in _field_errors(response.get_data(as_text=True), "remove_key")
    assert _key_of(app, "Fake") == SECRET


def test_remove_key_is_ignored_on_a_new_provider(app, client, csrf):
    response = client.post(
        "/settings/providers/new", data=_form(csrf_token=csrf, api_key=SECRET, remove_key="y")
    )
    assert response.status_code == 302
    assert _key_of(app, "My Groq") == SECRET


# --- edit: the key is write-only ----------------------------------------------------------


def test_edit_form_prefilled_without_key(app, client):
    pid = _add(app, models=["a", "b"], price_overrides={"a": {"input": 1.5, "output": 2}})
    page = client.get(f"/settings/providers/{pid}/edit").get_data(as_text=True)
    assert 'value="Fake"' in page
    assert "a = 1.5, 2" in page
    assert re.search(r'<textarea[^>]*id="models"[^>]*>\s*a\nb</textarea>', page)
    assert "•••• 7890" in page
    assert re.search(r'<input[^>]*id="api_key"[^>]*>', page)
    assert 'value="' + SECRET not in page
    assert 'id="remove_key"' in page


def test_blank_key_on_edit_keeps_key(app, client, csrf):
    pid = _add(app)
    response = client.post(
        f"/settings/providers/{pid}/edit",
        data=_form(
            csrf_token=csrf, name="Renamed", base_url="https://api.example.com/v1", models="x"
        ),
    )
    assert response.status_code == 302
    provider = _provider(app, "Renamed")
    assert provider.models == ["x"]
    assert _key_of(app, "Renamed") == SECRET


def test_new_key_on_edit_replaces_it(app, client, csrf):
    pid = _add(app)
    client.post(
        f"/settings/providers/{pid}/edit",
        data=_form(
            csrf_token=csrf,
            name="Fake",
            base_url="https://api.example.com/v1/",
            api_key="sk-new-key-0000",
        ),
    )
    assert _key_of(app, "Fake") == "sk-new-key-0000"
    assert _provider(app, "Fake").api_key_hint == "0000"


def test_remove_stored_key(app, client, csrf):
    pid = _add(app)
    client.post(
        f"/settings/providers/{pid}/edit",
        data=_form(
            csrf_token=csrf, name="Fake", base_url="https://api.example.com/v1", remove_key="y"
        ),
    )
    provider = _provider(app, "Fake")
    assert provider.api_key_encrypted is None and provider.api_key_hint is None


def test_changing_address_needs_the_key_again(app, client, csrf):
    pid = _add(app, models=["old"])
    response = client.post(
        f"/settings/providers/{pid}/edit",
        data=_form(
            csrf_token=csrf, name="Fake", base_url="https://evil.example.net/v1", models="new"
        ),
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "enter the API key again" in _field_errors(page, "api_key")
    assert "evil.example.net" in page  # the typed address is kept for the retry
    provider = _provider(app, "Fake")
    assert provider.base_url == "https://api.example.com/v1"
    assert provider.models == ["old"]  # nothing saved
    assert _key_of(app, "Fake") == SECRET

    # With the key entered again it is saved, with the new key.
    response = client.post(
        f"/settings/providers/{pid}/edit",
        data=_form(
            csrf_token=csrf,
            name="Fake",
            base_url="https://evil.example.net/v1",
            api_key="sk-other-9999",
        ),
    )
    assert response.status_code == 302
    assert _provider(app, "Fake").base_url == "https://evil.example.net/v1"
    assert _key_of(app, "Fake") == "sk-other-9999"


def test_clearing_address_or_switching_default_kind_needs_key(app, client, csrf):
    pid = _add(app, name="Default", base_url=None)
    response = client.post(
        f"/settings/providers/{pid}/edit",
        data=_form(csrf_token=csrf, name="Default", base_url="", kind="anthropic"),
    )
    assert "enter the API key again" in _field_errors(response.get_data(as_text=True), "api_key")
    assert _provider(app, "Default").kind == "openai"


def test_changing_address_with_remove_key_is_allowed(app, client, csrf):
    pid = _add(app)
    response = client.post(
        f"/settings/providers/{pid}/edit",
        data=_form(
            csrf_token=csrf, name="Fake", base_url="http://localhost:1234/v1", remove_key="y"
        ),
    )
    assert response.status_code == 302
    provider = _provider(app, "Fake")
    assert provider.base_url == "http://localhost:1234/v1"
    assert provider.api_key_encrypted is None


def test_changing_address_without_stored_key_is_allowed(app, client, csrf):
    pid = _add(app, key=None)
    response = client.post(
        f"/settings/providers/{pid}/edit",
        data=_form(csrf_token=csrf, name="Fake", base_url="http://localhost:1234/v1"),
    )
    assert response.status_code == 302


def test_secret_never_appears_in_html(app, client, csrf):
    client.post(
        "/settings/providers/new",
        data=_form(csrf_token=csrf, name="Secretive", api_key=SECRET, models="m"),
    )
    pid = _provider(app, "Secretive").id
    encrypted = _provider(app, "Secretive").api_key_encrypted
    pages = [
        client.get("/settings/providers"),
        client.get("/settings/providers/new"),
        client.get(f"/settings/providers/{pid}/edit"),
        client.get(f"/settings/providers/{pid}/delete"),
        client.get("/settings/config"),
        client.get("/settings/config/export"),
        # A refused edit re-renders the form with what was typed, except the key.
        client.post(
            f"/settings/providers/{pid}/edit",
            data=_form(csrf_token=csrf, name="Secretive", base_url="bad url", api_key=SECRET),
        ),
        client.post(
            f"/settings/providers/{pid}/edit",
            data=_form(csrf_token=csrf, name="Secretive", base_url="https://new.example.com"),
        ),
    ]
    for response in pages:
        text = response.get_data(as_text=True)
        assert response.status_code == 200, text[:500]
        assert SECRET not in text
        assert "SECRET-123456" not in text
        assert encrypted not in text
    assert "7890" in pages[0].get_data(as_text=True)


# --- enable, delete -----------------------------------------------------------------------


def test_toggle_disables_and_enables(app, client, csrf):
    pid = _add(app)
    response = client.post(
        f"/settings/providers/{pid}/toggle", data={"csrf_token": csrf, "enabled": "0"}
    )
    assert response.status_code == 302
    assert _provider(app, "Fake").enabled is False
    page = client.get("/settings/providers").get_data(as_text=True)
    assert '<span class="badge badge-off">disabled</span>' in page
    assert '<input type="hidden" name="enabled" value="1">' in page
    client.post(f"/settings/providers/{pid}/toggle", data={"csrf_token": csrf, "enabled": "1"})
    assert _provider(app, "Fake").enabled is True
    client.post(f"/settings/providers/{pid}/toggle", data={"csrf_token": csrf})  # flips
    assert _provider(app, "Fake").enabled is False


def test_toggle_with_bad_value_is_400(app, client, csrf):
    pid = _add(app)
    response = client.post(
        f"/settings/providers/{pid}/toggle", data={"csrf_token": csrf, "enabled": "maybe"}
    )
    assert response.status_code == 400


def test_delete_confirmation_then_delete(app, client, csrf):
    pid = _add(app)
    page = client.get(f"/settings/providers/{pid}/delete").get_data(as_text=True)
    assert "Delete the provider “Fake”?" in page
    assert f'action="/settings/providers/{pid}/delete"' in page
    response = client.post(f"/settings/providers/{pid}/delete", data={"csrf_token": csrf})
    assert response.status_code == 302
    assert _count(app) == 0
    assert client.get(f"/settings/providers/{pid}/edit").status_code == 404


# --- CSRF ---------------------------------------------------------------------------------


def test_every_state_changing_route_needs_csrf(app, client):
    pid = _add(app)
    routes = [
        ("/settings/providers/new", _form(name="NoToken")),
        (f"/settings/providers/{pid}/edit", _form(name="NoToken")),
        (f"/settings/providers/{pid}/toggle", {"enabled": "0"}),
        (f"/settings/providers/{pid}/delete", {}),
        (f"/settings/providers/{pid}/test", {}),
        (f"/settings/providers/{pid}/models", {"mode": "replace"}),
        ("/settings/providers/setup", {"preset": "groq"}),
        ("/settings/config/import", {"text": "personas: [{name: X, prompt: Y}]"}),
        ("/settings/config/export", {"with_secrets": "y"}),
    ]
    for path, data in routes:
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert SECRET not in response.get_data(as_text=True)
    provider = _provider(app, "Fake")
    assert provider is not None and provider.enabled and provider.models == ["fake-small"]
    assert _count(app) == 1


# --- test connection and fetch models against the fake provider --------------------------


def test_connection_success(app, client, csrf, fake_provider):
    fake_provider.script(models=["alpha", "beta", "gamma"])
    pid = _add(app, base_url=fake_provider.openai_base_url)
    response = client.post(f"/settings/providers/{pid}/test", data={"csrf_token": csrf})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/settings/providers")
    assert _flashes(client) == ["Connected to Fake: 3 models available."]
    request = fake_provider.requests[-1]
    assert request["path"].startswith("/v1/models")
    assert request["headers"]["authorization"] == f"Bearer {SECRET}"
    assert _provider(app, "Fake").models == ["fake-small"]  # a test changes nothing


def test_connection_anthropic(app, client, csrf, fake_provider):
    pid = _add(app, name="Claude", kind="anthropic", base_url=fake_provider.anthropic_base_url)
    client.post(f"/settings/providers/{pid}/test", data={"csrf_token": csrf, "next": "edit"})
    assert _flashes(client) == ["Connected to Claude: 2 models available."]
    headers = fake_provider.requests[-1]["headers"]
    assert SECRET in (
        headers.get("x-api-key"),
        headers.get("authorization", "").removeprefix("Bearer "),
    )


def test_connection_failure_shows_translated_error(app, client, csrf, fake_provider):
    fake_provider.script(status=401, error_body={"error": {"message": "Invalid API key"}})
    pid = _add(app, base_url=fake_provider.openai_base_url)
    response = client.post(
        f"/settings/providers/{pid}/test", data={"csrf_token": csrf, "next": "edit"}
    )
    assert response.headers["Location"].endswith(f"/settings/providers/{pid}/edit")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Fake refused the API key (HTTP 401)" in page
    assert 'class="flash flash-error"' in page


def test_connection_failure_in_portuguese(app, client, csrf, fake_provider):
    fake_provider.script(status=401)
    pid = _add(app, base_url=fake_provider.openai_base_url)
    client.post(
        f"/settings/providers/{pid}/test",
        data={"csrf_token": csrf},
        headers={"Accept-Language": "pt-BR"},
    )
    (message,) = _flashes(client)
    assert "Fake" in message and "401" in message


def test_connection_refused_server(app, client, csrf, unused_port):
    pid = _add(app, base_url=f"http://127.0.0.1:{unused_port}/v1")
    response = client.post(f"/settings/providers/{pid}/test", data={"csrf_token": csrf})
    assert response.status_code == 302
    (message,) = _flashes(client)
    assert "Fake" in message


def test_undecryptable_key_is_a_clear_message(app, client, csrf, fake_provider):
    pid = _add(app, base_url=fake_provider.openai_base_url)
    with app.app_context():
        provider = db.session.get(Provider, pid)
        provider.api_key_encrypted = Fernet(Fernet.generate_key()).encrypt(b"x").decode()
        db.session.commit()
    for path in ("test", "models"):
        response = client.post(f"/settings/providers/{pid}/{path}", data={"csrf_token": csrf})
        assert response.status_code == 302
        (message,) = _flashes(client)
        assert "cannot be decrypted" in message
    assert client.get("/settings/providers").status_code == 200
    assert client.get(f"/settings/providers/{pid}/edit").status_code == 200


def test_fetch_models_merges_then_replaces(app, client, csrf, fake_provider):
    fake_provider.script(models=["fake-b", "fake-a"])
    pid = _add(app, base_url=fake_provider.openai_base_url, models=["mine", "fake-a"])
    response = client.post(f"/settings/providers/{pid}/models", data={"csrf_token": csrf})
    assert response.status_code == 302
    assert _provider(app, "Fake").models == ["mine", "fake-a", "fake-b"]
    assert _flashes(client) == ["Fake lists 3 models: 1 added, 0 removed."]

    client.post(
        f"/settings/providers/{pid}/models",
        data={"csrf_token": csrf, "mode": "replace", "next": "edit"},
    )
    assert _provider(app, "Fake").models == ["fake-a", "fake-b"]
    assert _flashes(client) == ["Fake lists 2 models: 0 added, 1 removed."]


def test_fetch_models_failure_keeps_list(app, client, csrf, fake_provider):
    fake_provider.script(status=500)
    pid = _add(app, base_url=fake_provider.openai_base_url, models=["mine"])
    client.post(f"/settings/providers/{pid}/models", data={"csrf_token": csrf, "mode": "replace"})
    assert _provider(app, "Fake").models == ["mine"]
    (message,) = _flashes(client)
    assert "Fake" in message and "500" in message


def test_a_short_key_gets_no_hint(app_ctx):
    from calango.models import Provider

    short = Provider(name="Short", kind="openai", models=[])
    short.set_api_key("gsk-1")
    long = Provider(name="Long", kind="openai", models=[])
    long.set_api_key("sk-long-enough-1234")
    # Showing the last 4 characters of a 5-character key would reveal it.
    assert (short.api_key_hint, long.api_key_hint) == (None, "1234")
    assert short.get_api_key() == "gsk-1"

"""Issue #8 item 2: an imported file reads the environment only for API keys, and every
address is a plain http(s) URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from calango.extensions import db
from calango.models import Persona, Provider
from calango.services.config_io import ConfigImportError, import_config

# A copy of the original Calango's config.yaml (every reference in it is an *_API_KEY).
LEGACY = Path(__file__).parents[1] / "import_export" / "data" / "legacy_config.yaml"
ENV = {"HOME": "/home/someone", "GROQ_API_KEY": "gsk-env", "MY_BASE": "https://evil.example"}


def _providers() -> dict[str, Provider]:
    return {p.name: p for p in db.session.scalars(Provider.select_all())}


@pytest.mark.parametrize(
    ("text", "path", "line"),
    [
        ("providers:\n  x:\n    base_url: ${MY_BASE}/v1\n", "providers.x.base_url", 3),
        ("providers:\n  x:\n    base_url: 'http://$HOME/v1'\n", "providers.x.base_url", 3),
        ("providers:\n  ${GROQ_API_KEY}: {}\n", "providers.${GROQ_API_KEY}", 2),
        ("providers:\n  x:\n    models: [a, $HOME]\n", "providers.x.models[1]", 3),
        (
            "providers:\n  x:\n    prices:\n      ${GROQ_API_KEY}: {input: 1, output: 1}\n",
            "providers.x.prices.${GROQ_API_KEY}",
            4,
        ),
        ("personas:\n  - name: $HOME\n    prompt: p\n", "personas[0].name", 2),
        ("settings:\n  theme: $HOME\n", "settings.theme", 2),
        ("providers:\n  x:\n    api_key: $HOME\n", "providers.x.api_key", 3),
        ("providers:\n  x:\n    api_key: 'a-${PATH}'\n", "providers.x.api_key", 3),
        ("providers:\n  x:\n    api_key: ${GROQ_API_KEY}${HOME}\n", "providers.x.api_key", 3),
    ],
)
def test_a_reference_outside_an_api_key_variable_is_refused(app_ctx, text, path, line):
    with pytest.raises(ConfigImportError) as info:
        import_config(text, environ=ENV)
    message = str(info.value)
    assert path in message and f"line {line}" in message, message
    assert _providers() == {}


def test_api_key_variables_are_read(app_ctx):
    import_config(
        "providers:\n  groq: {api_key: $GROQ_API_KEY}\n  box: {api_key: 'k-${BOX_API_KEY}'}\n",
        environ={**ENV, "BOX_API_KEY": "box"},
    )
    providers = _providers()
    assert providers["groq"].get_api_key() == "gsk-env"
    assert providers["box"].get_api_key() == "k-box"


def test_calango_import_env_allows_more_names(app, app_ctx):
    text = "providers:\n  x: {api_key: $MY_TOKEN}\n"
    with pytest.raises(ConfigImportError, match="CALANGO_IMPORT_ENV"):
        import_config(text, environ={"MY_TOKEN": "tok"})
    app.config["IMPORT_ENV"] = ("MY_TOKEN",)
    import_config(text, environ={"MY_TOKEN": "tok"})
    assert _providers()["x"].get_api_key() == "tok"


def test_calango_import_env_is_read_from_the_environment(monkeypatch, tmp_path):
    from config import config_from_env

    monkeypatch.setenv("CALANGO_HOME", str(tmp_path))
    monkeypatch.delenv("CALANGO_MODE", raising=False)
    monkeypatch.setenv("CALANGO_IMPORT_ENV", " MY_TOKEN , OTHER_TOKEN ")
    assert config_from_env().IMPORT_ENV == ("MY_TOKEN", "OTHER_TOKEN")


def test_persona_prompts_are_kept_as_written(app_ctx):
    """Prompts are never expanded, so "$PATH" in one is text, not a reference."""
    import_config(
        "personas:\n  - {name: Shell, prompt: 'Explain $PATH and ${HOME} in bash.'}\n",
        environ=ENV,
    )
    persona = db.session.scalar(Persona.select_by_name("Shell"))
    assert persona.prompt == "Explain $PATH and ${HOME} in bash."


@pytest.mark.parametrize(
    "url",
    [
        "https://user:password@api.example.com/v1",
        "https://token@api.example.com/v1",
        "https://api.example.com@evil.example/v1",
        "ftp://api.example.com/v1",
        "https:///v1",
        "https://api.example.com:99999/v1",
        "https://api.exa mple.com/v1",
        "https://api.example.com/v\t1",
    ],
)
def test_addresses_must_be_plain_http_urls(app_ctx, url):
    with pytest.raises(ConfigImportError) as info:
        import_config(f'providers:\n  x:\n    base_url: "{url}"\n', environ={})
    assert "providers.x.base_url" in str(info.value) and "line 3" in str(info.value)
    assert _providers() == {}


def test_provider_form_refuses_credentials_in_the_address(client, csrf):
    response = client.post(
        "/settings/providers/new",
        data={
            "csrf_token": csrf,
            "name": "box",
            "kind": "openai",
            "base_url": "https://user:pw@box.example/v1",
        },
    )
    assert response.status_code == 200
    assert "without a user name or password" in response.get_data(as_text=True)


def test_the_original_config_file_still_imports(app_ctx):
    result = import_config(LEGACY.read_text(encoding="utf-8"), environ={"GROQ_API_KEY": "g"})
    assert len(result.created) == 4
    assert _providers()["groq"].get_api_key() == "g"


@pytest.mark.parametrize(
    ("entry", "variable"),
    [
        ("{api_key: $OPENAI_API_KEY, base_url: 'https://evil.example/v1'}", "OPENAI_API_KEY"),
        ("{api_key: '${GROQ_API_KEY}', base_url: 'https://api.openai.com/v1'}", "GROQ_API_KEY"),
        ("{kind: anthropic, api_key: $OPENAI_API_KEY}", "OPENAI_API_KEY"),
    ],
)
def test_a_vendor_key_is_not_read_for_another_address(app_ctx, entry, variable):
    """An imported file must not send the user's OpenAI key to a host of its choosing."""
    env = {"OPENAI_API_KEY": "sk-openai-own", "GROQ_API_KEY": "gsk-own"}
    result = import_config(f"providers:\n  box: {entry}\n", environ=env)
    assert _providers()["box"].api_key_encrypted is None
    (warning,) = result.warnings
    assert f"${variable}" in warning and "providers.box" in warning


def test_a_vendor_key_is_read_for_its_own_address(app_ctx):
    env = {"OPENAI_API_KEY": "sk-openai-own", "GROQ_API_KEY": "gsk-own"}
    text = (
        "providers:\n"
        "  mine: {api_key: $OPENAI_API_KEY, base_url: 'https://api.openai.com/v1'}\n"
        "  fast: {api_key: $GROQ_API_KEY, base_url: 'https://api.groq.com/openai/v1'}\n"
        "  openai: {api_key: $OPENAI_API_KEY}\n"
    )
    result = import_config(text, environ=env)
    providers = _providers()
    assert providers["mine"].get_api_key() == "sk-openai-own"
    assert providers["fast"].get_api_key() == "gsk-own"
    assert providers["openai"].get_api_key() == "sk-openai-own"
    assert result.warnings == []

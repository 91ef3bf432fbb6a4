"""Configuration import/export ("DNA" file): service, web page and CLI."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import delete, func, select

from calango.extensions import db
from calango.models import Persona, Provider, Setting
from calango.services import preferences
from calango.services.config_io import (
    ConfigImportError,
    export_config,
    import_config,
)
from tests.helpers import flashes

DATA = Path(__file__).parent / "data"
LEGACY = (DATA / "legacy_config.yaml").read_text(encoding="utf-8")
ENV = {"OPENAI_API_KEY": "sk-openai-env-1111", "ANTHROPIC_API_KEY": "sk-ant-env-2222"}


def _providers() -> dict[str, Provider]:
    return {p.name: p for p in db.session.scalars(Provider.select_all())}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _snapshot() -> dict:
    """Everything an import may touch, including timestamps and ciphertexts."""
    db.session.expire_all()
    return {
        "providers": [
            (
                p.name,
                p.kind,
                p.base_url,
                p.api_key_encrypted,
                p.models,
                p.price_overrides,
                p.enabled,
                p.updated_at,
            )
            for p in db.session.scalars(Provider.select_all())
        ],
        "personas": [
            (p.name, p.prompt, p.updated_at) for p in db.session.scalars(Persona.select_all())
        ],
        "settings": {s.key: s.value for s in db.session.scalars(select(Setting))},
    }


# --- import ---------------------------------------------------------------------------------


def test_import_legacy_file(app_ctx):
    result = import_config(LEGACY, environ=ENV)
    assert result.created == [
        "providers.openai",
        "providers.anthropic",
        "providers.groq",
        "providers.ollama",
    ]
    assert result.updated == [] and result.unchanged == []
    providers = _providers()
    openai, anthropic, groq, ollama = (
        providers[n] for n in ("openai", "anthropic", "groq", "ollama")
    )
    assert (openai.kind, openai.base_url, openai.models) == (
        "openai",
        None,
        ["gpt-5-mini", "gpt-4o"],
    )
    assert openai.get_api_key() == "sk-openai-env-1111"
    assert anthropic.kind == "anthropic"
    assert anthropic.models == ["claude-sonnet-4-5", "claude-haiku-4-5"]
    assert anthropic.get_api_key() == "sk-ant-env-2222"
    # Groq speaks the OpenAI protocol at its own address; $GROQ_API_KEY is unset.
    assert (groq.kind, groq.base_url) == ("openai", "https://api.groq.com/openai/v1")
    assert groq.api_key_encrypted is None
    assert groq.models == ["llama-3.1-8b-instant"]
    assert ollama.base_url == "http://localhost:11434/v1"
    assert ollama.get_api_key() == "ollama"
    assert ollama.models == ["llama3"]
    (warning,) = result.warnings
    assert "providers.groq" in warning and "$GROQ_API_KEY" in warning


def test_import_twice_changes_nothing(app_ctx):
    env = {**ENV, "GROQ_API_KEY": "gsk-env-3333"}
    first = import_config(LEGACY, environ=env)
    assert len(first.created) == 4
    before = _snapshot()
    second = import_config(LEGACY, environ=env)
    assert second.created == [] and second.updated == []
    assert len(second.unchanged) == 4
    assert _snapshot() == before  # same ciphertexts: identical keys are not re-encrypted


def test_dollar_forms_and_inline_text_expand(app_ctx):
    text = """
providers:
  a: {api_key: "${A_API_KEY}", models: [m]}
  b: {api_key: "$B_API_KEY", models: [m]}
  c: {api_key: "pre-${A_API_KEY}-post", models: [m]}
"""
    import_config(text, environ={"A_API_KEY": "aaa", "B_API_KEY": "bbb"})
    keys = {n: p.get_api_key() for n, p in _providers().items()}
    assert keys == {"a": "aaa", "b": "bbb", "c": "pre-aaa-post"}


def test_import_reads_calango_home_dotenv(app, app_ctx, monkeypatch):
    home = Path(app.config["CALANGO_HOME"])
    (home / ".env").write_text("DOTENV_ONLY_API_KEY=from-dotenv\n")
    monkeypatch.delenv("DOTENV_ONLY_API_KEY", raising=False)
    import_config("providers:\n  x: {api_key: $DOTENV_ONLY_API_KEY, models: [m]}\n")
    assert _providers()["x"].get_api_key() == "from-dotenv"


def test_kind_inferred_or_given(app_ctx):
    text = """
providers:
  my-claude: {base_url: "https://api.anthropic.com", models: [c]}
  Google AI: {models: [g]}
  gemini: {}
  vllm: {base_url: "http://gpu-box:8000/v1"}
  proxy: {kind: anthropic, base_url: "https://proxy.example.com"}
"""
    import_config(text, environ={})
    kinds = {n: p.kind for n, p in _providers().items()}
    assert kinds == {
        "my-claude": "anthropic",
        "Google AI": "gemini",
        "gemini": "gemini",
        "vllm": "openai",
        "proxy": "anthropic",
    }


def test_personas_and_settings(app_ctx):
    text = """
personas:
  - name: Pirata
    prompt: |
      Você é um capitão pirata.
      Responda sempre em português, arr!
  - {name: python expert, prompt: Short answers.}
settings:
  theme: tie
  language: pt-BR
"""
    result = import_config(text, environ={})
    assert "personas.Pirata" in result.created
    assert result.updated == ["personas.python expert", "settings.theme", "settings.language"]
    persona = db.session.scalar(Persona.select_by_name("Pirata"))
    assert persona.prompt.startswith("Você é um capitão pirata.\n")
    assert db.session.scalar(Persona.select_by_name("Python Expert")).prompt == "Short answers."
    assert preferences.saved_theme() == "tie"
    assert preferences.saved_language() == "pt_BR"


def test_fields_left_out_are_left_alone(app_ctx):
    import_config(
        "providers:\n  p: {api_key: k1, models: [a, b], base_url: 'http://h/v1', enabled: false}",
        environ={},
    )
    result = import_config("providers:\n  P: {}\n", environ={})
    assert result.unchanged == ["providers.P"]
    p = _providers()["p"]
    assert (p.models, p.base_url, p.enabled, p.get_api_key()) == (
        ["a", "b"],
        "http://h/v1",
        False,
        "k1",
    )


def test_new_address_without_key_drops_the_stored_key(app_ctx):
    import_config(
        "providers:\n  p: {api_key: k1, base_url: 'https://a.example.com/v1'}", environ={}
    )
    result = import_config("providers:\n  p: {base_url: 'https://b.example.com/v1'}", environ={})
    assert result.updated == ["providers.p"]
    assert _providers()["p"].api_key_encrypted is None
    assert "stored API key was removed" in result.warnings[0]


def test_unset_variable_keeps_an_existing_key(app_ctx):
    import_config("providers:\n  p: {api_key: k1}", environ={})
    result = import_config("providers:\n  p: {api_key: $NOT_SET_ANYWHERE_API_KEY}", environ={})
    assert result.unchanged == ["providers.p"]
    assert _providers()["p"].get_api_key() == "k1"


def test_invalid_yaml_names_the_line(app_ctx):
    text = "providers:\n  groq:\n    models: [a, b\n    api_key: x\n"
    with pytest.raises(ConfigImportError) as info:
        import_config(text, environ={})
    assert info.value.line is not None
    assert re.search(r"line \d+, column \d+", str(info.value))
    assert "not valid YAML" in str(info.value)


@pytest.mark.parametrize(
    ("text", "path", "line"),
    [
        (
            "providers:\n  good: {models: [a]}\n  groq:\n    models: llama\n",
            "providers.groq.models",
            4,
        ),
        ("providers:\n  good: {}\n  groq:\n    models: [1, 2]\n", "providers.groq.models", 4),
        ("providers:\n  good: {}\n  x:\n    kind: cohere\n", "providers.x.kind", 4),
        ("providers:\n  good: {}\n  x: {base_url: 'ftp://h'}\n", "providers.x.base_url", 3),
        ("providers:\n  good: {}\n  x: {modles: [a]}\n", "providers.x.modles", 3),
        ("providers:\n  good: {}\n  x: {enabled: 'yes please'}\n", "providers.x.enabled", 3),
        (
            "providers:\n  good: {}\n  x:\n    prices:\n      m: {input: -1, output: 2}\n",
            "providers.x.prices.m",
            5,
        ),
        ("providers:\n  good: {}\n  x: [a]\n", "providers.x", 3),
        ("providers:\n  good: {}\n  GOOD: {}\n", "GOOD", 3),
        ("providers:\n  good: {}\npersonas:\n  - {name: '', prompt: p}\n", "personas[0].name", 4),
        ("providers:\n  good: {}\npersonas:\n  - {name: n}\n", "personas[0].prompt", None),
        ("providers:\n  good: {}\nsettings: {theme: neon}\n", "settings.theme", 3),
        ("providers:\n  good: {}\nsettings: {language: fr}\n", "settings.language", 3),
        ("providers:\n  good: {}\nprovider: {}\n", "provider", 3),
    ],
)
def test_invalid_field_names_path_and_changes_nothing(app_ctx, text, path, line):
    before = _snapshot()
    with pytest.raises(ConfigImportError) as info:
        import_config(text, environ={})
    message = str(info.value)
    assert path in message
    if line is not None:
        assert f"line {line}" in message
    assert _snapshot() == before
    assert db.session.scalar(select(Provider).where(Provider.name == "good")) is None


def test_error_while_writing_rolls_everything_back(app_ctx):
    """The first provider is already added to the session when the second one fails."""
    text = """
providers:
  first: {api_key: sk-first, models: [a]}
  second: {base_url: "${UNSET_BASE_URL}"}
personas:
  - {name: New persona, prompt: Hi}
"""
    before = _snapshot()
    with pytest.raises(ConfigImportError) as info:
        import_config(text, environ={})
    assert "UNSET_BASE_URL" in str(info.value)
    assert "providers.second.base_url" in str(info.value)
    db.session.remove()
    assert _snapshot() == before
    assert _count(Provider) == 0


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a\n- b\n", "just text"])
def test_empty_or_shapeless_file_refused(app_ctx, text):
    with pytest.raises(ConfigImportError):
        import_config(text, environ={})


# --- export ---------------------------------------------------------------------------------


def _seed() -> None:
    groq = Provider(
        name="Groq", kind="openai", base_url="https://api.groq.com/openai/v1", models=["l3"]
    )
    groq.set_api_key("gsk-SECRET-groq-9876")
    groq.price_overrides = {"l3": {"input": 0.05, "output": 0.08}}
    box = Provider(name="My local-box", kind="openai", base_url="http://10.0.0.5:8000/v1")
    box.models = ["qwen"]
    box.enabled = False
    box.set_api_key("box-SECRET-5555")
    local = Provider(name="Ollama", kind="openai", base_url="http://localhost:11434/v1")
    local.models = ["llama3"]
    db.session.add_all([groq, box, local])
    db.session.add(Persona(name="Pirata", prompt="Arr!\nSempre em português."))
    preferences.save_appearance("ipe", "pt_BR")


def test_export_writes_placeholders(app_ctx):
    _seed()
    text = export_config()
    assert "SECRET" not in text
    data = yaml.safe_load(text)
    groq = data["providers"]["Groq"]
    assert groq == {
        "kind": "openai",
        "api_key": "${GROQ_API_KEY}",
        "base_url": "https://api.groq.com/openai/v1",
        "models": ["l3"],
        "prices": {"l3": {"input": 0.05, "output": 0.08}},
    }
    assert data["providers"]["My local-box"]["api_key"] == "${MY_LOCAL_BOX_API_KEY}"
    assert data["providers"]["My local-box"]["enabled"] is False
    assert "api_key" not in data["providers"]["Ollama"]
    assert {"name": "Pirata", "prompt": "Arr!\nSempre em português."} in data["personas"]
    assert data["settings"] == {"theme": "ipe", "language": "pt_BR"}
    assert "prompt: |" in text  # multi-line prompts stay readable


def test_export_with_secrets(app_ctx):
    _seed()
    data = yaml.safe_load(export_config(with_secrets=True))
    assert data["providers"]["Groq"]["api_key"] == "gsk-SECRET-groq-9876"
    assert data["providers"]["My local-box"]["api_key"] == "box-SECRET-5555"


def test_round_trip_on_the_same_database_changes_nothing(app_ctx):
    _seed()
    before = _snapshot()
    result = import_config(export_config(), environ={})
    assert result.created == [] and result.updated == []
    assert _snapshot() == before


def test_round_trip_into_an_empty_database(app_ctx):
    _seed()
    exported = export_config(with_secrets=True)
    original = yaml.safe_load(exported)
    db.session.execute(delete(Provider))
    db.session.execute(delete(Persona))
    db.session.execute(delete(Setting))
    db.session.commit()
    result = import_config(exported, environ={})
    assert len(result.created) == 3 + len(original["personas"])
    assert yaml.safe_load(export_config(with_secrets=True)) == original
    assert _providers()["Groq"].get_api_key() == "gsk-SECRET-groq-9876"


# --- web page ------------------------------------------------------------------------------


def test_config_page_renders(client):
    page = client.get("/settings/config").get_data(as_text=True)
    assert 'action="/settings/config/import"' in page
    assert 'enctype="multipart/form-data"' in page
    assert 'href="/settings/config/export"' in page
    assert 'name="with_secrets"' in page
    assert 'href="/settings/config"' in page  # sub-navigation


def test_web_import_pasted(app, client, csrf, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-env-1111")
    response = client.post("/settings/config/import", data={"csrf_token": csrf, "text": LEGACY})
    assert response.status_code == 302
    messages = flashes(client)
    assert messages[0] == "Imported the configuration: 4 created, 0 updated, 0 unchanged."
    assert any("$ANTHROPIC_API_KEY" in m for m in messages[1:])
    with app.app_context():
        assert _providers()["openai"].get_api_key() == "sk-openai-env-1111"


def test_web_import_uploaded(app, client, csrf):
    response = client.post(
        "/settings/config/import",
        data={"csrf_token": csrf, "file": (io.BytesIO(LEGACY.encode()), "config.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        assert _count(Provider) == 4


def test_web_import_error_shown_and_nothing_changed(app, client, csrf):
    bad = LEGACY + "  broken:\n    models: not-a-list\n"
    response = client.post(
        "/settings/config/import",
        data={"csrf_token": csrf, "file": (io.BytesIO(bad.encode()), "config.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page and "providers.broken.models" in page
    assert 'id="file-errors"' in page
    with app.app_context():
        assert _count(Provider) == 0

    response = client.post(
        "/settings/config/import", data={"csrf_token": csrf, "text": "providers: [a"}
    )
    page = response.get_data(as_text=True)
    assert 'id="text-errors"' in page and "line 1" in page
    assert "providers: [a" in page  # the pasted text is kept


def test_web_import_needs_a_file_or_text(client, csrf):
    response = client.post("/settings/config/import", data={"csrf_token": csrf, "text": "  "})
    assert "Choose a file or paste" in response.get_data(as_text=True)


def test_web_import_refuses_non_utf8(client, csrf):
    response = client.post(
        "/settings/config/import",
        data={"csrf_token": csrf, "file": (io.BytesIO(b"\xff\xfe\x00bad"), "c.yaml")},
        content_type="multipart/form-data",
    )
    assert "not UTF-8" in response.get_data(as_text=True)


def test_web_export_download(app, client):
    with app.app_context():
        _seed()
    response = client.get("/settings/config/export")
    assert response.status_code == 200
    assert response.mimetype == "text/yaml"
    assert response.headers["Content-Disposition"] == 'attachment; filename="calango-config.yaml"'
    text = response.get_data(as_text=True)
    assert "${GROQ_API_KEY}" in text and "SECRET" not in text


def test_web_export_with_secrets_needs_the_checkbox(app, client, csrf):
    with app.app_context():
        _seed()
    response = client.post("/settings/config/export", data={"csrf_token": csrf})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="with_secrets-errors"' in page and "SECRET" not in page
    response = client.post(
        "/settings/config/export", data={"csrf_token": csrf, "with_secrets": "y"}
    )
    assert response.mimetype == "text/yaml"
    assert response.headers["Cache-Control"] == "no-store"
    assert "gsk-SECRET-groq-9876" in response.get_data(as_text=True)


# --- CLI -----------------------------------------------------------------------------------


def test_cli_import(app, runner, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-env-1111")
    path = tmp_path / "config.yaml"
    path.write_text(LEGACY)
    result = runner.invoke(args=["calango", "import-config", str(path)])
    assert result.exit_code == 0, result.output
    assert "Created: 4 (providers.openai, providers.anthropic" in result.stdout
    assert "Warning: providers.anthropic" in result.stderr
    result = runner.invoke(args=["calango", "import-config", str(path)])
    assert "Created: 0" in result.stdout and "Unchanged: 4" in result.stdout


def test_cli_import_error_is_one_line(app, runner, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("providers:\n  good: {}\n  x: {models: oops}\n")
    result = runner.invoke(args=["calango", "import-config", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: providers.x.models")
    assert "Traceback" not in result.output
    result = runner.invoke(args=["calango", "import-config", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot read")
    with app.app_context():
        assert _count(Provider) == 0


def test_cli_export(app, runner, tmp_path):
    with app.app_context():
        _seed()
    result = runner.invoke(args=["calango", "export-config"])
    assert result.exit_code == 0
    assert "${GROQ_API_KEY}" in result.stdout and "SECRET" not in result.stdout
    target = tmp_path / "out.yaml"
    result = runner.invoke(args=["calango", "export-config", str(target), "--with-secrets"])
    assert result.exit_code == 0
    assert "with API keys" in result.stdout
    assert "gsk-SECRET-groq-9876" in target.read_text()
    assert target.stat().st_mode & 0o077 == 0

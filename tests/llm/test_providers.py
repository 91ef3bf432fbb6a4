"""Presets, environment key names, key resolution and local-host detection."""

from __future__ import annotations

import pytest

from calango.llm import (
    ENV_KEYS,
    PRESETS,
    ProviderSettings,
    env_key_names,
    is_local,
    key_source,
    resolve_api_key,
)


def test_presets_are_complete_and_ordered():
    assert list(PRESETS) == [
        "openai",
        "anthropic",
        "gemini",
        "groq",
        "openrouter",
        "ollama",
        "lmstudio",
        "vllm",
    ]
    for name, preset in PRESETS.items():
        assert set(preset) >= {"label", "kind", "base_url", "local", "env"}
        assert preset["kind"] in ("openai", "anthropic", "gemini")
        assert preset["env"] == (() if preset["local"] else ENV_KEYS[name])
    assert PRESETS["groq"]["base_url"] == "https://api.groq.com/openai/v1"
    assert PRESETS["ollama"]["local"] and is_local(PRESETS["ollama"]["base_url"])


@pytest.mark.parametrize(
    ("kind", "base_url", "expected"),
    [
        ("openai", None, ("OPENAI_API_KEY",)),
        ("openai", "https://api.groq.com/openai/v1", ("GROQ_API_KEY",)),
        ("openai", "https://openrouter.ai/api/v1", ("OPENROUTER_API_KEY",)),
        ("openai", "https://api.openai.com/v1", ("OPENAI_API_KEY",)),
        (
            "openai",
            "https://generativelanguage.googleapis.com/v1beta/openai/",
            ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        ),
        ("anthropic", "https://api.anthropic.com", ("ANTHROPIC_API_KEY",)),
        ("anthropic", None, ("ANTHROPIC_API_KEY",)),
        ("gemini", None, ("GEMINI_API_KEY", "GOOGLE_API_KEY")),
        # A custom endpoint must not receive the OpenAI key just because it speaks the protocol.
        ("openai", "https://api.together.xyz/v1", ()),
        ("openai", "http://localhost:11434/v1", ()),
    ],
)
def test_env_key_names(kind, base_url, expected):
    assert env_key_names(kind, base_url) == expected


def test_resolve_api_key_precedence():
    env = {"GEMINI_API_KEY": "", "GOOGLE_API_KEY": "from-google"}
    assert resolve_api_key("gemini", None, "stored", env) == "stored"
    assert resolve_api_key("gemini", None, "  ", env) == "from-google"
    env["GEMINI_API_KEY"] = "from-gemini"
    assert resolve_api_key("gemini", None, None, env) == "from-gemini"
    assert resolve_api_key("openai", None, None, env) is None
    local = "http://127.0.0.1:11434/v1"
    assert resolve_api_key("openai", local, None, {}) == "not-needed"
    assert resolve_api_key("openai", local, "real", {}) == "real"


@pytest.mark.parametrize(
    ("kind", "base_url", "stored", "environ", "expected"),
    [
        ("openai", "https://api.groq.com/openai/v1", True, {"GROQ_API_KEY": "g"}, ("stored", None)),
        (
            "openai",
            "https://api.groq.com/openai/v1",
            False,
            {"GROQ_API_KEY": "g"},
            ("environment", "GROQ_API_KEY"),
        ),
        ("openai", "https://api.groq.com/openai/v1", False, {"GROQ_API_KEY": "  "}, ("none", None)),
        ("openai", "http://localhost:8080/v1", False, {}, ("local", None)),
        # A local server never earns a hosted vendor's key, whatever it is called.
        ("openai", "http://localhost:8080/v1", False, {"OPENAI_API_KEY": "o"}, ("local", None)),
        ("openai", "https://llm.example.com/v1", False, {"OPENAI_API_KEY": "o"}, ("none", None)),
        ("openai", None, False, {"OPENAI_API_KEY": "o"}, ("environment", "OPENAI_API_KEY")),
    ],
)
def test_key_source_is_the_one_decision(kind, base_url, stored, environ, expected):
    assert key_source(kind, base_url, stored, environ) == expected
    # resolve_api_key sends what key_source says it would.
    key = resolve_api_key(kind, base_url, "k" if stored else None, environ)
    source, var = expected
    assert key == {"stored": "k", "local": "not-needed", "none": None}.get(
        source, environ.get(var or "", "").strip()
    )


def test_resolve_api_key_reads_process_environment(monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "gsk-env")
    assert resolve_api_key("openai", PRESETS["groq"]["base_url"], None) == "gsk-env"


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:11434/v1", True),
        ("http://127.0.0.1:1234/v1", True),
        ("http://127.5.0.1", True),
        ("http://[::1]:8080/v1", True),
        ("http://0.0.0.0:8000", True),
        ("http://gpu-box.local:8000/v1", True),
        ("http://10.1.2.3/v1", True),
        ("http://172.16.0.5/v1", True),
        ("http://172.32.0.5/v1", False),
        ("http://192.168.1.20:11434", True),
        ("http://host.docker.internal:11434/v1", True),
        ("https://api.openai.com/v1", False),
        ("https://8.8.8.8/v1", False),
        ("localhost:11434", True),
        (None, False),
        ("", False),
    ],
)
def test_is_local(url, local):
    assert is_local(url) is local


def test_settings_repr_hides_the_key():
    settings = ProviderSettings("OpenAI", "openai", None, "sk-secret")
    assert "sk-secret" not in repr(settings)
    assert settings.connect_timeout == 10.0 and settings.read_timeout == 120.0
    assert settings.max_retries == 2

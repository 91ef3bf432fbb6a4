"""Provider settings, presets, and where API keys come from."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

# The protocols Calango speaks; a provider's ``kind`` is one of them.
PROVIDER_KINDS = ("openai", "anthropic", "gemini")
GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta/openai/"
LOCAL_PLACEHOLDER_KEY = "not-needed"


@dataclass(frozen=True)
class ProviderSettings:
    """Everything needed to call one provider; built by the caller, never from Flask here."""

    name: str
    kind: str  # "openai" | "anthropic" | "gemini"
    base_url: str | None
    api_key: str | None
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    max_retries: int = 2
    # False on a SERVER that does not allow local providers: connections then go through the
    # SSRF guard (calango.llm.netguard), decided by the service layer, never here.
    allow_private_addresses: bool = True

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        key = "set" if self.api_key else None
        return (
            f"ProviderSettings(name={self.name!r}, kind={self.kind!r}, "
            f"base_url={self.base_url!r}, api_key={key!r}, connect_timeout="
            f"{self.connect_timeout!r}, read_timeout={self.read_timeout!r}, "
            f"max_retries={self.max_retries!r}, "
            f"allow_private_addresses={self.allow_private_addresses!r})"
        )


ENV_KEYS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "groq": ("GROQ_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
}

PRESETS: dict[str, dict[str, Any]] = {
    "openai": {"label": "OpenAI", "kind": "openai", "base_url": None, "local": False},
    "anthropic": {"label": "Anthropic", "kind": "anthropic", "base_url": None, "local": False},
    "gemini": {"label": "Google Gemini", "kind": "gemini", "base_url": None, "local": False},
    "groq": {
        "label": "Groq",
        "kind": "openai",
        "base_url": "https://api.groq.com/openai/v1",
        "local": False,
    },
    "openrouter": {
        "label": "OpenRouter",
        "kind": "openai",
        "base_url": "https://openrouter.ai/api/v1",
        "local": False,
    },
    "ollama": {
        "label": "Ollama (local)",
        "kind": "openai",
        "base_url": "http://localhost:11434/v1",
        "local": True,
    },
    "lmstudio": {
        "label": "LM Studio (local)",
        "kind": "openai",
        "base_url": "http://localhost:1234/v1",
        "local": True,
    },
}
for _name, _preset in PRESETS.items():
    _preset["env"] = () if _preset["local"] else ENV_KEYS.get(_name, ())

# The official endpoints: (host, kinds that speak to it there) → whose key it takes. An
# environment key goes only to its own vendor's host over HTTPS, whatever the provider is called.
_OFFICIAL_HOSTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "api.openai.com": ("openai", ("openai",)),
    "api.anthropic.com": ("anthropic", ("anthropic",)),
    "generativelanguage.googleapis.com": ("gemini", ("gemini", "openai")),
    "api.groq.com": ("groq", ("openai",)),
    "openrouter.ai": ("openrouter", ("openai",)),
}


def _host(base_url: str | None) -> str:
    if not base_url:
        return ""
    url = base_url if "//" in base_url else f"//{base_url}"
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def official_family(kind: str, base_url: str | None) -> str | None:
    """Whose official API this is (a key of ``ENV_KEYS``), or ``None`` for any other address.

    An empty ``base_url`` means the SDK's default endpoint of ``kind``. Otherwise the URL must
    be ``https://`` on the vendor's exact host and default port, without credentials in it.
    The provider's *name* plays no part: calling a proxy "openai" must not earn it the key.
    """
    if not (base_url or "").strip():
        return kind if kind in PROVIDER_KINDS else None
    try:
        parts = urlsplit(base_url.strip())  # type: ignore[union-attr]
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or parts.username is not None or parts.password is not None:
        return None
    if port not in (None, 443):
        return None
    official = _OFFICIAL_HOSTS.get((parts.hostname or "").lower())
    if official is None or kind not in official[1]:
        return None
    return official[0]


def provider_family(name: str, kind: str, base_url: str | None) -> str | None:
    """Which hosted service's *prices* fit this provider (a key of ``ENV_KEYS``): the official
    endpoint when it is one, else a guess from the name or host; ``None`` when nothing matches.

    Only for price look-ups: keys go by :func:`official_family` alone.
    """
    official = official_family(kind, base_url)
    if official is not None:
        return official
    lowered = (name or "").lower()
    for family in ENV_KEYS:
        if family in lowered:
            return family
    if "google" in lowered:
        return "gemini"
    host = _host(base_url)
    for known, (family, _kinds) in _OFFICIAL_HOSTS.items():
        if host == known or host.endswith("." + known):
            return family
    return None


def env_key_names(kind: str, base_url: str | None) -> tuple[str, ...]:
    """Environment variables that may hold this provider's API key, in order of preference:
    none unless ``base_url`` is the official endpoint of the vendor they belong to."""
    family = official_family(kind, base_url)
    return ENV_KEYS.get(family, ()) if family else ()


def is_local(base_url: str | None) -> bool:
    """Whether ``base_url`` points at this machine or a private network (no key needed)."""
    host = _host(base_url)
    if not host:
        return False
    if host in ("localhost", "host.docker.internal") or host.endswith((".local", ".localhost")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_private or address.is_unspecified


KeySource = Literal["stored", "environment", "local", "none"]


def key_source(
    kind: str,
    base_url: str | None,
    has_stored_key: bool,
    environ: Mapping[str, str] | None = None,
) -> tuple[KeySource, str | None]:
    """Where this provider's key comes from, and the environment variable when it is one.

    The one decision, in order: the stored key, else the first set environment variable of
    the vendor whose official endpoint ``base_url`` is (:func:`official_family`), else
    nothing for a local server (which ignores keys), else none. :func:`resolve_api_key` and
    the provider pages both follow it.
    """
    if has_stored_key:
        return "stored", None
    env = os.environ if environ is None else environ
    for var in env_key_names(kind, base_url):
        if env.get(var, "").strip():
            return "environment", var
    if is_local(base_url):
        return "local", None
    return "none", None


def resolve_api_key(
    kind: str,
    base_url: str | None,
    stored: str | None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The key to send, following :func:`key_source`: the stored one, the environment
    variable of the vendor whose official endpoint this is, a placeholder for local servers,
    or ``None``."""
    env = os.environ if environ is None else environ
    source, var = key_source(kind, base_url, bool(stored and stored.strip()), env)
    if source == "stored" and stored:
        return stored.strip()
    if source == "environment" and var:
        return env[var].strip()
    if source == "local":
        return LOCAL_PLACEHOLDER_KEY
    return None

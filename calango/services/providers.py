"""Providers: add, change, enable and remove them, test them, and read their model lists.

A stored API key is never sent to an address it was not entered for: changing where a provider
points (its base URL, or its kind when it uses the kind's default address) needs the key again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import current_app

from calango.extensions import db
from calango.llm import (
    ProviderSettings,
    env_key_names,
    key_source,
    list_models,
    resolve_api_key,
)
from calango.models import CallKind, Provider
from calango.models.provider import MODEL_NAME_MAX
from calango.services.call_log import recorded_call
from calango.services.names import check_name_free, commit_named
from calango.services.network_policy import local_providers_allowed


class ApiKeyNeeded(Exception):
    """The provider's address changed while it has a stored key: the key must be entered again."""


@dataclass
class ProviderInput:
    """What the provider form (or an import) says a provider should be.

    ``api_key`` empty means "keep the stored key"; ``remove_key`` forgets it.
    """

    name: str
    kind: str
    base_url: str | None
    models: list[str] = field(default_factory=list)
    price_overrides: dict[str, dict[str, float]] = field(default_factory=dict)
    api_key: str | None = None
    remove_key: bool = False


@dataclass
class KeyInfo:
    """Where a provider's key comes from, for the page to say (never the key itself)."""

    source: str  # "stored", "environment", "local" or "none" (see calango.llm.key_source)
    env_var: str | None  # the environment variable that supplies the key
    env_names: tuple[str, ...]  # every variable it would read a key from
    hint: str | None = None  # last four characters of the stored key (short keys have none)


@dataclass
class ProviderRow:
    """A provider as the list page shows it: where its key comes from."""

    provider: Provider
    key: KeyInfo


@dataclass
class FetchResult:
    """What reading a provider's model list changed."""

    models: list[str]
    added: list[str]
    removed: list[str]


# --- small normalisers shared with forms and the config import ------------------------------


def normalize_models(names: Iterable[str]) -> list[str]:
    """Trimmed, non-empty, without duplicates, in the order given."""
    seen: dict[str, None] = {}
    for name in names:
        name = name.strip()
        if name and name not in seen:
            seen[name] = None
    return list(seen)


def normalize_base_url(url: str | None) -> str | None:
    """``None`` for an empty address; otherwise trimmed and without a trailing slash."""
    url = (url or "").strip().rstrip("/")
    return url or None


def is_http_url(value: str) -> bool:
    """An absolute http(s) URL with a host and no ``user:password@`` (which would be stored
    and shown in clear, and sent to whatever host follows the ``@``)."""
    try:
        parts = urlsplit(value)
        _port = parts.port  # raises ValueError on a bad port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and "@" not in parts.netloc
        and not any(c.isspace() for c in value)
    )


def effective_address(kind: str, base_url: str | None) -> str:
    """Where requests go: the base URL, or the kind's default endpoint when there is none."""
    return normalize_base_url(base_url) or f"default:{kind}"


# --- queries --------------------------------------------------------------------------------


def find_by_name(name: str) -> Provider | None:
    """The provider called ``name`` under the name rule, if there is one."""
    return db.session.scalars(Provider.select_by_name(name).limit(1)).first()


def key_info(kind: str, base_url: str | None, provider: Provider | None = None) -> KeyInfo:
    """Where the key of a provider with these settings would come from (environment keys only
    for the vendor's official endpoint, whatever the provider is named)."""
    kind, base_url = kind or "openai", normalize_base_url(base_url)
    stored = provider is not None and provider.has_api_key
    source, env_var = key_source(kind, base_url, stored)
    hint = provider.api_key_hint if provider is not None and stored else None
    return KeyInfo(source, env_var, tuple(env_key_names(kind, base_url)), hint)


def list_providers() -> list[ProviderRow]:
    """Every provider by name, with where its key would come from."""
    return [
        ProviderRow(p, key_info(p.kind, p.base_url, p))
        for p in db.session.scalars(Provider.select_all())
    ]


# --- writes ---------------------------------------------------------------------------------


def create_provider(data: ProviderInput) -> Provider:
    """Add a provider; raises :class:`~calango.services.names.NameTaken` when the name is
    used."""
    name = data.name.strip()
    check_name_free(Provider, name)
    provider = Provider(
        name=name,
        kind=data.kind,
        base_url=normalize_base_url(data.base_url),
        models=normalize_models(data.models),
        price_overrides=dict(data.price_overrides),
        enabled=True,
    )
    if data.api_key and not data.remove_key:
        provider.set_api_key(data.api_key.strip())
    db.session.add(provider)
    commit_named(Provider, name)
    return provider


def update_provider(provider: Provider, data: ProviderInput) -> Provider:
    """Apply ``data`` to ``provider``.

    Raises :class:`~calango.services.names.NameTaken` on a name clash, and
    :class:`ApiKeyNeeded` when the address changes while a key is stored and no new key was
    given (nothing is saved then).
    """
    name = data.name.strip()
    check_name_free(Provider, name, exclude_id=provider.id)
    new_key = (data.api_key or "").strip()
    moved = effective_address(provider.kind, provider.base_url) != effective_address(
        data.kind, data.base_url
    )
    if moved and provider.has_api_key and not new_key and not data.remove_key:
        raise ApiKeyNeeded()
    provider.name = name
    provider.kind = data.kind
    provider.base_url = normalize_base_url(data.base_url)
    provider.models = normalize_models(data.models)
    provider.price_overrides = dict(data.price_overrides)
    if data.remove_key:
        provider.set_api_key(None)
    elif new_key:
        provider.set_api_key(new_key)
    commit_named(Provider, name, exclude_id=provider.id)
    return provider


def set_enabled(provider: Provider, enabled: bool) -> None:
    """Offer (or stop offering) the provider's models in the chat."""
    provider.enabled = enabled
    db.session.commit()


def delete_provider(provider: Provider) -> str:
    """Delete ``provider`` and return its name; chats keep showing the name."""
    name = provider.name
    db.session.delete(provider)
    db.session.commit()
    return name


# --- talking to the provider ----------------------------------------------------------------


def connection_settings(provider: Provider) -> ProviderSettings:
    """Settings to call ``provider`` now: the stored key, else one from the environment.

    Raises :class:`calango.encryption.KeyDecryptionError` when the stored key is unreadable.
    Retries are off: a person is waiting for the answer.
    """
    stored = provider.get_api_key()
    config = current_app.config
    return ProviderSettings(
        name=provider.name,
        kind=provider.kind,
        base_url=provider.base_url,
        api_key=resolve_api_key(provider.kind, provider.base_url, stored),
        connect_timeout=config["PROVIDER_CONNECT_TIMEOUT"],
        read_timeout=config["PROVIDER_READ_TIMEOUT"],
        max_retries=0,
        allow_private_addresses=local_providers_allowed(),
    )


def test_connection(provider: Provider) -> list[str]:
    """Ask the provider for its models; returns them, or raises ``ProviderError`` /
    ``KeyDecryptionError``. Changes nothing."""
    with recorded_call(CallKind.TEST_CONNECTION, provider.name):
        return list(list_models(connection_settings(provider)))


def fetch_models(provider: Provider, replace: bool = False) -> FetchResult:
    """Read the provider's models into its list: added at the end (``replace=False``) or
    replacing it. Raises like :func:`test_connection`; saves nothing on failure."""
    with recorded_call(CallKind.FETCH_MODELS, provider.name):
        listed = normalize_models(list_models(connection_settings(provider)))
    # A hostile list must not break chat: names too long to store, or with NUL, are dropped.
    remote = [name for name in listed if len(name) <= MODEL_NAME_MAX and "\x00" not in name]
    before = list(provider.models or [])
    after = remote if replace else normalize_models([*before, *remote])
    result = FetchResult(
        models=after,
        added=[m for m in after if m not in before],
        removed=[m for m in before if m not in after],
    )
    if after != before:
        provider.models = after
        db.session.commit()
    return result

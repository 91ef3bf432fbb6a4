"""Providers: add, change, enable and remove them, test them, and read their model lists.

A stored API key is never sent to an address it was not entered for: changing where a provider
points (its base URL, or its kind when it uses the kind's default address) needs the key again.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from calango.extensions import db
from calango.llm import (
    ProviderSettings,
    env_key_names,
    is_local,
    list_models,
    resolve_api_key,
)
from calango.models import CallKind, Provider
from calango.services.call_log import recorded_call

NAME_MAX = 80
BASE_URL_MAX = 500


class ProviderNameTaken(Exception):
    """Another provider already has this name (names are unique regardless of case)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


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

    hint: str | None  # last four characters of the stored key
    env_var: str | None  # the environment variable that is set and would supply a key
    env_names: tuple[str, ...]  # every variable it would read a key from
    local: bool  # a local server (Ollama, LM Studio) usually needs no key
    stored: bool = False  # a key is stored (short keys have no hint)


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
    """An absolute http(s) URL with a host."""
    try:
        parts = urlsplit(value)
        _port = parts.port  # raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


def effective_address(kind: str, base_url: str | None) -> str:
    """Where requests go: the base URL, or the kind's default endpoint when there is none."""
    return normalize_base_url(base_url) or f"default:{kind}"


# --- queries --------------------------------------------------------------------------------


def find_by_name(name: str, exclude_id: int | None = None) -> Provider | None:
    """The provider called ``name`` (any case), if there is one."""
    query = select(Provider).where(func.lower(Provider.name) == name.strip().lower())
    if exclude_id is not None:
        query = query.where(Provider.id != exclude_id)
    return db.session.scalars(query.limit(1)).first()


def key_info(
    name: str, kind: str, base_url: str | None, provider: Provider | None = None
) -> KeyInfo:
    """Where the key of a provider with these settings would come from."""
    names = tuple(env_key_names(name or "", kind or "openai", normalize_base_url(base_url)))
    env_var = next((n for n in names if os.environ.get(n)), None)
    hint = provider.api_key_hint if provider is not None and provider.has_api_key else None
    stored = provider is not None and provider.has_api_key
    return KeyInfo(hint, env_var, names, bool(base_url) and is_local(base_url or ""), stored)


def list_providers() -> list[ProviderRow]:
    """Every provider by name, with where its key would come from."""
    return [
        ProviderRow(p, key_info(p.name, p.kind, p.base_url, p))
        for p in db.session.scalars(Provider.select_all())
    ]


# --- writes ---------------------------------------------------------------------------------


def _commit_or_name_taken(name: str) -> None:
    # The unique constraint is case-sensitive; the check before the write covers case, and this
    # catches two writers racing for exactly the same name.
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ProviderNameTaken(name) from None


def create_provider(data: ProviderInput) -> Provider:
    """Add a provider; raises :class:`ProviderNameTaken` when the name is used (any case)."""
    name = data.name.strip()
    if find_by_name(name) is not None:
        raise ProviderNameTaken(name)
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
    _commit_or_name_taken(name)
    return provider


def update_provider(provider: Provider, data: ProviderInput) -> Provider:
    """Apply ``data`` to ``provider``.

    Raises :class:`ProviderNameTaken` on a name clash, and :class:`ApiKeyNeeded` when the
    address changes while a key is stored and no new key was given (nothing is saved then).
    """
    name = data.name.strip()
    if find_by_name(name, exclude_id=provider.id) is not None:
        raise ProviderNameTaken(name)
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
    _commit_or_name_taken(name)
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
        api_key=resolve_api_key(provider.name, provider.kind, provider.base_url, stored),
        connect_timeout=config["PROVIDER_CONNECT_TIMEOUT"],
        read_timeout=config["PROVIDER_READ_TIMEOUT"],
        max_retries=0,
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
        remote = normalize_models(list_models(connection_settings(provider)))
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


# The first-run offers live in their own module; re-exported for callers of this service.
from calango.services.first_run import (  # noqa: E402
    OfferUnavailable,
    ProviderOffer,
    SetupResult,
    first_run_offers,
    setup_from_offer,
)

__all__ = [
    "ApiKeyNeeded",
    "FetchResult",
    "KeyInfo",
    "OfferUnavailable",
    "ProviderInput",
    "ProviderNameTaken",
    "ProviderOffer",
    "ProviderRow",
    "SetupResult",
    "create_provider",
    "delete_provider",
    "fetch_models",
    "first_run_offers",
    "key_info",
    "list_providers",
    "set_enabled",
    "setup_from_offer",
    "test_connection",
    "update_provider",
]

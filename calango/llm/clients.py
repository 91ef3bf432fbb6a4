"""The SDK clients, over one shared, cancellable connection pool."""

from __future__ import annotations

import threading

import anthropic
import httpx2
import openai

from calango.llm.cancel import make_cancellable
from calango.llm.errors import AuthError
from calango.llm.netguard import guard_connections
from calango.llm.providers import (
    GEMINI_BASE_URL,
    LOCAL_PLACEHOLDER_KEY,
    PROVIDER_KINDS,
    ProviderSettings,
    is_local,
)

# One connection pool for every provider: building an SDK client with its own pool costs
# ~20 ms of CPU (TLS context), with a shared one ~0.2 ms. Timeouts are set per request. A
# second pool, guarded, connects only to public addresses (the SSRF guard): a connection opened
# for a local provider is never handed to a request that must not reach one.
_http_clients: dict[bool, httpx2.Client] = {}
_http_client_lock = threading.Lock()


def shared_http_client(guarded: bool = False) -> httpx2.Client:
    """The process's HTTP client; its connections can be cut by a ``CancelToken``. The
    ``guarded`` one refuses non-public addresses at connect time, and ignores proxy variables
    (a proxy would resolve the provider's host where the guard cannot check it)."""
    with _http_client_lock:
        client = _http_clients.get(guarded)
        if client is None or client.is_closed:
            client = httpx2.Client(
                limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100),
                timeout=httpx2.Timeout(120.0, connect=10.0),
                follow_redirects=True,
                trust_env=not guarded,
            )
            if guarded:
                guard_connections(client)
            make_cancellable(client)
            _http_clients[guarded] = client
        return client


def http_client_for(settings: ProviderSettings) -> httpx2.Client:
    """The shared client ``settings`` may use: the guarded one unless local addresses are
    allowed."""
    return shared_http_client(guarded=not settings.allow_private_addresses)


def api_key(settings: ProviderSettings) -> str:
    """The key to send; local servers get a placeholder; raises ``AuthError`` without one."""
    if settings.api_key:
        return settings.api_key
    if is_local(settings.base_url):
        return LOCAL_PLACEHOLDER_KEY
    raise AuthError("no API key configured")


def timeout(settings: ProviderSettings, read: float | None = None) -> httpx2.Timeout:
    """The settings' timeouts; ``read`` (a shorter budget) caps both when given."""
    read_timeout = settings.read_timeout if read is None else min(read, settings.read_timeout)
    return httpx2.Timeout(read_timeout, connect=min(settings.connect_timeout, read_timeout))


def openai_client(
    settings: ProviderSettings, max_retries: int | None = None, read: float | None = None
) -> openai.OpenAI:
    """An OpenAI SDK client for ``settings`` (Gemini's compatible endpoint for kind gemini)."""
    base_url = settings.base_url or (GEMINI_BASE_URL if settings.kind == "gemini" else None)
    return openai.OpenAI(
        api_key=api_key(settings),
        base_url=base_url,
        timeout=timeout(settings, read),
        max_retries=settings.max_retries if max_retries is None else max_retries,
        http_client=http_client_for(settings),
    )


def anthropic_client(
    settings: ProviderSettings, max_retries: int | None = None, read: float | None = None
) -> anthropic.Anthropic:
    """An Anthropic SDK client for ``settings``."""
    base_url = settings.base_url
    if base_url:
        # The SDK appends /v1/messages; people often paste the URL with /v1 already on it.
        base_url = base_url.rstrip("/").removesuffix("/v1") or None
    return anthropic.Anthropic(
        api_key=api_key(settings),
        base_url=base_url,
        timeout=timeout(settings, read),
        max_retries=settings.max_retries if max_retries is None else max_retries,
        http_client=http_client_for(settings),
    )


def check_kind(kind: str) -> None:
    """Raise ``ValueError`` for a kind no client speaks."""
    if kind not in PROVIDER_KINDS:
        raise ValueError(f"unknown provider kind: {kind!r}")

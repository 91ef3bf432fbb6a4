"""Open a streamed chat answer at a provider and read it as events.

``open_chat_stream`` performs the HTTP request (so refused keys, unknown models, rate limits
and unreachable hosts raise right there); the returned ``ChatStream`` yields ``TextDelta``
events, then one ``Usage``, then one ``Finish``. The SDK retries only that first request;
once bytes of the answer have arrived nothing is retried.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import anthropic
import httpx2
import openai

from calango.llm.context import estimate_tokens
from calango.llm.errors import AuthError, ProviderError, map_exception
from calango.llm.providers import (
    GEMINI_BASE_URL,
    LOCAL_PLACEHOLDER_KEY,
    PROVIDER_KINDS,
    ProviderSettings,
    is_local,
    provider_family,
)
from calango.llm.sse import AnthropicDecoder, OpenAIDecoder, iter_sse

ANTHROPIC_DEFAULT_MAX_TOKENS = 4096


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens used; ``estimated`` when the provider did not report (all of) them."""

    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Finish:
    """The end of the answer, with the provider's reason ("stop", "length", "end_turn"…)."""

    reason: str | None


Event = TextDelta | Usage | Finish


# --- HTTP clients ---------------------------------------------------------------------------
# One connection pool for every provider: building an SDK client with its own pool costs
# ~20 ms of CPU (TLS context), with a shared one ~0.2 ms. Timeouts are set per request.
_http_client: httpx2.Client | None = None
_http_client_lock = threading.Lock()


def _shared_http_client() -> httpx2.Client:
    global _http_client
    with _http_client_lock:
        if _http_client is None or _http_client.is_closed:
            _http_client = httpx2.Client(
                limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100),
                timeout=httpx2.Timeout(120.0, connect=10.0),
                follow_redirects=True,
            )
        return _http_client


def _api_key(settings: ProviderSettings) -> str:
    if settings.api_key:
        return settings.api_key
    if is_local(settings.base_url):
        return LOCAL_PLACEHOLDER_KEY
    raise AuthError("no API key configured")


def _timeout(settings: ProviderSettings) -> httpx2.Timeout:
    return httpx2.Timeout(settings.read_timeout, connect=settings.connect_timeout)


def _openai_client(settings: ProviderSettings) -> openai.OpenAI:
    base_url = settings.base_url or (GEMINI_BASE_URL if settings.kind == "gemini" else None)
    return openai.OpenAI(
        api_key=_api_key(settings),
        base_url=base_url,
        timeout=_timeout(settings),
        max_retries=settings.max_retries,
        http_client=_shared_http_client(),
    )


def _anthropic_client(settings: ProviderSettings) -> anthropic.Anthropic:
    base_url = settings.base_url
    if base_url:
        # The SDK appends /v1/messages; people often paste the URL with /v1 already on it.
        base_url = base_url.rstrip("/").removesuffix("/v1") or None
    return anthropic.Anthropic(
        api_key=_api_key(settings),
        base_url=base_url,
        timeout=_timeout(settings),
        max_retries=settings.max_retries,
        http_client=_shared_http_client(),
    )


def _check_kind(kind: str) -> None:
    if kind not in PROVIDER_KINDS:
        raise ValueError(f"unknown provider kind: {kind!r}")


# --- the stream -----------------------------------------------------------------------------


class ChatStream:
    """A streamed answer: iterate for events; ``close()`` may come from another thread.

    Iterating yields ``TextDelta``…, one ``Usage``, one ``Finish``; failures raise typed
    ``ProviderError`` subclasses (``ConnectionLostError`` when the connection is cut). After
    ``close()`` iteration just ends (no ``Usage``/``Finish``, no exception).
    """

    def __init__(
        self,
        response: httpx2.Response,
        decoder: OpenAIDecoder | AnthropicDecoder,
        prompt_estimate: int,
    ) -> None:
        self._response = response
        self._decoder = decoder
        self._prompt_estimate = prompt_estimate
        self._lock = threading.Lock()
        self._closed = False
        self._events = self._generate()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def __iter__(self) -> Iterator[Event]:
        return self._events

    def __next__(self) -> Event:
        return next(self._events)

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the stream and release the connection; safe from any thread, idempotent.

        Closing a socket does not wake a thread blocked reading it, so shut it down first:
        the reader then sees the connection end and the iteration stops quietly.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _shutdown_socket(self._response)
        _close_quietly(self._response)

    def _generate(self) -> Iterator[Event]:
        decoder = self._decoder
        pieces: list[str] = []
        try:
            if self._closed:
                return
            for sse in iter_sse(self._response.iter_lines()):
                if self._closed:
                    return  # events already buffered when close() came
                text = decoder.feed(sse)
                if text:
                    pieces.append(text)
                    yield TextDelta(text)
                if decoder.done:
                    break
        except ProviderError:
            if self._closed:
                return
            raise
        except Exception as exc:
            if self._closed:
                return  # reading a connection that close() cut
            raise map_exception(exc) from exc
        finally:
            _close_quietly(self._response)
        if self._closed:
            return
        prompt, completion = decoder.prompt_tokens, decoder.completion_tokens
        yield Usage(
            prompt if prompt is not None else self._prompt_estimate,
            completion if completion is not None else estimate_tokens("".join(pieces)),
            estimated=prompt is None or completion is None,
        )
        yield Finish(decoder.finish_reason)


def _shutdown_socket(response: httpx2.Response) -> None:
    stream = response.extensions.get("network_stream")
    try:
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError, AttributeError):
        pass  # already closed


def _close_quietly(response: httpx2.Response) -> None:
    # Closing from two threads at once may trip over itself; either way it is closed.
    with contextlib.suppress(Exception):
        response.close()


def _prompt_estimate(messages: list[dict[str, Any]]) -> int:
    return sum(estimate_tokens(str(m.get("content") or "")) for m in messages)


def open_chat_stream(
    settings: ProviderSettings,
    model: str,
    messages: list[dict[str, Any]],
    max_tokens: int | None = None,
) -> ChatStream:
    """Send the conversation and return its streamed answer once the provider has accepted it.

    ``messages`` are ``{"role": "system" | "user" | "assistant", "content": str}``. Raises
    ``ProviderError`` subclasses for refused requests and unreachable providers.
    """
    _check_kind(settings.kind)
    try:
        if settings.kind == "anthropic":
            response = _open_anthropic(settings, model, messages, max_tokens)
            decoder: OpenAIDecoder | AnthropicDecoder = AnthropicDecoder()
        else:
            response = _open_openai(settings, model, messages, max_tokens)
            decoder = OpenAIDecoder()
    except Exception as exc:
        raise map_exception(exc) from exc
    return ChatStream(response, decoder, _prompt_estimate(messages))


def _open_openai(
    settings: ProviderSettings, model: str, messages: list[dict[str, Any]], max_tokens: int | None
) -> httpx2.Response:
    client = _openai_client(settings)
    extra: dict[str, Any] = {}
    if max_tokens is not None:
        # OpenAI's newer models refuse max_tokens; compatible servers may not know the new name.
        official = provider_family(settings.name, settings.kind, settings.base_url) == "openai"
        extra["max_completion_tokens" if official else "max_tokens"] = max_tokens
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": m["role"], "content": m["content"]} for m in messages],  # type: ignore[misc]
        stream=True,
        stream_options={"include_usage": True},
        **extra,
    )
    return stream.response


def _open_anthropic(
    settings: ProviderSettings, model: str, messages: list[dict[str, Any]], max_tokens: int | None
) -> httpx2.Response:
    client = _anthropic_client(settings)
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system" and m["content"])
    turns = [
        {"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"
    ]
    extra: dict[str, Any] = {"system": system} if system else {}
    stream = client.messages.create(
        model=model,
        max_tokens=max_tokens or ANTHROPIC_DEFAULT_MAX_TOKENS,
        messages=turns,  # type: ignore[arg-type]
        stream=True,
        **extra,
    )
    return stream.response


def list_models(settings: ProviderSettings) -> list[str]:
    """The model ids the provider offers, sorted; raises ``ProviderError`` subclasses."""
    _check_kind(settings.kind)
    try:
        if settings.kind == "anthropic":
            ids = [m.id for m in _anthropic_client(settings).models.list(limit=1000)]
        else:
            ids = [m.id for m in _openai_client(settings).models.list()]
    except Exception as exc:
        raise map_exception(exc) from exc
    if settings.kind == "gemini":
        ids = [i.removeprefix("models/") for i in ids]
    return sorted(set(ids))


def warm_up() -> None:
    """Load the SDKs' lazily imported request machinery (~50 ms on the first request) by
    sending one request of each kind to a closed local port. Call once per worker process,
    before it serves, so the first user's answer does not pay for it."""
    for kind in ("openai", "anthropic"):
        settings = ProviderSettings(
            name="warm-up",
            kind=kind,
            base_url="http://127.0.0.1:9/v1",
            api_key="warm-up",
            connect_timeout=0.5,
            max_retries=0,
        )
        with contextlib.suppress(ProviderError):
            open_chat_stream(settings, "warm-up", [{"role": "user", "content": "."}]).close()

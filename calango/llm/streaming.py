"""Open a streamed chat answer at a provider and read it as events.

``open_chat_stream`` performs the HTTP request (so refused keys, unknown models, rate limits
and unreachable hosts raise right there); the returned ``ChatStream`` yields ``TextDelta``
events, then one ``Usage``, then one ``Finish``. Only that first request is retried, within
the read timeout in total and never after a ``CancelToken`` was cancelled; once the provider
has answered nothing is retried.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx2
from openai import Stream
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from calango.llm.cancel import CancelToken, close_quietly, shutdown_response
from calango.llm.clients import anthropic_client, check_kind, openai_client
from calango.llm.content import anthropic_message, openai_message
from calango.llm.context import estimate_tokens, message_tokens
from calango.llm.errors import (
    NotAnApiError,
    ProviderError,
    RequestCancelled,
    is_retryable,
    map_exception,
    truncate,
)
from calango.llm.params import ChatParams, anthropic_fields, openai_fields
from calango.llm.providers import ProviderSettings, provider_family
from calango.llm.sse import AnthropicDecoder, LineSample, OpenAIDecoder, iter_sse, split_lines

# A stream that sends this much without one event of the expected shape is not the API.
GARBAGE_LIMIT = 64 * 1024
RETRY_BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)


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
        shutdown_response(self._response)
        close_quietly(self._response)

    def _generate(self) -> Iterator[Event]:
        decoder = self._decoder
        pieces: list[str] = []
        seen = LineSample()
        try:
            if self._closed:
                return
            _refuse_non_stream(self._response)
            for sse in iter_sse(seen.lines(split_lines(self._response.iter_text()))):
                if self._closed:
                    return  # events already buffered when close() came
                text = decoder.feed(sse)
                if text:
                    pieces.append(text)
                    yield TextDelta(text)
                if decoder.done:
                    break
                if not decoder.recognized and seen.size > GARBAGE_LIMIT:
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
            close_quietly(self._response)
        if self._closed:
            return
        if not decoder.recognized:
            raise NotAnApiError("the answer is not a chat stream", detail=seen.detail())
        prompt, completion = decoder.prompt_tokens, decoder.completion_tokens
        yield Usage(
            prompt if prompt is not None else self._prompt_estimate,
            completion if completion is not None else estimate_tokens("".join(pieces)),
            estimated=prompt is None or completion is None,
        )
        yield Finish(decoder.finish_reason)


def _refuse_non_stream(response: httpx2.Response) -> None:
    """A web page or a JSON document where an event stream was asked for is not the API;
    say so at once instead of reading it to its end."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("text/html", "application/xhtml+xml", "application/json"):
        head = b""
        with contextlib.suppress(Exception):
            for chunk in response.iter_bytes():
                head += chunk
                if len(head) >= 2048:
                    break
        detail = truncate(head[:2048].decode("utf-8", errors="replace")) or None
        raise NotAnApiError(f"the answer is {content_type}, not an event stream", detail=detail)


def _prompt_estimate(messages: list[dict[str, Any]]) -> int:
    return sum(message_tokens(m) for m in messages)


def open_chat_stream(
    settings: ProviderSettings,
    model: str,
    messages: list[dict[str, Any]],
    max_tokens: int | None = None,
    cancel: CancelToken | None = None,
    params: ChatParams | None = None,
) -> ChatStream:
    """Send the conversation and return its streamed answer once the provider has accepted it.

    ``messages`` are ``{"role": "system" | "user" | "assistant", "content": str}``, a user
    turn possibly with ``"images": [ImagePart, ...]`` (``llm/content.py``). Raises
    ``ProviderError`` subclasses for refused requests and unreachable providers, and
    ``RequestCancelled`` once ``cancel`` is cancelled (which also cuts a request waiting for
    the provider's first byte). Failed attempts that may succeed again are retried up to
    ``settings.max_retries`` times, all of them within ``settings.read_timeout``.
    ``params`` (temperature, output limit, effort) are sent in each protocol's own form; a
    ``max_tokens`` given on its own is the output limit.
    """
    check_kind(settings.kind)
    params = params or ChatParams()
    if max_tokens is not None and params.max_tokens is None:
        params = ChatParams(params.temperature, max_tokens, params.effort)
    token = cancel or CancelToken()
    deadline = time.monotonic() + settings.read_timeout
    attempt = 0
    while True:
        if token.cancelled:
            raise RequestCancelled("stopped before the provider answered")
        budget = deadline - time.monotonic()
        try:
            with token.installed():
                if settings.kind == "anthropic":
                    response = _open_anthropic(settings, model, messages, params, budget)
                    decoder: OpenAIDecoder | AnthropicDecoder = AnthropicDecoder()
                else:
                    response = _open_openai(settings, model, messages, params, budget)
                    decoder = OpenAIDecoder()
        except Exception as exc:
            if token.cancelled:
                raise RequestCancelled("stopped before the provider answered") from None
            error = map_exception(exc)
            backoff = RETRY_BACKOFF[min(attempt, len(RETRY_BACKOFF) - 1)]
            attempt += 1
            out_of_time = time.monotonic() + backoff >= deadline
            if attempt > settings.max_retries or out_of_time or not is_retryable(error):
                raise error from exc
            if token.wait(backoff):
                raise RequestCancelled("stopped before the provider answered") from None
            continue
        if token.cancelled:  # the answer began just as Stop came
            close_quietly(response)
            raise RequestCancelled("stopped before the provider answered")
        return ChatStream(response, decoder, _prompt_estimate(messages))


def _open_openai(
    settings: ProviderSettings,
    model: str,
    messages: list[dict[str, Any]],
    params: ChatParams,
    budget: float,
) -> httpx2.Response:
    client = openai_client(settings, max_retries=0, read=budget)
    # OpenAI's newer models refuse max_tokens; compatible servers may not know the new name.
    # (A name guess is fine here: it picks a parameter name, it sends no secret.)
    official = provider_family(settings.name, settings.kind, settings.base_url) == "openai"
    body = {
        "model": model,
        "messages": [openai_message(m) for m in messages],
        "stream": True,
        "stream_options": {"include_usage": True},
        **openai_fields(params, model, official),
    }
    # The request ``chat.completions.create`` sends, through the SDK's documented way to
    # post a request of one's own (``client.post``): ``create`` first walks every message
    # through its TypedDict transform, ~0.2 ms of CPU per message (41 ms for a 200-message
    # context, measured), for plain JSON that needs no change. Auth, headers, timeouts and
    # errors are the SDK's as before.
    stream = client.post(
        "/chat/completions",
        body=body,
        options={"security": {"bearer_auth": True}},
        cast_to=ChatCompletion,
        stream=True,
        stream_cls=Stream[ChatCompletionChunk],
    )
    return stream.response


def _open_anthropic(
    settings: ProviderSettings,
    model: str,
    messages: list[dict[str, Any]],
    params: ChatParams,
    budget: float,
) -> httpx2.Response:
    client = anthropic_client(settings, max_retries=0, read=budget)
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system" and m["content"])
    turns = [anthropic_message(m) for m in messages if m["role"] != "system"]
    extra: dict[str, Any] = {"system": system} if system else {}
    fields = anthropic_fields(params, model)
    if "temperature" in fields:
        # This SDK no longer names the field; the Messages API still takes it.
        extra["extra_body"] = {"temperature": fields.pop("temperature")}
    extra.update(fields)
    stream = client.messages.create(
        model=model,
        messages=turns,  # type: ignore[arg-type]
        stream=True,
        **extra,
    )
    return stream.response


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

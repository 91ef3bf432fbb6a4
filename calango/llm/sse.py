"""Server-sent events, and the two wire formats of streamed chat answers.

We parse the raw stream with the standard JSON parser rather than let the SDKs build a
pydantic model per chunk: it costs a fifth of the CPU per chunk (see DESIGN.md), and it
keeps the reading loop ours, so ``ChatStream.close()`` can cut it from another thread.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from calango.llm.errors import NotAnApiError, ProviderError, error_for_status, truncate

# No real event comes near this; a stream without line breaks or blank lines must not grow
# without end in memory.
MAX_EVENT_CHARS = 1024 * 1024
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(chunks: Iterable[str], limit: int = MAX_EVENT_CHARS) -> Iterator[str]:
    """The lines of a text stream (CRLF, CR or LF endings, as SSE defines them); raises
    ``NotAnApiError`` for a line longer than ``limit``."""
    pending = ""
    for chunk in chunks:
        if not chunk:
            continue
        pending += chunk
        if "\r" not in pending:  # the usual case, and the fast one
            pieces = pending.split("\n")
            pending = pieces.pop()
        else:
            # A CR at the very end may be the first half of a CRLF: keep it for the next chunk.
            held = "\r" if pending.endswith("\r") else ""
            pieces = _LINE_BREAK.split(pending[:-1] if held else pending)
            pending = pieces.pop() + held
        yield from pieces
        if len(pending) > limit:
            raise NotAnApiError("a line of the stream is too long", detail=truncate(pending[:500]))
    if pending:
        yield pending.removesuffix("\r")


@dataclass(slots=True)
class ServerSentEvent:
    """One dispatched SSE event: its ``event:`` name (default "message") and joined data."""

    event: str
    data: str


class LineSample:
    """Counts the characters of a stream and keeps its beginning, to quote what a server that
    is not the API sent instead."""

    def __init__(self) -> None:
        self.size = 0
        self._head: list[str] = []

    def lines(self, lines: Iterable[str]) -> Iterator[str]:
        """``lines``, counted and sampled as they pass."""
        for line in lines:
            self.size += len(line) + 1
            if len(self._head) < 10:
                self._head.append(line)
            yield line

    def detail(self) -> str | None:
        """The first lines, joined and truncated; ``None`` when nothing came."""
        return truncate(" ".join(self._head)) or None


def iter_sse(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """Group text lines into server-sent events (comments and unknown fields ignored); raises
    ``NotAnApiError`` for an event larger than ``MAX_EVENT_CHARS``."""
    event = ""
    data: list[str] = []
    size = 0
    for line in lines:
        if not line:
            if data:
                yield ServerSentEvent(event or "message", "\n".join(data))
            event, data, size = "", [], 0
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
            size += len(value) + 1
            if size > MAX_EVENT_CHARS:
                raise NotAnApiError("an event of the stream is too large", detail=truncate(value))
        elif name == "event":
            event = value
    if data:
        yield ServerSentEvent(event or "message", "\n".join(data))


# Error "type"/"code" strings that providers put in stream error events, as HTTP statuses.
_ERROR_TYPES = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "invalid_api_key": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "model_not_found": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "api_error": 500,
    "server_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def stream_error(payload: Any) -> ProviderError:
    """The typed error for an error object sent inside a stream."""
    error = payload.get("error", payload) if isinstance(payload, dict) else payload
    status: int | None = None
    message: str | None = None
    if isinstance(error, dict):
        code = error.get("code") or error.get("status")
        if isinstance(code, int):
            status = code
        elif isinstance(code, str) and code.isdigit():
            status = int(code)
        for key in ("type", "code"):
            value = error.get(key)
            if status is None and isinstance(value, str):
                status = _ERROR_TYPES.get(value)
        raw = error.get("message")
        message = raw if isinstance(raw, str) else None
    elif isinstance(error, str):
        message = error
    detail = truncate(message) if message else None
    return error_for_status(status or 500, "provider sent an error mid-stream", detail)


def _json(sse: ServerSentEvent) -> Any:
    try:
        return json.loads(sse.data)
    except ValueError:
        raise NotAnApiError("malformed event from provider", detail=truncate(sse.data)) from None


_ANTHROPIC_EVENTS = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
    }
)


class OpenAIDecoder:
    """Chat-completions chunks → text; remembers usage and finish reason.

    ``recognized`` says whether any event had the expected shape: a stream without one is not
    the provider's API (an HTML page, another service), whatever its status code said.
    """

    def __init__(self) -> None:
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.finish_reason: str | None = None
        self.done = False
        self.recognized = False

    def feed(self, sse: ServerSentEvent) -> str:
        """The text carried by ``sse`` ("" for none); raises on an error event."""
        if sse.data.startswith("[DONE]"):
            self.done = True
            return ""
        chunk = _json(sse)
        if not isinstance(chunk, dict):
            return ""
        if chunk.get("error") or sse.event == "error":
            raise stream_error(chunk)
        if "choices" in chunk or "usage" in chunk:
            self.recognized = True
        usage = chunk.get("usage") or (chunk.get("x_groq") or {}).get("usage")
        if isinstance(usage, dict):
            self.prompt_tokens = _int(usage.get("prompt_tokens"), self.prompt_tokens)
            self.completion_tokens = _int(usage.get("completion_tokens"), self.completion_tokens)
        text = ""
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str):
                text += content
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return text


class AnthropicDecoder:
    """Messages-API stream events → text; remembers usage and stop reason (and, like
    :class:`OpenAIDecoder`, whether any event was ``recognized``)."""

    def __init__(self) -> None:
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.finish_reason: str | None = None
        self.done = False
        self.recognized = False

    def feed(self, sse: ServerSentEvent) -> str:
        """The text carried by ``sse`` ("" for none); raises on an error event."""
        payload = _json(sse)
        if not isinstance(payload, dict):
            return ""
        kind = payload.get("type") or sse.event
        if kind in _ANTHROPIC_EVENTS:
            self.recognized = True
        if kind == "content_block_delta":
            delta = payload.get("delta") or {}
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                return str(delta["text"])
        elif kind == "message_start":
            usage = (payload.get("message") or {}).get("usage") or {}
            self.prompt_tokens = _input_tokens(usage, self.prompt_tokens)
        elif kind == "message_delta":
            usage = payload.get("usage") or {}
            self.prompt_tokens = _input_tokens(usage, self.prompt_tokens)
            self.completion_tokens = _int(usage.get("output_tokens"), self.completion_tokens)
            reason = (payload.get("delta") or {}).get("stop_reason")
            if reason:
                self.finish_reason = reason
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":
            raise stream_error(payload)
        return ""


def _int(value: Any, default: int | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _input_tokens(usage: dict[str, Any], default: int | None) -> int | None:
    """Anthropic bills cached prompt tokens separately; all of them are the prompt."""
    base = _int(usage.get("input_tokens"), None)
    if base is None:
        return default
    cached = (_int(usage.get("cache_creation_input_tokens"), 0) or 0) + (
        _int(usage.get("cache_read_input_tokens"), 0) or 0
    )
    return base + cached

"""Typed provider errors, and the mapping from SDK / transport exceptions to them.

Callers translate by class (``AuthError`` → "check the API key", …); ``message`` is a short
English technical summary for logs and ``detail`` is what the provider said, when it said
anything.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2
import openai

DETAIL_LIMIT = 300


class ProviderError(Exception):
    """A provider call failed. Subclasses say why; ``detail`` is the provider's own words."""

    def __init__(
        self, message: str, status_code: int | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.detail = detail

    def __str__(self) -> str:
        parts = [self.message]
        if self.status_code is not None:
            parts.append(f"(HTTP {self.status_code})")
        if self.detail:
            parts.append(f"— {self.detail}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status_code={self.status_code!r}, "
            f"detail={self.detail!r})"
        )


class AuthError(ProviderError):
    """The API key was refused (401/403) or is missing."""


class NotFoundError(ProviderError):
    """The model or endpoint does not exist (404)."""


class RateLimitError(ProviderError):
    """Too many requests or quota exhausted (429)."""


class BadRequestError(ProviderError):
    """The provider rejected the request (400/413/422), e.g. context too long."""


class ServerError(ProviderError):
    """The provider failed (5xx, overloaded)."""


class ProviderTimeoutError(ProviderError):
    """Connecting or waiting for the next bytes took longer than the configured timeout."""


class ConnectionLostError(ProviderError):
    """The provider could not be reached, or the connection was cut mid-answer."""


class NotAnApiError(ProviderError):
    """The address answered, but not like the provider's API: an HTML page, malformed JSON, a
    stream without a single event of the expected shape. Usually a wrong base URL."""


class AddressRefused(ProviderError):
    """The provider's address is not public (loopback, private, link-local…) and this server
    does not allow local providers (the SSRF guard, :mod:`calango.llm.netguard`)."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(f"{host} resolves to {address} ({reason}), which is not allowed")
        self.host = host
        self.address = address
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.host, self.address, self.reason))


class RequestCancelled(ProviderError):
    """The request was cancelled (Stop) before it finished; never retried."""


RETRYABLE = (ConnectionLostError, ProviderTimeoutError, RateLimitError, ServerError)


def is_retryable(error: ProviderError) -> bool:
    """Whether sending the same request again may succeed (as the SDKs decide: timeouts, lost
    connections, 408/409/429 and 5xx)."""
    return isinstance(error, RETRYABLE) or error.status_code in (408, 409)


def truncate(text: str, limit: int = DETAIL_LIMIT) -> str:
    """``text`` stripped and cut to ``limit`` characters (with an ellipsis when cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _message_from(data: Any) -> str | None:
    """The human message inside a provider error payload, in the shapes providers use."""
    if isinstance(data, list) and data:
        return _message_from(data[0])  # Gemini's compat layer sometimes wraps in a list
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if isinstance(error, dict):
        found = _message_from(error)
        if found:
            return found
    if isinstance(error, str) and error:
        return error
    for key in ("message", "detail", "error_description"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def extract_detail(body: str | bytes | None) -> str | None:
    """The provider's error message from a response body: JSON ``error.message`` (and
    similar) when present, the plain text otherwise; truncated. ``None`` when empty."""
    if body is None:
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    body = body.strip()
    if not body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return truncate(body)
    message = _message_from(data)
    return truncate(message if message else body)


def error_for_status(status: int | None, message: str, detail: str | None) -> ProviderError:
    """The ``ProviderError`` subclass for an HTTP status."""
    cls: type[ProviderError]
    if status in (401, 403):
        cls = AuthError
    elif status == 404:
        cls = NotFoundError
    elif status == 408:
        cls = ProviderTimeoutError
    elif status == 429:
        cls = RateLimitError
    elif status in (400, 413, 422):
        cls = BadRequestError
    elif status is not None and status >= 500:
        cls = ServerError
    else:
        cls = ProviderError
    return cls(message, status_code=status, detail=detail)


_STATUS_SUMMARY = {
    401: "authentication failed",
    403: "permission denied",
    404: "not found",
    408: "request timed out",
    429: "rate limited",
}


def _status_summary(status: int) -> str:
    if status in _STATUS_SUMMARY:
        return _STATUS_SUMMARY[status]
    if status >= 500:
        return "provider server error"
    return "request rejected"


def _response_text(response: httpx2.Response | None) -> str | None:
    if response is None:
        return None
    try:
        return response.text
    except Exception:  # a streamed body that was never read, or already closed
        return None


def _refusal_in_chain(exc: BaseException) -> AddressRefused | None:
    """The guard's refusal that caused ``exc``: the SDKs wrap whatever the transport raised
    in a connection error."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, AddressRefused):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def map_exception(exc: BaseException) -> ProviderError:
    """Turn an openai/anthropic SDK or httpx2 exception into a typed ``ProviderError``."""
    if isinstance(exc, ProviderError):
        return exc
    refused = _refusal_in_chain(exc)
    if refused is not None:
        return refused
    if isinstance(exc, openai.APIStatusError | anthropic.APIStatusError):
        status = exc.status_code
        detail = extract_detail(_response_text(exc.response)) or truncate(exc.message)
        return error_for_status(status, _status_summary(status), detail)
    timeouts = (openai.APITimeoutError, anthropic.APITimeoutError, httpx2.TimeoutException)
    if isinstance(exc, timeouts):
        return ProviderTimeoutError("timed out waiting for the provider", detail=str(exc) or None)
    if isinstance(exc, openai.APIConnectionError | anthropic.APIConnectionError):
        cause = exc.__cause__
        detail = truncate(str(cause)) if cause is not None and str(cause) else None
        return ConnectionLostError("could not reach the provider", detail=detail)
    if isinstance(exc, httpx2.TransportError):
        return ConnectionLostError("connection to the provider was lost", detail=str(exc) or None)
    if isinstance(exc, openai.APIError | anthropic.APIError):
        return ProviderError("provider error", detail=truncate(exc.message))
    return ProviderError(f"unexpected provider failure: {type(exc).__name__}", detail=str(exc))

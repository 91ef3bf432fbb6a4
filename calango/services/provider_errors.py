"""Provider failures in plain, translated words: one sentence the user can act on."""

from __future__ import annotations

from flask_babel import gettext as _

from calango.encryption import KeyDecryptionError
from calango.llm import (
    AddressRefused,
    AuthError,
    BadRequestError,
    ConnectionLostError,
    NotAnApiError,
    NotFoundError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)
from calango.services.network_policy import describe_refusal


def describe_provider_error(exc: Exception, provider_name: str) -> str:
    """A translated sentence for ``exc`` naming the provider, followed by the provider's own
    words when it gave any.

    Call inside a request or a ``force_locale`` block so the user's language is used.
    """
    name = provider_name
    if isinstance(exc, AddressRefused):
        return describe_refusal(exc)
    if isinstance(exc, AuthError):
        text = _(
            "%(name)s refused the API key (HTTP %(status)s). Check the key in Settings → "
            "Providers.",
            name=name,
            status=exc.status_code or 401,
        )
    elif isinstance(exc, RateLimitError):
        text = _(
            "%(name)s is rate limiting requests (HTTP 429). Wait a moment and try again, or "
            "check your plan's quota.",
            name=name,
        )
    elif isinstance(exc, NotFoundError):
        text = _(
            "%(name)s does not know this model or address (HTTP 404). Check the model name "
            "and the base URL.",
            name=name,
        )
    elif isinstance(exc, BadRequestError):
        text = _(
            "%(name)s rejected the request (HTTP %(status)s).",
            name=name,
            status=exc.status_code or 400,
        )
    elif isinstance(exc, ServerError):
        text = _(
            "%(name)s had an internal error (HTTP %(status)s). Try again in a moment.",
            name=name,
            status=exc.status_code or 500,
        )
    elif isinstance(exc, ProviderTimeoutError):
        text = _("%(name)s took too long to answer and the request timed out.", name=name)
    elif isinstance(exc, ConnectionLostError):
        text = _(
            "The connection to %(name)s was lost. Check that it is running and reachable.",
            name=name,
        )
    elif isinstance(exc, NotAnApiError):
        text = _(
            "The address of %(name)s answered, but it does not look like the provider's API. "
            "Check the base URL and the protocol in Settings → Providers.",
            name=name,
        )
    elif isinstance(exc, ProviderError):
        text = _("%(name)s returned an error.", name=name)
    elif isinstance(exc, KeyDecryptionError):
        return str(exc)  # already says what to do (the key was stored under another secret)
    else:
        text = _("Something went wrong while talking to %(name)s.", name=name)
    detail = getattr(exc, "detail", None)
    if detail:
        text = _("%(text)s Details: %(detail)s", text=text, detail=detail)
    return text
